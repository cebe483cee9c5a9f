"""Request bodies in and stored JSON out: one JSON object, validated, within its size limit."""
import json

from flask import current_app, request
from marshmallow import ValidationError

from waken.errors import ApiError
from waken.schemas.fields import errors_sentence, flat_fields

MAX_DEPTH = 32     # nesting of objects and arrays; real clients use three or four levels


def _no_constants(name):
    raise ValueError(f"{name} is not a valid JSON number")


def _finite(text):
    number = float(text)
    if number in (float("inf"), float("-inf")):
        raise ValueError(f"{text[:20]} is too large for a JSON number")
    return number


def _too_deep(value):
    """Whether objects and arrays nest deeper than MAX_DEPTH (checked without recursion)."""
    level = [value]
    for _ in range(MAX_DEPTH):
        level = [child for node in level if isinstance(node, (dict, list))
                 for child in (node.values() if isinstance(node, dict) else node)]
        if not level:
            return False
    return any(isinstance(node, (dict, list)) for node in level)


def json_body():
    """The body as a JSON object; the Content-Type header is not required."""
    raw = request.get_data(cache=False)
    if not raw.strip():
        raise ApiError(400, "The request body is empty; send a JSON object.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ApiError(400, "The body is not UTF-8 text.") from None
    try:
        data = json.loads(text, parse_constant=_no_constants, parse_float=_finite)
    except RecursionError:
        raise ApiError(400, "The JSON body is nested too deeply.") from None
    except ValueError as err:
        raise ApiError(400, f"The body is not valid JSON ({err}).") from None
    if not isinstance(data, dict):
        raise ApiError(400, "The body must be a JSON object.")
    if _too_deep(data):
        raise ApiError(400, f"The JSON body is nested more than {MAX_DEPTH} levels deep.")
    return data


def parse(schema, extra=None):
    """(data, None) or (None, ApiError) for the body validated by schema.

    Views parse before they take the write lock, so the lock is held only for the
    database work, and raise the error after the token check, so that a bad token
    is still answered 401 whatever the body. extra fills keys the body left empty.
    """
    try:
        body = json_body()
        for key, value in (extra or {}).items():
            if body.get(key) is None and value is not None:
                body[key] = value
        return load(schema, body), None
    except ApiError as err:
        return None, err


def load(schema, data):
    """Validate data with a marshmallow schema; 400 with per-field messages otherwise."""
    try:
        return schema.load(data)
    except ValidationError as err:
        raise ApiError(400, errors_sentence(err.messages), fields=flat_fields(err.messages)) from None


def stored_json(value, what="metadata"):
    """value as compact JSON text for the database, or 413 when over METADATA_MAX_BYTES."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    limit = current_app.config["METADATA_MAX_BYTES"]
    size = len(text.encode())
    if size > limit:
        raise ApiError(413, f"{what} is {size // 1024} KiB (once merged, without images); "
                            f"the limit is {limit // 1024} KiB.", fields={what: "is too large"})
    return text
