"""OTLP log records and spans -> agent activity fields (one per mapped record) or a reason to reject."""
import hashlib
import json

from waken.otlp.values import (
    as_bool,
    as_int,
    as_number,
    as_text,
    attributes,
    timestamp,
    value,
)

CLAUDE_PREFIX = "claude_code."
LOG_EVENTS = ("tool_result", "api_request")
TOOL_SPANS = ("execute_tool",)
AGENT_SPANS = ("chat", "invoke_agent", "create_agent")
SPAN_STATUS_ERROR = 2           # opentelemetry.proto.trace.v1.Status.STATUS_CODE_ERROR
SUMMARY_CHARS = 200             # what a tool's parameters may add to its description
SESSION_CHARS = 128             # the session field's limit (POST /api/activities)
# The first of these parameters found says most about a tool call, e.g. Bash's command.
SUMMARY_KEYS = ("bash_command", "full_command", "command", "file_path", "path", "notebook_path",
                "pattern", "url", "query", "prompt", "description", "skill_name")


class Rejected(Exception):
    """A record that is not stored, with the reason the exporter is told."""


def _compact(fields):
    """Only the keys with a value, so metadata stays small."""
    return {k: v for k, v in fields.items() if v is not None and v != ""}


def summary(parameters):
    """A short summary of a tool's parameters (a JSON object or its text)."""
    if isinstance(parameters, str):
        try:
            parameters = json.loads(parameters)
        except ValueError:
            return parameters[:SUMMARY_CHARS]
    if isinstance(parameters, dict):
        for key in SUMMARY_KEYS:
            if parameters.get(key) not in (None, ""):
                return as_text(parameters[key], SUMMARY_CHARS)
    return as_text(parameters, SUMMARY_CHARS) if parameters else None


def log_event(record, attrs):
    """The event's name without the claude_code. prefix, from the event name field, attribute or body."""
    body = value(record.body) if record.HasField("body") else None
    for name in (record.event_name, attrs.get("event.name"), body):
        if isinstance(name, str) and name:
            short = name[len(CLAUDE_PREFIX):] if name.startswith(CLAUDE_PREFIX) else name
            if short in LOG_EVENTS:
                return short
    named = record.event_name or attrs.get("event.name") or (body if isinstance(body, str) else None)
    raise Rejected(f"event '{str(named)[:60]}' is not mapped to an agent activity" if named else
                   "a log record without an event name is not mapped to an agent activity")


def resource_digest(resource):
    """The hash of a resource, taken once per request: log_key continues it for each record."""
    return hashlib.sha256(resource.SerializeToString(deterministic=True))


def log_key(resource_hash, record):
    """A stable key for a log record: the hash of its resource and its own content."""
    digest = resource_hash.copy()   # the resource is serialised and hashed once, not per record
    digest.update(record.SerializeToString(deterministic=True))
    return "otlp-log:" + digest.hexdigest()


def map_log(resource_hash, resource_attrs, record):
    """Activity fields for a Claude Code log record; raises Rejected for other events."""
    attrs = attributes(record.attributes)
    event = log_event(record, attrs)
    fields = {"timestamp": timestamp(record.time_unix_nano, record.observed_time_unix_nano),
              "agent": as_text(attrs.get("agent") or resource_attrs.get("service.name")),
              "duration_ms": as_int(attrs.get("duration_ms")),
              "session": as_text(attrs.get("session.id"), SESSION_CHARS),
              "idempotency_key": log_key(resource_hash, record)}
    common = {"session.id": as_text(attrs.get("session.id")), "prompt.id": as_text(attrs.get("prompt.id"))}
    if event == "tool_result":
        tool = as_text(attrs.get("tool_name"), 200) or "unknown tool"
        about = summary(attrs.get("tool_parameters"))
        ok = as_bool(attrs.get("success"))
        fields.update(type="tool_call", description=f"{tool} {about}" if about else tool,
                      status="error" if ok is False or attrs.get("error") else "success",
                      metadata=_compact({**common, "tool_name": tool,
                                         "decision_source": as_text(attrs.get("decision_source") or attrs.get("source")),
                                         "decision": as_text(attrs.get("decision")),
                                         "error": as_text(attrs.get("error"))}))
        return fields
    model = as_text(attrs.get("model"), 200)
    tokens_in, tokens_out = as_int(attrs.get("input_tokens")), as_int(attrs.get("output_tokens"))
    tokens = None if tokens_in is None and tokens_out is None else (tokens_in or 0) + (tokens_out or 0)
    fields.update(type="api_request", status="success", tokens_used=tokens, cost_usd=as_number(attrs.get("cost_usd")),
                  description=f"{model or 'model'} request" + (f" ({tokens} tokens)" if tokens else ""),
                  metadata=_compact({**common, "model": model, "cost_usd": as_number(attrs.get("cost_usd")),
                                     "input_tokens": tokens_in, "output_tokens": tokens_out,
                                     "cache_read_tokens": as_int(attrs.get("cache_read_tokens")),
                                     "cache_creation_tokens": as_int(attrs.get("cache_creation_tokens"))}))
    return fields


