"""GET /api/activities, /stats and /stream: reading the agent log (token or admin session)."""
import json
import time
from contextlib import ExitStack

from flask import Response, current_app, request, stream_with_context

from waken import db
from waken.admission import app_gate
from waken.agent_log import stats, store
from waken.agent_log.csv_export import csv_chunks, today_filename
from waken.auth.tokens import require_reader
from waken.errors import ApiError, Busy
from waken.payload import load
from waken.query import bp
from waken.query.streams import sse_response, take_agent_slot
from waken.schemas.agent_log import (
    record_list_schema,
    record_schema,
    stats_schema,
    stream_event_schema,
)
from waken.schemas.agent_log_queries import (
    export_query_schema,
    log_query_schema,
    stats_query_schema,
    stream_query_schema,
)
from waken.timeutil import now

REPLAY_LIMIT = 1000     # at most this many missed records are replayed on reconnect
BATCH = 200             # records read per poll; a full batch is followed at once by the next
RECONNECT_MS = 3000


def query_args(schema, lists=("type", "status"), skip=()):
    """Query parameters for a schema: repeats of a list parameter join, repeats of others are 400."""
    args = {}
    for key, values in request.args.lists():
        if key in skip:
            continue
        if len(values) > 1 and key not in lists:
            raise ApiError(400, f"Invalid request: {key} is given more than once.",
                           fields={key: "is given more than once"}, code="query.repeated_parameter", params={"field": key})
        args[key] = ",".join(values)
    return load(schema, args)


@bp.get("/api/activities")
def list_agent_activities():
    """The log, filtered and paged, as JSON; format=csv is the export's download (SPEC §4.2)."""
    require_reader()
    if request.args.get("format", "").strip().lower() == "csv":
        # The original API's clients ask the list for CSV; the reference documents it as the export.
        return _csv(query_args(export_query_schema, skip=("format",)), now())
    return record_list_schema.dump(store.list_records(query_args(log_query_schema), now()))


@bp.get("/api/activities/export")
def export_agent_activities():
    """Every match as a streamed CSV download."""
    require_reader()
    return _csv(query_args(export_query_schema), now())


def _csv(args, at):
    chunks = csv_chunks(args, at)      # a bad range is a 400 before a turn is taken
    # A download is Python work for as long as it streams: one at a time per process, so a
    # burst of them cannot starve the writers of the interpreter (503 + Retry-After beyond).
    turn = ExitStack()       # closing it twice is harmless: the second close finds nothing to do
    turn.enter_context(app_gate(current_app, "waken.export_gate", current_app.config["EXPORTS_AT_ONCE"],
                                _busy).turn())
    # Given back when the last chunk is sent, or when the server closes the answer unread.
    response = Response(stream_with_context(_then(chunks, turn.close)), mimetype="text/csv")
    response.call_on_close(turn.close)
    response.headers["Content-Disposition"] = f"attachment; filename={today_filename(at)}"
    return response


def _then(chunks, done):
    try:
        yield from chunks
    finally:
        done()


def _busy():
    return Busy("The server is busy with other CSV downloads; try again in a moment.", retry_after=1,
                code="busy.export")


@bp.get("/api/activities/<int:activity_id>")
def get_agent_activity(activity_id):
    """One record (where the Location header of POST points)."""
    require_reader()
    return record_schema.dump(store.get_record(activity_id, now()))


@bp.get("/api/activities/stats")
def agent_activity_stats():
    """Totals, per type and status, a daily heatmap, a 7-day trend and hourly counts."""
    require_reader()
    args = query_args(stats_query_schema, lists=("type",))
    return stats_schema.dump(stats.stats(args, now()))


@bp.get("/api/activities/stream")
def agent_activity_stream():
    """New records as Server-Sent Events, in id order; Last-Event-ID replays missed ones."""
    require_reader()
    query = request.args.to_dict()
    header = request.headers.get("Last-Event-ID", "").strip()
    if header:
        query["lastEventId"] = header
    stream_args = load(stream_query_schema, query)
    last_event = stream_args.get("lastEventId")
    latest = store.latest_id()
    start = latest if last_event is None else min(latest, max(last_event, latest - REPLAY_LIMIT))
    slot = take_agent_slot()
    db.release()    # hold no connection while the stream idles
    return sse_response(_events(current_app._get_current_object(), start, slot, stream_args.get("session")), slot)


def _events(app, last_id, slot, session=None):
    # No request context and no database connection is held between polls: each poll
    # borrows a connection in its own app context and gives it back. Writers are
    # serialised (BEGIN IMMEDIATE), so ids commit in order and `id > last_id` misses
    # nothing, however many rows arrive at once or however they are back-dated.
    poll = app.config["SSE_POLL_SECONDS"]
    keepalive = app.config["SSE_KEEPALIVE_SECONDS"]
    try:
        with app.app_context():
            connected = stream_event_schema.dump({"type": "connected", "ts": now()})
        # The connected event carries the cursor, so a reconnect resumes from here.
        yield f"retry: {RECONNECT_MS}\n" + _event(connected, last_id)
        sent_at = time.monotonic()
        while True:
            with app.app_context():
                batch = store.records_after(last_id, now(), BATCH, session)
                db.release()
            for record in batch:
                last_id = record["id"]
                yield _event({"type": "new", "activity": record_schema.dump(record)}, last_id)
                sent_at = time.monotonic()
            if len(batch) == BATCH:
                continue
            if time.monotonic() - sent_at >= keepalive:
                yield ": keep-alive\n\n"
                sent_at = time.monotonic()
            time.sleep(poll)
            if slot.client_gone():
                return   # frees the slot now, not at the next event or keep-alive
    finally:
        slot.release()


def _event(payload, event_id):
    return f"id: {event_id}\ndata: " + json.dumps(payload, ensure_ascii=False, separators=(",", ":")) + "\n\n"
