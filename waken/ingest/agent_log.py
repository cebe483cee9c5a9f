"""POST /api/activities and PATCH /api/activities/<id>: the agent activity log."""
from flask import current_app, request, url_for

from waken import db, settings
from waken.agent_log import store
from waken.auth.tokens import bearer_plaintext, require_token, touch_token
from waken.edge import limits
from waken.ingest import bp
from waken.payload import parse
from waken.schemas.agent_log import (
    record_create_schema,
    record_schema,
    record_update_schema,
)
from waken.timeutil import now


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
    token = require_token("agents:write")
    if charge:
        limits.charge_token(token.id)
    return token


def _body(schema, extra=None):
    return parse(schema, extra, limit=current_app.config["SMALL_BODY_MAX_BYTES"])


@bp.post("/api/activities")
def create_agent_activity():
    """Log one agent action; a retried idempotency key returns the first record of the same caller.

    Keys are scoped to the token, or to the anonymous space all anonymous callers share.
    A caller who may not read (anonymous under open ingest, or a token without agents:read)
    gets only the first record's id on a retry: an anonymous record may be someone else's.
    """
    token = authorise_write()
    data = _body(record_create_schema, {"idempotency_key": request.headers.get("Idempotency-Key")})
    with db.write():
        at = now()
        if token is not None:
            touch_token(token, at)
        record, created = store.create_record(data, at, store.caller_of(token))
    location = url_for("query.get_agent_activity", activity_id=record["id"])
    if not created and (token is None or "agents:read" not in token.scopes):
        return {"id": record["id"], "duplicate": True}, 200, {"Location": location}
    return record_schema.dump(record), 201 if created else 200, {"Location": location}


@bp.patch("/api/activities/<int:activity_id>")
def update_agent_activity(activity_id):
    """Finish a pending or running record: status, duration, tokens; metadata merged.

    The updated record comes back to a token that may read the log; to a write-only token, its id.
    """
    token = require_token("agents:write")   # open ingest never opens changes
    changes = _body(record_update_schema)
    with db.write():
        at = now()
        touch_token(token, at)
        record = store.update_record(activity_id, changes, at)
    if "agents:read" not in token.scopes:
        return {"id": record["id"]}
    return record_schema.dump(record)
