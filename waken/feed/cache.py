"""The public feed rendered once per change of its data, shared by GET /, GET /api/activity and the stream.

How a cached rendering stays right:
- Data. Every table the feed reads bumps one counter, feed_version.n, in a trigger
  (schema.sql), inside the transaction that changes it, whoever writes (a worker, the
  CLI, a sweep). A request reads the counter (one query) in the same read transaction
  as any rendering it builds, so a rendering is always labelled with the counter of
  the data it shows. A table that joins the feed gets the same three triggers (see
  feed_version in schema.sql); nothing here needs to change.
- Time. Liveness, the history window, the private-mode schedule and the end of the
  owner's status (waken.feed.privacy) change the output with no write at all, so
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
from zoneinfo import ZoneInfo

from flask import current_app, request

from waken import db, settings
from waken.feed import privacy
from waken.feed.build import build_feed
from waken.schemas.feed import feed_response_schema
from waken.timeutil import from_ms, now, parse_iso, to_ms

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
        return f"{BUILD_TAG}.{self.version[0]}-{self.version[1]}.{until}.{self.limit}"

    @cached_property
    def validator(self):
        """The ETag header's value."""
        return f'W/"{self.etag}"'   # the tag has no quotes to escape

    def validator_of(self, variant):
        """The ETag header's value for one variant of the rendering (the home page's language)."""
        return self.validator if not variant else f'W/"{self.etag}{variant}"'

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
        if self.version[0] == version[0] and in_time:
            # Only agent records changed: a burst of them re-renders at most once a second.
            return at - parse_iso(self.feed["data"]["generatedAt"]) < AGENT_REFRESH
        return max_age is not None and in_time and time.monotonic() - self.made < max_age


class Store:
    """One process's renderings, by limit."""

    def __init__(self):
        self.lock = threading.Lock()
        self.entries = {}


# (feed_version.n, agent_pulse.n): the second counts agent records, and only while the
# feed shows agents (public_agents = summary), so agent records leave the feed alone otherwise.
VERSION_SQL = """SELECT (SELECT n FROM feed_version WHERE id = 1),
    (SELECT n FROM agent_pulse WHERE id = 1
     AND EXISTS (SELECT 1 FROM setting WHERE key = 'public_agents' AND value = '"summary"'))"""
AGENT_REFRESH = timedelta(seconds=1)


def feed_version():
    """The change counters as this request's transaction sees them ((0, 0) before the first change)."""
    row = db.query_one(VERSION_SQL)
    return (row[0] or 0, row[1] or 0)


def latest_version():
    """The change counters as last committed; a rendering is still labelled by feed_version(),
    read in the transaction that renders it."""
    return feed_version()


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
        view = privacy.view_at(settings.load(), feed["generatedAt"])
    # Every public output is made from this payload: privacy applies here, once.
    payload = feed_response_schema.dump({"data": privacy.public_feed(feed, view)})
    return Rendering(version, limit, privacy.valid_until(valid_until(feed), view), payload,
                     dict(settings.load()))


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
    if values.get("public_stats") == "on":
        # The home page's Today charts start afresh at the next local midnight.
        local = feed["generatedAt"].astimezone(ZoneInfo(values["timezone"]))
        midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), local.tzinfo)
        moments.append(midnight - ONE_MICROSECOND)
    if feed.get("agents_valid_until") is not None:
        moments.append(feed["agents_valid_until"])
    return min(moments) if moments else None


def not_modified(rendering, variant=""):
    """Whether the request's If-None-Match names this rendering (a 304 then says it all);
    variant tells apart the renderings of one version (the home page's language)."""
    sent = request.environ.get("HTTP_IF_NONE_MATCH")
    if sent is None:
        return False
    # What a browser sends back most of the time is the tag itself: no need to parse a list.
    return sent == rendering.validator_of(variant) or request.if_none_match.contains_weak(rendering.etag + variant)


def answer(rendering, body=None, mimetype=None, headers=(), variant=""):
    """The response for a rendering: `body`, or 304 without one, marked with the rendering's
    validator (browsers and proxies must ask again each time) and `headers`, all set as it is made."""
    validators = (("ETag", rendering.validator_of(variant)), ("Cache-Control", "no-cache"))
    if body is None:
        return current_app.response_class(status=304, headers=(*headers, *validators))
    return current_app.response_class(body, mimetype=mimetype, headers=(*headers, *validators))


def json_bytes(rendering):
    """The API's body for a rendering."""
    return current_app.json.dumps(rendering.feed).encode()
