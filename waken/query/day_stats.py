"""GET /api/activity/stats and /api/activity/history: your day's statistics and the device history export."""
from flask import Response, stream_with_context

from waken import settings
from waken.auth.sessions import current_admin_id
from waken.auth.tokens import authenticate, bearer_plaintext, require_scope
from waken.devices import history
from waken.devices.day_rollup import zone_of
from waken.devices.day_stats import day_stats
from waken.errors import ApiError
from waken.feed.privacy import is_private
from waken.openapi.operations import BEARER, READER, answer, documented, errors
from waken.query import bp
from waken.query.agent_log import query_args
from waken.schemas.day_stats import (
    DayStatsQuerySchema,
    DayStatsResponseSchema,
    HistoryQuerySchema,
    HistoryResponseSchema,
    history_query_schema,
    history_response_schema,
    stats_query_schema,
    stats_response_schema,
)
from waken.timeutil import now


def owner_reads():
    """True for the admin session or a token with history:read; None without credentials; else 401/403."""
    if current_admin_id() is not None:
        return True
    if bearer_plaintext() is None:
        return None
    require_scope(authenticate(), "history:read")
    return True


@documented({
    "tags": ["Device reporting"], "summary": "Your day: top apps, per-device totals, hourly histogram",
    "description": "From the per-day rollup (local days of the `timezone` setting). Public, with app "
                   "rules applied (a hidden app counts as \"hidden\"), while the setting `public_stats` "
                   "is `on`; the admin session and tokens with the `history:read` scope always see it, "
                   "with the real app names.",
    "security": READER + [{}],
    "parameters": [{"in": "query", "schema": DayStatsQuerySchema}],
    "responses": {"200": answer(DayStatsResponseSchema, "The statistics."), **errors(400, 401, 403)}})
@bp.get("/api/activity/stats")
def device_day_stats():
    """Top apps, per-device totals and an hourly histogram of the last 1, 7 or 30 local days."""
    owner = owner_reads()
    if not owner and is_private(settings.load(), now()):
        raise ApiError(401, "Private mode is on, so the statistics are not public right now: send a token "
                            "with the history:read scope as 'Authorization: Bearer <token>', or sign in as the admin.",
                       code="stats.private_mode", params={"scope": "history:read"})
    if not owner and settings.get("public_stats") != "on":
        raise ApiError(401, "These statistics are private (the setting public_stats is off): send a token "
                            "with the history:read scope as 'Authorization: Bearer <token>', or sign in as the admin.",
                       code="stats.not_public", params={"scope": "history:read"})
    args = query_args(stats_query_schema, lists=())
    return stats_response_schema.dump({"data": day_stats(args["days"], now(), public=not owner)})


@documented({
    "tags": ["Device reporting"], "summary": "Export device history (runs of device activity)",
    "description": "format=json answers a page of runs newest first (follow nextBefore); format=csv "
                   "streams every run of the range, oldest first. Real app names and titles: the "
                   "admin session or a token with the `history:read` scope only.",
    "security": BEARER + [{"adminSession": []}],
    "parameters": [{"in": "query", "schema": HistoryQuerySchema}],
    "responses": {"200": {"description": "A page of runs, or the CSV download.",
                          "content": {"application/json": {"schema": HistoryResponseSchema},
                                      "text/csv": {"schema": {"type": "string"}}}},
                  **errors(400, 401, 403)}})
@bp.get("/api/activity/history")
def device_history():
    """The stored runs of device activity as JSON pages or one streamed CSV."""
    if not owner_reads():
        raise ApiError(401, "Missing API token: send one with the history:read scope as "
                            "'Authorization: Bearer <token>', or sign in as the admin.",
                       code="history.token_required", params={"scope": "history:read"})
    args = query_args(history_query_schema, lists=())
    at = now()
    if args["format"] == "json":
        return history_response_schema.dump({"data": history.history_page(args, at)})
    response = Response(stream_with_context(history.csv_chunks(args, at)), mimetype="text/csv")
    name = history.filename(at, zone_of(settings.get("timezone")))
    response.headers["Content-Disposition"] = f"attachment; filename={name}"
    return response
