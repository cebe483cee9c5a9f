"""The OpenAPI document, generated from the marshmallow schemas that validate requests."""
import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin, resolver
from marshmallow import Schema, fields

from waken.error_codes import CODES, FIELD_CODES
from waken.openapi.operations import operations
from waken.openapi.rules import tighten
from waken.otlp import spec as otlp_spec
from waken.schemas.agent_log import (
    AgentRecordCreateSchema,
    AgentRecordListSchema,
    AgentRecordSchema,
    AgentRecordUpdateSchema,
    AgentStatsSchema,
    AgentStreamEventSchema,
)
from waken.schemas.fields import IsoTime, Timestamp, always_sent

TITLE = "waken API"
VERSION = "1"
SKIPPED_METHODS = {"HEAD", "OPTIONS"}
_PARAM = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
ERRORS = {
    "400": "Malformed JSON, a missing field, or a value of the wrong type or range; `fields` says which.",
    "401": "No `Authorization: Bearer` header, or the token is unknown or disabled.",
    "403": "Not allowed: the token lacks the scope, an unknown, revoked or foreign-bound device (or one "
           "whose token was deleted), or no admin session.",
    "404": "There is nothing at this address.",
    "413": "The body (or its metadata) is larger than the server accepts.",
    "429": "Too many requests; wait and try again.",
    "503": "Temporarily unavailable (on a write: the server's data folder is read-only or its disk failed, "
           "and nothing was stored); retry after `Retry-After` seconds.",
    "507": "The server's disk is full: nothing was stored; retry after `Retry-After` seconds.",
}


# Typed clients name their models after the components, so these names are part of the
# contract; they predate the agent log's Python names and stay as they are.
COMPONENT_NAMES = {AgentRecordSchema: "Activity", AgentRecordCreateSchema: "ActivityCreate",
                   AgentRecordUpdateSchema: "ActivityUpdate", AgentRecordListSchema: "ActivityList",
                   AgentStreamEventSchema: "StreamEvent", AgentStatsSchema: "Stats"}
RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait before trying again.",
                               "schema": {"type": "integer", "minimum": 0}}}


@always_sent("fields_", "field_codes")
class ErrorSchema(Schema):
    """Every failure: a sentence for a person, its stable code and values, and, for bad input, one per field."""

    success = fields.Boolean(metadata={"enum": [False]})
    error = fields.String(metadata={"description": "What went wrong, as an English sentence (for logs)."})
    code = fields.String(metadata={
        "enum": sorted(CODES),
        "description": "Stable code of the error, for clients to translate; never changes meaning "
                       "(the table with statuses: docs/errors.md and x-codes).",
        "x-codes": {code: {"status": status, "meaning": meaning} for code, (status, meaning) in CODES.items()}})
    params = fields.Dict(keys=fields.String(), metadata={
        "description": "The values the code's message needs (field, scope, limit, retryAfter, ...)."})
    fields_ = fields.Dict(data_key="fields", keys=fields.String(), values=fields.String(),
                          metadata={"description": "Per-field messages for invalid input."})
    field_codes = fields.Dict(data_key="fieldCodes", keys=fields.String(),
                              values=fields.String(metadata={"enum": sorted(FIELD_CODES)}),
                              metadata={"description": "A stable code per invalid field (with `fields`)."})


def build_spec(app):
    """The OpenAPI 3 document (a dict) for every /api and OTLP /v1 route registered in `app`."""
    plugin = MarshmallowPlugin(schema_name_resolver=_component_name)
    spec = APISpec(title=TITLE, version=VERSION, openapi_version="3.1.0", plugins=[plugin],
                   info={"description": "Device status reporting, the public activity feed, and the "
                                        "agent activity log. Every body is JSON, except OTLP protobuf on /v1. "
                                        "The public feed, its stream and this document answer any "
                                        "web page (`Access-Control-Allow-Origin: *`)."})
    spec.components.security_scheme("bearerAuth", {
        "type": "http", "scheme": "bearer",
        "description": "An API token from the admin panel: `Authorization: Bearer <token>`. A token has "
                       "scopes: `report` (device reports and verify), `agents:write` (POST and PATCH "
                       "/api/activities), `agents:read` (every agent-log read); a call outside them is 403."})
    spec.components.security_scheme("adminSession", {
        "type": "apiKey", "in": "cookie", "name": app.config["SESSION_COOKIE_NAME"],
        "description": "The admin panel's login session."})
    plugin.map_to_openapi_type(IsoTime, "string", "date-time")
    plugin.map_to_openapi_type(Timestamp, "string", "date-time")
    spec.components.schema("Error", schema=ErrorSchema)
    spec.components.schema("StreamEvent", schema=AgentStreamEventSchema)
    otlp_spec.components(spec)
    for status, description in ERRORS.items():
        spec.components.response(f"Error{status}", {
            "description": description,
            "content": {"application/json": {"schema": "Error"}},
            **({"headers": RETRY_AFTER} if status in ("429", "503", "507") else {})})

    known = {(_shape(path), method): operation for (path, method), operation in operations().items()}
    paths = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(("/api/", "/v1/")):
            continue
        path, params = _openapi_path(rule.rule)
        for method in sorted((rule.methods or set()) - SKIPPED_METHODS):
            operation = (getattr(app.view_functions[rule.endpoint], "openapi", None)
                         or known.get((_shape(path), method.lower())) or _undocumented(app, rule))
            operation = {**operation, "operationId": rule.endpoint.replace(".", "_") + "_" + method.lower()}
            if params:
                operation["parameters"] = params + list(operation.get("parameters", []))
            paths.setdefault(path, {})[method.lower()] = operation
    for path in sorted(paths):
        spec.path(path=path, operations=paths[path])
    return tighten(spec.to_dict())


def _component_name(schema):
    schema_class = schema if isinstance(schema, type) else type(schema)
    return COMPONENT_NAMES.get(schema_class) or resolver(schema)


def _openapi_path(rule):
    """'/api/x/<int:id>' -> ('/api/x/{id}', [its path parameter])."""
    params = []
    for converter, name in _PARAM.findall(rule):
        kind = {"int": "integer", "float": "number"}.get(converter, "string")
        params.append({"in": "path", "name": name, "required": True, "schema": {"type": kind}})
    return _PARAM.sub(lambda m: "{" + m.group(2) + "}", rule), params


def _shape(path):
    return re.sub(r"\{[^}]*\}", "{}", path)


def _undocumented(app, rule):
    # A route added without an entry (`documented` or the table) still appears, so the
    # document never hides an endpoint; the test suite insists the entry is added.
    doc = (app.view_functions[rule.endpoint].__doc__ or "").strip().splitlines()
    return {"summary": doc[0] if doc else rule.endpoint, "x-undocumented": True,
            "responses": {"default": {"description": "Not described yet; see docs/code.md.",
                                      "content": {"application/json": {"schema": "Error"}}}}}
