"""Small strict field types shared by the schemas."""
import math

from marshmallow import ValidationError, fields

from waken.timeutil import iso

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


class StrictBoolean(fields.Boolean):
    """JSON true or false only."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise ValidationError("must be true or false")
        return value


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


class JsonObject(fields.Dict):
    """A JSON object (not a list, string or number)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, dict):
            raise ValidationError("must be a JSON object")
        return value


class IsoTime(fields.Field):
    """An aware datetime dumped as ISO 8601 with a Z suffix."""

    def _serialize(self, value, attr, obj, **kwargs):
        return iso(value)


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
