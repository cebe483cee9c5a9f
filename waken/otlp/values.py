"""OTLP attribute values as plain Python: typed or sent as strings ("85", "true")."""
import json
from datetime import datetime, timezone

TEXT_CHARS = 2000               # a free-text value (an error message) is cut here


def value(any_value):
    """A Python value from an OTLP AnyValue (lists and maps included)."""
    kind = any_value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [value(v) for v in any_value.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: value(kv.value) for kv in any_value.kvlist_value.values}
    if kind == "bytes_value":
        return any_value.bytes_value.hex()
    return getattr(any_value, kind)


def attributes(key_values):
    return {kv.key: value(kv.value) for kv in key_values}


def as_int(raw):
    """A whole number from a typed or string attribute ("85", 85, 85.0), else None."""
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, int):
        return raw
    try:
        number = float(raw)
    except (TypeError, ValueError):
        return None
    return round(number) if number == number and abs(number) < 2**63 else None


def as_number(raw):
    if isinstance(raw, bool) or raw is None:
        return None
    try:
        number = float(raw)
    except (TypeError, ValueError):
        return None
    return number if number == number and abs(number) != float("inf") else None


def as_bool(raw):
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lower() in ("true", "false"):
        return raw.strip().lower() == "true"
    return None


def as_text(raw, limit=TEXT_CHARS):
    if raw is None:
        return None
    text = raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False)
    return text[:limit]


def timestamp(*nanos):
    """The first non-zero Unix-nanosecond time as an aware datetime; None when all are zero."""
    for n in nanos:
        if n:
            return datetime.fromtimestamp(n // 1_000_000 / 1000, timezone.utc)
    return None
