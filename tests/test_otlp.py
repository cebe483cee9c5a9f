"""POST /v1/logs and /v1/traces on a live gunicorn, driven by the OpenTelemetry SDK's own OTLP exporters."""
import gzip
import json
import threading
import time
import zlib

import pytest
import requests
from google.protobuf import json_format
from google.rpc.status_pb2 import Status as RpcStatus
from opentelemetry._logs import LogRecord
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import (
    InMemoryLogRecordExporter,
    LogRecordExportResult,
    SimpleLogRecordProcessor,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Status, StatusCode

from tests.admin_support import signed_in_admin
from waken import db
from waken.auth.tokens import create_token
from waken.bench.proc import children, memory_mb

PROTOBUF = "application/x-protobuf"

admin_fixture = pytest.fixture(signed_in_admin, name="admin")


# --- records shaped like Claude Code's events and GenAI-instrumented frameworks' spans


def claude_code_logs(service, session="sess-1"):
    """The log records Claude Code exports for one prompt, as the SDK builds them."""
    provider = LoggerProvider(resource=Resource.create({"service.name": service}))
    memory = InMemoryLogRecordExporter()
    provider.add_log_record_processor(SimpleLogRecordProcessor(memory))
    logger = provider.get_logger("com.anthropic.claude_code.events")
    now = time.time_ns()
    common = {"session.id": session, "prompt.id": "prompt-7", "user.id": "u1"}
    # The event named three ways: by the body, by the event name field, by the event.name attribute.
    logger.emit(LogRecord(timestamp=now - 3_000_000_000, body="claude_code.tool_result", attributes={
        **common, "event.name": "tool_result", "tool_name": "Bash", "success": "true", "duration_ms": "85",
        "decision_source": "config", "decision": "accept",
        "tool_parameters": json.dumps({"bash_command": "npm test", "description": "run the tests"})}))
    logger.emit(LogRecord(timestamp=now - 2_000_000_000, event_name="claude_code.tool_result", attributes={
        **common, "tool_name": "Edit", "success": False, "duration_ms": 12, "error": "file is read-only",
        "decision_source": "user_permanent",
        "tool_parameters": json.dumps({"file_path": "src/app.py", "old_string": "a", "new_string": "b"})}))
    logger.emit(LogRecord(timestamp=now - 1_000_000_000, body="claude_code.api_request", attributes={
        **common, "event.name": "api_request", "model": "claude-sonnet-4", "input_tokens": "1200",
        "output_tokens": 300, "cost_usd": "0.0123", "duration_ms": 2400}))
    logger.emit(LogRecord(timestamp=now, body="claude_code.user_prompt", attributes={
        **common, "event.name": "user_prompt", "prompt_length": "42"}))
    provider.shutdown()
    return memory.get_finished_logs()


def genai_spans(service, agent=None):
    """A GenAI-instrumented agent run: an invoke_agent span around a chat and a tool call, plus an HTTP span."""
    agent = agent or f"{service}-planner"
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    memory = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("agent-framework")
    with tracer.start_as_current_span(f"invoke_agent {agent}", attributes={
            "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": agent}):
        with tracer.start_as_current_span("chat gpt-4o", attributes={
                "gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o",
                "gen_ai.usage.input_tokens": 500, "gen_ai.usage.output_tokens": 80}):
            time.sleep(0.02)
        with tracer.start_as_current_span("execute_tool search_docs", attributes={
                "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "search_docs",
                "gen_ai.tool.call.arguments": json.dumps({"query": "retention days"})}) as span:
            time.sleep(0.03)
            span.set_status(Status(StatusCode.ERROR, "index unavailable"))
        with tracer.start_as_current_span("GET /docs", attributes={"http.request.method": "GET"}):
            pass
    provider.shutdown()
    return memory.get_finished_spans()


def log_exporter(server, token, **kwargs):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return OTLPLogExporter(endpoint=server.url + "/v1/logs", headers=headers, timeout=10, **kwargs)


def span_exporter(server, token, **kwargs):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return OTLPSpanExporter(endpoint=server.url + "/v1/traces", headers=headers, timeout=10, **kwargs)


@pytest.fixture(scope="module")
def token(server):
    return server.token("otel")


def activities(server, token, **params):
    response = requests.get(server.url + "/api/activities", params={"limit": 500, "sort": "oldest", **params},
                            headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["activities"]


def post(server, path, body, token=None, **headers):
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return requests.post(server.url + path, data=body, headers=headers, timeout=30)


# --- the SDK's exporters against the live server


def test_claude_code_events_become_tool_calls_and_api_requests(server, token):
    exporter = log_exporter(server, token)
    assert exporter.export(claude_code_logs("claude-code-a")) == LogRecordExportResult.SUCCESS
    rows = activities(server, token, agent="claude-code-a")
    assert [(r["type"], r["description"], r["status"], r["duration_ms"], r["tokens_used"]) for r in rows] == [
        ("tool_call", "Bash npm test", "success", 85, None),
        ("tool_call", "Edit src/app.py", "error", 12, None),
        ("api_request", "claude-sonnet-4 request (1500 tokens)", "success", 2400, 1500),
    ]
    assert rows[0]["metadata"] == {"session.id": "sess-1", "prompt.id": "prompt-7", "tool_name": "Bash",
                                   "decision_source": "config", "decision": "accept"}
    assert rows[1]["metadata"]["error"] == "file is read-only"
    assert rows[1]["metadata"]["decision_source"] == "user_permanent"
    assert rows[2]["metadata"] == {"session.id": "sess-1", "prompt.id": "prompt-7", "model": "claude-sonnet-4",
                                   "cost_usd": 0.0123, "input_tokens": 1200, "output_tokens": 300}
    # Timestamps come from the records, not from the time they arrived.
    stamps = [r["timestamp"] for r in rows]
    assert stamps == sorted(stamps) and len(set(stamps)) == 3


def test_an_agent_attribute_names_the_agent(server, token):
    provider = LoggerProvider(resource=Resource.create({"service.name": "claude-code"}))
    memory = InMemoryLogRecordExporter()
    provider.add_log_record_processor(SimpleLogRecordProcessor(memory))
    provider.get_logger("x").emit(LogRecord(timestamp=time.time_ns(), body="claude_code.tool_result", attributes={
        "tool_name": "Read", "success": True, "agent": "reviewer-bot",
        "tool_parameters": json.dumps({"file_path": "README.md"})}))
    provider.shutdown()
    assert log_exporter(server, token).export(memory.get_finished_logs()) == LogRecordExportResult.SUCCESS
    [row] = activities(server, token, agent="reviewer-bot")
    assert (row["type"], row["description"], row["status"]) == ("tool_call", "Read README.md", "success")


def test_genai_spans_become_tool_calls_and_agent_actions(server, token):
    spans = genai_spans("framework-b")
    assert span_exporter(server, token).export(spans) == SpanExportResult.SUCCESS
    rows = activities(server, token, agent="framework-b-planner") + activities(server, token, agent="framework-b")
    by_description = {r["description"]: r for r in rows}
    assert len(rows) == 3
    assert set(by_description) == {"invoke_agent framework-b-planner", "chat gpt-4o", "search_docs retention days"}
    tool = by_description["search_docs retention days"]
    assert (tool["type"], tool["status"], tool["agent"]) == ("tool_call", "error", "framework-b")
    assert 30 <= tool["duration_ms"] < 2000
    assert tool["metadata"]["error"] == "index unavailable"
    chat = by_description["chat gpt-4o"]
    assert (chat["type"], chat["status"], chat["tokens_used"]) == ("agent_action", "success", 580)
    assert chat["metadata"]["model"] == "gpt-4o"
    source = next(s for s in spans if s.name == "execute_tool search_docs")
    assert tool["metadata"]["trace_id"] == f"{source.context.trace_id:032x}"
    assert tool["metadata"]["span_id"] == f"{source.context.span_id:016x}"
    assert by_description["invoke_agent framework-b-planner"]["agent"] == "framework-b-planner"
    assert by_description["invoke_agent framework-b-planner"]["type"] == "agent_action"


def test_a_resent_batch_adds_nothing(server, token):
    logs, spans = claude_code_logs("claude-code-c", session="resend"), genai_spans("framework-c")
    for _ in range(2):
        assert log_exporter(server, token).export(logs) == LogRecordExportResult.SUCCESS
        assert span_exporter(server, token).export(spans) == SpanExportResult.SUCCESS
    assert len(activities(server, token, agent="claude-code-c")) == 3
    assert len(activities(server, token, agent="framework-c")) == 2     # the chat and the tool call
    assert len(activities(server, token, agent="framework-c-planner")) == 1
    # The same batch as JSON is the same content too.
    with server.db() as conn:
        before = conn.execute("SELECT count(*) FROM agent_activity").fetchone()[0]
    body = json_format.MessageToDict(encode_logs(logs))
    response = post(server, "/v1/logs", json.dumps(body), token,
                    **{"Content-Type": "application/json"})
    assert response.status_code == 200
    with server.db() as conn:
        assert conn.execute("SELECT count(*) FROM agent_activity").fetchone()[0] == before


def test_gzip_bodies_work(server, token):
    exporter = log_exporter(server, token, compression=Compression.Gzip)
    assert exporter.export(claude_code_logs("claude-code-gz")) == LogRecordExportResult.SUCCESS
    assert len(activities(server, token, agent="claude-code-gz")) == 3
    spans = span_exporter(server, token, compression=Compression.Gzip)
    assert spans.export(genai_spans("framework-gz")) == SpanExportResult.SUCCESS
    assert len(activities(server, token, agent="framework-gz")) == 2


# --- OTLP/JSON: hex ids, int64 as strings, camelCase


def json_span(trace_id, span_id, start_ns, **attrs):
    return {"traceId": trace_id, "spanId": span_id, "name": "execute_tool grep", "kind": 1,
            "startTimeUnixNano": str(start_ns), "endTimeUnixNano": str(start_ns + 250_000_000),
            "attributes": [{"key": k, "value": v} for k, v in attrs.items()], "status": {"code": 1}}


def test_otlp_json_works_like_protobuf(server, token):
    now = time.time_ns()
    trace_id, span_id = "5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174"
    body = {"resourceSpans": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "json-agent"}}]},
        "scopeSpans": [{"scope": {"name": "x"}, "spans": [json_span(
            trace_id, span_id, now - 1_000_000_000,
            **{"gen_ai.operation.name": {"stringValue": "execute_tool"},
               "gen_ai.tool.name": {"stringValue": "grep"},
               "gen_ai.usage.input_tokens": {"intValue": "40"},
               "gen_ai.usage.output_tokens": {"intValue": 2}})]}]}]}
    response = post(server, "/v1/traces", json.dumps(body), token, **{"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json() == {}
    [row] = activities(server, token, agent="json-agent")
    assert (row["type"], row["description"], row["status"], row["duration_ms"], row["tokens_used"]) == (
        "tool_call", "grep", "success", 250, 42)
    assert (row["metadata"]["trace_id"], row["metadata"]["span_id"]) == (trace_id, span_id)

    logs = {"resourceLogs": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "json-agent"}}]},
        "scopeLogs": [{"logRecords": [{
            "timeUnixNano": str(now), "observedTimeUnixNano": str(now), "severityNumber": 9,
            "traceId": trace_id, "spanId": span_id, "eventName": "claude_code.api_request",
            "attributes": [{"key": "model", "value": {"stringValue": "claude-haiku"}},
                           {"key": "input_tokens", "value": {"intValue": "10"}},
                           {"key": "output_tokens", "value": {"stringValue": "5"}},
                           {"key": "cost_usd", "value": {"doubleValue": 0.001}},
                           {"key": "duration_ms", "value": {"doubleValue": 900.4}}]}]}]}]}
    response = post(server, "/v1/logs", json.dumps(logs), token, **{"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    rows = activities(server, token, agent="json-agent", type="api_request")
    assert [(r["tokens_used"], r["duration_ms"], r["metadata"]["cost_usd"]) for r in rows] == [(15, 900, 0.001)]

    # The same span sent again as protobuf is the same (trace id, span id): nothing new.
    message = ExportTraceServiceRequest()
    part = message.resource_spans.add()
    part.resource.attributes.add(key="service.name").value.string_value = "json-agent"
    span = part.scope_spans.add().spans.add(trace_id=bytes.fromhex(trace_id), span_id=bytes.fromhex(span_id),
                                            name="execute_tool grep", start_time_unix_nano=now,
                                            end_time_unix_nano=now + 1, kind=Span.SPAN_KIND_INTERNAL)
    span.attributes.add(key="gen_ai.operation.name").value.string_value = "execute_tool"
    response = post(server, "/v1/traces", message.SerializeToString(), token, **{"Content-Type": PROTOBUF})
    assert response.status_code == 200 and response.headers["Content-Type"] == PROTOBUF
    assert len(activities(server, token, agent="json-agent", type="tool_call")) == 1


# --- what is not stored is counted, with the reasons


def test_partial_success_counts_rejected_records(server, token):
    now = time.time_ns()
    record = {"body": {"stringValue": "claude_code.tool_result"}, "attributes": [
        {"key": "tool_name", "value": {"stringValue": "Glob"}}, {"key": "success", "value": {"boolValue": True}}]}
    body = {"resourceLogs": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "partial-agent"}}]}, "scopeLogs": [{"logRecords": [
            {**record, "timeUnixNano": str(now)},
            {**record, "timeUnixNano": str(now + 3600 * 10**9)},               # an hour in the future
            {**record, "timeUnixNano": str(now - 40 * 86400 * 10**9)},         # past the 30-day retention
            {"timeUnixNano": str(now), "body": {"stringValue": "claude_code.user_prompt"}},
            {"timeUnixNano": str(now), "body": {"stringValue": "claude_code.user_prompt"},
             "attributes": [{"key": "prompt_length", "value": {"intValue": "3"}}]},
            {"timeUnixNano": str(now), "body": {"stringValue": "just a line of text"}}]}]}]}
    response = post(server, "/v1/logs", json.dumps(body), token, **{"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    partial = response.json()["partialSuccess"]
    assert partial["rejectedLogRecords"] == "5"
    message = partial["errorMessage"]
    assert message.startswith("5 log records not stored:")
    assert "2 × event 'claude_code.user_prompt' is not mapped" in message
    assert "'just a line of text' is not mapped" in message
    assert "in the future" in message and "retention window" in message
    assert len(activities(server, token, agent="partial-agent")) == 1

    # The protobuf answer carries the same counts.
    spans = genai_spans("partial-framework")
    response = post(server, "/v1/traces", encode_spans(spans).SerializeToString(), token,
                    **{"Content-Type": PROTOBUF})
    answer = ExportTraceServiceResponse()
    answer.ParseFromString(response.content)
    assert answer.partial_success.rejected_spans == 1
    assert "span 'GET /docs' has no gen_ai.operation.name" in answer.partial_success.error_message


def test_a_fully_accepted_batch_leaves_partial_success_unset(server, token):
    logs = [log for log in claude_code_logs("claude-code-full") if "user_prompt" not in str(log.log_record.body)]
    response = post(server, "/v1/logs", encode_logs(logs).SerializeToString(), token, **{"Content-Type": PROTOBUF})
    assert response.status_code == 200
    answer = ExportLogsServiceResponse()
    answer.ParseFromString(response.content)
    assert not answer.HasField("partial_success")


# --- refusals


def test_no_token_is_401_and_the_exporter_fails(server):
    assert log_exporter(server, None).export(claude_code_logs("anon")) == LogRecordExportResult.FAILURE
    response = post(server, "/v1/logs", b"", **{"Content-Type": "application/json"})
    assert response.status_code == 401
    assert "Authorization: Bearer" in response.json()["error"]
    response = post(server, "/v1/traces", b"\x0a\x02\x0a\x00", "not-a-token", **{"Content-Type": PROTOBUF})
    assert response.status_code == 401 and response.headers["Content-Type"] == PROTOBUF
    status = RpcStatus()
    status.ParseFromString(response.content)
    assert (status.code, status.message) == (16, "Invalid API token.")


def test_a_report_only_token_is_403(server):
    reporter = server.cli("token", "create", "reporter-only", "--scope", "report").strip().splitlines()[-1]
    assert log_exporter(server, reporter).export(claude_code_logs("reporter")) == LogRecordExportResult.FAILURE
    response = post(server, "/v1/traces", b"{}", reporter, **{"Content-Type": "application/json"})
    assert response.status_code == 403 and "agents:write" in response.json()["error"]
    with server.db() as conn:
        assert conn.execute("SELECT count(*) FROM agent_activity WHERE agent = 'reporter'").fetchone()[0] == 0


def test_open_agent_ingest_takes_anonymous_exports(start_server):
    server = start_server(name="open")
    server.cli("settings", "set", "agent_ingest_open", "true")
    assert log_exporter(server, None).export(claude_code_logs("anonymous-agent")) == LogRecordExportResult.SUCCESS
    reader = server.token("reader")
    assert len(activities(server, reader, agent="anonymous-agent")) == 3
    # A token that is sent is still checked.
    assert post(server, "/v1/logs", b"{}", "wrong", **{"Content-Type": "application/json"}).status_code == 401


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_another_content_type_is_415(server, token, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    response = post(server, "/v1/logs", b"{}", token, **headers)
    assert response.status_code == 415
    assert "application/x-protobuf or application/json" in response.json()["error"]


def test_unknown_content_encoding_is_415(server, token):
    response = post(server, "/v1/logs", b"{}", token, **{"Content-Type": "application/json",
                                                            "Content-Encoding": "br"})
    assert response.status_code == 415 and "gzip" in response.json()["error"]


@pytest.mark.parametrize("content_type, body, says", [
    (PROTOBUF, b"\x0a\xff\x01\x00", "not a valid OTLP protobuf"),
    ("application/json", b"{not json", "not valid JSON"),
    ("application/json", b"[1, 2]", "must be a JSON object"),
    ("application/json", json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [
        {"traceId": "zz-not-hex", "spanId": "eee19b7ec3c1b174"}]}]}]}).encode(), "not hexadecimal"),
    ("application/json", json.dumps({"resourceSpans": "nope"}).encode(), "not a valid OTLP/JSON"),
    ("application/json", b"[" * 100_000 + b"]" * 100_000, "nested"),
])
def test_a_body_that_does_not_decode_is_400(server, token, content_type, body, says):
    response = post(server, "/v1/traces", body, token, **{"Content-Type": content_type})
    assert response.status_code == 400, response.text
    if content_type == PROTOBUF:
        status = RpcStatus()
        status.ParseFromString(response.content)
        assert status.code == 3 and says in status.message
    else:
        assert says in response.json()["error"]


