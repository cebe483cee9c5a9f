"""OTLP exports cost the server bounded CPU, memory and write-lock time, alone and all at once (issue 18)."""
import gzip
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from google.protobuf import json_format
from opentelemetry._logs import LogRecord
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import (
    InMemoryLogRecordExporter,
    LogRecordExportResult,
    SimpleLogRecordProcessor,
)
from opentelemetry.sdk.resources import Resource

from tests.cost_support import Cost, LockWatch, workers
from waken.bench.proc import memory_mb

PROTOBUF = "application/x-protobuf"
MIB = 1024 * 1024
MAX_RECORDS = 2000     # the server's default OTLP_MAX_RECORDS
# What Claude Code puts on each tool_result event besides its session, prompt, duration and parameters.
CLAUDE_CODE_ATTRIBUTES = (
    ("event.name", "tool_result"), ("event.timestamp", "2026-05-01T12:00:00.000Z"), ("user.id", "u" * 64),
    ("organization.id", "0f6c1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b"), ("user.email", "dev@example.com"),
    ("user.account_uuid", "5a4b3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c1d"), ("terminal.type", "vscode"),
    ("tool_name", "Bash"), ("success", "true"), ("decision_source", "config"), ("decision", "accept"))


@pytest.fixture(scope="module")
def live(server):
    server.cli("settings", "set", "rate_limit_per_minute", "0")   # the rate limit has a test of its own
    return server, server.token("exporter"), server.token("honest-writer")


def logs(count, agent, resource_extra=None, attributes=True):
    """An export of `count` distinct Claude Code tool_result records (small ones: only the tool's name)."""
    message = ExportLogsServiceRequest()
    part = message.resource_logs.add()
    part.resource.attributes.add(key="service.name").value.string_value = agent
    for key, value in (resource_extra or {}).items():
        part.resource.attributes.add(key=key).value.string_value = value
    records, now = part.scope_logs.add().log_records, time.time_ns()
    for i in range(count):
        record = records.add(time_unix_nano=now - i * 1000)
        record.body.string_value = "claude_code.tool_result"
        if attributes:
            for key, value in (*CLAUDE_CODE_ATTRIBUTES, ("session.id", agent), ("prompt.id", f"p{i // 10}"),
                               ("duration_ms", str(i % 900)),
                               ("tool_parameters", f'{{"bash_command": "pytest -x tests/test_{i}.py", '
                                                   f'"description": "run test {i}, then stop"}}')):
                record.attributes.add(key=key).value.string_value = value
        else:
            record.attributes.add(key="tool_name").value.string_value = "Bash"
    return message.SerializeToString()


def post(server, path, body, token, content_type=PROTOBUF, **headers):
    headers = {"Authorization": f"Bearer {token}", "Content-Type": content_type, **headers}
    return requests.post(server.url + path, data=body, headers=headers, timeout=120)


def stored(server, agent):
    with server.db() as conn:
        return conn.execute("SELECT count(*) FROM agent_activity WHERE agent = ?", (agent,)).fetchone()[0]


def message_of(answer):
    from google.rpc.status_pb2 import Status
    return Status.FromString(answer.content).message


# --- B3: a huge resource attribute and many records, gzipped --------------------------------

def test_a_huge_resource_with_many_records_is_413_before_mapping(live):
    server, token, _ = live
    body = gzip.compress(logs(33_000, "b3-agent", {"padding": "x" * (2 * MIB)}, attributes=False))
    assert len(body) < 200_000
    with Cost(server) as cost:
        answer = post(server, "/v1/logs", body, token, **{"Content-Encoding": "gzip"})
    print(f"\n2 MiB resource + 33,000 records ({len(body) // 1024} KiB gzipped): {answer.status_code} {cost}")
    assert answer.status_code == 413
    assert "33,000 log records" in message_of(answer) and "at most 2,000" in message_of(answer)
    assert cost.cpu < 2.0
    assert stored(server, "b3-agent") == 0


