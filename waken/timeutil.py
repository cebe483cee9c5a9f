"""Time in one place: the injectable clock and the ISO 8601 'Z' format the API speaks."""
from datetime import datetime, timezone

from flask import current_app


def now():
    """The current time as an aware UTC datetime (tests inject CLOCK)."""
    return current_app.config["CLOCK"]()


def to_ms(dt):
    """Unix milliseconds of an aware datetime."""
    return int(dt.timestamp() * 1000)


def from_ms(ms):
    """Aware UTC datetime from Unix milliseconds."""
    return datetime.fromtimestamp(ms / 1000, timezone.utc)


def iso(dt):
    """'2026-01-01T12:00:00.000Z', or None."""
    if dt is None:
        return None
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_iso(text):
    """Parse ISO 8601; a value without a zone is UTC. Raises ValueError."""
    dt = datetime.fromisoformat(text.strip().replace("z", "Z").replace("Z", "+00:00"))
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)
