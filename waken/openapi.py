"""The OpenAPI document, generated from the marshmallow schemas that validate requests."""
import re

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema, fields

from waken.schemas import agents as agent_schemas
from waken.schemas import feed as feed_schemas
from waken.schemas import reports as report_schemas

TITLE = "waken API"
VERSION = "1"
SKIPPED_METHODS = {"HEAD", "OPTIONS"}
_PARAM = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
ERRORS = {
    "400": "Malformed JSON, a missing field, or a value of the wrong type or range; `fields` says which.",
    "401": "No `Authorization: Bearer` header, or the token is unknown or disabled.",
    "403": "Not allowed: unknown, revoked or foreign-bound device, or no admin session.",
    "404": "There is nothing at this address.",
    "413": "The body (or its metadata) is larger than the server accepts.",
    "429": "Too many requests; wait and try again.",
    "503": "Temporarily unavailable; retry after `Retry-After` seconds.",
}


class ErrorSchema(Schema):
    """Every failure: a sentence for a person and, for bad input, one per field."""

    success = fields.Boolean(metadata={"enum": [False]})
    error = fields.String(metadata={"description": "What went wrong, as a sentence."})
    fields_ = fields.Dict(data_key="fields", keys=fields.String(), values=fields.String(),
                          metadata={"description": "Per-field messages for invalid input."})


def build_spec(app):
    """The OpenAPI 3 document (a dict) for every /api and OTLP /v1 route registered in `app`."""
    spec = APISpec(title=TITLE, version=VERSION, openapi_version="3.0.3", plugins=[MarshmallowPlugin()],
                   info={"description": "Device status reporting, the public activity feed, and the "
                                        "agent activity log. Every body is JSON."})
    spec.components.security_scheme("bearerAuth", {
        "type": "http", "scheme": "bearer",
        "description": "An API token from the admin panel: `Authorization: Bearer <token>`."})
    spec.components.security_scheme("adminSession", {
        "type": "apiKey", "in": "cookie", "name": app.config.get("SESSION_COOKIE_NAME", "session"),
        "description": "The admin panel's login session."})
    spec.components.schema("Error", schema=ErrorSchema)
    spec.components.schema("StreamEvent", schema=agent_schemas.StreamEventSchema)
    spec.components.schema("OtlpError", schema=OtlpErrorSchema)
    for status, description in ERRORS.items():
        spec.components.response(f"Error{status}", {
            "description": description,
            "content": {"application/json": {"schema": "Error"}}})

    known = operations()
    paths = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(("/api/", "/v1/")):
            continue
        path, params = _openapi_path(rule.rule)
        for method in sorted((rule.methods or set()) - SKIPPED_METHODS):
            operation = known.get((_shape(path), method.lower())) or _undocumented(app, rule)
            operation = {**operation, "operationId": rule.endpoint.replace(".", "_") + "_" + method.lower()}
            if params:
                operation["parameters"] = params + list(operation.get("parameters", []))
            paths.setdefault(path, {})[method.lower()] = operation
    for path in sorted(paths):
        spec.path(path=path, operations=paths[path])
    return spec.to_dict()


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
    # A route added without an entry in openapi_operations still appears, so the
    # document never hides an endpoint; the test suite insists the entry is added.
    doc = (app.view_functions[rule.endpoint].__doc__ or "").strip().splitlines()
    return {"summary": doc[0] if doc else rule.endpoint, "x-undocumented": True,
            "responses": {"default": {"description": "See the README.",
                                      "content": {"application/json": {"schema": "Error"}}}}}


BEARER = [{"bearerAuth": []}]
PUBLIC = []
READER = [{"bearerAuth": []}, {"adminSession": []}]
# No token is needed when the setting agent_ingest_open is on.
AGENT_WRITER = [{"bearerAuth": []}, {}]


def json_body(schema, description=None):
    """A required JSON request body."""
    body = {"required": True, "content": {"application/json": {"schema": schema}}}
    return {**body, "description": description} if description else body


def answer(schema, description, media="application/json"):
    """A response with a body."""
    return {"description": description, "content": {media: {"schema": schema}}}


def errors(*codes):
    """References to the shared error responses."""
    return {str(code): {"$ref": f"#/components/responses/Error{code}"} for code in codes}