def map_span(resource_attrs, span):
    """Activity fields for a GenAI span; raises Rejected for other spans."""
    attrs = attributes(span.attributes)
    operation = attrs.get("gen_ai.operation.name")
    if operation not in TOOL_SPANS + AGENT_SPANS:
        raise Rejected(f"span '{span.name[:60]}' has gen_ai.operation.name '{str(operation)[:40]}', which is not "
                       f"mapped (only {', '.join(TOOL_SPANS + AGENT_SPANS)} are)" if operation else
                       f"span '{span.name[:60]}' has no gen_ai.operation.name, so it is not mapped")
    if len(span.trace_id) != 16 or len(span.span_id) != 8 or not any(span.trace_id) or not any(span.span_id):
        raise Rejected(f"span '{span.name[:60]}' has no valid trace id and span id")
    tokens_in = as_int(attrs.get("gen_ai.usage.input_tokens"))
    tokens_out = as_int(attrs.get("gen_ai.usage.output_tokens"))
    duration = None
    if span.end_time_unix_nano >= span.start_time_unix_nano > 0:
        duration = round((span.end_time_unix_nano - span.start_time_unix_nano) / 1_000_000)
    agent_name = as_text(attrs.get("gen_ai.agent.name"), 200)
    if operation in TOOL_SPANS:
        tool = as_text(attrs.get("gen_ai.tool.name"), 200) or span.name[:200] or "unknown tool"
        about = summary(attrs.get("gen_ai.tool.call.arguments"))
        kind, description = "tool_call", f"{tool} {about}" if about else tool
    else:
        subject = agent_name or as_text(attrs.get("gen_ai.request.model"), 200) or span.name[:200]
        kind, description = "agent_action", f"{operation} {subject}" if subject else operation
    error = span.status.code == SPAN_STATUS_ERROR
    return {
        "type": kind, "description": description, "status": "error" if error else "success",
        "timestamp": timestamp(span.start_time_unix_nano), "duration_ms": duration,
        "tokens_used": None if tokens_in is None and tokens_out is None else (tokens_in or 0) + (tokens_out or 0),
        "agent": as_text(attrs.get("agent") or agent_name or resource_attrs.get("service.name")),
        "idempotency_key": f"otlp-span:{span.trace_id.hex()}:{span.span_id.hex()}",
        "session": as_text(attrs.get("gen_ai.conversation.id"), SESSION_CHARS) or span.trace_id.hex(),
        "metadata": _compact({
            "trace_id": span.trace_id.hex(), "span_id": span.span_id.hex(), "span_name": span.name[:200],
            "operation": operation,
            "model": as_text(attrs.get("gen_ai.response.model") or attrs.get("gen_ai.request.model"), 200),
            "system": as_text(attrs.get("gen_ai.provider.name") or attrs.get("gen_ai.system"), 200),
            "tool_call_id": as_text(attrs.get("gen_ai.tool.call.id"), 200),
            "input_tokens": tokens_in, "output_tokens": tokens_out,
            "error": as_text(span.status.message or attrs.get("error.type")) if error else None}),
    }


def map_records(signal, message):
    """Each record of an Export…ServiceRequest in order: its activity fields, or Rejected with the reason."""
    for resource_part in (message.resource_logs if signal == "logs" else message.resource_spans):
        resource_attrs = attributes(resource_part.resource.attributes)
        resource_hash = resource_digest(resource_part.resource) if signal == "logs" else None
        scopes = resource_part.scope_logs if signal == "logs" else resource_part.scope_spans
        for scope in scopes:
            for record in (scope.log_records if signal == "logs" else scope.spans):
                try:
                    if signal == "logs":
                        yield map_log(resource_hash, resource_attrs, record)
                    else:
                        yield map_span(resource_attrs, record)
                except Rejected as why:
                    yield why
                except (OverflowError, ValueError, OSError):
                    yield Rejected("a timestamp is outside the range of dates")
