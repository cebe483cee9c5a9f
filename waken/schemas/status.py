"""Schemas of the owner's status: PUT /api/status in, the status in force out."""
from marshmallow import EXCLUDE, Schema, fields
from marshmallow.validate import Length

from waken.feed.status import MAX_EMOJI, MAX_TEXT
from waken.schemas.feed import OwnerStatusSchema
from waken.schemas.fields import always_sent


class StatusSetSchema(Schema):
    """PUT /api/status: an emoji, a text (at least one of them) and an optional end."""

    class Meta:
        unknown = EXCLUDE

    emoji = fields.String(load_default="", validate=Length(max=MAX_EMOJI, error=f"must be at most {MAX_EMOJI} "
                                                                                 "characters"),
                          metadata={"description": "For example 🛌."})
    text = fields.String(load_default="", validate=Length(max=MAX_TEXT, error=f"must be at most {MAX_TEXT} "
                                                                               "characters"),
                         metadata={"description": "For example asleep. An emoji or a text is required."})
    until = fields.String(load_default=None, allow_none=True, validate=Length(max=40), metadata={
        "description": "When it clears itself: a clock time such as 07:30 (its next occurrence in the "
                       "site's time zone) or an ISO 8601 instant, at most a year ahead; null: until cleared."})


@always_sent()
class StatusAnswerSchema(Schema):
    success = fields.Boolean(dump_default=True)
    data = fields.Nested(OwnerStatusSchema, allow_none=True, metadata={
        "description": "The status now in force; null after DELETE."})


status_set_schema = StatusSetSchema()
status_answer_schema = StatusAnswerSchema()
