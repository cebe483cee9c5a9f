"""An OTLP batch into the agent log: records mapped, validated like POST /api/activities, stored a chunk per write."""
import time
from collections import Counter
from itertools import islice

from flask import current_app
from marshmallow import ValidationError

from waken import db
from waken.admission import machine_turn
from waken.agent_log import store
from waken.agent_log.prices import price_book
from waken.auth.tokens import touch_token
from waken.errors import Invalid, PayloadTooLarge
from waken.otlp import lineage, mapping, metrics
from waken.otlp.pricing import priced
from waken.schemas.agent_log import record_create_schema
from waken.timeutil import now

PRIVATE = ("timestamp", "_lineage")   # set by the mapping, not by the request schema
PAUSE_SECONDS = 0.005    # between a batch's write turns (20 turns for the largest batch: 0.1 s)
REASONS_CHARS = 1000     # the answer's error_message lists the reasons up to about this length


def store_all(signal, message, token):
    """Map, validate and store the records, OTLP_RECORDS_PER_COMMIT per write-lock turn; the reasons
    for those not stored.

    Each turn commits, so a long batch never holds the lock for long. If a later turn fails, the
    error is the answer (never a 2xx) and the exporter sends the batch again: the records already
    committed carry idempotency keys (their content's hash, or trace and span id), so the resend
    stores only what is missing.
    """
    at, reasons, per_commit = now(), [], current_app.config["OTLP_RECORDS_PER_COMMIT"]
    caller = store.caller_of(token)
    records = mapping.map_records(signal, message)
    book = price_book() if signal == "traces" else {}     # Claude Code sends its own cost
    while chunk := list(islice(records, per_commit)):
        # outside the lock: other writers take their turn meanwhile
        valid = [priced(data, book) for data in _validated(chunk, reasons)]
        # One batch's turn at a time on the whole machine: a report waits behind one batch's
        # turn at most, not behind every worker's batch in turn.
        with machine_turn(current_app, "otlp-turn").turn(), db.write():
            if token is not None:
                touch_token(token, at)
                token = None                   # once per request
            reasons += _store(valid, at, caller)
        # A batch is mostly Python: a short pause between turns hands the interpreter and the
        # cores to the process's other requests, so a writer never queues behind a whole batch.
        time.sleep(PAUSE_SECONDS)
    if token is not None:        # an export without records still marks the token used
        with db.write():
            touch_token(token, at)
    return reasons


def _validated(chunk, reasons):
    """The agent record fields of a chunk of mapped records, validated like POST /api/activities;
    a reason is added for each one rejected."""
    valid = []
    for fields in chunk:
        if isinstance(fields, mapping.Rejected):
            reasons.append(str(fields))
            continue
        if fields is mapping.MERGED:
            continue
        try:
            data = record_create_schema.load({k: v for k, v in fields.items() if k not in PRIVATE})
        except ValidationError as err:
            reasons.append("; ".join(f"{name} {_words(problem)}" for name, problem in err.messages.items()))
            continue
        valid.append({**data, **{k: fields[k] for k in PRIVATE if k in fields}})
    return valid


def _words(problem):
    return problem if isinstance(problem, str) else "; ".join(map(str, problem))


def _store(records, at, caller):
    """Create each record in the open transaction; reasons for those the log refuses (timestamps, size)."""
    reasons, priced_sessions = [], set()
    for data in records:
        try:
            if "_lineage" in data and lineage.settle(data, caller) is mapping.MERGED:
                continue
            store.create_record(data, at, caller)   # a known idempotency key adds nothing
        except (Invalid, PayloadTooLarge) as err:
            reasons.append(err.message.rstrip("."))
            continue
        if data["type"] == "api_request" and data.get("session"):
            priced_sessions.add(data["session"])
    metrics.logs_arrived(priced_sessions, caller)
    return reasons


def reasons_sentence(reasons, noun):
    """'2 log records not stored: 2 × event 'user_prompt' is not mapped …' (empty when all were)."""
    if not reasons:
        return ""
    parts = [f"{count} × {reason}" if count > 1 else reason for reason, count in Counter(reasons).most_common()]
    text = f"{len(reasons)} {noun}{'s' if len(reasons) > 1 else ''} not stored: " + "; ".join(parts)
    return text if len(text) <= REASONS_CHARS else text[:REASONS_CHARS - 1] + "…"
