"""OTLP log records and spans become agent activities (in process, through POST /v1/logs and
/v1/traces): Claude Code's events, GenAI spans, the reasons for what is not stored, resends."""
import base64
import json
import time

import pytest
from google.protobuf import json_format
from opentelemetry._logs import LogRecord
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from tests.otlp_support import (
    JSON,
    PROTOBUF,
    activities,
    claude_code_logs,
    export,
    genai_spans,
    sdk_logs,
)
from tests.support import db_rows, set_setting
from waken.otlp import mapping


def count(app):
    return db_rows(app, "SELECT count(*) FROM agent_activity")[0][0]


def test_claude_code_events_become_tool_calls_and_api_requests(client, auth):
    export(client, auth, "/v1/logs", encode_logs(claude_code_logs("claude-code-a")).SerializeToString())
    rows = activities(client, auth, agent="claude-code-a")
    assert [(r["type"], r["description"], r["status"], r["duration_ms"], r["tokens_used"]) for r in rows] == [
        ("tool_call", "Bash npm test", "success", 85, None),
        ("tool_call", "Edit src/app.py", "error", 12, None),
        ("api_request", "claude-sonnet-4 request (1500 tokens)", "success", 2400, 1500),
        ("prompt", "prompt (42 characters)", "success", None, None),
    ]
    assert rows[0]["metadata"] == {"session.id": "sess-1", "prompt.id": "prompt-7", "tool_name": "Bash",
                                   "decision_source": "config", "decision": "accept"}
    assert rows[1]["metadata"]["error"] == "file is read-only"
    assert rows[1]["metadata"]["decision_source"] == "user_permanent"
    assert rows[2]["metadata"] == {"session.id": "sess-1", "prompt.id": "prompt-7", "model": "claude-sonnet-4",
                                   "cost_usd": 0.0123, "input_tokens": 1200, "output_tokens": 300}
    # Timestamps come from the records, not from the time they arrived.
    stamps = [r["timestamp"] for r in rows]
    assert stamps == sorted(stamps) and len(set(stamps)) == 4


def test_an_agent_attribute_names_the_agent(client, auth):
    logs = sdk_logs("claude-code", LogRecord(timestamp=time.time_ns(), body="claude_code.tool_result", attributes={
        "tool_name": "Read", "success": True, "agent": "reviewer-bot",
        "tool_parameters": json.dumps({"file_path": "README.md"})}))
    export(client, auth, "/v1/logs", encode_logs(logs).SerializeToString())
    [row] = activities(client, auth, agent="reviewer-bot")
    assert (row["type"], row["description"], row["status"]) == ("tool_call", "Read README.md", "success")


def test_genai_spans_become_tool_calls_and_agent_actions(client, auth):
    spans = genai_spans("framework-b")
    answer = export(client, auth, "/v1/traces", encode_spans(spans).SerializeToString())
    partial = ExportTraceServiceResponse.FromString(answer.data).partial_success
    assert partial.rejected_spans == 1
    assert "span 'GET /docs' has no gen_ai.operation.name" in partial.error_message
    rows = activities(client, auth, agent="framework-b-planner")    # the children take the run's name
    by_description = {r["description"]: r for r in rows}
    assert len(rows) == 3
    tool = by_description["search_docs retention days"]
    assert (tool["type"], tool["status"], tool["agent"]) == ("tool_call", "error", "framework-b-planner")
    assert tool["duration_ms"] == 30
    assert tool["metadata"]["error"] == "index unavailable"
    chat = by_description["chat gpt-4o"]
    assert (chat["type"], chat["status"], chat["tokens_used"]) == ("agent_action", "success", 580)
    assert chat["duration_ms"] == 40
    assert chat["metadata"]["model"] == "gpt-4o"
    source = next(s for s in spans if s.name == "execute_tool search_docs")
    assert tool["metadata"]["trace_id"] == f"{source.context.trace_id:032x}"
    assert tool["metadata"]["span_id"] == f"{source.context.span_id:016x}"
    run = by_description["invoke_agent framework-b-planner"]
    assert (run["type"], run["agent"], run["duration_ms"]) == ("agent_action", "framework-b-planner", 100)


def test_a_resent_batch_adds_nothing_as_protobuf_or_json(app, client, auth):
    logs = encode_logs(claude_code_logs("claude-code-c", session="resend"))
    spans = encode_spans(genai_spans("framework-c"))
    for _ in range(2):
        export(client, auth, "/v1/logs", logs.SerializeToString())
        export(client, auth, "/v1/traces", spans.SerializeToString())
    assert count(app) == 7      # four log records; the run, the chat and the tool call
    # The same batches as JSON (hex ids) are the same content too.
    export(client, auth, "/v1/logs", json.dumps(json_format.MessageToDict(logs)), JSON)
    export(client, auth, "/v1/traces", json.dumps(otlp_json(spans)), JSON)
    assert count(app) == 7


