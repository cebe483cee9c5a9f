"""Schemas of your day: the statistics' and the history export's queries, and their answers."""
from marshmallow import RAISE, Schema, fields
from marshmallow.validate import Length, OneOf, Range

from waken.devices.day_stats import DAYS
from waken.schemas.fields import WHOLE, IsoTime, always_sent, envelope

HISTORY_DEFAULT = 1000
HISTORY_MAX = 10_000
HISTORY_DAYS_MAX = 3650


class _Strict(Schema):
    error_messages = {"unknown": "is not a known parameter"}

    class Meta:
        unknown = RAISE


class DayStatsQuerySchema(_Strict):
    """GET /api/activity/stats."""

    days = fields.Integer(load_default=1, error_messages=WHOLE,
                          validate=OneOf(DAYS, error="must be 1, 7 or 30"),
                          metadata={"enum": list(DAYS),
                                    "description": "Local days to cover, today included (default 1: today)."})


class HistoryQuerySchema(_Strict):
    """GET /api/activity/history."""

    format = fields.String(load_default="json", validate=OneOf(("json", "csv"), error="must be json or csv"),
                           metadata={"description": "json (a page of runs, newest first) or csv "
                                                    "(every run in the range, streamed)."})
    days = fields.Integer(load_default=30, error_messages=WHOLE,
                          validate=Range(min=1, max=HISTORY_DAYS_MAX, error=f"must be from 1 to {HISTORY_DAYS_MAX}"),
                          metadata={"description": "Runs updated within this many days (default 30)."})
    device = fields.String(validate=Length(min=1, max=200), metadata={"description": "Only this device (its name)."})
    limit = fields.Integer(load_default=HISTORY_DEFAULT, error_messages=WHOLE,
                           validate=Range(min=1, max=HISTORY_MAX, error=f"must be from 1 to {HISTORY_MAX}"),
                           metadata={"description": f"JSON only: runs per page (default {HISTORY_DEFAULT})."})
    before = fields.Integer(error_messages=WHOLE, validate=Range(min=1, error="must be at least 1"),
                            metadata={"description": "JSON only: the previous page's nextBefore."})


def _time_of(name, key, description):
    """A {<key>, seconds, runs} item of the statistics: the time spent in one app or on one device."""
    return always_sent()(Schema.from_dict({
        key: fields.String(metadata={"description": description}),
        "seconds": fields.Integer(),
        "runs": fields.Integer(metadata={"description": "Runs that started in the range."})}, name=name))


AppTimeSchema = _time_of("AppTimeSchema", "app", "The app (an app rule's label; \"hidden\" for hidden apps "
                                                 "on public answers).")
DeviceTimeSchema = _time_of("DeviceTimeSchema", "device", "The device's name.")


@always_sent()
class HourTimeSchema(Schema):
    hour = fields.Integer(metadata={"description": "Local hour of day, 0-23."})
    seconds = fields.Integer()


@always_sent()
class DayStatsSchema(Schema):
    days = fields.Integer()
    from_ = fields.String(data_key="from", attribute="from", metadata={"description": "First local date."})
    to = fields.String(metadata={"description": "Last local date (today)."})
    timezone = fields.String()
    totalSeconds = fields.Integer()
    apps = fields.List(fields.Nested(AppTimeSchema), metadata={"description": "The top 10 apps by time."})
    devices = fields.List(fields.Nested(DeviceTimeSchema))
    hours = fields.List(fields.Nested(HourTimeSchema), metadata={"description": "24 entries, hour 0 first."})


DayStatsResponseSchema = envelope("DayStatsResponseSchema", DayStatsSchema)


@always_sent()
class HistoryRunSchema(Schema):
    id = fields.Integer()
    device = fields.String()
    processName = fields.String()
    processTitle = fields.String(allow_none=True)
    startedAt = IsoTime()
    endedAt = IsoTime(allow_none=True, metadata={"description": "null while the run is open."})
    lastReportAt = IsoTime()
    seconds = fields.Integer()
    reports = fields.Integer()


@always_sent()
class HistoryPageSchema(Schema):
    items = fields.List(fields.Nested(HistoryRunSchema))
    nextBefore = fields.Integer(allow_none=True, metadata={"description": "Pass as before for the next page."})


HistoryResponseSchema = envelope("HistoryResponseSchema", HistoryPageSchema)


stats_query_schema = DayStatsQuerySchema()
history_query_schema = HistoryQuerySchema()
stats_response_schema = DayStatsResponseSchema()
history_response_schema = HistoryResponseSchema()
