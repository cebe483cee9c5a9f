"""POST /v1/logs and /v1/traces on a live gunicorn, driven by the OpenTelemetry SDK's own OTLP
exporters: what needs a real server (chunked bodies, a worker's memory, the stream). Decoding and
mapping are tested in process, in test_otlp_wire.py and test_otlp_mapping.py."""
import json
import threading
import time
import zlib

import pytest
import requests
from google.rpc.status_pb2 import Status as RpcStatus
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs.export import LogRecordExportResult
from opentelemetry.sdk.trace.export import SpanExportResult

from tests.cost_support import Cost
from tests.otlp_support import PROTOBUF, claude_code_logs, genai_spans


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


def test_the_sdk_exporters_store_claude_code_events_and_genai_spans(server, token):
    assert log_exporter(server, token).export(claude_code_logs("claude-code-a")) == LogRecordExportResult.SUCCESS
    assert [(r["type"], r["description"]) for r in activities(server, token, agent="claude-code-a")] == [
        ("tool_call", "Bash npm test"), ("tool_call", "Edit src/app.py"),
        ("api_request", "claude-sonnet-4 request (1500 tokens)"), ("prompt", "prompt (42 characters)")]
    assert span_exporter(server, token).export(genai_spans("framework-b")) == SpanExportResult.SUCCESS
    rows = activities(server, token, agent="framework-b-planner")     # the run's name for all three
    assert {r["description"] for r in rows} == {"invoke_agent framework-b-planner", "chat gpt-4o",
                                                "search_docs retention days"}


def test_gzip_bodies_work(server, token):
    exporter = log_exporter(server, token, compression=Compression.Gzip)
    assert exporter.export(claude_code_logs("claude-code-gz")) == LogRecordExportResult.SUCCESS
    assert len(activities(server, token, agent="claude-code-gz")) == 4
    spans = span_exporter(server, token, compression=Compression.Gzip)
    assert spans.export(genai_spans("framework-gz")) == SpanExportResult.SUCCESS
    assert len(activities(server, token, agent="framework-gz-planner")) == 3


def test_without_a_token_the_exporter_fails(server):
    assert log_exporter(server, None).export(claude_code_logs("anon")) == LogRecordExportResult.FAILURE
    with server.db() as conn:
        assert conn.execute("SELECT count(*) FROM agent_activity WHERE agent = 'anon'").fetchone()[0] == 0


def test_a_chunked_body_is_cut_off_at_the_limit(server, token):
    def chunks():   # no Content-Length: the server must count as it reads
        for _ in range(64):
            yield b"\0" * (256 * 1024)

    response = post(server, "/v1/logs", chunks(), token, **{"Content-Type": PROTOBUF})
    assert response.status_code == 413
    assert "4 MiB" in RpcStatus.FromString(response.content).message


def test_a_gzip_bomb_costs_little(server, token):
    # 1 GiB of zeros deflates to about 1 MiB; the server must stop at its 4 MiB cap.
    packer, parts, zeros = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS), [], bytes(1 << 20)
    for _ in range(1024):
        parts.append(packer.compress(zeros))
    bomb = b"".join(parts) + packer.flush()
    assert len(bomb) < 1_100_000
    for _ in range(6):   # every worker has loaded protobuf before the peaks are read
        assert log_exporter(server, token).export(claude_code_logs("warm-up")) == LogRecordExportResult.SUCCESS
    waited = []

    def health_checks():
        for _ in range(5):
            t0 = time.perf_counter()
            assert requests.get(server.url + "/healthz", timeout=10).status_code == 200
            waited.append(time.perf_counter() - t0)

    checker = threading.Thread(target=health_checks)
    with Cost(server) as cost:
        checker.start()
        response = post(server, "/v1/logs", bomb, token, **{"Content-Type": PROTOBUF, "Content-Encoding": "gzip"})
        checker.join()
    print(f"\n1 GiB gzip bomb: {response.status_code} {cost}")
    assert response.status_code == 413
    # Inflating the whole gigabyte costs ~1 CPU-s; stopping at the cap a few ms.
    assert cost.cpu < 0.5
    assert max(waited) < 1.0   # the product's /healthz budget
    # About twice the 4 MiB cap (a growing buffer) and the 1 MiB body, not the gigabyte it inflates to.
    assert cost.extra < 14, f"a worker's peak memory grew by {cost.extra:.1f} MB"


def test_otlp_records_appear_in_csv_stats_and_the_stream(server, token):
    assert log_exporter(server, token).export(claude_code_logs("claude-code-everywhere")) == \
        LogRecordExportResult.SUCCESS
    auth = {"Authorization": f"Bearer {token}"}
    csv = requests.get(server.url + "/api/activities/export", params={"agent": "claude-code-everywhere"},
                       headers=auth, timeout=10).text
    assert "Bash npm test" in csv and "claude-sonnet-4 request (1500 tokens)" in csv
    stats = requests.get(server.url + "/api/activities/stats", params={"agent": "claude-code-everywhere"},
                         headers=auth, timeout=10).json()
    assert stats["byType"] == {"tool_call": 2, "api_request": 1, "prompt": 1} and stats["tokensUsed"] == 1500
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
