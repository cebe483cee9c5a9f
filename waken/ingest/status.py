"""PUT and DELETE /api/status: the owner's status, set by a phone shortcut or the reporter (scope report)."""
from zoneinfo import ZoneInfo

from waken import db, settings
from waken.edge import limits
from waken.feed import status
from waken.ingest import bp
from waken.openapi.operations import BEARER, answer, documented, errors, json_body
from waken.payload import parse_small
from waken.schemas.status import (
    StatusAnswerSchema,
    status_answer_schema,
    status_set_schema,
)
from waken.timeutil import now

TAGS = ["Owner status"]


@documented({
    "tags": TAGS, "summary": "Set the owner status",
    "description": "Shown at the top of the home page, in the feed (`ownerStatus`) and in the embeds, "
                   "also in private mode; it clears itself at `until`. Needs the report scope.",
    "security": BEARER, "requestBody": json_body(status_set_schema),
    "responses": {"200": answer(StatusAnswerSchema, "Stored and shown."), **errors(400, 401, 403, 413, 429)}})
@bp.put("/api/status")
def set_owner_status():
    """Set the status (an emoji and/or a text, and an optional end)."""
    limits.charged_token("report")
    data = parse_small(status_set_schema, code="status.validation_failed")
    with db.write():
        shown = status.set_status(data["emoji"], data["text"], data["until"], now(),
                                  ZoneInfo(settings.get("timezone")))
    return status_answer_schema.dump({"data": shown})


@documented({
    "tags": TAGS, "summary": "Clear the owner status",
    "description": "Needs the report scope. Clearing when none is set is not an error.",
    "security": BEARER,
    "responses": {"200": answer(StatusAnswerSchema, "Cleared: data is null."), **errors(401, 403, 429)}})
@bp.delete("/api/status")
def clear_owner_status():
    """Clear the status."""
    limits.charged_token("report")
    with db.write():
        status.clear_status()
    return status_answer_schema.dump({"data": None})
