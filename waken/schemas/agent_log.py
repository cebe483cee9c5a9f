"""Schemas of agent records: a record as sent (create, finish) and as shown, alone, paged, streamed, summed."""
from marshmallow import (
    EXCLUDE,
    RAISE,
    Schema,
    ValidationError,
    fields,
    validates_schema,
)
from marshmallow.validate import Length, Range

from waken.agent_log.filters import STATUSES
from waken.schemas.fields import (
    DATE_TIME_PATTERN,
    NON_NEGATIVE,
    Choice,
    FreeText,
    IsoTime,
    JsonObject,
    StrictInteger,
    StrictNumber,
    Text,
    Timestamp,
    always_sent,
)

REQUIRED = {"required": "is required", "null": "is required"}
AT_MOST_64 = Length(max=64, error="must be at most 64 characters")
AT_MOST_128 = Length(max=128, error="must be at most 128 characters")
MAX_COST_USD = 1_000_000_000    # a billion dollars: micro-dollars of any sum of these fit SQLite's integers
COST_RANGE = Range(min=0, max=MAX_COST_USD, error=f"must be a number from 0 to {MAX_COST_USD}")


class OutcomeSchema(Schema):
    """How an action went, as POST and PATCH both may say it: its duration and tokens."""

    duration_ms = StrictInteger(allow_none=True, validate=NON_NEGATIVE,
                                metadata={"description": "How long the action took, in milliseconds."})
    tokens_used = StrictInteger(allow_none=True, validate=NON_NEGATIVE,
                                metadata={"description": "Model tokens the action used."})


class AgentRecordCreateSchema(OutcomeSchema):
    """POST /api/activities: one agent action. Unknown keys are ignored; null means not given."""

    class Meta:
        unknown = EXCLUDE

    type = Text(required=True, non_empty=True, validate=AT_MOST_64, error_messages=REQUIRED, metadata={
        "description": "What kind of action, e.g. tool_call, file_read, file_write, command, "
                       "message, cron_run, agent_action (1-64 characters)."})
    description = FreeText(required=True,
                           validate=Length(max=4000, error="must be at most 4000 characters"),
                           error_messages=REQUIRED, metadata={
                               "description": "What happened, for a person: e.g. the tool name and a short "
                                              "summary of its arguments (1-4000 characters), kept as sent."})
    status = Choice(STATUSES, required=True, error_messages=REQUIRED, metadata={
        "description": "success or error for a finished action; pending or running for one that a "
                       "later PATCH finishes."})
    timestamp = Timestamp(allow_none=True, metadata={
        "type": "string", "format": "date-time", "pattern": DATE_TIME_PATTERN,
        "description": "When the action ran, ISO 8601 (no zone means UTC); default now. 400 when it is "
                       "more than AGENT_CLOCK_SKEW_SECONDS (5 s by default) ahead of the server's clock, "
                       "or older than the retention window (the agent_retention_days setting, 30 by "
                       "default), where the next sweep would delete it."})
    agent = Text(allow_none=True, validate=AT_MOST_64,
                 metadata={"description": "Which agent acted, e.g. main or tenacitas (at most 64 characters)."})
    metadata = JsonObject(allow_none=True, metadata={
        "description": "Free-form JSON object, e.g. error details (size-limited, 64 KiB by default)."})
    idempotency_key = Text(allow_none=True, non_empty=True,
                           validate=Length(max=200, error="must be at most 200 characters"), metadata={
                               "description": "Makes retries safe: a second POST with the same key from "
                                              "the same caller (token, or anonymous) returns the first "
                                              "record with 200. The Idempotency-Key header does the same."})
    session = Text(allow_none=True, non_empty=True, validate=AT_MOST_128, metadata={
        "description": "Which session (conversation, run) the action belongs to, e.g. Claude Code's "
                       "session.id (1-128 characters); GET /api/agent-sessions groups records by it."})
    cost_usd = StrictNumber(allow_none=True, validate=COST_RANGE, metadata={
        "minimum": 0, "maximum": MAX_COST_USD,
        "description": "What the action cost, in US dollars; stored exactly to the micro-dollar "
                       "(rounded to 6 decimals)."})


class AgentRecordUpdateSchema(OutcomeSchema):
    """PATCH /api/activities/<id>: finish a pending or running record; metadata is merged, null changes nothing."""

    # Unlike POST's, PATCH's fields are few and a misspelt one would silently change nothing.
    error_messages = {"unknown": "is not a field PATCH changes"}

    class Meta:
        unknown = RAISE

    status = Choice(STATUSES, allow_none=True, metadata={"description": "The new status (null: as it is)."})
    metadata = JsonObject(allow_none=True, metadata={
        "description": "Keys to add or replace in the stored metadata (a shallow merge)."})

    @validates_schema
    def _something(self, data, **_):
        # Null means "not given", so a field sent as null leaves the stored value as it is;
        # a body naming no field at all is most likely a mistake.
        if not data:
            raise ValidationError("send at least one of status, duration_ms, tokens_used or metadata")


