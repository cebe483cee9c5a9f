"""Small strict field types shared by the schemas, and the sentences made from their messages."""
import math
from datetime import date

from marshmallow import Schema, ValidationError, fields
from marshmallow.validate import Range

from waken.timeutil import iso, parse_iso

# JSON Schema for "contains a character that is not white space", white space as Python's
# str.strip() sees it (ECMAScript's \s leaves out U+001C-U+001F and U+0085).
NOT_BLANK = r"[^\s\x1c-\x1f\x85]"


def always_sent(*optional):
    """Class decorator for answer schemas: every field but `optional` is in every answer,
    so the OpenAPI document lists them as required (dumping ignores `required`)."""

    def mark(cls):
        for name, field in cls._declared_fields.items():
            if name not in optional:
                field.required = True
        return cls
    return mark


def envelope(name, data_schema, **data_options):
    """A {success, data} answer schema class named `name` around data_schema (data_options go to data)."""
    return always_sent()(Schema.from_dict({"success": fields.Boolean(dump_default=True),
                                           "data": fields.Nested(data_schema, **data_options)}, name=name))


class Text(fields.String):
    """A string trimmed of surrounding white space; optionally required to be non-empty."""

    def __init__(self, *, non_empty=False, **kwargs):
        if non_empty:
            # The document says what the server checks: something besides white space.
            kwargs["metadata"] = {"minLength": 1, "pattern": NOT_BLANK, **kwargs.get("metadata", {})}
        super().__init__(**kwargs)
        self.non_empty = non_empty

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if self.non_empty and not text:
            raise ValidationError("may not be empty")
        return text


class StrictNumber(fields.Float):
    """A JSON number: no strings, no booleans, no NaN or Infinity."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValidationError("must be a number")
        return float(value)


# Every whole number we accept ends up in an SQLite INTEGER: 64 bits, signed.
SQL_INT_MAX = 2**63 - 1


class StrictInteger(fields.Integer):
    """A JSON whole number (1.0 counts as 1) that fits SQLite; no strings, no booleans."""

    def __init__(self, **kwargs):
        # The document states the 64-bit bounds; a Range validator's own bounds win.
        bounds = {"minimum": -SQL_INT_MAX - 1, "maximum": SQL_INT_MAX}
        for rule in _as_list(kwargs.get("validate")):
            for side, key in (("min", "minimum"), ("max", "maximum")):
                if getattr(rule, side, None) is not None:
                    bounds.pop(key)
        kwargs["metadata"] = {**bounds, **kwargs.get("metadata", {})}
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError("must be a whole number")
        if not -SQL_INT_MAX - 1 <= value <= SQL_INT_MAX:
            raise ValidationError("is too large")
        return value


def _as_list(validate):
    if validate is None:
        return []
    return list(validate) if isinstance(validate, (list, tuple)) else [validate]


def _json_kind(name, base, kind, message, doc):
    """A field of `base` that takes a JSON value of one kind as it is, and nothing else."""
    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, kind):
            raise ValidationError(message)
        return value
    return type(name, (base,), {"__doc__": doc, "_deserialize": _deserialize})


StrictBoolean = _json_kind("StrictBoolean", fields.Boolean, bool, "must be true or false", "JSON true or false only.")
JsonObject = _json_kind("JsonObject", fields.Dict, dict, "must be a JSON object",
                        "A JSON object (not a list, string or number).")


class Choice(fields.String):
    """One of a few words, case-insensitive; aliases map to a canonical word."""

    def __init__(self, choices, aliases=None, **kwargs):
        kwargs.setdefault("metadata", {}).setdefault("enum", list(choices))
        super().__init__(**kwargs)
        self.choices = tuple(choices)
        self.aliases = aliases or {}

    def _deserialize(self, value, attr, data, **kwargs):
        word = super()._deserialize(value, attr, data, **kwargs).strip().lower()
        word = self.aliases.get(word, word)
        if word not in self.choices:
            raise ValidationError("must be one of " + ", ".join(self.choices))
        return word


class IsoTime(fields.Field):
    """An aware datetime dumped as ISO 8601 with a Z suffix."""

    def _serialize(self, value, attr, obj, **kwargs):
        return iso(value)


NON_NEGATIVE = Range(min=0, error="must be a whole number of at least 0")
WHOLE = {"invalid": "must be a whole number"}


def page_limit(most, default, noun="Rows"):
    """A `limit` query parameter: a whole number from 1 to `most`, `default` when left out."""
    return fields.Integer(load_default=default, error_messages=WHOLE,
                          validate=Range(min=1, max=most, error=f"must be from 1 to {most}"),
                          metadata={"description": f"{noun} to return, from 1 to {most} (default {default})."})


def page_offset(noun="Rows"):
    """An `offset` query parameter: how many to skip, 0 when left out."""
    return fields.Integer(load_default=0, error_messages=WHOLE,
                          validate=[NON_NEGATIVE, Range(max=SQL_INT_MAX, error="is too large")],
                          metadata={"description": f"{noun} to skip (default 0)."})

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


class DateOrTime(fields.Field):
    """A query date: 'YYYY-MM-DD' loads as a date, anything longer as an aware UTC datetime."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = str(value).strip()
        try:
            return _in_years(date.fromisoformat(text) if len(text) == 10 else parse_iso(text), text)
        except (ValueError, OverflowError):
            raise ValidationError(f"'{text[:40]}' is not a date (2026-03-01) or an ISO 8601 "
                                  "date-time (2026-03-01T10:00:00Z)") from None


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


def errors_sentence(messages):
    """One readable sentence from marshmallow's per-field messages."""
    parts = []
    for field, problems in messages.items():
        text = problems if isinstance(problems, str) else "; ".join(
            p if isinstance(p, str) else "is invalid" for p in (problems if isinstance(problems, list) else [problems]))
        parts.append(text if field == "_schema" else f"{field} {_lower_first(text)}")
    return "Invalid request: " + "; ".join(parts) + "."


def flat_fields(messages):
    """marshmallow's messages as {field: "sentence"}."""
    return {field: problems if isinstance(problems, str) else "; ".join(map(str, problems))
            for field, problems in messages.items()}


def _lower_first(text):
    text = text.rstrip(".")
    return text[:1].lower() + text[1:]