def test_a_huge_resource_is_hashed_once_not_per_record(live):
    server, token, _ = live
    body = gzip.compress(logs(MAX_RECORDS, "b3-within", {"padding": "x" * (2 * MIB)}, attributes=False))
    with Cost(server) as cost:
        answer = post(server, "/v1/logs", body, token, **{"Content-Encoding": "gzip"})
    print(f"\n2 MiB resource + {MAX_RECORDS} records: {answer.status_code} {cost}")
    assert answer.status_code == 200, message_of(answer)
    assert not ExportLogsServiceResponse.FromString(answer.content).HasField("partial_success")
    assert stored(server, "b3-within") == MAX_RECORDS
    assert cost.cpu < 1.0     # hashing the resource once per record was 2,000 x 2 MiB: ~3 CPU-s


# --- B4: maximal exports, three at once, while others write ----------------------------------

def test_three_maximal_exports_at_once_leave_writers_and_healthz_alone(live):
    server, token, honest = live
    oversized = logs(66_000, "b4-oversized", attributes=False)
    assert 3.5 * MIB < len(oversized) <= 4 * MIB
    batches = {f"b4-agent-{n}": [logs(MAX_RECORDS, f"b4-agent-{n}") for _ in range(2)] for n in range(3)}
    acknowledged, oversized_answers, waits, probes = {}, [], [], []
    stop = threading.Event()

    def export(agent):
        """Like an OTLP exporter: each batch sent until it is taken, waiting as Retry-After says."""
        for body in batches[agent] + [oversized]:
            while (answer := post(server, "/v1/logs", body, token)).status_code == 503:
                time.sleep(int(answer.headers["Retry-After"]))
            if body is oversized:
                oversized_answers.append(answer.status_code)
                continue
            assert answer.status_code == 200, message_of(answer)
            rejected = ExportLogsServiceResponse.FromString(answer.content).partial_success.rejected_log_records
            acknowledged[agent] = acknowledged.get(agent, 0) + MAX_RECORDS - rejected

    def honest_writes():
        while not stop.is_set():
            started = time.monotonic()
            answer = requests.post(server.url + "/api/activities", headers={"Authorization": f"Bearer {honest}"},
                                   json={"type": "tool_call", "description": "honest", "status": "success"},
                                   timeout=30)
            assert answer.status_code == 201
            waits.append(time.monotonic() - started)

    def healthz():
        while not stop.is_set():
            started = time.monotonic()
            assert requests.get(server.url + "/healthz", timeout=10).status_code == 200
            probes.append(time.monotonic() - started)
            time.sleep(0.05)

    with Cost(server) as cost, LockWatch(server) as lock, ThreadPoolExecutor(5) as pool:
        helpers = [pool.submit(honest_writes), pool.submit(healthz)]
        for exporter in [pool.submit(export, agent) for agent in batches]:
            exporter.result()
        stop.set()
        for helper in helpers:
            helper.result()
    peaks = [memory_mb(pid)["hwm"] for pid in workers(server)]
    print(f"\n3 exporters x 2 batches of {MAX_RECORDS} + a 66,000-record export each: {cost}; "
          f"longest write lock {lock.longest * 1000:.0f} ms; honest writes {len(waits)}, slowest "
          f"{max(waits) * 1000:.0f} ms; slowest /healthz {max(probes) * 1000:.0f} ms; worker peaks {peaks} MiB")
    assert oversized_answers == [413] * 3
    assert lock.longest < 0.3
    assert max(waits) < 0.5
    assert max(probes) < 1.0
    assert max(peaks) <= 200
    for agent, count in acknowledged.items():      # every acknowledged record is on disk
        assert stored(server, agent) == count == 2 * MAX_RECORDS


# --- B5: OTLP/JSON bodies of tiny values, eight at once --------------------------------------