@always_sent()
class AgentRecordSchema(Schema):
    """An agent record as the API shows it."""

    id = fields.Integer(metadata={"description": "Monotonic id: later records always have larger ids."})
    type = fields.String()
    description = fields.String()
    status = fields.String(metadata={"enum": list(STATUSES)})
    timestamp = IsoTime(metadata={"type": "string", "format": "date-time",
                                  "description": "When the action ran (UTC, ISO 8601 with Z)."})
    duration_ms = fields.Integer(allow_none=True)
    tokens_used = fields.Integer(allow_none=True)
    agent = fields.String(allow_none=True)
    metadata = fields.Dict(allow_none=True)
    session = fields.String(allow_none=True, metadata={"description": "The session it belongs to, if any."})
    cost_usd = fields.Float(allow_none=True, metadata={"description": "What it cost in US dollars, if known."})


PARTIAL = ("Sent with q only: true when the search stopped at its bound (see q), so `total` counts "
           "only what it found within it.")


@always_sent()
class PageSchema(Schema):
    """What every paged answer carries beside its items (the log, the sessions, one session)."""

    total = fields.Integer(metadata={"description": "Items matching, across all pages."})
    limit = fields.Integer()
    offset = fields.Integer()
    hasMore = fields.Boolean(metadata={"description": "Whether a later page has more items."})


@always_sent("partial")
class SearchPageSchema(PageSchema):
    """A page of a list that q can search (the log, the sessions)."""

    partial = fields.Boolean(metadata={"description": PARTIAL})


@always_sent("partial")
class AgentRecordListSchema(SearchPageSchema):
    """One page of the log; total counts the rows matching the filters."""

    activities = fields.List(fields.Nested(AgentRecordSchema))


@always_sent("ts", "activity")
class AgentStreamEventSchema(Schema):
    """The JSON data of one stream event: first {type: connected, ts}, then {type: new, activity}."""

    type = fields.String(metadata={"enum": ["connected", "new"]})
    ts = IsoTime(metadata={"type": "string", "format": "date-time", "description": "Connected events only."})
    activity = fields.Nested(AgentRecordSchema, metadata={"description": "New events only."})


def _count_of(name, key, description):
    """A {<key>, count} item of the stats (the component is `name` less "Schema")."""
    return always_sent()(Schema.from_dict({key: fields.String(metadata={"description": description}),
                                           "count": fields.Integer()}, name=name))


DayCountSchema = _count_of("DayCountSchema", "day", "Local date, YYYY-MM-DD.")
HourCountSchema = _count_of("HourCountSchema", "hour", "Local hour, 00 to 23.")


@always_sent()
class TrendDaySchema(DayCountSchema):
    success = fields.Integer()
    errors = fields.Integer()
    costUsd = fields.Float(metadata={"description": "The day's records' cost_usd summed, in US dollars."})


@always_sent()
class UsageSchema(Schema):
    records = fields.Integer()
    tokensUsed = fields.Integer()
    costUsd = fields.Float(metadata={"description": "In US dollars, exact to the micro-dollar."})


@always_sent()
class AgentStatsSchema(Schema):
    """Summary of the log within the retention window, days and hours in the configured time zone."""

    total = fields.Integer(metadata={"description": "Rows within the retention window."})
    today = fields.Integer(metadata={"description": "Rows since local midnight."})
    thisWeek = fields.Integer(metadata={"description": "Rows since local midnight on Monday."})
    byType = fields.Dict(keys=fields.String(), values=fields.Integer())
    byStatus = fields.Dict(keys=fields.String(), values=fields.Integer(),
                           metadata={"description": "Every status, zeros included."})
    heatmap = fields.List(fields.Nested(DayCountSchema), metadata={
        "description": "Every local day the retention window touches, oldest first, zeros included."})
    trend = fields.List(fields.Nested(TrendDaySchema), metadata={
        "description": "The last 7 local days, oldest first."})
    hourly = fields.List(fields.Nested(HourCountSchema), metadata={
        "description": "All 24 local hours over the last 30 local days."})
    tokensUsed = fields.Integer()
    avgDurationMs = fields.Integer(allow_none=True, metadata={
        "description": "Mean of the durations given, in ms (null when no record has one)."})
    costUsd = fields.Float(metadata={"description": "The records' cost_usd summed, in US dollars (exact "
                                                    "to the micro-dollar; 0 when none has a cost)."})
    byModel = fields.Dict(keys=fields.String(), values=fields.Nested(UsageSchema), metadata={
        "description": "Records, tokens and cost per model (metadata.model), costliest first."})
    byAgent = fields.Dict(keys=fields.String(), values=fields.Nested(UsageSchema), metadata={
        "description": "Records, tokens and cost per agent, costliest first."})


@always_sent()
class AnonymousRetrySchema(Schema):
    """A retry by a caller who may not read the log: the record exists, its content stays private."""

    id = fields.Integer(required=True)
    duplicate = fields.Boolean(required=True, metadata={"enum": [True]})


@always_sent()
class WriteReceiptSchema(Schema):
    """A PATCH by a write-only token: done, and which record."""

    id = fields.Integer(required=True)


record_create_schema = AgentRecordCreateSchema()
record_update_schema = AgentRecordUpdateSchema()
record_schema = AgentRecordSchema()
record_list_schema = AgentRecordListSchema()
stream_event_schema = AgentStreamEventSchema()
stats_schema = AgentStatsSchema()
