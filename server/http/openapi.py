"""The OpenAPI 3.1 document, generated from the endpoints' own pydantic models.

pydantic writes the JSON Schemas; openapi-pydantic holds the document's structure and checks
that what we built is a well-formed OpenAPI 3.1 document.
"""

from __future__ import annotations

import re
from typing import Any

import pydantic
from openapi_pydantic.v3.v3_1 import OpenAPI
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue, models_json_schema
from pydantic_core import core_schema

from server import __version__
from server.http.routing import Endpoint
from server.http.types import min_stripped_length_pattern

_REF = "#/components/schemas/{model}"

_ERROR_DESCRIPTIONS = {
    400: "Malformed request (for example, a body that is not JSON)",
    401: "Missing, expired or invalid access token",
    403: "Signed in, but not allowed to do this",
    404: "No such resource",
    409: "Conflicts with the resource's current state",
    413: "Request body too large",
    415: "Wrong content type",
    422: "The request does not match its schema",
    429: "Too many requests; see Retry-After",
}


class ErrorDetail(pydantic.BaseModel):
    code: str
    message: str
    details: Any = None


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
        elif e.response is not None:
            responses[str(e.status)] = {
                "description": "Success",
                "content": {"application/json": {"schema": ref(e.response, "serialization")}},
            }
        else:
            responses[str(e.status)] = {"description": "Success, no content"}
        statuses = set(e.errors)
        if e.needs_user:
            statuses.add(401)
            op["security"] = [{"bearerAuth": []}]
        if e.body is not None or e.form is not None:
            # A body that is not JSON (or not well-formed multipart), too large, of another
            # media type, or not matching its schema.
            statuses.update({400, 413, 415, 422})
        if e.query is not None:
            statuses.add(422)
        if e.path_params:
            statuses.add(404)
        for status in sorted(statuses):
            responses[str(status)] = {
                "description": _ERROR_DESCRIPTIONS.get(status, "Error"),
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
