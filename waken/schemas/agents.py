"""Schemas of the agent activity log: the record, its patch, the list and stats queries, the answers."""
from datetime import date

from marshmallow import (
    EXCLUDE,
    RAISE,
    Schema,
    ValidationError,
    fields,
    post_load,
    pre_load,
    validates_schema,
)
from marshmallow.validate import Length, Range

from waken.schemas.fields import (
    NOT_BLANK,
    SQL_INT_MAX,
    Choice,
    IsoTime,
    JsonObject,
    StrictInteger,
    Text,
    always_sent,
)
from waken.timeutil import parse_iso

STATUSES = ("success", "error", "pending", "running")
SORTS = ("newest", "oldest")
FORMATS = ("json", "csv")
DEFAULT_LIMIT = 50
MAX_JSON_LIMIT = 500
MAX_CSV_LIMIT = 10_000
REQUIRED = {"required": "is required", "null": "is required"}
# Comma lists as the document describes them: the first word not blank, each at most 64 characters.
# (Spaces are spelled out: ECMAScript's \s and Python's str.strip() disagree on a few.)
_SPACE = r"[ \t\n\r\f\v]"
WORDS = rf"^{_SPACE}*[^,\s\x1c-\x1f\x85][^,]{{0,63}}(,[^,]{{0,64}})*$"
_STATUS = "(" + "|".join(STATUSES) + ")"
STATUS_WORDS = rf"^{_SPACE}*{_STATUS}{_SPACE}*(,{_SPACE}*{_STATUS}{_SPACE}*)*$"
NON_NEGATIVE = Range(min=0, error="must be a whole number of at least 0")
WHOLE = {"invalid": "must be a whole number"}


# Dates and date-times the query and the log accept, as the document states them: years
# FIRST_YEAR to LAST_YEAR (the log never holds anything outside), days 01-28 of the pattern
# being a safe subset of the real calendar the server checks.
FIRST_YEAR, LAST_YEAR = 1970, 2999
_DAY = r"(19[7-9][0-9]|2[0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|1[0-9]|2[0-8])"
_TIME = r"T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?(Z|[+-](0[0-9]|1[0-3]):[0-5][0-9])?"
DATE_TIME_PATTERN = f"^{_DAY}{_TIME}$"
DATE_OR_TIME_PATTERN = f"^{_DAY}({_TIME})?$"


def _in_years(value, text):
    # The year as written (parsing succeeded, so it is the first four digits), before any
    # offset moves it: 1970-01-01T00:00+01:00 is in range.
    if not FIRST_YEAR <= int(text.strip()[:4]) <= LAST_YEAR:
        raise ValidationError(f"'{text[:40]}' is outside the years {FIRST_YEAR} to {LAST_YEAR}")
    return value


class Timestamp(fields.Field):
    """An ISO 8601 string loaded as an aware UTC datetime (no zone means UTC)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not value.strip():
            raise ValidationError("must be an ISO 8601 date-time such as 2026-03-01T10:00:00Z")
        try:
            moment = parse_iso(value)
        except (ValueError, OverflowError):
            raise ValidationError(f"'{value[:40]}' is not an ISO 8601 date-time "
                                  "such as 2026-03-01T10:00:00Z") from None
        return _in_years(moment, value)


class FreeText(fields.String):
    """Text kept exactly as sent, but not blank."""

    def __init__(self, **kwargs):
        kwargs["metadata"] = {"minLength": 1, "pattern": NOT_BLANK, **kwargs.get("metadata", {})}
        super().__init__(**kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if not text.strip():
            raise ValidationError("may not be empty")
        return text


class DateOrTime(fields.Field):
    """A query date: 'YYYY-MM-DD' loads as a date, anything longer as an aware UTC datetime."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = str(value).strip()
        try:
            return _in_years(date.fromisoformat(text) if len(text) == 10 else parse_iso(text), text)
        except (ValueError, OverflowError):
            raise ValidationError(f"'{text[:40]}' is not a date (2026-03-01) or an ISO 8601 "
                                  "date-time (2026-03-01T10:00:00Z)") from None