def otlp_json(message):
    """OTLP/JSON of a message: protobuf's JSON mapping, with trace and span ids in hex."""
    data = json_format.MessageToDict(message)
    for part in data["resourceSpans"]:
        for scope in part["scopeSpans"]:
            for span in scope["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        span[key] = base64.b64decode(span[key]).hex()
    return data


def test_otlp_json_ids_are_hex_and_int64_are_strings(client, auth):
    now = time.time_ns()
    trace_id, span_id = "5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174"
    span = {"traceId": trace_id, "spanId": span_id, "name": "execute_tool grep", "kind": 1,
            "startTimeUnixNano": str(now - 10**9), "endTimeUnixNano": str(now - 10**9 + 250_000_000),
            "status": {"code": 1}, "attributes": [
                {"key": "gen_ai.operation.name", "value": {"stringValue": "execute_tool"}},
                {"key": "gen_ai.tool.name", "value": {"stringValue": "grep"}},
                {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "40"}},
                {"key": "gen_ai.usage.output_tokens", "value": {"intValue": 2}}]}
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": "json-agent"}}]}
    body = {"resourceSpans": [{"resource": resource, "scopeSpans": [{"scope": {"name": "x"}, "spans": [span]}]}]}
    assert export(client, auth, "/v1/traces", json.dumps(body), JSON).json == {}
    [row] = activities(client, auth, agent="json-agent")
    assert (row["type"], row["description"], row["status"], row["duration_ms"], row["tokens_used"]) == (
        "tool_call", "grep", "success", 250, 42)
    assert (row["metadata"]["trace_id"], row["metadata"]["span_id"]) == (trace_id, span_id)

    logs = {"resourceLogs": [{"resource": resource, "scopeLogs": [{"logRecords": [{
        "timeUnixNano": str(now), "observedTimeUnixNano": str(now), "severityNumber": 9,
        "traceId": trace_id, "spanId": span_id, "eventName": "claude_code.api_request",
        "attributes": [{"key": "model", "value": {"stringValue": "claude-haiku"}},
                       {"key": "input_tokens", "value": {"intValue": "10"}},
                       {"key": "output_tokens", "value": {"stringValue": "5"}},
                       {"key": "cost_usd", "value": {"doubleValue": 0.001}},
                       {"key": "duration_ms", "value": {"doubleValue": 900.4}}]}]}]}]}
    export(client, auth, "/v1/logs", json.dumps(logs), JSON)
    rows = activities(client, auth, agent="json-agent", type="api_request")
    assert [(r["tokens_used"], r["duration_ms"], r["metadata"]["cost_usd"]) for r in rows] == [(15, 900, 0.001)]

    # The same span as protobuf is the same (trace id, span id): nothing new.
    message = ExportTraceServiceRequest()
    part = message.resource_spans.add()
    part.resource.attributes.add(key="service.name").value.string_value = "json-agent"
    again = part.scope_spans.add().spans.add(trace_id=bytes.fromhex(trace_id), span_id=bytes.fromhex(span_id),
                                             name="execute_tool grep", start_time_unix_nano=now,
                                             end_time_unix_nano=now + 1, kind=Span.SPAN_KIND_INTERNAL)
    again.attributes.add(key="gen_ai.operation.name").value.string_value = "execute_tool"
    assert export(client, auth, "/v1/traces", message.SerializeToString()).content_type == PROTOBUF
    assert len(activities(client, auth, agent="json-agent", type="tool_call")) == 1


def test_what_is_not_stored_is_counted_with_its_reasons(client, auth):
    now = time.time_ns()
    record = {"body": {"stringValue": "claude_code.tool_result"}, "attributes": [
        {"key": "tool_name", "value": {"stringValue": "Glob"}}, {"key": "success", "value": {"boolValue": True}}]}
    body = {"resourceLogs": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "partial-agent"}}]}, "scopeLogs": [{"logRecords": [
            {**record, "timeUnixNano": str(now)},
            {**record, "timeUnixNano": str(now + 3600 * 10**9)},               # an hour in the future
            {**record, "timeUnixNano": str(now - 40 * 86400 * 10**9)},         # past the 30-day retention
            {"timeUnixNano": str(now), "body": {"stringValue": "claude_code.hook_run"}},
            {"timeUnixNano": str(now), "body": {"stringValue": "claude_code.hook_run"},
             "attributes": [{"key": "hook", "value": {"intValue": "3"}}]},
            {"timeUnixNano": str(now), "body": {"stringValue": "just a line of text"}},
            {"timeUnixNano": str(now)}]}]}]}
    partial = export(client, auth, "/v1/logs", json.dumps(body), JSON).json["partialSuccess"]
    assert partial["rejectedLogRecords"] == "6"
    message = partial["errorMessage"]
    assert message.startswith("6 log records not stored:")
    assert "2 × event 'claude_code.hook_run' is not mapped" in message
    assert "'just a line of text' is not mapped" in message
    assert "a log record without an event name is not mapped" in message
    assert "in the future" in message and "retention window" in message
    assert len(activities(client, auth, agent="partial-agent")) == 1


