"""POST /api/activities and PATCH /api/activities/<id>: the agent activity log (each route with its OpenAPI entry)."""
import re

from flask import request, url_for

from waken import db, settings
from waken.agent_log import store
from waken.auth.tokens import bearer_plaintext, require_token, touch_token
from waken.edge import limits
from waken.errors import ApiError
from waken.ingest import bp
from waken.openapi.operations import (
    AGENT_WRITER,
    BEARER,
    answer,
    documented,
    errors,
    json_body,
)
from waken.payload import parse_small
from waken.schemas.agent_log import (
    AgentRecordSchema,
    AnonymousRetrySchema,
    WriteReceiptSchema,
    record_create_schema,
    record_schema,
    record_update_schema,
)
from waken.timeutil import now

# HTTP carries header values as bytes that servers read as Latin-1, so a non-ASCII key would not
# match the same key sent in the body: the header takes printable ASCII, not only spaces.
IDEMPOTENCY_HEADER = r"^[ -~]*[!-~][ -~]*$"


def authorise_write(charge=True):
    """The caller's token with agents:write, checked before the body is read; None when open
    agent ingest lets an anonymous caller in (to create only: PATCH calls require_token itself).

    Either way the write is counted first: per token, or per address for anonymous callers.
    charge=False leaves both to the caller, who charges once it knows the cost (OTLP).
    """
    if settings.get("agent_ingest_open") and bearer_plaintext() is None:
        if charge:
            limits.charge_address(settings.get("agent_ingest_open_per_minute"))
        return None
    return limits.charged_token("agents:write") if charge else require_token("agents:write")


def _body(schema, extra=None):
    return parse_small(schema, extra, code="agent_activity.validation_failed")


@documented({
    "tags": ["Agent activity log"], "summary": "Log one agent action",
    "description": "A token with the agents:write scope is required unless the setting "
                   "agent_ingest_open is on; anonymous writes are then limited per address "
                   "(agent_ingest_open_per_minute, 429 beyond). The `Idempotency-Key` header works "
                   "like the idempotency_key field. Keys belong to their caller: a token's keys "
                   "match only its own records, and anonymous callers share one space of keys. "
                   "An anonymous retry gets only the first record's id.",
    "security": AGENT_WRITER,
    "parameters": [{"in": "header", "name": "Idempotency-Key", "required": False,
                    "description": "1-200 printable ASCII characters, not only spaces (else 400); a key "
                                   "with other characters goes in the idempotency_key field.",
                    "schema": {"type": "string", "minLength": 1, "maxLength": 200,
                               "pattern": IDEMPOTENCY_HEADER}}],
    "requestBody": json_body(record_create_schema),
    "responses": {
        "201": {**answer(AgentRecordSchema, "Created."), "headers": {"Location": {
            "description": "The new record's URL.", "schema": {"type": "string"}}}},
        "200": {"description": "A retry with a known idempotency key: the first record (to a "
                                "token with agents:read), or only its id (to a caller who may "
                                "not read: anonymous, or a write-only token).",
                "content": {"application/json": {"schema": {"oneOf": [AgentRecordSchema, AnonymousRetrySchema]}}}},
        **errors(400, 401, 403, 413, 429, 503, 507)}})
@bp.post("/api/activities")
def create_agent_activity():
    """Log one agent action; a retried idempotency key returns the first record of the same caller.

    Keys are scoped to the token, or to the anonymous space all anonymous callers share.
    A caller who may not read (anonymous under open ingest, or a token without agents:read)
    gets only the first record's id on a retry: an anonymous record may be someone else's.
    """
    token = authorise_write()
    data = _body(record_create_schema, {"idempotency_key": _idempotency_header()})
    with db.write():
        at = now()
        if token is not None:
            touch_token(token, at)
        record, created = store.create_record(data, at, store.caller_of(token))
    location = url_for("query.get_agent_activity", activity_id=record["id"])
    if not created and (token is None or "agents:read" not in token.scopes):
        return {"id": record["id"], "duplicate": True}, 200, {"Location": location}
    return record_schema.dump(record), 201 if created else 200, {"Location": location}


def _idempotency_header():
    key = request.headers.get("Idempotency-Key")
    if key is not None and not (len(key) <= 200 and re.fullmatch(IDEMPOTENCY_HEADER, key)):
        message = "must be 1-200 printable ASCII characters, not only spaces (send other keys as idempotency_key)"
        raise ApiError(400, f"Invalid request: the Idempotency-Key header {message}.",
                       fields={"Idempotency-Key": message})
    return key


@documented({
    "tags": ["Agent activity log"], "summary": "Finish a pending or running action",
    "security": BEARER,
    "requestBody": json_body(record_update_schema),
    "responses": {"200": {"description": "The updated record (to a token with agents:read), or "
                                         "only its id (to a write-only token).",
                          "content": {"application/json": {"schema": {"oneOf": [
                              AgentRecordSchema, WriteReceiptSchema]}}}},
                  **errors(400, 401, 403, 404, 413, 429, 503, 507)}})
@bp.patch("/api/activities/<int:activity_id>")
def update_agent_activity(activity_id):
    """Finish a pending or running record: status, duration, tokens; metadata merged.

    The updated record comes back to a token that may read the log; to a write-only token, its id.
    """
    token = require_token("agents:write")   # open ingest never opens changes
    return finish_record(token, activity_id, _body(record_update_schema))


def finish_record(token, record_id, changes):
    """Apply the changes in one write; the record as this token may see it (MCP's finish_activity too)."""
    with db.write():
        at = now()
        touch_token(token, at)
        record = store.update_record(record_id, changes, at)
    if "agents:read" not in token.scopes:
        return {"id": record["id"]}
    return record_schema.dump(record)