def operations():
    """What each /api route accepts and answers, keyed by (path shape, method)."""
    table = {
        ("/api/activity", "post"): {
            "tags": ["Device reporting"], "summary": "Report what a device is doing",
            "description": "Merges into the device's live activity of the same process, or ends it "
                           "and starts a new one. Explicit null means \"not given\".",
            "security": BEARER,
            "requestBody": json_body(report_schemas.report_schema),
            "responses": {
                "200": answer(report_schemas.ReportResponseSchema, "Stored; `data` is the activity."),
                "202": answer(report_schemas.PendingSchema, "The device waits for approval."),
                **errors(400, 401, 403, 413)}},
        ("/api/activity/verify", "post"): {
            "tags": ["Device reporting"], "summary": "Check a token and device key (stores nothing)",
            "security": BEARER,
            "requestBody": json_body(report_schemas.verify_schema),
            "responses": {
                "200": answer(_envelope("VerifyResponse", report_schemas.VerifyDataSchema), "Ready to report."),
                "202": answer(report_schemas.PendingSchema, "The device waits for approval."),
                **errors(400, 401, 403)}},
        ("/api/activity", "get"): {
            "tags": ["Public feed"], "summary": "The public feed: live statuses and recent activity",
            "security": PUBLIC,
            "parameters": [{"in": "query", "schema": feed_schemas.FeedQuerySchema}],
            "responses": {"200": answer(feed_schemas.FeedResponseSchema, "The feed."), **errors(400)}},
        ("/api/activity/stream", "get"): {
            "tags": ["Public feed"], "summary": "The public feed, live (Server-Sent Events)",
            "description": "Sends `event: activity` whose data is the same JSON as GET /api/activity "
                           "(FeedResponse), on connect and whenever the feed changes, including a "
                           "device going offline; a `: keep-alive` comment every 15 s.",
            "security": PUBLIC,
            "parameters": [{"in": "query", "schema": feed_schemas.FeedQuerySchema}],
            "responses": {"200": answer({"type": "string"}, "An endless event stream.", "text/event-stream"),
                          **errors(400, 503)}},
        ("/api/openapi.json", "get"): {
            "tags": ["API description"], "summary": "This document", "security": PUBLIC,
            "responses": {"200": answer({"type": "object"}, "OpenAPI 3.0 document.")}},
    }
    table.update(_agent_operations())
    table.update(_otlp_operations())
    return {(_shape(path), method): op for (path, method), op in table.items()}


def _envelope(name, data_schema):
    """A {success, data} schema class around data_schema."""
    return Schema.from_dict({"success": fields.Boolean(dump_default=True),
                             "data": fields.Nested(data_schema)}, name=name)


def _agent_operations():
    record = agent_schemas.ActivitySchema
    return {
        ("/api/activities", "post"): {
            "tags": ["Agent activity log"], "summary": "Log one agent action",
            "description": "A token is required unless the setting agent_ingest_open is on. The "
                           "`Idempotency-Key` header works like the idempotency_key field.",
            "security": AGENT_WRITER,
            "parameters": [{"in": "header", "name": "Idempotency-Key", "required": False,
                            "schema": {"type": "string", "maxLength": 200}}],
            "requestBody": json_body(agent_schemas.activity_create_schema),
            "responses": {
                "201": {**answer(record, "Created."), "headers": {"Location": {
                    "description": "The new record's URL.", "schema": {"type": "string"}}}},
                "200": answer(record, "A retry with a known idempotency key: the first record."),
                **errors(400, 401, 413)}},
        ("/api/activities", "get"): {
            "tags": ["Agent activity log"], "summary": "List, filter and export agent actions",
            "security": READER,
            "parameters": [{"in": "query", "schema": agent_schemas.ActivityQuerySchema}],
            "responses": {
                "200": {"description": "A page of the log (JSON), or every match as CSV (format=csv).",
                        "content": {"application/json": {"schema": agent_schemas.ActivityListSchema},
                                    "text/csv": {"schema": {"type": "string"}}}},
                **errors(400, 401)}},
        ("/api/activities/{}", "get"): {
            "tags": ["Agent activity log"], "summary": "One agent action", "security": READER,
            "responses": {"200": answer(record, "The record."), **errors(401, 404)}},
        ("/api/activities/{}", "patch"): {
            "tags": ["Agent activity log"], "summary": "Finish a pending or running action",
            "security": AGENT_WRITER,
            "requestBody": json_body(agent_schemas.activity_update_schema),
            "responses": {"200": answer(record, "The updated record."), **errors(400, 401, 404, 413)}},
        ("/api/activities/stats", "get"): {
            "tags": ["Agent activity log"], "summary": "Statistics of the log", "security": READER,
            "parameters": [{"in": "query", "schema": agent_schemas.StatsQuerySchema}],
            "responses": {"200": answer(agent_schemas.StatsSchema, "Totals, heatmap, trend and hours."),
                          **errors(400, 401)}},
        ("/api/activities/stream", "get"): {
            "tags": ["Agent activity log"], "summary": "New agent actions, live (Server-Sent Events)",
            "description": "Unnamed events with `id: <record id>` whose data is a StreamEvent schema: first "
                           "`{type: connected, ts}`, then `{type: new, activity}` per record in id "
                           "order. `Last-Event-ID` replays missed records; keep-alive every 15 s.",
            "security": READER,
            "parameters": [{"in": "query", "schema": agent_schemas.StreamQuerySchema},
                           {"in": "header", "name": "Last-Event-ID", "required": False,
                            "schema": {"type": "integer", "minimum": 0}}],
            "responses": {"200": answer({"type": "string"}, "An endless event stream.", "text/event-stream"),
                          **errors(400, 401, 503)}},
        ("/api/admin/activity/apps-export", "get"): {
            "tags": ["Admin"], "summary": "Export the app records for rule selection",
            "security": [{"adminSession": []}],
            "responses": {"200": answer(_envelope("AppsExportResponse", AppsExportSchema), "The export."),
                          **errors(401, 403)}},
    }


