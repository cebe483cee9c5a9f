"""POST /v1/logs and POST /v1/traces: OTLP/HTTP exports into the agent activity log."""
from collections import Counter
from itertools import islice

from flask import current_app, request
from marshmallow import ValidationError
from werkzeug.exceptions import HTTPException

from waken import db, settings
from waken.agent_log import store
from waken.auth.tokens import touch_token
from waken.edge import limits
from waken.edge.security import csrf
from waken.errors import ApiError, Invalid
from waken.ingest import bp
from waken.ingest.agent_log import authorise_write
from waken.schemas.agent_log import record_create_schema
from waken.timeutil import now

MEDIA = ("application/x-protobuf", "application/json")
REASONS_CHARS = 1000     # error_message lists the reasons up to about this length
READ_CHUNK = 64 * 1024


# Bearer tokens authenticate these, like /api; a CSRF check would also read the body unbounded.
@csrf.exempt
@bp.post("/v1/logs")
def otlp_logs():
    """Store OTLP log records (Claude Code's tool_result and api_request events) as agent activities."""
    return _export("logs", "log record")


@csrf.exempt
@bp.post("/v1/traces")
def otlp_traces():
    """Store OTLP spans (GenAI execute_tool, chat, invoke_agent, create_agent) as agent activities."""
    return _export("traces", "span")


def _export(signal, noun):
    """Token, then a turn at the gate; the body decoded and counted, the token charged per record,
    then the records mapped and stored a chunk per write-lock turn."""
    # protobuf is loaded on the first OTLP request, not at start-up
    from waken.otlp import admission, wire
    media = request.mimetype if request.mimetype in MEDIA else wire.JSON
    try:
        token = authorise_write(charge=False)      # 401 before a byte of the body is read
        encoding = _encoding(wire)
        with admission.gate().turn():              # 503 before the body is read when busy
            message, count = _decode(signal, wire, encoding)
            if token is not None:
                limits.charge_token(token.id, max(1, count))   # 429: nothing stored
            else:
                limits.charge_address(settings.get("agent_ingest_open_per_minute"), max(1, count))
            reasons = _store_all(signal, message, token)
    except wire.WireError as err:
        return wire.status_body(err.status, err.message, media), err.status, {"Content-Type": media}
    except ApiError as err:
        return (wire.status_body(err.status, err.message, media), err.status,
                {**(err.headers or {}), "Content-Type": media})
    except HTTPException as err:   # e.g. the server-wide body limit; Retry-After and the like are kept
        headers = {name: value for name, value in err.get_headers() if name != "Content-Type"}
        return wire.status_body(err.code, err.description, media), err.code, {**headers, "Content-Type": media}
    body = wire.answer(signal, media, len(reasons), _reasons_sentence(reasons, noun))
    return body, 200, {"Content-Type": media}


def _encoding(wire):
    """The body's Content-Encoding ('' or gzip); 415 for another media type or encoding."""
    if request.mimetype not in MEDIA:
        raise wire.WireError(415, f"Send OTLP as application/x-protobuf or application/json, "
                                  f"not '{request.mimetype[:80] or 'no Content-Type'}'.")
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding not in ("", "identity", "gzip"):
        raise wire.WireError(415, f"Content-Encoding '{encoding[:40]}' is not supported; send gzip or none.")
    return encoding


def _decode(signal, wire, encoding):
    """(the Export…ServiceRequest, its record count); WireError if unreadable or over the record cap."""
    limit = current_app.config["OTLP_MAX_BYTES"]
    raw = _body(wire, limit)
    if encoding == "gzip":
        raw = wire.gunzip(raw, limit)
    return wire.decode(signal, request.mimetype, raw, current_app.config["OTLP_MAX_RECORDS"])


def _store_all(signal, message, token):
    """Map, validate and store the records, OTLP_RECORDS_PER_COMMIT per write-lock turn; the reasons
    for those not stored.

    Each turn commits, so a long batch never holds the lock for long. If a later turn fails, the
    error is the answer (never a 2xx) and the exporter sends the batch again: the records already
    committed carry idempotency keys (their content's hash, or trace and span id), so the resend
    stores only what is missing.
    """
    from waken.otlp import mapping
    at, reasons, per_commit = now(), [], current_app.config["OTLP_RECORDS_PER_COMMIT"]
    caller = store.caller_of(token)
    records = mapping.map_records(signal, message)
    while chunk := list(islice(records, per_commit)):
        valid = _validated(chunk, reasons)      # outside the lock: other writers take their turn meanwhile
        with db.write():
            if token is not None:
                touch_token(token, at)
                token = None                   # once per request
            reasons += _store(valid, at, caller)
    if token is not None:        # an export without records still marks the token used
        with db.write():
            touch_token(token, at)
    return reasons


def _validated(chunk, reasons):
    """The agent record fields of a chunk of mapped records, validated like POST /api/activities;
    a reason is added for each one rejected."""
    from waken.otlp.mapping import Rejected
    valid = []
    for fields in chunk:
        if isinstance(fields, Rejected):
            reasons.append(str(fields))
            continue
        try:
            data = record_create_schema.load({k: v for k, v in fields.items() if k != "timestamp"})
        except ValidationError as err:
            reasons.append("; ".join(f"{name} {_words(problem)}" for name, problem in err.messages.items()))
            continue
        valid.append({**data, "timestamp": fields["timestamp"]})
    return valid


def _words(problem):
    return problem if isinstance(problem, str) else "; ".join(map(str, problem))


def _body(wire, limit):
    """The request body, read in chunks and never past `limit` bytes (413 beyond)."""
    too_big = wire.WireError(413, f"The body is larger than {limit // 1024 // 1024} MiB, the most this "
                                  "server accepts for OTLP; send smaller batches.")
    if request.content_length is not None and request.content_length > limit:
        raise too_big
    body = bytearray()
    while chunk := request.stream.read(min(READ_CHUNK, limit + 1 - len(body))):
        body += chunk
        if len(body) > limit:
            raise too_big
    return body


def _store(records, at, caller):
    """Create each record in the open transaction; reasons for those the log refuses (timestamps, size)."""
    reasons = []
    for data in records:
        try:
            store.create_record(data, at, caller)   # a known idempotency key adds nothing
        except (Invalid, ApiError) as err:
            if err.status not in (400, 413):
                raise
            reasons.append(err.message.rstrip("."))
    return reasons


def _reasons_sentence(reasons, noun):
    """'2 log records not stored: 2 × event 'user_prompt' is not mapped …' (empty when all were)."""
    if not reasons:
        return ""
    parts = [f"{count} × {reason}" if count > 1 else reason for reason, count in Counter(reasons).most_common()]
    text = f"{len(reasons)} {noun}{'s' if len(reasons) > 1 else ''} not stored: " + "; ".join(parts)
    return text if len(text) <= REASONS_CHARS else text[:REASONS_CHARS - 1] + "…"
