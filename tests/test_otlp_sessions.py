"""Sessions and cost from OTLP (in process, exports built and encoded by the OpenTelemetry SDK):
Claude Code's session.id and cost_usd, GenAI spans' trace as session, costs from the price table."""
import base64
import json

from google.protobuf import json_format
from opentelemetry._logs import LogRecord
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

from tests.otlp_support import (
    JSON,
    claude_code_logs,
    export,
    genai_spans,
    sdk_logs,
)


def session(client, auth, key):
    answer = client.get(f"/api/agent-sessions/{key}", headers=auth)
    assert answer.status_code == 200, answer.json
    return answer.json


def api_request(n, session_id):
    return LogRecord(body="claude_code.api_request", attributes={
        "event.name": "api_request", "session.id": session_id, "model": "claude-sonnet-4",
        "input_tokens": 1000 + n, "output_tokens": 10 * n, "cost_usd": f"0.00{n}7", "duration_ms": 900})


def test_claude_code_replay_totals_equal_hand_sums_and_a_resend_changes_nothing(client, auth, admin):
    logs = encode_logs([*claude_code_logs("claude-code", session="cc-1"),
                        *sdk_logs("claude-code", *(api_request(n, "cc-1") for n in range(1, 6)))])
    export(client, auth, "/v1/logs", logs.SerializeToString())
    first = session(client, auth, "cc-1")
    # By hand: two tool results, one api_request of the fixture (1200 + 300 tokens, $0.0123),
    # five more (1000+n + 10n tokens, $0.00n7); the user_prompt (its length only).
    assert first["session"]["records"] == 2 + 1 + 5 + 1
    assert first["session"]["tokensUsed"] == 1500 + sum(1000 + n + 10 * n for n in range(1, 6))
    assert first["session"]["costUsd"] == round(0.0123 + sum(float(f"0.00{n}7") for n in range(1, 6)), 6)
    assert first["session"]["byStatus"]["error"] == 1 and first["session"]["models"] == ["claude-sonnet-4"]
    assert first["session"]["agents"] == ["claude-code"]
    assert [r["timestamp"] for r in first["activities"]] == sorted(r["timestamp"] for r in first["activities"])
    # The resend, as protobuf and as JSON: nothing changes.
    export(client, auth, "/v1/logs", logs.SerializeToString())
    export(client, auth, "/v1/logs", json.dumps(json_format.MessageToDict(logs)), JSON)
    assert session(client, auth, "cc-1") == first
    listed = client.get("/api/agent-sessions", headers=auth).json
    assert listed["total"] == 1 and listed["sessions"][0] == first["session"]
    stats = client.get("/api/activities/stats", headers=auth).json
    assert stats["costUsd"] == first["session"]["costUsd"]
    # The session's timeline renders: one bar per record.
    page = admin.get("/admin/sessions/cc-1")
    assert page.status_code == 200 and page.get_data(as_text=True).count("<rect ") == 9


def _hex_ids(message):
    data = json_format.MessageToDict(message)
    for part in data["resourceSpans"]:
        for scope in part["scopeSpans"]:
            for span in scope["spans"]:
                for key in ("traceId", "spanId", "parentSpanId"):
                    if key in span:
                        span[key] = base64.b64decode(span[key]).hex()
    return data


def test_genai_spans_share_their_trace_as_session_and_are_priced_only_with_a_price(client, auth, runner):
    spans = encode_spans(genai_spans("framework"))
    export(client, auth, "/v1/traces", spans.SerializeToString())
    records = client.get("/api/activities?sort=oldest", headers=auth).json["activities"]
    trace = records[0]["metadata"]["trace_id"]
    assert {r["session"] for r in records} == {trace} and len(records) == 3
    assert all(r["cost_usd"] is None for r in records)          # no price: no cost
    assert runner.invoke(args=["price", "set", "gpt-4o", "2.5", "10"]).exit_code == 0
    priced = encode_spans(genai_spans("framework-2"))
    export(client, auth, "/v1/traces", json.dumps(_hex_ids(priced)), JSON)
    summary = client.get("/api/agent-sessions", headers=auth).json["sessions"][0]
    # The chat: 500 input tokens at $2.5 and 80 output at $10 per million.
    assert summary["costUsd"] == (500 * 2.5 + 80 * 10) / 1e6 and summary["records"] == 3
