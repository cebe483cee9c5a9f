"""GET /api/activity and /api/activity/stream: the public feed, once or live over SSE."""
import json
import time

from flask import current_app, request

from waken.feed import cache
from waken.feed.build import DEFAULT_LIMIT
from waken.payload import load
from waken.query import bp
from waken.query.streams import sse_response, take_slot
from waken.schemas.feed import feed_query_schema

RECONNECT_MS = 5000


def feed_payload(limit):
    """The feed as the JSON body both routes send (rendered once per change, see waken.feed.cache)."""
    return cache.current(limit).feed


@bp.get("/api/activity")
def public_feed():
    """What every device is doing now, and what they did within the history window."""
    # Most reads carry no query at all: spare them the schema.
    limit = load(feed_query_schema, request.args.to_dict())["limit"] if request.args else DEFAULT_LIMIT
    rendering = cache.current(limit)
    if cache.not_modified(rendering):
        return cache.answer(rendering)
    return cache.answer(rendering, rendering.part("json", cache.json_bytes), "application/json")


@bp.get("/api/activity/stream")
def activity_stream():
    """The feed as Server-Sent Events: on connect, then on every change."""
    args = load(feed_query_schema, request.args.to_dict())
    slot = take_slot()
    try:
        first = cache.current(args["limit"]).part("sse", _event)
    except BaseException:
        slot.release()
        raise
    return sse_response(_events(current_app._get_current_object(), args["limit"], first, slot), slot)


def _events(app, limit, first, slot):
    # No request context and no database connection is held between polls: each
    # poll borrows a connection inside its own app context and gives it back.
    poll = app.config["SSE_POLL_SECONDS"]
    keepalive = app.config["SSE_KEEPALIVE_SECONDS"]
    try:
        last, text = first
        yield f"retry: {RECONNECT_MS}\n" + text
        sent_at = time.monotonic()
        while True:
            time.sleep(poll)
            if slot.client_gone():
                return   # frees the slot now, not at the next event or keep-alive
            with app.app_context():
                # A rendering up to half a poll old will do: a viewer sees news within a
                # poll anyway, and a process renders at most twice per poll under load.
                fingerprint, text = cache.current(limit, max_age=poll / 2).part("sse", _event)
            if fingerprint != last:
                last, sent_at = fingerprint, time.monotonic()
                yield text
            elif time.monotonic() - sent_at >= keepalive:
                sent_at = time.monotonic()
                yield ": keep-alive\n\n"
    finally:
        slot.release()


def _event(rendering):
    return _rendered(rendering.feed)


def _rendered(payload):
    """(fingerprint, event text) of a feed payload, computed once for every stream."""
    text = "event: activity\ndata: " + json.dumps(payload, ensure_ascii=False, separators=(",", ":")) + "\n\n"
    return _fingerprint(payload), text


def _fingerprint(payload):
    # What a viewer would notice: not the generation time, and not the position of
    # a playing track, which advances on its own.
    data = payload["data"]
    items = [{**item, "nowPlaying": item["nowPlaying"] and {**item["nowPlaying"], "positionMs": None}}
             for item in data["activeStatuses"] + data["recentActivities"]]
    # Everything else counts (the owner's status, private mode, whatever joins the feed).
    rest = {key: value for key, value in data.items()
            if key not in ("generatedAt", "activeStatuses", "recentActivities")}
    return json.dumps([items, rest], sort_keys=True, default=str)
