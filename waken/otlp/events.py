"""Claude Code's OTLP log events -> agent activity fields (tool results, permission decisions,
API requests and errors, prompts)."""
import hashlib

from waken.otlp.fields import SESSION_CHARS, Rejected, compact, summary
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
LOG_EVENTS = ("tool_result", "api_request", "api_error", "tool_decision", "user_prompt")
REJECTIONS = ("reject", "deny", "denied", "rejected", "block", "blocked")


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


def _decision(attrs):
    """decision_type is the newer spelling of decision."""
    return as_text(attrs.get("decision_type") or attrs.get("decision"), 64)


def map_log(resource_hash, resource_attrs, record):
    """Activity fields for a Claude Code log record; raises Rejected for other events."""
    attrs = attributes(record.attributes)
    event = log_event(record, attrs)
    fields = {"timestamp": timestamp(record.time_unix_nano, record.observed_time_unix_nano),
              "agent": as_text(attrs.get("agent") or resource_attrs.get("service.name")),
              "duration_ms": as_int(attrs.get("duration_ms")),
              "session": as_text(attrs.get("session.id"), SESSION_CHARS),
              "idempotency_key": log_key(resource_hash, record), "status": "success"}
    common = {"session.id": as_text(attrs.get("session.id")), "prompt.id": as_text(attrs.get("prompt.id")),
              "agent.name": as_text(attrs.get("agent.name"), 200)}     # a subagent's name
    if event in ("tool_result", "tool_decision"):
        tool = as_text(attrs.get("tool_name"), 200) or "unknown tool"
        decision = _decision(attrs)
        common.update(tool_name=tool, tool_use_id=as_text(attrs.get("tool_use_id"), 200), decision=decision,
                      decision_source=as_text(attrs.get("decision_source") or attrs.get("source"), 64))
        if event == "tool_decision":
            rejected = (decision or "").lower() in REJECTIONS
            fields.update(type="permission", status="error" if rejected else "success",
                          description=f"{tool} {decision or 'decision'}", metadata=compact(common))
            return fields
        about = summary(attrs.get("tool_parameters"))
        ok = as_bool(attrs.get("success"))
        failed = ok is False or attrs.get("error") or attrs.get("error_type")
        fields.update(type="tool_call", description=f"{tool} {about}" if about else tool,
                      status="error" if failed else "success",
                      metadata=compact({**common, "error": as_text(attrs.get("error")),
                                        "error_type": as_text(attrs.get("error_type"), 200)}))
        return fields
    if event == "user_prompt":
        # Only the length: the text (sent with OTEL_LOG_USER_PROMPTS=1) is never stored.
        length = as_int(attrs.get("prompt_length"))
        fields.update(type="prompt", description=f"prompt ({length} characters)" if length is not None else "prompt",
                      metadata=compact({**common, "prompt_length": length}))
        return fields
    model = as_text(attrs.get("model"), 200)
    if event == "api_error":
        error = as_text(attrs.get("error"), 200)
        fields.update(type="api_request", status="error",
                      description=f"{model or 'model'} request failed" + (f": {error}" if error else ""),
                      metadata=compact({**common, "model": model, "error": as_text(attrs.get("error")),
                                        "error_type": as_text(attrs.get("error_type"), 200),
                                        "status_code": as_text(attrs.get("status_code"), 16),
                                        "attempt": as_int(attrs.get("attempt"))}))
        return fields
    tokens_in, tokens_out = as_int(attrs.get("input_tokens")), as_int(attrs.get("output_tokens"))
    tokens = None if tokens_in is None and tokens_out is None else (tokens_in or 0) + (tokens_out or 0)
    fields.update(type="api_request", tokens_used=tokens, cost_usd=as_number(attrs.get("cost_usd")),
                  description=f"{model or 'model'} request" + (f" ({tokens} tokens)" if tokens else ""),
                  metadata=compact({**common, "model": model, "cost_usd": as_number(attrs.get("cost_usd")),
                                    "input_tokens": tokens_in, "output_tokens": tokens_out,
                                    "cache_read_tokens": as_int(attrs.get("cache_read_tokens")),
                                    "cache_creation_tokens": as_int(attrs.get("cache_creation_tokens"))}))
    return fields
