"""Request bodies in and stored JSON out: one JSON object, validated, within its size limit."""
import json
import re

from flask import current_app, request
from marshmallow import ValidationError

from waken.db import compact_json
from waken.error_codes import field_codes
from waken.errors import Invalid, PayloadTooLarge
from waken.schemas.fields import errors_sentence, flat_fields

MAX_DEPTH = 32     # nesting of objects and arrays; real clients use three or four levels
# Commas are counted in the raw bytes before parsing: each one separates a value the
# parser would build (~50-100 bytes of Python objects), and without commas containers
# can only nest, which the parser stops at its recursion limit. Everything but images
# ends up in metadata of at most METADATA_MAX_BYTES, so a body with more commas than
# that (plus room for the other fields) could never be stored anyway.
VALUES_SLACK = 4096
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _no_constants(name):
    raise ValueError(f"{name} is not a valid JSON number")


def _finite(text):
    number = float(text)
    if number in (float("inf"), float("-inf")):
        raise ValueError(f"{text[:20]} is too large for a JSON number")
    return number


def _nodes(value):
    """Every object, array and string in value, level by level (no recursion); stops below MAX_DEPTH."""
    level = [value]
    for _ in range(MAX_DEPTH + 1):
        yield from level
        level = [child for node in level if isinstance(node, (dict, list))
                 for child in ([*node.keys(), *node.values()] if isinstance(node, dict) else node)
                 if isinstance(child, (dict, list, str))]
        if not level:
            return
    yield from level


def _too_deep(value):
    """Whether objects and arrays nest deeper than MAX_DEPTH (checked without recursion)."""
    level = [value]
    for _ in range(MAX_DEPTH):
        level = [child for node in level if isinstance(node, (dict, list))
                 for child in (node.values() if isinstance(node, dict) else node)]
        if not level:
            return False
    return any(isinstance(node, (dict, list)) for node in level)


def _has_lone_surrogate(value):
    return any(isinstance(node, str) and _SURROGATE.search(node) for node in _nodes(value))


def read_body(limit):
    """The raw request body, or 413 when it is longer than limit bytes (checked before reading)."""
    length = request.content_length
    if length is not None and length > limit:
        raise PayloadTooLarge(f"The request body is {_kib(length)}; this endpoint accepts at most {_kib(limit)}.", code="body.too_large", params={"limit": limit})
    raw = request.stream.read(limit + 1)
    if len(raw) > limit:
        raise PayloadTooLarge(f"The request body is larger than {_kib(limit)}, the most this endpoint accepts.", code="body.too_large", params={"limit": limit})
    return raw


def _kib(size):
    return f"{size / 1024:,.0f} KiB" if size < 1024 * 1024 else f"{size / 1024 / 1024:,.1f} MiB"


def json_body(limit=None):
    """The body as a JSON object, parsed at a bounded cost; the Content-Type header is not required.

    limit is the largest body in bytes (default MAX_CONTENT_LENGTH).
    """
    data = json_value(read_body(limit or current_app.config["MAX_CONTENT_LENGTH"]))
    if not isinstance(data, dict):
        raise Invalid("The body must be a JSON object.", code="body.not_object")
    return data


def json_value(raw):
    """Any JSON value from a body already read within its limit, parsed at a bounded cost; 400/413 otherwise."""
    config = current_app.config
    if not raw.strip():
        raise Invalid("The request body is empty; send a JSON object.", code="body.empty")
    most = config["METADATA_MAX_BYTES"] + VALUES_SLACK
    if raw.count(b",") > most:
        raise PayloadTooLarge(f"The JSON body holds more than {most:,} values; metadata is limited "
                              f"to {config['METADATA_MAX_BYTES'] // 1024} KiB, so it could not be stored.", code="body.too_many_values", params={"limit": most})
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise Invalid("The body is not UTF-8 text.", code="body.not_utf8") from None
    escaped_surrogate = _SURROGATE_ESCAPE.search(raw) is not None
    del raw
    try:
        data = json.loads(text, parse_constant=_no_constants, parse_float=_finite)
    except RecursionError:
        raise Invalid("The JSON body is nested too deeply.", code="body.too_deep", params={"limit": MAX_DEPTH}) from None
    except ValueError as err:
        raise Invalid(f"The body is not valid JSON ({err}).", code="body.invalid_json") from None
    if _too_deep(data):
        raise Invalid(f"The JSON body is nested more than {MAX_DEPTH} levels deep.", code="body.too_deep", params={"limit": MAX_DEPTH})
    # A lone surrogate (an escaped \ud800 without its pair) is no character: it cannot be
    # stored or sent back as UTF-8. Only bodies with such an escape are searched.
    if escaped_surrogate and _has_lone_surrogate(data):
        raise Invalid("The body contains a lone surrogate escape (such as \\ud800): "
                      "JSON strings must be valid Unicode.", code="body.lone_surrogate")
    return data


def parse(schema, extra=None, limit=None, code="validation_failed"):
    """The body validated by schema, or anything with its load (Invalid or PayloadTooLarge otherwise);
    extra fills keys the body left empty.

    Views check the token first, so a request without one never has its body read.
    """
    body = json_body(limit)
    for key, value in (extra or {}).items():
        if body.get(key) is None and value is not None:
            body[key] = value
    return load(schema, body, code)


def parse_small(schema, extra=None, code="validation_failed"):
    """parse() for a body that never carries images: at most SMALL_BODY_MAX_BYTES."""
    return parse(schema, extra, current_app.config["SMALL_BODY_MAX_BYTES"], code)


def load(schema, data, code="validation_failed"):
    """Validate data with a marshmallow schema; 400 with per-field messages (and codes) otherwise."""
    try:
        return schema.load(data)
    except ValidationError as err:
        fields = flat_fields(err.messages)
        raise Invalid(errors_sentence(err.messages), fields=fields, code=code,
                      params={"fields": sorted(fields)}, field_codes=field_codes(fields)) from None


def stored_json(value, what="metadata"):
    """value as compact JSON text for the database, or 413 when over METADATA_MAX_BYTES."""
    text = compact_json(value)
    limit = current_app.config["METADATA_MAX_BYTES"]
    size = len(text.encode())
    if size > limit:
        raise PayloadTooLarge(f"{what} is {size // 1024} KiB (once merged, without images); "
                              f"the limit is {limit // 1024} KiB.", fields={what: "is too large"}, code="body.metadata_too_large", params={"limit": limit})
    return text
