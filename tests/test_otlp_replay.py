"""The Claude Code replay and a GenAI trace on a live gunicorn, through the OpenTelemetry SDK's own
OTLP/HTTP exporters (logs, metrics, spans) and OTLP/JSON: session totals equal hand sums, the
admin timeline renders, a resend changes nothing, one agent run is one agent and one session.
The mapping itself is tested in process (test_otlp_fidelity.py)."""
import json
import time

import pytest
import requests
from google.protobuf import json_format
from opentelemetry._logs import LogRecord
from opentelemetry.exporter.otlp.proto.common._internal.metrics_encoder import (
    encode_metrics,
)
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs.export import LogRecordExportResult
from opentelemetry.sdk.metrics.export import MetricExportResult
from opentelemetry.sdk.trace.export import SpanExportResult

from tests.admin_support import Admin, create_admin
from tests.otlp_support import (
    JSON,
    claude_code_logs,
    claude_code_metrics,
    genai_spans,
    sdk_logs,
)


@pytest.fixture(scope="module")
def token(server):
    return server.token("replay")


def headers(token):
    return {"Authorization": f"Bearer {token}"}


def get(server, token, path, **params):
    answer = requests.get(server.url + path, params=params, headers=headers(token), timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def send_json(server, token, path, message):
    answer = requests.post(server.url + path, data=json.dumps(json_format.MessageToDict(message)),
                           headers={**headers(token), "Content-Type": JSON}, timeout=10)
    assert answer.status_code == 200, answer.text


def api_request(n):
    return LogRecord(timestamp=time.time_ns() - n * 10**9, body="claude_code.api_request", attributes={
        "event.name": "api_request", "session.id": "replay-1", "model": "claude-sonnet-4",
        "input_tokens": 1000 + n, "output_tokens": 10 * n, "cost_usd": f"0.00{n}7"})


def test_claude_code_replay_through_the_sdk_exporters(server, token):
    logs = [*claude_code_logs("claude-code", session="replay-1"),
            *sdk_logs("claude-code", *(api_request(n) for n in range(1, 4)))]
    # Session replay-1 has logs with api_request; replay-2 (logs off, as with OTEL_LOGS_EXPORTER
    # unset) has metrics only: its metrics fill it, replay-1's add nothing.
    metrics = claude_code_metrics("claude-code", [("replay-1", "claude-sonnet-4", 9999, 999, 9.99),
                                                  ("replay-2", "claude-opus-4", 4000, 500, 0.3125),
                                                  ("replay-2", "claude-haiku", 100, 20, 0.0007)])
    log_exporter = OTLPLogExporter(endpoint=server.url + "/v1/logs", headers=headers(token), timeout=10,
                                   compression=Compression.Gzip)
    metric_exporter = OTLPMetricExporter(endpoint=server.url + "/v1/metrics", headers=headers(token), timeout=10)
    assert log_exporter.export(logs) == LogRecordExportResult.SUCCESS
    assert metric_exporter.export(metrics) == MetricExportResult.SUCCESS
    first = get(server, token, "/api/agent-sessions/replay-1")["session"]
    # By hand: two tool results, a prompt, the fixture's api_request (1500 tokens, $0.0123) and
    # three more (1000+n + 10n tokens, $0.00n7).
    assert first["records"] == 2 + 1 + 1 + 3
    assert first["tokensUsed"] == 1500 + sum(1000 + n + 10 * n for n in range(1, 4))
    assert first["costUsd"] == round(0.0123 + 0.0017 + 0.0027 + 0.0037, 6)
    second = get(server, token, "/api/agent-sessions/replay-2")["session"]
    assert (second["records"], second["tokensUsed"], second["costUsd"]) == (2, 4000 + 500 + 100 + 20, 0.3132)
    # The resend: the same exports again, and as OTLP/JSON.
    assert log_exporter.export(logs) == LogRecordExportResult.SUCCESS
    assert metric_exporter.export(metrics) == MetricExportResult.SUCCESS
    send_json(server, token, "/v1/logs", encode_logs(logs))
    send_json(server, token, "/v1/metrics", encode_metrics(metrics))
    listed = {s["key"]: s for s in get(server, token, "/api/agent-sessions")["sessions"]}
    assert listed["replay-1"] == first and listed["replay-2"] == second
    # The session's timeline renders on the admin Sessions page: a bar per record.
    create_admin(server)
    page = Admin.live(server).login().get("/admin/sessions/replay-1")
    assert page.status_code == 200 and page.text.count("<rect ") == first["records"]


def test_a_genai_trace_is_one_agent_and_one_session(server, token):
    exporter = OTLPSpanExporter(endpoint=server.url + "/v1/traces", headers=headers(token), timeout=10)
    spans = genai_spans("framework", agent="planner")
    for span in spans:          # one export per span, children first, as a simple processor sends them
        assert exporter.export([span]) == SpanExportResult.SUCCESS
    trace = f"{spans[0].context.trace_id:032x}"
    found = get(server, token, "/api/agent-sessions/" + trace)
    assert found["session"]["agents"] == ["planner"] and found["session"]["records"] == 3
    assert {(r["type"], r["agent"]) for r in found["activities"]} == {
        ("agent_action", "planner"), ("tool_call", "planner")}
    assert get(server, token, "/api/agent-sessions", agent="framework")["total"] == 0
