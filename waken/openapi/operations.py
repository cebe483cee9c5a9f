"""What each /api and /v1 route accepts and answers: the table the OpenAPI document is built from,
and `documented`, for an entry written beside its route instead."""
from marshmallow import Schema, fields

from waken.otlp import spec as otlp_spec
from waken.schemas import feed as feed_schemas
from waken.schemas import reports as report_schemas
from waken.schemas.agent_log import (
    AgentRecordListSchema,
    AgentRecordSchema,
    AgentStatsSchema,
)
from waken.schemas.agent_log_queries import (
    AgentLogExportQuerySchema,
    AgentLogQuerySchema,
    AgentStatsQuerySchema,
    AgentStreamQuerySchema,
)
from waken.schemas.fields import always_sent, envelope

BEARER = [{"bearerAuth": []}]
PUBLIC = []
READER = [{"bearerAuth": []}, {"adminSession": []}]
# No token is needed to create a record when the setting agent_ingest_open is on.
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


def documented(operation):
    """The OpenAPI entry of a route, written beside it: the document takes it as it takes the table's."""
    def mark(view):
        view.openapi = operation
        return view
    return mark


def operations():
    """What each /api and /v1 route accepts and answers, keyed by (path, method)."""
    table = {
        ("/api/activity", "post"): {
            "tags": ["Device reporting"], "summary": "Report what a device is doing",
            "description": "Merges into the device's live activity of the same process, or ends it "
                           "and starts a new one. Explicit null means \"not given\". An image that "
                           "cannot be stored is dropped with a `warnings` entry; the report is stored. "
                           "A body over 64 KiB (one that may carry images) waits for none: while the "
                           "server decodes as many as it takes at once, it is answered 503 with "
                           "`Retry-After` before it is read. An unknown key registers a device (setting "
                           "device_registration) up to device_max devices (403 beyond) and "
                           "device_registrations_per_hour per token (429 beyond). A web page may call it "
                           "only from an origin listed in the `cors_report_origins` setting.",
            "security": BEARER,
            "requestBody": json_body(report_schemas.report_schema),
            "responses": {
                "200": answer(report_schemas.ReportResponseSchema, "Stored; `data` is the activity."),
                "202": answer(report_schemas.PendingSchema, "The device waits for approval."),
                **errors(400, 401, 403, 413, 429, 503, 507)}},
        ("/api/activity/verify", "post"): {
            "tags": ["Device reporting"], "summary": "Check a token and device key (stores nothing)",
            "security": BEARER,
            "requestBody": json_body(report_schemas.verify_schema),
            "responses": {
                "200": answer(envelope("VerifyResponse", report_schemas.VerifyDataSchema), "Ready to report."),
                "202": answer(report_schemas.PendingSchema, "The device waits for approval."),
                **errors(400, 401, 403, 429, 503, 507)}},
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
    table.update(otlp_spec.operations(AGENT_WRITER))
    return table


def _agent_operations():
    record = AgentRecordSchema
    return {
        ("/api/activities", "get"): {
            "tags": ["Agent activity log"], "summary": "List and filter agent actions (JSON)",
            "security": READER,
            "parameters": [{"in": "query", "schema": AgentLogQuerySchema}],
            "responses": {
                "200": answer(AgentRecordListSchema, "A page of the log."),
                **errors(400, 401, 403)}},
        ("/api/activities/export", "get"): {
            "tags": ["Agent activity log"], "summary": "Export matching agent actions as CSV",
            "security": READER,
            "parameters": [{"in": "query", "schema": AgentLogExportQuerySchema}],
            "responses": {
                "200": {"description": "Every match (up to `limit`), one row per record, with a header row.",
                        "headers": {"Content-Disposition": {
                            "description": "attachment; filename=activities-<local date>.csv",
                            "schema": {"type": "string"}}},
                        "content": {"text/csv": {"schema": {"type": "string"}}}},
                **errors(400, 401, 403)}},
        ("/api/activities/{}", "get"): {
            "tags": ["Agent activity log"], "summary": "One agent action", "security": READER,
            "responses": {"200": answer(record, "The record."), **errors(401, 403, 404)}},
        ("/api/activities/stats", "get"): {
            "tags": ["Agent activity log"], "summary": "Statistics of the log", "security": READER,
            "parameters": [{"in": "query", "schema": AgentStatsQuerySchema}],
            "responses": {"200": answer(AgentStatsSchema, "Totals, heatmap, trend and hours."),
                          **errors(400, 401, 403)}},
        ("/api/activities/stream", "get"): {
            "tags": ["Agent activity log"], "summary": "New agent actions, live (Server-Sent Events)",
            "description": "Unnamed events with `id: <record id>` whose data is a StreamEvent schema: first "
                           "`{type: connected, ts}`, then `{type: new, activity}` per record in id "
                           "order. `Last-Event-ID` replays missed records; keep-alive every 15 s.",
            "security": READER,
            "parameters": [{"in": "query", "schema": AgentStreamQuerySchema},
                           {"in": "header", "name": "Last-Event-ID", "required": False,
                            "schema": {"type": "integer", "minimum": 0}}],
            "responses": {"200": answer({"type": "string"}, "An endless event stream.", "text/event-stream"),
                          **errors(400, 401, 403, 503)}},
        ("/api/admin/activity/apps-export", "get"): {
            "tags": ["Admin"], "summary": "Export the app records for rule selection",
            "security": [{"adminSession": []}],
            "responses": {"200": answer(envelope("AppsExportResponse", AppsExportSchema), "The export."),
                          **errors(401, 403)}},
    }


@always_sent()
class AppRecordSchema(Schema):
    appName = fields.String()
    titles = fields.List(fields.String(), metadata={"description": "Latest 3 titles, newest first."})
    lastSeenAt = fields.String(metadata={"format": "date-time"})


@always_sent()
class AppGroupsSchema(Schema):
    pc = fields.List(fields.Nested(AppRecordSchema))
    mobile = fields.List(fields.Nested(AppRecordSchema))


@always_sent()
class AppsExportSchema(Schema):
    version = fields.Integer(metadata={"enum": [1]})
    exportedAt = fields.String(metadata={"format": "date-time"})
    groups = fields.Nested(AppGroupsSchema)