def test_eight_json_bodies_of_nested_empty_lists_are_refused_within_memory(live):
    server, token, _ = live
    body = b'{"resourceLogs":[' + b"[]," * (4 * MIB // 3 - 20) + b"[]]}"
    assert len(body) <= 4 * MIB
    answers = []

    def send():
        started = time.monotonic()
        answer = post(server, "/v1/logs", body, token, "application/json")
        answers.append((answer, time.monotonic() - started))

    with Cost(server) as cost, ThreadPoolExecutor(8) as pool:
        for future in [pool.submit(send) for _ in range(8)]:
            future.result()
    peaks = [memory_mb(pid)["hwm"] for pid in workers(server)]
    print(f"\n8 x 4 MiB of nested empty lists as OTLP/JSON: {sorted(a.status_code for a, _ in answers)} {cost}; "
          f"slowest {max(s for _, s in answers):.2f} s; worker peaks {peaks} MiB")
    refused = [a for a, _ in answers if a.status_code == 413]
    assert refused and all("values" in a.json()["error"] for a in refused)
    # More at once than a worker queues are told to come back, without their bodies being read.
    assert all(a.status_code == 413 or (a.status_code == 503 and a.headers["Retry-After"]) for a, _ in answers)
    assert max(peaks) <= 200
    assert cost.cpu < 2.0


def test_a_full_json_batch_passes_the_value_guard(live):
    server, token, _ = live
    message = ExportLogsServiceRequest.FromString(logs(MAX_RECORDS, "json-full"))
    body = json.dumps(json_format.MessageToDict(message)).encode()
    with Cost(server) as cost:
        answer = post(server, "/v1/logs", body, token, "application/json")
    print(f"\n{MAX_RECORDS} Claude Code records as OTLP/JSON ({len(body) // 1024} KiB, "
          f"{body.count(b',') // MAX_RECORDS} commas each): {answer.status_code} {cost}")
    assert answer.status_code == 200 and answer.json() == {}
    assert stored(server, "json-full") == MAX_RECORDS
    assert cost.cpu < 2.0 and cost.peak <= 200


# --- the rate limit counts records ------------------------------------------------------------

def test_the_rate_limit_charges_each_record(start_server):
    server = start_server(name="limited")
    server.cli("settings", "set", "rate_limit_per_minute", "100")
    token = server.token("busy-agent")
    assert post(server, "/v1/logs", logs(60, "within"), token).status_code == 200
    over = post(server, "/v1/logs", logs(50, "over-the-rest"), token)
    assert over.status_code == 429 and "50 writes" in message_of(over)
    # 60 + 50 is 10 over the 100 a minute; they drain at 100 / 60 a second.
    assert 5 <= int(over.headers["Retry-After"]) <= 7
    # A batch larger than the whole minute's allowance waits for an empty bucket.
    bigger = post(server, "/v1/logs", logs(150, "bigger-than-the-bucket"), token)
    assert bigger.status_code == 429 and 30 <= int(bigger.headers["Retry-After"]) <= 37
    assert (stored(server, "within"), stored(server, "over-the-rest"), stored(server, "bigger-than-the-bucket")) \
        == (60, 0, 0)
    # Into an empty bucket it goes, and then the token waits until those 150 have drained.
    fresh = server.token("fresh-agent")
    assert post(server, "/v1/logs", logs(150, "bigger-than-the-bucket"), fresh).status_code == 200
    after = post(server, "/v1/logs", logs(1, "after-the-big-one"), fresh)
    assert after.status_code == 429 and 29 <= int(after.headers["Retry-After"]) <= 31
    assert (stored(server, "bigger-than-the-bucket"), stored(server, "after-the-big-one")) == (150, 0)


# --- a normal batch, from the SDK's own exporter, is as quick as ever --------------------------

def test_the_sdk_exports_a_default_batch_of_512_cheaply(live):
    server, token, _ = live
    provider = LoggerProvider(resource=Resource.create({"service.name": "sdk-512"}))
    memory = InMemoryLogRecordExporter()
    provider.add_log_record_processor(SimpleLogRecordProcessor(memory))
    logger, now = provider.get_logger("com.anthropic.claude_code.events"), time.time_ns()
    for i in range(512):
        logger.emit(LogRecord(timestamp=now - i * 1000, body="claude_code.tool_result", attributes={
            "session.id": "sdk", "tool_name": "Read", "success": "true", "duration_ms": str(i),
            "tool_parameters": f'{{"file_path": "src/module_{i}.py"}}'}))
    provider.shutdown()
    exporter = OTLPLogExporter(endpoint=server.url + "/v1/logs", headers={"Authorization": f"Bearer {token}"},
                               timeout=30)
    with Cost(server) as cost, LockWatch(server) as lock:
        assert exporter.export(memory.get_finished_logs()) == LogRecordExportResult.SUCCESS
    print(f"\nthe SDK's batch of 512: {cost}; longest write lock {lock.longest * 1000:.0f} ms")
    assert stored(server, "sdk-512") == 512
    assert cost.cpu < 1.0 and lock.longest < 0.25