class WordList(fields.Field):
    """A comma-separated list of words, trimmed, empty parts dropped; optionally from a fixed set."""

    def __init__(self, choices=None, max_len=64, **kwargs):
        super().__init__(**kwargs)
        self.choices = choices
        self.max_len = max_len

    def _deserialize(self, value, attr, data, **kwargs):
        words = [part.strip() for part in str(value).split(",") if part.strip()]
        if not words:
            raise ValidationError("may not be empty")
        for word in words:
            if self.choices and word not in self.choices:
                raise ValidationError(f"'{word[:40]}' is not one of " + ", ".join(self.choices))
            if len(word) > self.max_len:
                raise ValidationError(f"each value must be at most {self.max_len} characters")
        return list(dict.fromkeys(words))


class ActivityCreateSchema(Schema):
    """POST /api/activities: one agent action. Unknown keys are ignored; null means not given."""

    class Meta:
        unknown = EXCLUDE

    type = Text(required=True, non_empty=True, validate=Length(max=64, error="must be at most 64 characters"),
                error_messages=REQUIRED, metadata={
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
        "description": "When the action ran, ISO 8601 (no zone means UTC); default now. At most a few "
                       "seconds in the future, and not older than the retention window."})
    duration_ms = StrictInteger(allow_none=True, validate=NON_NEGATIVE,
                                metadata={"description": "How long the action took, in milliseconds."})
    tokens_used = StrictInteger(allow_none=True, validate=NON_NEGATIVE,
                                metadata={"description": "Model tokens the action used."})
    agent = Text(allow_none=True, validate=Length(max=64, error="must be at most 64 characters"),
                 metadata={"description": "Which agent acted, e.g. main or tenacitas (at most 64 characters)."})
    metadata = JsonObject(allow_none=True, metadata={
        "description": "Free-form JSON object, e.g. error details (size-limited, 64 KiB by default)."})
    idempotency_key = Text(allow_none=True, non_empty=True,
                           validate=Length(max=200, error="must be at most 200 characters"), metadata={
                               "description": "Makes retries safe: a second POST with the same key returns "
                                              "the first record with 200. The Idempotency-Key header "
                                              "does the same."})


class ActivityUpdateSchema(Schema):
    """PATCH /api/activities/<id>: finish a pending or running record; metadata is merged."""

    class Meta:
        unknown = EXCLUDE

    status = Choice(STATUSES, allow_none=True, metadata={"description": "The new status."})
    duration_ms = StrictInteger(allow_none=True, validate=NON_NEGATIVE,
                                metadata={"description": "How long the action took, in milliseconds."})
    tokens_used = StrictInteger(allow_none=True, validate=NON_NEGATIVE,
                                metadata={"description": "Model tokens the action used."})
    metadata = JsonObject(allow_none=True, metadata={
        "description": "Keys to add or replace in the stored metadata (a shallow merge)."})

    @validates_schema
    def _something(self, data, **_):
        if not any(data.get(key) is not None for key in ("status", "duration_ms", "tokens_used", "metadata")):
            raise ValidationError("send at least one of status, duration_ms, tokens_used or metadata")


class ActivityFiltersSchema(Schema):
    """Filters shared by the list and the stats."""

    error_messages = {"unknown": "is not a known parameter"}

    class Meta:
        unknown = RAISE

    type = WordList(metadata={"type": "string", "pattern": WORDS, "description":
                              "Only these types (a comma list; each type at most 64 characters)."})
    agent = Text(non_empty=True, validate=Length(max=64, error="must be at most 64 characters"),
                 metadata={"description": "Only this agent."})


class ActivityQuerySchema(ActivityFiltersSchema):
    """GET /api/activities. Unknown parameters and invalid values are 400, never ignored."""

    limit = fields.Integer(error_messages=WHOLE, metadata={
        "minimum": 1, "maximum": MAX_JSON_LIMIT,
        "description": f"Rows to return: default {DEFAULT_LIMIT} for JSON and {MAX_CSV_LIMIT} for CSV; "
                       f"from 1 to {MAX_JSON_LIMIT} for JSON, and with format=csv up to {MAX_CSV_LIMIT}."})
    offset = fields.Integer(load_default=0, error_messages=WHOLE,
                            validate=[NON_NEGATIVE, Range(max=SQL_INT_MAX, error="is too large")],
                            metadata={"description": "Rows to skip (default 0)."})
    sort = Choice(SORTS, load_default="newest", metadata={"description": "newest (default) or oldest first."})
    status = WordList(choices=STATUSES, metadata={
        "type": "string", "pattern": STATUS_WORDS, "description": "Only these statuses (a comma list of success, error, pending, running)."})
    startDate = DateOrTime(metadata={
        "type": "string", "pattern": DATE_OR_TIME_PATTERN,
        "description": "From this date-time, or from the start of this date in the configured time "
                       "zone. Not after endDate."})
    endDate = DateOrTime(metadata={
        "type": "string", "pattern": DATE_OR_TIME_PATTERN,
        "description": "Up to this date-time, or through the whole of this date in the configured "
                       "time zone. Not before startDate."})
    format = Choice(FORMATS, load_default="json", metadata={
        "description": "json (default) or csv (a streamed download)."})

    @validates_schema
    def _limits(self, data, **_):
        csv = data.get("format") == "csv"
        top = MAX_CSV_LIMIT if csv else MAX_JSON_LIMIT
        limit = data.get("limit")
        if limit is not None and not 1 <= limit <= top:
            raise ValidationError(f"must be from 1 to {top}" + (" for CSV" if csv else " (CSV allows "
                                                                   f"up to {MAX_CSV_LIMIT})"), "limit")

    @post_load
    def _default_limit(self, data, **_):
        if data.get("limit") is None:
            data["limit"] = MAX_CSV_LIMIT if data["format"] == "csv" else DEFAULT_LIMIT
        return data


