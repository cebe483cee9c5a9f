"""The owner's status: an emoji, a text and an optional end, set by the owner and shown on every public output."""
from datetime import datetime, timedelta

from waken import db
from waken.db import orm
from waken.errors import Invalid, check_length
from waken.feed.schedule import next_clock, parse_clock
from waken.models import OwnerStatus
from waken.timeutil import from_ms, parse_iso

MAX_EMOJI = 16
MAX_TEXT = 80
LONGEST = timedelta(days=366)


def current(at):
    """{emoji, text, until} in force at `at`, or None (never set, cleared, or past its end)."""
    row = db.query_one("SELECT emoji, text, until_at FROM owner_status WHERE id = 1")
    if row is None:
        return None
    until = None if row["until_at"] is None else from_ms(row["until_at"])
    if until is not None and at >= until:
        return None
    return {"emoji": row["emoji"], "text": row["text"], "until": until}


def parse_until(value, at, zone):
    """The end of a status: None, an aware datetime, 'HH:MM' (its next occurrence in the site's
    zone) or an ISO 8601 instant; Invalid when it is unreadable, past or over a year away."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str) and ":" in value and len(value.strip()) <= 5:
        try:
            return next_clock(parse_clock(value), at, zone)
        except ValueError as err:
            raise Invalid(f"until {err}.", field="until", code="status.until_invalid") from None
    if isinstance(value, str):
        try:
            value = parse_iso(value)
        except ValueError:
            raise Invalid(f"until must be a clock time such as 07:30 or an ISO 8601 instant; "
                          f"'{value[:40]}' is neither.", field="until", code="status.until_invalid") from None
    if not isinstance(value, datetime):
        raise Invalid("until must be a clock time such as 07:30 or an ISO 8601 instant.", field="until",
                      code="status.until_invalid")
    if value <= at:
        raise Invalid("until is in the past; give a later time.", field="until", code="status.until_past")
    if value - at > LONGEST:
        raise Invalid("until may be at most a year away.", field="until", code="status.until_too_far")
    return value


def set_status(emoji, text, until, at, zone):
    """Store the status (the caller commits); Invalid when the text is empty or a part too long."""
    emoji, text = (emoji or "").strip(), (text or "").strip()
    if not text:
        raise Invalid("A status needs a text (the emoji is optional).", field="text", code="status.text_required")
    check_length(emoji, MAX_EMOJI, "emoji", "status.emoji_too_long")
    check_length(text, MAX_TEXT, "text", "status.text_too_long")
    until = parse_until(until, at, zone)
    row = orm.session.get(OwnerStatus, 1) or OwnerStatus(id=1)
    row.emoji, row.text, row.until_at, row.set_at = emoji, text, until, at
    orm.session.add(row)
    orm.session.flush()
    return {"emoji": emoji, "text": text, "until": until}


def clear_status():
    """Remove the status (the caller commits); whether there was one."""
    row = orm.session.get(OwnerStatus, 1)
    if row is not None:
        orm.session.delete(row)
    return row is not None
