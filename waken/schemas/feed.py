"""Schemas of the public feed: its query, its items (the report item plus public extras)."""
from marshmallow import EXCLUDE, Schema, fields, post_load
from marshmallow.validate import Range

from waken.feed.build import DEFAULT_LIMIT, MAX_LIMIT
from waken.schemas.fields import IsoTime, always_sent, envelope
from waken.schemas.reports import ActivityItemSchema


class FeedQuerySchema(Schema):
    """GET /api/activity and its stream. Unknown parameters (such as public=1) are ignored."""

    class Meta:
        unknown = EXCLUDE

    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=Range(min=1, error="must be at least 1"),
                           metadata={"description": f"Recent activities to return (default {DEFAULT_LIMIT}; "
                                                    f"larger values are lowered to {MAX_LIMIT})."})

    @post_load
    def _clamp(self, data, **_):
        return {**data, "limit": min(data["limit"], MAX_LIMIT)}


@always_sent()
class BatterySchema(Schema):
    percent = fields.Integer(allow_none=True, metadata={"description": "0-100, or null when unknown."})
    charging = fields.Boolean(allow_none=True)


@always_sent()
class NowPlayingSchema(Schema):
    """metadata.media normalised from every alias a reporter may use."""

    title = fields.String()
    singer = fields.String(allow_none=True)
    album = fields.String(allow_none=True)
    status = fields.String(allow_none=True, metadata={"enum": ["playing", "paused", "stopped"]})
    positionMs = fields.Integer(allow_none=True, metadata={
        "description": "Position at generatedAt; a playing track advances from there. For an ended "
                       "or offline activity: the position of its last report, with status stopped."})
    durationMs = fields.Integer(allow_none=True)
    startMs = fields.Integer(allow_none=True, metadata={"description": "Track start, Unix ms."})
    endMs = fields.Integer(allow_none=True, metadata={"description": "Track end, Unix ms."})
    coverUrl = fields.String(allow_none=True)
    appIconUrl = fields.String(allow_none=True)
    source = fields.String(allow_none=True, metadata={
        "description": "The play source's label (a rename rule's label when one applies)."})


@always_sent()
class FeedItemSchema(ActivityItemSchema):
    """An activity in the public feed: the report item shape plus liveness, battery and media."""

    processName = fields.String(attribute="process_name", allow_none=True, metadata={
        "description": "The app (an app rule's label when one applies); null when an app rule hides it."})
    processTitle = fields.String(attribute="process_title", allow_none=True, metadata={
        "description": "The window title; null when none was reported or an app rule hides it."})
    metadata = fields.Dict(attribute="public_meta", metadata={
        "description": "As reported; metadata.media is left out for blocked play sources, and "
                       "everything for an app an app rule hides."})
    online = fields.Boolean(metadata={"description": "Live now (realtime: reported within the stale "
                                                     "timeout; active: not expired)."})
    lastReportAt = IsoTime(attribute="last_report_at", metadata={"description": "The last report (updatedAt)."})
    battery = fields.Nested(BatterySchema)
    nowPlaying = fields.Nested(NowPlayingSchema, attribute="now_playing", allow_none=True)
    locked = fields.Boolean(dump_default=False, metadata={
        "description": "The device shows a lock screen (a process of the lock_screen_processes setting); "
                       "processName and processTitle are then null."})


@always_sent()
class OwnerStatusSchema(Schema):
    """The status the owner set (admin panel, `flask status set`, PUT /api/status)."""

    emoji = fields.String(metadata={"description": "Empty when none was given."})
    text = fields.String(metadata={"description": "Empty when none was given."})
    until = IsoTime(allow_none=True, metadata={"description": "When it clears itself; null: until cleared."})


@always_sent()
class AgentSummarySchema(Schema):
    """One agent on the public page (public_agents = summary): never a description or metadata."""

    agent = fields.String()
    state = fields.String(metadata={"enum": ["working", "waiting", "idle", "error"], "description":
                                    "From its latest record: waiting (a notification or permission "
                                    "request), error, working (running, or within 60 s), else idle."})
    since = IsoTime(metadata={"description": "When the agent entered this state."})
    toolCalls5m = fields.Integer(metadata={"description": "Its tool_call records of the last 5 minutes."})


@always_sent()
class FeedSchema(Schema):
    activeStatuses = fields.List(fields.Nested(FeedItemSchema), metadata={
        "description": "One item per device with a live activity, newest report first; "
                       "at most 50 (the newest)."})
    recentActivities = fields.List(fields.Nested(FeedItemSchema), metadata={
        "description": "Activities started or updated within the history window, newest first."})
    historyWindowMinutes = fields.Integer()
    processStaleSeconds = fields.Integer()
    generatedAt = IsoTime()
    agents = fields.List(fields.Nested(AgentSummarySchema), metadata={
        "description": "Agents with a record in the last hour, while the setting public_agents is "
                       "summary; empty otherwise."})
    ownerStatus = fields.Nested(OwnerStatusSchema, allow_none=True, metadata={
        "description": "The owner's status, or null when none is set or its end has passed."})
    private = fields.Boolean(metadata={
        "description": "Private mode is on: activeStatuses only say which devices are online (no app, "
                       "title, track, battery or times: ids are 0 and times 1970-01-01T00:00:00Z), "
                       "and recentActivities is empty."})


FeedResponseSchema = envelope("FeedResponseSchema", FeedSchema)


feed_query_schema = FeedQuerySchema()
feed_response_schema = FeedResponseSchema()
