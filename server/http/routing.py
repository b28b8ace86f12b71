"""Typed endpoints: the annotations of a handler are what validates its requests and what
documents them in OpenAPI, so the two cannot drift apart.

A handler is an async function whose parameters are picked by name:

    request   the Starlette request
    user      the authenticated ``User`` (the route then requires a valid token)
    body      a pydantic model, parsed from a JSON body
    query     a pydantic model, parsed from the query string
    <name>    a path parameter, converted to its annotation (``uuid.UUID``, ``int``, ``str``)

It returns a pydantic model (serialised with the route's status), ``None`` (204) or a
Starlette ``Response`` for anything else (files).
"""

from __future__ import annotations

import inspect
import typing
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import pydantic
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.auth.identity import authenticate
from server.errors import BadRequest, NotFound, PayloadTooLarge, UnsupportedMediaType
from server.http.errors import validation_error
from server.services import get_services

Handler = Callable[..., Awaitable[Any]]

_RESERVED = {"request", "user", "body", "query"}


@dataclass(slots=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    status: int
    summary: str
    tags: tuple[str, ...]
    # Error statuses (any code of theirs that any endpoint may answer) and error codes (from
    # server.http.error_codes) this endpoint answers, beyond those its parameters imply.
    errors: tuple[int | str, ...]
    body: type[pydantic.BaseModel] | None = None
    query: type[pydantic.BaseModel] | None = None
    response: type[pydantic.BaseModel] | None = None
    path_params: dict[str, type] = field(default_factory=dict)
    needs_user: bool = False
    needs_request: bool = False
    # Documentation only, for handlers that read their own body or write their own response.
    form: type[pydantic.BaseModel] | None = None
    raw_response: str | None = None
    # A raw response that also answers one byte range (206 Partial Content).
    ranges: bool = False
    public: bool = False

    @property
    def operation_id(self) -> str:
        return self.handler.__name__


class Api:
    """The registry of endpoints; it makes the Starlette routes and the OpenAPI document."""

    def __init__(self) -> None:
        self.endpoints: list[Endpoint] = []

    def route(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        tags: tuple[str, ...] = (),
        status: int = 200,
        errors: tuple[int | str, ...] = (),
        form: type[pydantic.BaseModel] | None = None,
        raw_response: str | None = None,
        ranges: bool = False,
        response: type[pydantic.BaseModel] | None = None,
    ) -> Callable[[Handler], Handler]:
        """``response`` documents the JSON body of a handler that serialises it itself (it
        returns a Starlette ``Response``, for speed); otherwise the return annotation does."""

        def decorate(handler: Handler) -> Handler:
            hints = typing.get_type_hints(handler)
            params = inspect.signature(handler).parameters
            endpoint = Endpoint(
                method=method,
                path=path,
                handler=handler,
                status=status,
                summary=summary,
                tags=tags,
                errors=errors,
                form=form,
                raw_response=raw_response,
                ranges=ranges,
            )
            for name in params:
                annotation = hints.get(name)
                if name == "request":
                    endpoint.needs_request = True
                elif name == "user":
                    endpoint.needs_user = True
                elif name == "body":
                    endpoint.body = annotation
                elif name == "query":
                    endpoint.query = annotation
                elif annotation in (uuid.UUID, int, str):
                    endpoint.path_params[name] = annotation
                else:
                    raise TypeError(f"{handler.__name__}: cannot supply parameter {name!r}")
            returned = hints.get("return")
            if response is not None:
                endpoint.response = response
            elif isinstance(returned, type) and issubclass(returned, pydantic.BaseModel):
                endpoint.response = returned
            self.endpoints.append(endpoint)
            return handler

        return decorate

    def get(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("PUT", path, **kw)

    def patch(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("PATCH", path, **kw)

    def delete(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("DELETE", path, **kw)

    def routes(self) -> list[Route]:
        # One route per path, not per endpoint: a 405 then lists in its Allow header every
        # method the path serves, not only those of the first endpoint that matched the path.
        by_path: dict[str, list[Endpoint]] = {}
        for e in self.endpoints:
            by_path.setdefault(e.path, []).append(e)
        return [_make_route(path, endpoints) for path, endpoints in by_path.items()]


def _make_route(path: str, endpoints: list[Endpoint]) -> Route:
    handlers = {e.method: _make_endpoint(e) for e in endpoints}
    if "GET" in handlers:
        handlers.setdefault("HEAD", handlers["GET"])

    async def dispatch(request: Request) -> Response:
        # The route has already answered 405 for a method it does not list.
        return await handlers[request.method](request)

    name = "|".join(e.operation_id for e in endpoints)
    dispatch.__name__ = name
    return Route(path, dispatch, methods=list(handlers), name=name)


def _make_endpoint(endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
    async def run(request: Request) -> Response:
        kwargs: dict[str, Any] = {}
        if endpoint.needs_request:
            kwargs["request"] = request
        if endpoint.needs_user:
            kwargs["user"] = await authenticate(request)
        for name, kind in endpoint.path_params.items():
            kwargs[name] = _path_param(request.path_params[name], kind)
        if endpoint.query is not None:
            kwargs["query"] = _parse_query(endpoint.query, request)
        if endpoint.body is not None:
            kwargs["body"] = await _parse_json_body(endpoint.body, request)
        result = await endpoint.handler(**kwargs)
        if isinstance(result, Response):
            return result
        if result is None:
            return Response(status_code=204)
        if isinstance(result, pydantic.BaseModel):
            return Response(
                result.model_dump_json(),
                status_code=endpoint.status,
                media_type="application/json",
            )
        raise TypeError(f"{endpoint.operation_id} returned {type(result).__name__}")

    run.__name__ = endpoint.operation_id
    return run


def _path_param(raw: str, kind: type) -> Any:
    if kind is uuid.UUID:
        try:
            return uuid.UUID(raw)
        except ValueError:
            # An id that cannot exist names nothing: the same answer as an unknown one.
            raise NotFound(f"no resource with id {raw!r}") from None
    if kind is int:
        try:
            return int(raw)
        except ValueError:
            raise NotFound(f"no resource numbered {raw!r}") from None
    return raw


def _parse_query(model: type[pydantic.BaseModel], request: Request) -> pydantic.BaseModel:
    data: dict[str, Any] = {}
    for key in request.query_params:
        values = request.query_params.getlist(key)
        data[key] = values if len(values) > 1 else values[0]
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        raise validation_error(exc, location="query") from None


async def _parse_json_body(model: type[pydantic.BaseModel], request: Request) -> pydantic.BaseModel:
    content_type = request.headers.get("content-type", "")
    media_type = content_type.split(";")[0].strip().lower()
    if media_type != "application/json":
        raise UnsupportedMediaType(
            f"expected a JSON body (Content-Type: application/json), got {media_type or 'none'}"
        )
    limit = get_services(request).settings.max_json_bytes
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"a JSON body may be at most {limit} bytes")
    raw = await request.body()
    if len(raw) > limit:
        raise PayloadTooLarge(f"a JSON body may be at most {limit} bytes")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(
            "the body is not valid JSON", code="malformed_json", details=str(exc)
        ) from None
    if not isinstance(data, dict):
        raise BadRequest(
            f"expected a JSON object, got {type(data).__name__}", code="malformed_json"
        )
    try:
        # Strict, in JSON mode, so that a body is held to its documented JSON Schema: true is
        # not an integer and "5" is not a number (a date or a UUID is still a JSON string).
        # But to JSON Schema 5.0 is an integer, so integral floats are passed as integers.
        return model.model_validate_json(orjson.dumps(_integral_floats_as_ints(data)), strict=True)
    except pydantic.ValidationError as exc:
        raise validation_error(exc, location="body") from None


def _integral_floats_as_ints(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**63:
        return int(value)
    if isinstance(value, list):
        return [_integral_floats_as_ints(v) for v in value]
    if isinstance(value, dict):
        return {k: _integral_floats_as_ints(v) for k, v in value.items()}
    return value
