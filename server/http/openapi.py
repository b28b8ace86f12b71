"""The OpenAPI 3.1 document, generated from the endpoints' own pydantic models.

pydantic writes the JSON Schemas; openapi-pydantic holds the document's structure and checks
that what we built is a well-formed OpenAPI 3.1 document.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

import pydantic
from openapi_pydantic.v3.v3_1 import OpenAPI
from pydantic import Field
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue, models_json_schema
from pydantic_core import core_schema

from server import __version__
from server.http.error_codes import API_ERROR_CODES, codes_of
from server.http.routing import Endpoint
from server.http.types import min_stripped_length_pattern

_REF = "#/components/schemas/{model}"


class ErrorDetail(pydantic.BaseModel):
    code: Annotated[str, Field(json_schema_extra={"enum": list(API_ERROR_CODES)})]
    message: str
    details: Any = Field(
        default=None,
        description=(
            "For validation_failed, each problem as {loc, msg, type}: loc is the path to the"
            " field ('body' or 'query' first), a rule across fields included (a salary's"
            " currency: ['body', 'salary_currency']); other codes say what theirs hold"
        ),
    )


def error_codes(e: Endpoint) -> dict[int, list[str]]:
    """The error codes ``e`` may answer, by status: those it names, and at each status it names
    or its parameters imply (a token, a body, a query, a path), the codes any endpoint of that
    status may answer (``generic``)."""
    named = [x for x in e.errors if isinstance(x, str)]
    statuses = {x for x in e.errors if isinstance(x, int)}
    if e.needs_user:
        # Reading the token's account needs the database.
        statuses.update({401, 503})
    if e.body is not None or e.form is not None:
        # A body that is not JSON (or not well-formed multipart), too large, of another
        # media type, or not matching its schema.
        statuses.update({400, 413, 415, 422})
        if e.body is not None:
            named.append("malformed_json")
    if e.query is not None:
        statuses.add(422)
    if e.path_params:
        statuses.add(404)
    by_status: dict[int, list[str]] = {}
    for code in named:
        by_status.setdefault(API_ERROR_CODES[code].status, []).append(code)
    for status in statuses:
        codes = by_status.setdefault(status, [])
        codes += [c for c in codes_of(status, generic_only=True) if c not in codes]
    return dict(sorted(by_status.items()))


class ErrorResponse(pydantic.BaseModel):
    """The shape of every error answer."""

    error: ErrorDetail


class RequestJsonSchema(GenerateJsonSchema):
    """JSON Schemas that say which request strings the server really accepts.

    Request models refuse NUL characters (PostgreSQL's text cannot hold one), and those that
    strip surrounding whitespace check their minimum length after it. Plain minLength says
    neither, so in validation mode a string without a pattern of its own gets one that does.
    (``Trimmed`` strings describe themselves the same way.)
    """

    def str_schema(self, schema: core_schema.StringSchema) -> JsonSchemaValue:
        json_schema = super().str_schema(schema)
        if self.mode != "validation" or "pattern" in json_schema:
            return json_schema
        stripped = schema.get("strip_whitespace", self._config.str_strip_whitespace)
        min_length = int(json_schema.get("minLength", 0)) if stripped else 0
        json_schema["pattern"] = min_stripped_length_pattern(min_length)
        return json_schema


def build_openapi(endpoints: list[Endpoint]) -> dict[str, Any]:
    models: list[tuple[type[pydantic.BaseModel], Any]] = [(ErrorResponse, "serialization")]
    for e in endpoints:
        if e.body is not None:
            models.append((e.body, "validation"))
        if e.form is not None:
            models.append((e.form, "validation"))
        if e.response is not None:
            models.append((e.response, "serialization"))
    keys, schema = models_json_schema(models, ref_template=_REF, schema_generator=RequestJsonSchema)
    components: dict[str, Any] = dict(schema.get("$defs", {}))

    def ref(model: type[pydantic.BaseModel], mode: str) -> dict[str, Any]:
        return dict(keys[(model, mode)])  # type: ignore[index]

    paths: dict[str, dict[str, Any]] = {}
    for e in endpoints:
        op: dict[str, Any] = {
            "operationId": e.operation_id,
            "summary": e.summary,
            "tags": list(e.tags),
        }
        if e.handler.__doc__:
            op["description"] = inspect_doc(e.handler.__doc__)
        parameters: list[dict[str, Any]] = [
            {"name": name, "in": "path", "required": True, "schema": _scalar_schema(kind)}
            for name, kind in e.path_params.items()
        ]
        if e.query is not None:
            qschema = e.query.model_json_schema(
                ref_template=_REF, mode="validation", schema_generator=RequestJsonSchema
            )
            components.update(qschema.pop("$defs", {}))
            required = set(qschema.get("required", []))
            for name, prop in qschema.get("properties", {}).items():
                param: dict[str, Any] = {
                    "name": name,
                    "in": "query",
                    "required": name in required,
                    "schema": prop,
                }
                if "description" in prop:
                    param["description"] = prop["description"]
                parameters.append(param)
        if parameters:
            op["parameters"] = parameters
        if e.body is not None:
            op["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": ref(e.body, "validation")}},
            }
        elif e.form is not None:
            form: dict[str, Any] = {"schema": ref(e.form, "validation")}
            # A file part's own media type (contentMediaType in the model) is its encoding.
            encoding = {
                name: {"contentType": prop["contentMediaType"]}
                for name, prop in e.form.model_json_schema()["properties"].items()
                if "contentMediaType" in prop
            }
            if encoding:
                form["encoding"] = encoding
            op["requestBody"] = {"required": True, "content": {"multipart/form-data": form}}
        responses: dict[str, Any] = {}
        if e.raw_response is not None:
            responses[str(e.status)] = {
                "description": "The file",
                "content": {e.raw_response: {"schema": {"type": "string", "format": "binary"}}},
            }
            if e.ranges:
                responses["206"] = {
                    "description": "One byte range of the file (a `Range: bytes=…` request)",
                    "headers": {"Content-Range": {"schema": {"type": "string"}}},
                    "content": {e.raw_response: {"schema": {"type": "string", "format": "binary"}}},
                }
        elif e.response is not None:
            responses[str(e.status)] = {
                "description": "Success",
                "content": {"application/json": {"schema": ref(e.response, "serialization")}},
            }
        else:
            responses[str(e.status)] = {"description": "Success, no content"}
        if e.needs_user:
            op["security"] = [{"bearerAuth": []}]
        for status, codes in error_codes(e).items():
            responses[str(status)] = {
                # Which codes, and when each: what a client branches on.
                "description": "; ".join(f"`{c}`: {API_ERROR_CODES[c].when}" for c in codes),
                "content": {"application/json": {"schema": ref(ErrorResponse, "serialization")}},
            }
        op["responses"] = responses
        # Starlette's converters ({key:path}) are not OpenAPI: {key}.
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", e.path)
        paths.setdefault(path, {})[e.method.lower()] = op

    document = {
        "openapi": "3.1.0",
        "info": {
            "title": "OpenHire",
            "version": __version__,
            "description": "Accounts, jobs, applications and interviews for AI-led job interviews.",
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }
    # Fails loudly, at start-up, if the document is not valid OpenAPI 3.1.
    OpenAPI.model_validate(document)
    return document


def _scalar_schema(kind: type) -> dict[str, Any]:
    if kind is int:
        return {"type": "integer"}
    if kind.__name__ == "UUID":
        return {"type": "string", "format": "uuid"}
    return {"type": "string"}


def inspect_doc(doc: str) -> str:
    import inspect

    return inspect.cleandoc(doc)