def test_corrupt_gzip_is_400(server, token):
    body = gzip.compress(b'{"resourceLogs": []}')
    response = post(server, "/v1/logs", body[:-6], token, **{"Content-Type": "application/json",
                                                                "Content-Encoding": "gzip"})
    assert response.status_code == 400 and "gzip" in response.json()["error"]


def test_a_body_over_the_limit_is_413(server, token):
    response = post(server, "/v1/logs", b"\0" * (4 * 1024 * 1024 + 1), token, **{"Content-Type": PROTOBUF})
    assert response.status_code == 413


def test_a_chunked_body_is_cut_off_at_the_limit(server, token):
    sent = []

    def chunks():   # no Content-Length: the server must count as it reads
        for _ in range(64):
            sent.append(1)
            yield b"\0" * (256 * 1024)

    t0 = time.perf_counter()
    response = post(server, "/v1/logs", chunks(), token, **{"Content-Type": PROTOBUF})
    assert response.status_code == 413
    assert time.perf_counter() - t0 < 5
    assert "4 MiB" in RpcStatus.FromString(response.content).message


def test_a_gzip_bomb_costs_little(server, token):
    # 1 GiB of zeros deflates to about 1 MiB; the server must stop at its 4 MiB cap.
    packer, parts, zeros = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS), [], bytes(1 << 20)
    for _ in range(1024):
        parts.append(packer.compress(zeros))
    bomb = b"".join(parts) + packer.flush()
    assert len(bomb) < 1_100_000
    pids = children(server.proc.pid)
    for _ in range(6):   # every worker has loaded protobuf before the peaks are read
        assert log_exporter(server, token).export(claude_code_logs("warm-up")) == LogRecordExportResult.SUCCESS
    peak_before = {pid: memory_mb(pid)["hwm"] for pid in pids}
    waited = []

    def health_checks():
        for _ in range(5):
            t0 = time.perf_counter()
            assert requests.get(server.url + "/healthz", timeout=10).status_code == 200
            waited.append(time.perf_counter() - t0)

    checker = threading.Thread(target=health_checks)
    t0 = time.perf_counter()
    checker.start()
    response = post(server, "/v1/logs", bomb, token, **{"Content-Type": PROTOBUF, "Content-Encoding": "gzip"})
    elapsed = time.perf_counter() - t0
    checker.join()
    assert response.status_code == 413
    assert elapsed < 2.0
    assert max(waited) < 1.0
    growth = max(memory_mb(pid)["hwm"] - peak_before[pid] for pid in pids)
    # About twice the 4 MiB cap (a growing buffer) and the 1 MiB body, not the gigabyte it inflates to.
    assert growth < 14, f"a worker's peak memory grew by {growth:.1f} MB"


