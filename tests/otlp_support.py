"""OTLP exports shaped like Claude Code's events and metrics and GenAI-instrumented frameworks' spans, built by the SDK."""
import json
import time

from opentelemetry._logs import LogRecord
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import (
    InMemoryLogRecordExporter,
    SimpleLogRecordProcessor,
)
from opentelemetry.sdk.metrics import Counter, MeterProvider
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    InMemoryMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
MS = 1_000_000   # nanoseconds


def sdk_logs(service, *records):
    """The log records the SDK finishes for these LogRecords, under a resource named `service`."""
    provider = LoggerProvider(resource=Resource.create({"service.name": service}))
    memory = InMemoryLogRecordExporter()
    provider.add_log_record_processor(SimpleLogRecordProcessor(memory))
    logger = provider.get_logger("com.anthropic.claude_code.events")
    for record in records:
        logger.emit(record)
    provider.shutdown()
    return memory.get_finished_logs()


def claude_code_logs(service, session="sess-1"):
    """The log records Claude Code exports for one prompt: two tool results, an API request, a prompt."""
    now = time.time_ns()
    common = {"session.id": session, "prompt.id": "prompt-7", "user.id": "u1"}
    # The event named three ways: by the body, by the event name field, by the event.name attribute.
    return sdk_logs(
        service,
        LogRecord(timestamp=now - 3_000_000_000, body="claude_code.tool_result", attributes={
            **common, "event.name": "tool_result", "tool_name": "Bash", "success": "true", "duration_ms": "85",
            "decision_source": "config", "decision": "accept",
            "tool_parameters": json.dumps({"bash_command": "npm test", "description": "run the tests"})}),
        LogRecord(timestamp=now - 2_000_000_000, event_name="claude_code.tool_result", attributes={
            **common, "tool_name": "Edit", "success": False, "duration_ms": 12, "error": "file is read-only",
            "decision_source": "user_permanent",
            "tool_parameters": json.dumps({"file_path": "src/app.py", "old_string": "a", "new_string": "b"})}),
        LogRecord(timestamp=now - 1_000_000_000, body="claude_code.api_request", attributes={
            **common, "event.name": "api_request", "model": "claude-sonnet-4", "input_tokens": "1200",
            "output_tokens": 300, "cost_usd": "0.0123", "duration_ms": 2400}),
        LogRecord(timestamp=now, body="claude_code.user_prompt", attributes={
            **common, "event.name": "user_prompt", "prompt_length": "42"}))


def genai_spans(service, agent=None):
    """A GenAI-instrumented agent run: an invoke_agent span around a chat (40 ms) and a failed tool
    call (30 ms), plus an HTTP span; start and end times are set, not measured."""
    agent = agent or f"{service}-planner"
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer, start = provider.get_tracer("agent-framework"), time.time_ns() - 1000 * MS

    def span(name, begin, end, **attributes):
        return tracer.start_as_current_span(name, start_time=start + begin * MS, end_on_exit=False,
                                            attributes=attributes), start + end * MS

    run, run_end = span(f"invoke_agent {agent}", 0, 100, **{
        "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": agent})
    with run as outer:
        chat, chat_end = span("chat gpt-4o", 5, 45, **{
            "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o",
            "gen_ai.usage.input_tokens": 500, "gen_ai.usage.output_tokens": 80})
        with chat as inner:
            inner.end(end_time=chat_end)
        tool, tool_end = span("execute_tool search_docs", 50, 80, **{
            "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "search_docs",
            "gen_ai.tool.call.arguments": json.dumps({"query": "retention days"})})
        with tool as inner:
            inner.set_status(Status(StatusCode.ERROR, "index unavailable"))
            inner.end(end_time=tool_end)
        http, http_end = span("GET /docs", 85, 90, **{"http.request.method": "GET"})
        with http as inner:
            inner.end(end_time=http_end)
        outer.end(end_time=run_end)
    provider.shutdown()
    return memory.get_finished_spans()


def claude_code_metrics(service, usage, delta=True, extra=True):
    """The metrics data Claude Code's meter collects once: for each (session, model, input, output,
    cost) of `usage` its token and cost counters, plus a session count it also sends."""
    temporality = AggregationTemporality.DELTA if delta else AggregationTemporality.CUMULATIVE
    reader = InMemoryMetricReader(preferred_temporality={Counter: temporality})
    provider = MeterProvider(resource=Resource.create({"service.name": service}), metric_readers=[reader])
    meter = provider.get_meter("com.anthropic.claude_code")
    tokens = meter.create_counter("claude_code.token.usage", unit="tokens")
    cost = meter.create_counter("claude_code.cost.usage", unit="USD")
    sessions = meter.create_counter("claude_code.session.count")
    for session, model, tokens_in, tokens_out, dollars in usage:
        common = {"session.id": session, "model": model}
        tokens.add(tokens_in, {**common, "type": "input"})
        tokens.add(tokens_out, {**common, "type": "output"})
        tokens.add(7, {**common, "type": "cacheRead"})
        cost.add(dollars, common)
        if extra:
            sessions.add(1, {"session.id": session})
    data = reader.get_metrics_data()
    provider.shutdown()
    return data


def export(client, auth, path, body, media=PROTOBUF):
    """POST an export to `path` through the in-process client; the answer, after checking it is a 200."""
    answer = client.post(path, data=body, headers={**auth, "Content-Type": media})
    assert answer.status_code == 200, answer.data[:500]
    return answer


def activities(client, auth, **params):
    """The agent log through the API, oldest first (up to 500), filtered by `params`."""
    answer = client.get("/api/activities", query_string={"limit": 500, "sort": "oldest", **params}, headers=auth)
    assert answer.status_code == 200, answer.json
    return answer.json["activities"]
