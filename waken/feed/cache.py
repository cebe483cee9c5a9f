"""The public feed rendered once per change of its data, shared by GET /, GET /api/activity and the stream.

How a cached rendering stays right:
- Data. Every table the feed reads bumps one counter, feed_version.n, in a trigger
  (schema.sql), inside the transaction that changes it, whoever writes (a worker, the
  CLI, a sweep). A request reads the counter (one query) in the same read transaction
  as any rendering it builds, so a rendering is always labelled with the counter of
  the data it shows. A table that joins the feed gets the same three triggers (see
  feed_version in schema.sql); nothing here needs to change.
- Time. Liveness and the history window change the output with no write at all, so
  each rendering carries the last instant it is right (valid_until): the moment its
  first online activity goes offline or its first recent activity leaves the window.
  The next request after that instant renders anew. Positions of playing tracks are
  not such a change: the output states them at generatedAt, and readers advance them.

Each process keeps its own renderings (one per limit); the counter in SQLite is what
makes them valid across processes.
"""
import hashlib
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property

from flask import current_app, request

from waken import db, settings
from waken.feed.build import build_feed
from waken.schemas.feed import feed_response_schema
from waken.timeutil import from_ms, now, to_ms

ONE_MICROSECOND = timedelta(microseconds=1)


def _build_tag():
    # Part of every ETag, so an upgraded waken never answers 304 to a page the old
    # code rendered. The same for every worker started from the same files.
    digest = hashlib.sha256()
    root = os.path.dirname(os.path.abspath(__file__))
    for folder, dirs, files in sorted(os.walk(root)):
        dirs.sort()
        for name in sorted(files):
            if name.endswith((".py", ".html", ".js", ".css")):
                stat = os.stat(os.path.join(folder, name))
                digest.update(f"{folder}/{name}:{stat.st_mtime_ns}:{stat.st_size};".encode())
    return digest.hexdigest()[:10]


BUILD_TAG = _build_tag()


@dataclass
class Rendering:
    """The feed for one counter value and limit, with the forms derived from it, each made once."""

    version: int
    limit: int
    valid_until: datetime | None    # right while now <= valid_until; None: until the data changes
    feed: dict                      # {"success": true, "data": {...}} as the API sends it
    settings: dict                  # the settings it was rendered with (the page shows more of them)
    parts: dict = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    made: float = field(default_factory=time.monotonic)

    @cached_property
    def etag(self):
        until = "-" if self.valid_until is None else str(to_ms(self.valid_until))
        return f"{BUILD_TAG}.{self.version}.{until}.{self.limit}"

    @cached_property
    def validator(self):
        """The ETag header's value."""
        return f'W/"{self.etag}"'   # the tag has no quotes to escape

    def part(self, name, make):
        """make(rendering) once per rendering: the JSON bytes, the home page, the SSE event."""
        with self.lock:
            if name not in self.parts:
                self.parts[name] = make(self)
            return self.parts[name]

    def fresh(self, version, at, max_age=None):
        """Right for this counter and moment; with max_age, a rendering younger than that
        (seconds) also serves a newer counter, as long as time has not changed it."""
        in_time = self.valid_until is None or at <= self.valid_until
        if self.version == version:
            return in_time
        return max_age is not None and in_time and time.monotonic() - self.made < max_age


class Store:
    """One process's renderings, by limit."""

    def __init__(self):
        self.lock = threading.Lock()
        self.entries = {}


VERSION_SQL = "SELECT n FROM feed_version WHERE id = 1"


def feed_version():
    """The change counter as this request's transaction sees it (0 before the first change)."""
    return db.value(VERSION_SQL) or 0


def latest_version():
    """The change counter as last committed; a rendering is still labelled by feed_version(),
    read in the transaction that renders it."""
    return db.value(VERSION_SQL) or 0


def current(limit, max_age=None):
    """The rendering right for this moment: the stored one, or a new one when data or time moved on.

    max_age (seconds) lets a caller that polls (the live stream) take a rendering that
    young although the data changed since: under a stream of reports, a process then
    renders once per max_age instead of once per report and poll.
    """
    version, at = latest_version(), now()
    store = current_app.extensions.setdefault("waken.feed.cache", Store())
    entry = store.entries.get(limit)
    if entry is not None and entry.fresh(version, at, max_age):
        return entry
    # One rendering per change: concurrent requests wait for the first one's.
    with store.lock:
        entry = store.entries.get(limit)
        if entry is not None and entry.fresh(version, now(), max_age):
            return entry
        rendered = _render(limit)
        if entry is None or entry.version <= rendered.version:   # never replace a newer snapshot
            store.entries[limit] = rendered
        return rendered


def _render(limit):
    # The snapshot begins here, after latest_version() was read, so the data it shows
    # is at least as new as the counter the request saw. The counter, the settings and
    # the feed are read in it: a rendering never mixes two moments.
    with db.snapshot():
        version = feed_version()
        settings.reload()   # settings read earlier in the request may predate the version
        feed = build_feed(limit)
    payload = feed_response_schema.dump({"data": feed})
    return Rendering(version, limit, valid_until(feed), payload, dict(settings.load()))


def valid_until(feed):
    """The last instant at which this feed is still right, as time alone moves on (None: never changes)."""
    values = settings.load()
    stale = timedelta(seconds=values["process_stale_seconds"])
    window_ms = values["history_window_minutes"] * 60_000
    moments = []
    for item in feed["activeStatuses"] + feed["recentActivities"]:
        activity = item.activity
        if item.online:
            # reporting.is_live: realtime is live while at - updated_at <= stale,
            # active while at <= expires_at.
            if activity.push_mode == "active":
                if activity.expires_at is not None:
                    moments.append(activity.expires_at)
            else:
                moments.append(activity.updated_at + stale)
    for item in feed["recentActivities"]:
        activity = item.activity
        # feed.build_feed keeps an activity while its updated_at or ended_at (whole ms)
        # is >= the cutoff at - window truncated to whole ms: until the next whole ms.
        last = max(to_ms(activity.updated_at), to_ms(activity.ended_at) if activity.ended_at else 0)
        moments.append(from_ms(last + window_ms + 1) - ONE_MICROSECOND)
    return min(moments) if moments else None


def not_modified(rendering):
    """Whether the request's If-None-Match names this rendering (a 304 then says it all)."""
    sent = request.environ.get("HTTP_IF_NONE_MATCH")
    if sent is None:
        return False
    # What a browser sends back most of the time is the tag itself: no need to parse a list.
    return sent == rendering.validator or request.if_none_match.contains_weak(rendering.etag)


def answer(rendering, body=None, mimetype=None, headers=()):
    """The response for a rendering: `body`, or 304 without one, marked with the rendering's
    validator (browsers and proxies must ask again each time) and `headers`, all set as it is made."""
    validators = (("ETag", rendering.validator), ("Cache-Control", "no-cache"))
    if body is None:
        return current_app.response_class(status=304, headers=(*headers, *validators))
    return current_app.response_class(body, mimetype=mimetype, headers=(*headers, *validators))


def json_bytes(rendering):
    """The API's body for a rendering."""
    return current_app.json.dumps(rendering.feed).encode()
