"""POST /api/activities and PATCH /api/activities/<id>: the agent activity log."""
from flask import request, url_for

from waken import agents, settings
from waken.auth import bearer_plaintext, require_token, touch_token
from waken.db import begin_write, db
from waken.ingest import bp
from waken.payload import parse
from waken.schemas.agents import (
    activity_create_schema,
    activity_schema,
    activity_update_schema,
)
from waken.timeutil import now


def _authorise_create(at):
    """Whether the caller may read records back: a token with agents:write is required unless open
    ingest is on and none was sent (an anonymous caller, who may not read)."""
    if settings.get("agent_ingest_open") and bearer_plaintext() is None:
        return False
    token = require_token("agents:write")
    touch_token(token, at)
    return "agents:read" in token.scopes


@bp.post("/api/activities")
def create_agent_activity():
    """Log one agent action; a retried idempotency key returns the first record.

    A caller who may not read (anonymous under open ingest, or a token without agents:read)
    gets only the first record's id on a retry: the record may be someone else's.
    """
    data, problem = parse(activity_create_schema,
                          {"idempotency_key": request.headers.get("Idempotency-Key")})
    begin_write()
    at = now()
    may_read = _authorise_create(at)
    if problem:
        raise problem
    record, created = agents.create_activity(data, at)
    db.session.commit()
    location = url_for("query.get_agent_activity", activity_id=record["id"])
    if not created and not may_read:
        return {"id": record["id"], "duplicate": True}, 200, {"Location": location}
    return activity_schema.dump(record), 201 if created else 200, {"Location": location}


@bp.patch("/api/activities/<int:activity_id>")
def update_agent_activity(activity_id):
    """Finish a pending or running record: status, duration, tokens; metadata merged.

    The updated record comes back to a token that may read the log; to a write-only token, its id.
    """
    changes, problem = parse(activity_update_schema)
    begin_write()
    at = now()
    token = require_token("agents:write")   # open ingest never opens changes
    touch_token(token, at)
    if problem:
        raise problem
    record = agents.update_activity(activity_id, changes, at)
    db.session.commit()
    if "agents:read" not in token.scopes:
        return {"id": record["id"]}
    return activity_schema.dump(record)
