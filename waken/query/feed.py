"""GET /api/activity and /api/activity/stream: the public feed, once or live over SSE."""
import fcntl
import json
import os
import threading
import time

from flask import Response, current_app, request

from waken import settings
from waken.errors import ApiError
from waken.feed import build_feed
from waken.payload import load
from waken.query import bp
from waken.schemas.feed import feed_query_schema, feed_response_schema

RETRY_AFTER_SECONDS = 15
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
    slot = StreamSlot.acquire(os.path.join(current_app.instance_path, "sse-slots"),
                              settings.get("sse_max_streams"))
    if slot is None:
        raise ApiError(503, "Too many live streams are open; try again shortly.",
                       headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    try:
        first = _rendered(feed_payload(args["limit"]))
    except BaseException:
        slot.release()
        raise
    app = current_app._get_current_object()
    response = Response(_events(app, args["limit"], first, slot), mimetype="text/event-stream")
    # The WSGI server closes the response when the client goes, even if the body never started.
    response.call_on_close(slot.release)
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"
    return response


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


class StreamSlot:
    """One of N lock files in the instance folder: the stream cap holds across all processes."""

    def __init__(self, fd):
        self._fd = fd
        self._lock = threading.Lock()

    @classmethod
    def acquire(cls, directory, cap):
        """A free slot, or None when `cap` streams are open. The kernel frees it if a process dies."""
        os.makedirs(directory, exist_ok=True)
        for index in range(cap):
            fd = os.open(os.path.join(directory, f"slot-{index}.lock"),
                         os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            return cls(fd)
        return None

    def release(self):
        """Give the slot back (safe to call twice)."""
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
