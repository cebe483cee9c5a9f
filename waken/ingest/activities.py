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
    """True for a token with agents:write; False for an anonymous caller while open ingest is on."""
    if settings.get("agent_ingest_open") and bearer_plaintext() is None:
        return False
    touch_token(require_token("agents:write"), at)
    return True


@bp.post("/api/activities")
def create_agent_activity():
    """Log one agent action; a retried idempotency key returns the first record.

    An anonymous caller (open ingest) may create, never read: its retry gets only the id.
    """
    data, problem = parse(activity_create_schema,
                          {"idempotency_key": request.headers.get("Idempotency-Key")})
    begin_write()
    at = now()
    trusted = _authorise_create(at)
    if problem:
        raise problem
    record, created = agents.create_activity(data, at)
    db.session.commit()
    location = url_for("query.get_agent_activity", activity_id=record["id"])
    if not created and not trusted:
        return {"id": record["id"], "duplicate": True}, 200, {"Location": location}
    return activity_schema.dump(record), 201 if created else 200, {"Location": location}


@bp.patch("/api/activities/<int:activity_id>")
def update_agent_activity(activity_id):
    """Finish a pending or running record: status, duration, tokens; metadata merged."""
    changes, problem = parse(activity_update_schema)
    begin_write()
    at = now()
    touch_token(require_token("agents:write"), at)   # open ingest never opens changes
    if problem:
        raise problem
    record = agents.update_activity(activity_id, changes, at)
    db.session.commit()
    return activity_schema.dump(record)