class AppRecordSchema(Schema):
    appName = fields.String()
    titles = fields.List(fields.String(), metadata={"description": "Latest 3 titles, newest first."})
    lastSeenAt = fields.String(metadata={"format": "date-time"})


class AppGroupsSchema(Schema):
    pc = fields.List(fields.Nested(AppRecordSchema))
    mobile = fields.List(fields.Nested(AppRecordSchema))


class AppsExportSchema(Schema):
    version = fields.Integer(metadata={"enum": [1]})
    exportedAt = fields.String(metadata={"format": "date-time"})
    groups = fields.Nested(AppGroupsSchema)


class OtlpErrorSchema(Schema):
    """An OTLP failure as JSON: waken's error keys and a google.rpc.Status's code and message."""

    success = fields.Boolean(metadata={"enum": [False]})
    error = fields.String(metadata={"description": "What went wrong, as a sentence."})
    code = fields.Integer(metadata={"description": "The gRPC status code (3 invalid, 16 unauthenticated, ...)."})
    message = fields.String(metadata={"description": "The same sentence."})


def _otlp_operations():
    """POST /v1/logs and /v1/traces: OTLP/HTTP, protobuf or JSON in, the same media type out."""
    operations = {}
    for signal, records, rejected, mapping in (
            ("logs", "resourceLogs", "rejectedLogRecords",
             "Claude Code's `claude_code.tool_result` (-> tool_call) and `claude_code.api_request` "
             "(-> api_request) events, named by the body, the event name or the `event.name` attribute. "
             "Each log record is stored once per hash of its content."),
            ("traces", "resourceSpans", "rejectedSpans",
             "Spans with `gen_ai.operation.name` `execute_tool` (-> tool_call) or `chat`, "
             "`invoke_agent`, `create_agent` (-> agent_action). Each span is stored once per "
             "(trace id, span id).")):
        otlp_error = {"application/json": {"schema": "OtlpError"},
                      "application/x-protobuf": {"schema": {"type": "string", "format": "binary",
                                                            "description": "A google.rpc.Status."}}}
        answer_json = {"type": "object", "properties": {"partialSuccess": {"type": "object", "properties": {
            rejected: {"type": "string", "description": "Records not stored (an int64 as a string)."},
            "errorMessage": {"type": "string", "description": "Why, one reason per kind."}}}}}
        errors_here = {str(code): {"description": text, "content": otlp_error} for code, text in (
            (400, "The body does not decode as OTLP (protobuf or OTLP/JSON), or bad gzip."),
            (401, "No `Authorization: Bearer` header (unless agent_ingest_open is on), or a bad token."),
            (413, "The body, or what its gzip inflates to, is over 4 MiB."),
            (415, "Not application/x-protobuf or application/json, or a Content-Encoding other than gzip."))}
        operations[(f"/v1/{signal}", "post")] = {
            "tags": ["OpenTelemetry (OTLP/HTTP)"],
            "summary": f"Export OTLP {signal} into the agent activity log",
            "description": f"OTLP/HTTP as the OpenTelemetry specification defines it. {mapping} Anything "
                           "else is not stored and counted in `partialSuccess`. Content-Encoding gzip is "
                           "accepted. The answer is an Export...ServiceResponse in the request's media type.",
            "security": AGENT_WRITER,
            "parameters": [{"in": "header", "name": "Content-Encoding", "required": False,
                            "schema": {"type": "string", "enum": ["gzip", "identity"]}}],
            "requestBody": {"required": True, "content": {
                "application/x-protobuf": {"schema": {"type": "string", "format": "binary"}},
                "application/json": {"schema": {"type": "object", "properties": {
                    records: {"type": "array", "items": {"type": "object"}}}}}}},
            "responses": {
                "200": {"description": "Stored; `partialSuccess` counts what was not, and why.",
                        "content": {"application/json": {"schema": answer_json},
                                    "application/x-protobuf": {"schema": {"type": "string", "format": "binary"}}}},
                **errors_here}}
    return operations