# --- everything else just works


def test_otlp_records_appear_in_csv_stats_and_the_stream(server, token):
    assert log_exporter(server, token).export(claude_code_logs("claude-code-everywhere")) == \
        LogRecordExportResult.SUCCESS
    auth = {"Authorization": f"Bearer {token}"}
    csv = requests.get(server.url + "/api/activities", params={"format": "csv", "agent": "claude-code-everywhere"},
                       headers=auth, timeout=10).text
    assert "Bash npm test" in csv and "claude-sonnet-4 request (1500 tokens)" in csv
    stats = requests.get(server.url + "/api/activities/stats", params={"agent": "claude-code-everywhere"},
                         headers=auth, timeout=10).json()
    assert stats["byType"] == {"tool_call": 2, "api_request": 1} and stats["tokensUsed"] == 1500
    first = activities(server, token, agent="claude-code-everywhere")[0]["id"]
    with requests.get(server.url + "/api/activities/stream", params={"lastEventId": first - 1},
                      headers=auth, stream=True, timeout=10) as stream:
        events = []
        for line in stream.iter_lines(decode_unicode=True):
            if line.startswith("data:"):
                events.append(json.loads(line[5:]))
                if len(events) == 2:
                    break
    assert events[1]["type"] == "new" and events[1]["activity"]["description"] == "Bash npm test"


