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
    utc = dt.astimezone(timezone.utc)
    if utc.year < 1000:   # strftime writes such a year unpadded (the API's own times start at 1970)
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
    return utc.replace(tzinfo=None).isoformat(timespec="milliseconds") + "Z"   # a third of strftime's cost


# Instants the API accepts: from the Unix epoch up to the last day whose local
# midnight, next day and any UTC offset still fit in a datetime.
EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(9998, 12, 31, 23, 59, 59, 999999, tzinfo=timezone.utc)


def parse_iso(text):
    """Parse ISO 8601; a value without a zone is UTC. Raises ValueError, also outside EARLIEST..LATEST."""
    try:
        dt = datetime.fromisoformat(text.strip().replace("z", "Z").replace("Z", "+00:00"))
        dt = dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError(f"{text[:40]!r} is outside the years 1970 to 9998") from None
    if not EARLIEST <= dt <= LATEST:
        raise ValueError(f"{text[:40]!r} is outside the years 1970 to 9998")
    return dt
