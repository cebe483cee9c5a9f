"""Claude Code's usage metrics (claude_code.cost.usage, claude_code.token.usage) -> a session's
cost and tokens, for sessions whose logs do not carry them.

Logs and metrics report the same spending, so only one may count. A session's api_request log
records win: points for a session that has one are accepted and not stored, and when its first
api_request arrives after metrics did, the metric records of that session are deleted in the
same transaction. What metrics fill is `usage` records: for delta temporality (Claude Code's
default) one per session, model and collection (the points' time), for cumulative temporality one
per session and model, whose newer points replace its values. A point sets a value rather than
adding it, so a resent export changes nothing.
"""
import hashlib
import json
from itertools import islice

from flask import current_app
from marshmallow import ValidationError

from waken import db
from waken.agent_log import store
from waken.agent_log.prices import micro_usd
from waken.auth.tokens import touch_token
from waken.errors import Invalid, PayloadTooLarge
from waken.otlp.fields import SESSION_CHARS, Rejected, compact
from waken.otlp.values import as_text, attributes, timestamp
from waken.schemas.agent_log import record_create_schema
from waken.timeutil import now, to_ms

COST, TOKENS = "claude_code.cost.usage", "claude_code.token.usage"
TOKEN_FIELDS = {"input": "input_tokens", "output": "output_tokens", "cacheRead": "cache_read_tokens",
                "cacheCreation": "cache_creation_tokens"}
DELTA = 1                   # opentelemetry.proto.metrics.v1.AggregationTemporality DELTA
USAGE = "usage"
KEY_PREFIX = "otlp-metric:"


def usage(message):
    """({row key: usage}, reasons for the points not used): points grouped by session, model and window."""
    groups, reasons = {}, []
    for part in message.resource_metrics:
        service = as_text(attributes(part.resource.attributes).get("service.name"))
        for scope in part.scope_metrics:
            for metric in scope.metrics:
                kind = metric.WhichOneof("data")
                points = getattr(metric, kind).data_points if kind else ()
                if metric.name not in (COST, TOKENS) or kind != "sum":
                    reasons += [f"metric '{metric.name[:60]}' is not mapped (only {COST} and {TOKENS} are)"] * len(points)
                    continue
                delta = metric.sum.aggregation_temporality == DELTA
                for point in points:
                    try:
                        _add(groups, service, metric.name, delta, point)
                    except Rejected as why:
                        reasons.append(str(why))
    return groups, reasons


def _add(groups, service, name, delta, point):
    attrs = attributes(point.attributes)
    session = as_text(attrs.get("session.id"), SESSION_CHARS)
    if not session:
        raise Rejected(f"a {name} data point without session.id is not stored")
    field = "cost_usd" if name == COST else TOKEN_FIELDS.get(attrs.get("type"))
    if field is None:
        raise Rejected(f"a {name} data point of type '{str(attrs.get('type'))[:40]}' is not mapped")
    if not point.time_unix_nano:
        raise Rejected(f"a {name} data point has no time")
    model = as_text(attrs.get("model"), 200) or ""
    # A collection's points share their time (their starts differ by instrument).
    window = str(point.time_unix_nano) if delta else "cumulative"
    key = KEY_PREFIX + hashlib.sha256(f"{service}\0{session}\0{model}\0{window}".encode()).hexdigest()
    group = groups.setdefault(key, {"session": session, "model": model, "agent": service, "values": {}})
    number = point.as_double if point.WhichOneof("value") == "as_double" else point.as_int
    seen = group["values"].get(field)
    if seen is None or point.time_unix_nano > seen[0]:
        group["values"][field] = (point.time_unix_nano, number)
    elif point.time_unix_nano == seen[0]:     # the same moment under other attributes: both count
        group["values"][field] = (seen[0], seen[1] + number)


def store_all(message, token):
    """Store the usage of an export, OTLP_RECORDS_PER_COMMIT rows per write turn; the reasons for the points not used."""
    at, caller = now(), store.caller_of(token)
    groups, reasons = usage(message)
    items, per_commit = iter(groups.items()), current_app.config["OTLP_RECORDS_PER_COMMIT"]
    while chunk := list(islice(items, per_commit)):
        with db.write():
            if token is not None:
                touch_token(token, at)
                token = None
            for key, group in chunk:
                try:
                    _store(key, group, at, caller)
                except (Invalid, PayloadTooLarge) as err:
                    reasons.append(err.message.rstrip("."))
    if token is not None:
        with db.write():
            touch_token(token, at)
    return reasons


def _has(session, kind):
    return db.value("SELECT 1 FROM agent_session_mix WHERE session = ? AND type = ? LIMIT 1", (session, kind))


def _store(key, group, at, caller):
    """Create or refresh one usage record, unless the session's logs already carry its spending."""
    if _has(group["session"], "api_request"):
        return
    row = db.query_one("SELECT id, timestamp, metadata FROM agent_activity WHERE idempotency_caller = ? "
                       "AND idempotency_key = ?", (caller, key))
    values = {field: number for field, (_time, number) in group["values"].items()}
    newest = max(time for time, _number in group["values"].values())
    if row is not None:
        if to_ms(timestamp(newest)) < row["timestamp"]:
            return          # an older point of a cumulative stream: the record holds newer values
        values = {**{k: v for k, v in _metadata(row).items() if k in (*TOKEN_FIELDS.values(), "cost_usd")}, **values}
    fields = _fields(group, values)
    if row is None:
        try:
            data = record_create_schema.load({**fields, "idempotency_key": key})
        except ValidationError as err:
            raise Invalid("; ".join(f"{name} {problem}" for name, problem in err.messages.items()),
                          code="otlp.metric_invalid") from None
        store.create_record({**data, "timestamp": timestamp(newest)}, at, caller)
        return
    db.execute("UPDATE agent_activity SET timestamp = ?, description = ?, tokens_used = ?, cost_usd = ?, "
               "metadata = ? WHERE id = ?", (to_ms(timestamp(newest)), fields["description"], fields["tokens_used"],
                                             micro_usd(fields["cost_usd"]), db.compact_json(fields["metadata"]), row["id"]))


def _metadata(row):
    return json.loads(row["metadata"] or "{}")


def _fields(group, values):
    tokens_in, tokens_out = values.get("input_tokens"), values.get("output_tokens")
    tokens = None if tokens_in is None and tokens_out is None else round((tokens_in or 0) + (tokens_out or 0))
    cost = values.get("cost_usd")
    model = group["model"] or "model"
    return {"type": USAGE, "status": "success", "agent": group["agent"], "session": group["session"],
            "description": f"{model} usage" + (f" ({tokens} tokens)" if tokens else ""),
            "tokens_used": tokens, "cost_usd": cost,
            "metadata": compact({"session.id": group["session"], "model": group["model"], "source": "metrics",
                                 "cost_usd": cost, **{k: round(v) for k, v in values.items() if k != "cost_usd"}})}


def logs_arrived(sessions, caller):
    """The sessions' api_request records are stored: their usage records from metrics would count twice."""
    for session in sessions:
        if _has(session, USAGE):
            db.execute("DELETE FROM agent_activity INDEXED BY agent_activity_session WHERE session = ? "
                       "AND type = ? AND idempotency_caller = ? AND idempotency_key LIKE ?",
                       (session, USAGE, caller, KEY_PREFIX + "%"))