class ExportQuerySchema(ActivityQuerySchema):
    """GET /api/activities/export: the list's filters, always CSV, up to 10 000 rows."""

    class Meta(ActivityQuerySchema.Meta):
        exclude = ("format",)

    limit = fields.Integer(error_messages=WHOLE, metadata={
        "minimum": 1, "maximum": MAX_CSV_LIMIT,
        "description": f"Rows to return (default and most: {MAX_CSV_LIMIT})."})

    @validates_schema
    def _limits(self, data, **_):
        limit = data.get("limit")
        if limit is not None and not 1 <= limit <= MAX_CSV_LIMIT:
            raise ValidationError(f"must be from 1 to {MAX_CSV_LIMIT}", "limit")

    @post_load
    def _default_limit(self, data, **_):
        return {**data, "format": "csv", "limit": data.get("limit") or MAX_CSV_LIMIT}


class StatsQuerySchema(ActivityFiltersSchema):
    """GET /api/activities/stats: optional agent and type filters."""


class StreamQuerySchema(Schema):
    """GET /api/activities/stream."""

    error_messages = {"unknown": "is not a known parameter"}

    class Meta:
        unknown = RAISE

    lastEventId = fields.Integer(validate=NON_NEGATIVE, error_messages=WHOLE, metadata={
        "description": "Replay rows after this id (the Last-Event-ID header does the same)."})

    @pre_load
    def _blank(self, data, **_):
        return {k: v for k, v in data.items() if v != ""}


@always_sent()
class ActivitySchema(Schema):
    """An agent activity as the API shows it."""

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


@always_sent()
class ActivityListSchema(Schema):
    """One page of the log."""

    activities = fields.List(fields.Nested(ActivitySchema))
    total = fields.Integer(metadata={"description": "Rows matching the filters, across all pages."})
    limit = fields.Integer()
    offset = fields.Integer()
    hasMore = fields.Boolean(metadata={"description": "Whether a later page has more rows."})


@always_sent()
class DayCountSchema(Schema):
    day = fields.String(metadata={"description": "Local date, YYYY-MM-DD."})
    count = fields.Integer()


@always_sent()
class TrendDaySchema(DayCountSchema):
    success = fields.Integer()
    errors = fields.Integer()


@always_sent()
class HourCountSchema(Schema):
    hour = fields.String(metadata={"description": "Local hour, 00 to 23."})
    count = fields.Integer()


@always_sent()
class StatsSchema(Schema):
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


@always_sent("ts", "activity")
class StreamEventSchema(Schema):
    """The JSON data of one stream event: first {type: connected, ts}, then {type: new, activity}."""

    type = fields.String(metadata={"enum": ["connected", "new"]})
    ts = IsoTime(metadata={"type": "string", "format": "date-time", "description": "Connected events only."})
    activity = fields.Nested(ActivitySchema, metadata={"description": "New events only."})


activity_create_schema = ActivityCreateSchema()
activity_update_schema = ActivityUpdateSchema()
activity_query_schema = ActivityQuerySchema()
export_query_schema = ExportQuerySchema()
stats_query_schema = StatsQuerySchema()
stream_query_schema = StreamQuerySchema()
activity_schema = ActivitySchema()
activity_list_schema = ActivityListSchema()
stats_schema = StatsSchema()
stream_event_schema = StreamEventSchema()