@pytest.mark.parametrize("operation, trace_id, says", [
    ("embeddings", b"\1" * 16, "has gen_ai.operation.name 'embeddings', which is not mapped (only execute_tool, "),
    ("execute_tool", b"\0" * 16, "has no valid trace id and span id"),
    ("execute_tool", b"\1" * 4, "has no valid trace id and span id"),
])
def test_a_span_is_rejected_with_a_reason(operation, trace_id, says):
    message = ExportTraceServiceRequest()
    span = message.resource_spans.add().scope_spans.add().spans.add(name="op", trace_id=trace_id, span_id=b"\2" * 8)
    span.attributes.add(key="gen_ai.operation.name").value.string_value = operation
    [rejected] = mapping.map_records("traces", message)
    assert isinstance(rejected, mapping.Rejected) and says in str(rejected)


def test_idempotency_keys_follow_the_content_not_the_encoding():
    logs = encode_logs(claude_code_logs("keys"))
    keys = [fields["idempotency_key"] for fields in mapping.map_records("logs", logs)
            if not isinstance(fields, mapping.Rejected)]
    assert len(set(keys)) == 4 and all(key.startswith("otlp-log:") for key in keys)
    # Decoded again from protobuf, or from its JSON: the same keys.
    for again in (ExportLogsServiceRequest.FromString(logs.SerializeToString()),
                  json_format.ParseDict(json_format.MessageToDict(logs), ExportLogsServiceRequest())):
        assert [f["idempotency_key"] for f in mapping.map_records("logs", again)
                if not isinstance(f, mapping.Rejected)] == keys
    # Another resource (another agent's records) is another record.
    logs.resource_logs[0].resource.attributes.add(key="host.name").value.string_value = "laptop"
    assert not {f["idempotency_key"] for f in mapping.map_records("logs", logs)
                if not isinstance(f, mapping.Rejected)} & set(keys)
    spans = encode_spans(genai_spans("keys"))
    span_keys = [f["idempotency_key"] for f in mapping.map_records("traces", spans)
                 if not isinstance(f, mapping.Rejected)]
    first = spans.resource_spans[0].scope_spans[0].spans[0]
    assert f"otlp-span:{first.trace_id.hex()}:{first.span_id.hex()}" in span_keys


def test_otlp_records_appear_on_the_admin_page(client, auth, admin):
    export(client, auth, "/v1/logs", encode_logs(claude_code_logs("claude-code-admin")).SerializeToString())
    page = admin.get("/admin/agents?agent=claude-code-admin").text
    assert "Bash npm test" in page and "Edit src/app.py" in page and "claude-sonnet-4 request" in page


def test_open_agent_ingest_takes_anonymous_exports(client, auth, runner):
    body = encode_logs(claude_code_logs("anonymous-agent")).SerializeToString()
    assert client.post("/v1/logs", data=body, headers={"Content-Type": PROTOBUF}).status_code == 401
    set_setting(runner, "agent_ingest_open", "true")
    assert client.post("/v1/logs", data=body, headers={"Content-Type": PROTOBUF}).status_code == 200
    assert len(activities(client, auth, agent="anonymous-agent")) == 4
    # A token that is sent is still checked.
    wrong = client.post("/v1/logs", data=b"{}", headers={"Content-Type": JSON, "Authorization": "Bearer wrong"})
    assert wrong.status_code == 401


def test_exports_past_the_rate_limit_are_429_with_retry_after(app, client, auth, runner):
    set_setting(runner, "rate_limit_per_minute", "2")
    for _ in range(2):
        export(client, auth, "/v1/logs", b"{}", JSON)
    body = encode_logs(claude_code_logs("over-budget")).SerializeToString()
    answer = client.post("/v1/logs", data=body, headers={**auth, "Content-Type": PROTOBUF})
    assert answer.status_code == 429 and int(answer.headers["Retry-After"]) >= 1
    assert answer.content_type == PROTOBUF
    assert db_rows(app, "SELECT count(*) FROM agent_activity WHERE agent = 'over-budget'")[0][0] == 0


def test_the_openapi_document_lists_both_endpoints(client):
    paths = client.get("/api/openapi.json").json["paths"]
    for path in ("/v1/logs", "/v1/traces"):
        operation = paths[path]["post"]
        assert set(operation["requestBody"]["content"]) == {"application/json"}
        assert PROTOBUF in operation["requestBody"]["description"]
        assert set(operation["responses"]["200"]["content"]) == {PROTOBUF, "application/json"}
        assert {"200", "400", "401", "413", "415"} <= set(operation["responses"])
        assert "x-undocumented" not in operation
