"""Schemas of the owner's status: PUT /api/status in, the status in force out."""
from marshmallow import EXCLUDE, Schema, fields
from marshmallow.validate import Length, Regexp

from waken.feed.status import MAX_EMOJI, MAX_TEXT
from waken.schemas.feed import OwnerStatusSchema
from waken.schemas.fields import Text, envelope

CLOCK = r"^([01]?[0-9]|2[0-3]):[0-5][0-9]$"


class StatusSetSchema(Schema):
    """PUT /api/status: a text, an optional emoji and an optional end."""

    class Meta:
        unknown = EXCLUDE

    emoji = Text(load_default="", validate=Length(max=MAX_EMOJI, error=f"must be at most {MAX_EMOJI} characters"),
                 metadata={"description": "For example 🛌; may be empty."})
    text = Text(required=True, non_empty=True,
                validate=Length(max=MAX_TEXT, error=f"must be at most {MAX_TEXT} characters"),
                metadata={"description": "For example asleep."})
    until = fields.String(load_default=None, allow_none=True, validate=Regexp(
        CLOCK, error="must be a clock time such as 07:30"), metadata={
        "description": "When it clears itself: a clock time, its next occurrence in the site's time zone "
                       "(the admin page and the command also take an ISO 8601 instant); null: until cleared."})


StatusAnswerSchema = envelope("StatusAnswerSchema", OwnerStatusSchema, allow_none=True, metadata={
    "description": "The status now in force; null after DELETE."})


status_set_schema = StatusSetSchema()
status_answer_schema = StatusAnswerSchema()
