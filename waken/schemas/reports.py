"""Schemas of device reporting: the report, the verify probe, and the activity item."""
from marshmallow import EXCLUDE, Schema, ValidationError, fields, missing, pre_load
from marshmallow.utils import get_value
from marshmallow.validate import Length, Range

from waken.schemas.fields import (
    Choice,
    IsoTime,
    JsonObject,
    StrictBoolean,
    StrictInteger,
    StrictNumber,
    Text,
    always_sent,
)
from waken.timeutil import iso

REQUIRED = {"required": "is required", "null": "is required"}
# What waken.devices.registry.check_key accepts, as the document states it (ASCII only, to be simple).
KEY_FORMAT = {"minLength": 8, "maxLength": 128, "pattern": "^[!-~]{8,128}$"}


class ReportSchema(Schema):
    """POST /api/activity. Explicit null means "not given" for every optional field."""

    class Meta:
        unknown = EXCLUDE

    generatedHashKey = Text(required=True, non_empty=True, validate=Length(max=128),
                            error_messages=REQUIRED, metadata={
                                **KEY_FORMAT, "description": "The device's key from Device Management "
                                                             "(8-128 printable characters, no spaces)."})
    process_name = Text(required=True, non_empty=True, validate=Length(max=256),
                        error_messages=REQUIRED,
                        metadata={"description": "Foreground app or process, e.g. Code.exe."})
    process_title = fields.String(allow_none=True, validate=Length(max=1024),
                                  metadata={"description": "Window title; null keeps the previous one."})
    device = Text(allow_none=True, validate=Length(max=128),
                  metadata={"description": "Display name; renames the device when given."})
    battery_level = StrictNumber(allow_none=True, validate=Range(0, 100, error="must be from 0 to 100"),
                                 metadata={"description": "Battery percent, 0-100."})
    is_charging = StrictBoolean(allow_none=True, metadata={
        "description": "Charging state (alias isCharging); omitted keeps the previous state."})
    device_type = Choice(("desktop", "tablet", "mobile"), allow_none=True)
    push_mode = Choice(("realtime", "active"), aliases={"persistent": "active"}, allow_none=True,
                       metadata={"description": "realtime (default) goes offline after the stale "
                                                "timeout; active stays until replaced or expired."})
    persist_minutes = StrictInteger(allow_none=True, validate=Range(1, 1440, error="must be from 1 to 1440"),
                                    metadata={"description": "Active mode: visible this long after the last report."})
    metadata = JsonObject(allow_none=True, metadata={
        "description": "Free-form object; metadata.media and metadata.play_source drive the music row."})

    @pre_load
    def _aliases(self, data, **_):
        return _charging_alias(data)


def _charging_alias(data):
    if isinstance(data, dict) and data.get("is_charging") is None and "isCharging" in data:
        data = {**data, "is_charging": data["isCharging"]}
    return data


class VerifySchema(Schema):
    """POST /api/activity/verify."""

    class Meta:
        unknown = EXCLUDE

    generatedHashKey = Text(required=True, non_empty=True, validate=Length(max=128),
                            error_messages=REQUIRED, metadata=KEY_FORMAT)
    device = Text(allow_none=True, validate=Length(max=128))
    deviceType = Choice(("desktop", "tablet", "mobile"), allow_none=True)


@always_sent()
class ActivityItemSchema(Schema):
    """A device activity as the API shows it (report response and public feed)."""

    id = fields.Integer()
    device = fields.String(attribute="device.name")
    deviceType = fields.String(attribute="device.device_type", allow_none=True,
                               metadata={"enum": ["desktop", "tablet", "mobile"]})
    processName = fields.String(attribute="process_name")
    processTitle = fields.String(attribute="process_title", allow_none=True)
    pushMode = fields.String(attribute="push_mode", metadata={"enum": ["realtime", "active"]})
    startedAt = IsoTime(attribute="started_at")
    updatedAt = IsoTime(attribute="updated_at")
    endedAt = IsoTime(attribute="ended_at", allow_none=True)
    metadata = fields.Dict(attribute="meta")


@always_sent("warnings")
class ReportResponseSchema(Schema):
    """200 answer to a stored report."""

    success = fields.Boolean(dump_default=True)
    data = fields.Nested(ActivityItemSchema)
    warnings = fields.List(fields.String(), metadata={
        "description": "Images that were dropped, and why (only when some were)."})


@always_sent()
class VerifyDataSchema(Schema):
    tokenValid = fields.Boolean()
    approved = fields.Boolean()
    deviceStatus = fields.String()
    generatedHashKey = fields.String()
    displayName = fields.String()


@always_sent()
class PendingSchema(Schema):
    """202 answer: the device waits for approval."""

    success = fields.Boolean(dump_default=False, metadata={"enum": [False]})
    pending = fields.Boolean(dump_default=True, metadata={"enum": [True]})
    error = fields.String()
    code = fields.String(metadata={"enum": ["device.pending_approval"],
                                   "description": "Stable error code (docs/errors.md)."})
    params = fields.Dict(metadata={"description": "The code's values: the device's name."})
    approvalUrl = fields.String()


def plain_dumper(schema):
    """schema.dump as a plain function, for objects waken builds itself (the report's answer).

    Made from the schema's own fields, so the answer and the OpenAPI document cannot
    drift apart; values pass as they are, without marshmallow's calls per field, which
    cost a report as much as its SQL.
    """
    plan = []
    for name, field in schema.dump_fields.items():
        if not isinstance(field, (IsoTime, fields.Integer, fields.String, fields.Boolean, fields.Dict)):
            raise TypeError(f"plain_dumper cannot dump {name}, a {type(field).__name__}")
        plan.append((field.data_key or name, field.attribute or name, isinstance(field, IsoTime)))

    def dump(obj):
        out = {}
        for key, attribute, is_time in plan:
            value = get_value(obj, attribute)
            out[key] = iso(value) if is_time else value
        return out
    return dump


class PlainLoader:
    """A schema's load for a hot path; the schema's own load answers any invalid body.

    Each field still deserializes and validates itself (its own messages and rules, so the
    two cannot drift apart); what goes is marshmallow's machinery around the fields, half of
    a report's load. For schemas like ReportSchema: unknown keys excluded, no nested or
    dotted attributes, no schema validators, and pre_load_hook doing what their one hook does.
    """

    def __init__(self, schema, pre_load_hook):
        if schema.unknown != EXCLUDE or any("." in (field.attribute or name)
                                            for name, field in schema.load_fields.items()):
            raise TypeError(f"PlainLoader cannot load with {type(schema).__name__}")
        self.schema, self.pre_load_hook = schema, pre_load_hook
        self.plan = [(field.data_key or name, field.attribute or name, field)
                     for name, field in schema.load_fields.items()]

    def load(self, data):
        data = self.pre_load_hook(data)
        if not isinstance(data, dict):
            return self.schema.load(data)
        out = {}
        try:
            for key, attribute, field in self.plan:
                value = field.deserialize(data.get(key, missing), key, data)
                if value is not missing:
                    out[attribute] = value
        except ValidationError:
            return self.schema.load(data)   # raises, with every field's message
        return out


report_schema = ReportSchema()
report_loader = PlainLoader(report_schema, _charging_alias)
verify_schema = VerifySchema()
activity_item_schema = ActivityItemSchema()
dump_activity_item = plain_dumper(activity_item_schema)
