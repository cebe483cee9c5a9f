"""GET /api/activity and /api/activity/stream: the public feed, once or live over SSE."""
import json
import threading
import time

from flask import current_app, request

from waken.feed import build_feed
from waken.payload import load
from waken.query import bp
from waken.query.streams import sse_response, take_slot
from waken.schemas.feed import feed_query_schema, feed_response_schema

RECONNECT_MS = 5000


def feed_payload(limit):
    """The feed as the JSON body both routes send."""
    return feed_response_schema.dump({"data": build_feed(limit)})


@bp.get("/api/activity")
def public_feed():
    """What every device is doing now, and what they did within the history window."""
    args = load(feed_query_schema, request.args.to_dict())
    response = current_app.json.response(feed_payload(args["limit"]))
    response.cache_control.no_cache = True
    return response


@bp.get("/api/activity/stream")
def activity_stream():
    """The feed as Server-Sent Events: on connect, then on every change."""
    args = load(feed_query_schema, request.args.to_dict())
    slot = take_slot()
    try:
        first = _rendered(feed_payload(args["limit"]))
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
                fingerprint, text = _shared_payload(app, limit, poll)
            if fingerprint != last:
                last, sent_at = fingerprint, time.monotonic()
                yield text
            elif time.monotonic() - sent_at >= keepalive:
                sent_at = time.monotonic()
                yield ": keep-alive\n\n"
    finally:
        slot.release()


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
    return json.dumps([items, data["historyWindowMinutes"], data["processStaleSeconds"]],
                      sort_keys=True)


def _shared_payload(app, limit, poll):
    """(fingerprint, event text): one feed build per process and poll, however many streams are open."""
    cache = app.extensions.setdefault("waken.stream_cache", {"lock": threading.Lock(), "entries": {}})
    with cache["lock"]:
        built_at, rendered = cache["entries"].get(limit, (None, None))
        if built_at is None or time.monotonic() - built_at >= poll / 2:
            rendered = _rendered(feed_payload(limit))
            cache["entries"][limit] = (time.monotonic(), rendered)
        return rendered