def test_otlp_records_appear_on_the_admin_page(app, client, admin):
    with app.app_context(), db.write():     # this module's `token` belongs to the live server, not to this app
        _, plaintext = create_token("in-process")
    body = encode_logs(claude_code_logs("claude-code-admin")).SerializeToString()
    response = client.post("/v1/logs", data=body, headers={"Authorization": f"Bearer {plaintext}",
                                                             "Content-Type": PROTOBUF})
    assert response.status_code == 200 and response.content_type == PROTOBUF
    page = admin.get("/admin/agents?agent=claude-code-admin").text
    assert "Bash npm test" in page and "Edit src/app.py" in page and "claude-sonnet-4 request" in page


def test_the_openapi_document_lists_both_endpoints(server):
    paths = requests.get(server.url + "/api/openapi.json", timeout=10).json()["paths"]
    for path in ("/v1/logs", "/v1/traces"):
        operation = paths[path]["post"]
        assert set(operation["requestBody"]["content"]) == {"application/json"}
        assert PROTOBUF in operation["requestBody"]["description"]
        assert set(operation["responses"]["200"]["content"]) == {PROTOBUF, "application/json"}
        assert {"200", "400", "401", "413", "415"} <= set(operation["responses"])
        assert "x-undocumented" not in operation


def test_exports_past_the_rate_limit_are_429_with_retry_after(start_server):
    server = start_server(name="limited")
    server.cli("settings", "set", "rate_limit_per_minute", "2")
    token = server.token("busy-agent")
    for _ in range(2):
        assert post(server, "/v1/logs", b"{}", token, **{"Content-Type": "application/json"}).status_code == 200
    body = encode_logs(claude_code_logs("over-budget")).SerializeToString()
    response = post(server, "/v1/logs", body, token, **{"Content-Type": PROTOBUF})
    assert response.status_code == 429 and int(response.headers["Retry-After"]) >= 1
    assert response.headers["Content-Type"] == PROTOBUF
    with server.db() as conn:
        assert conn.execute("SELECT count(*) FROM agent_activity WHERE agent = 'over-budget'").fetchone()[0] == 0
