"""The OpenAPI document against real clients: schemathesis finds nothing, and a client generated
by openapi-python-client parses every real JSON answer into its typed models."""
import datetime
import importlib
import inspect
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.admin_support import Admin, create_admin
from waken.auth.tokens import ALL_SCOPES

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SEED = "20261129"


def non_stream_operations(spec):
    return {(method, path) for path, item in spec["paths"].items() for method in item
            if not path.endswith("/stream")}


@pytest.mark.slow
def test_schemathesis_finds_nothing_in_any_operation_in_either_mode(start_server, tmp_path):
    server = start_server()
    # Unknown device keys register themselves, so generated reports are stored, not refused.
    server.cli("settings", "set", "device_registration", "auto")
    token = server.token("test", *ALL_SCOPES)
    spec = requests.get(server.url + "/api/openapi.json", timeout=10).json()
    env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.schemathesis_hooks", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        # Both modes: valid requests are answered as documented, and invalid ones are refused.
        [str(BIN / "st"), "run", server.url + "/api/openapi.json", "--checks", "all", "--mode", "all",
         "--max-examples", "100", "--seed", SEED, "--exclude-path-regex", "/stream$",
         "-H", f"Authorization: Bearer {token}", "--generation-database", "none", "--workers", "1",
         "--no-color", "--report", "junit", "--report-dir", str(tmp_path / "report")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=480)
    out = result.stdout
    assert result.returncode == 0, out[-8000:] + result.stderr[-2000:]
    # Every operation but the streams was tested (schemathesis leaves out the address it read
    # the document from; test_openapi.py validates that one).
    [junit] = (tmp_path / "report").glob("junit-*.xml")
    tested = set(re.findall(r'<testcase[^>]* name="(\w+ /[^"]*)"', junit.read_text()))
    expected = {f"{method.upper()} {path}" for method, path in non_stream_operations(spec)}
    assert tested == expected - {"GET /api/openapi.json"}, tested
    generated, passed = map(int, re.search(r"(\d+) generated, (\d+) passed", out).groups())
    assert generated == passed >= 100 * len(tested), out[-3000:]
    assert "Seed: " + SEED in out


def admin_cookie(server):
    """The session cookie of an admin signed in through the real login form."""
    create_admin(server)
    return Admin.live(server).login().client.cookies.get_dict()


def generate_client(spec, folder):
    """openapi-python-client's package for the document, importable as `waken_api_client`."""
    (folder / "openapi.json").write_text(json.dumps(spec))
    # No formatter run needed; OTLP's protobuf bodies are bytes to the client, like octet-stream.
    (folder / "config.yaml").write_text("post_hooks: []\n"
                                        "content_type_overrides:\n  application/x-protobuf: application/octet-stream\n")
    result = subprocess.run(
        [str(BIN / "openapi-python-client"), "generate", "--path", str(folder / "openapi.json"),
         "--output-path", str(folder / "waken_api_client"), "--meta", "none",
         "--config", str(folder / "config.yaml"), "--fail-on-warning"],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    sys.path.insert(0, str(folder))
    importlib.invalidate_caches()
    return importlib.import_module("waken_api_client")


@pytest.fixture
def generated(tmp_path):
    modules = set(sys.modules)
    yield lambda spec: generate_client(spec, tmp_path)
    for name in set(sys.modules) - modules:
        if name.startswith("waken_api_client"):
            del sys.modules[name]
    if str(tmp_path) in sys.path:
        sys.path.remove(str(tmp_path))


@pytest.mark.slow
def test_generated_client_parses_every_json_answer(start_server, generated):
    server = start_server()
    token, key = server.token("test", *ALL_SCOPES), server.device("Desk PC")
    spec = requests.get(server.url + "/api/openapi.json", timeout=10).json()
    pkg = generated(spec)
    models = importlib.import_module("waken_api_client.models")

    def op(group, name):
        return importlib.import_module(f"waken_api_client.api.{group}.{name}")

    with pkg.AuthenticatedClient(base_url=server.url, token=token) as client, \
            pkg.Client(base_url=server.url) as public, \
            pkg.Client(base_url=server.url, cookies=admin_cookie(server)) as admin:
        called = exercise(op, models, spec, key, client, public, admin)
    every = {name.split("_", 1)[0] for name in called}
    assert len(called) == len(spec_operations(spec)), sorted(called)
    assert every == {"ingest", "query", "admin"}


def exercise(op, models, spec, key, client, public, admin):
    """Call every operation with real data; the names of the operations called."""
    called = set()

    def call(group, name, *, via=client, status=200, **kwargs):
        response = op(group, name).sync_detailed(client=via, **kwargs)
        assert response.status_code == status, response.content
        called.add(name)
        return response.parsed

    # Device reporting: a playing track, then another app (the track's activity ends).
    media = {"title": "Song A", "singer": "Singer A", "status": "playing", "positionMs": 30000,
             "durationMs": 200000}
    stored = call("device_reporting", "ingest_report_activity_post", body=models.Report.from_dict({
        "generatedHashKey": key, "process_name": "Spotify", "process_title": "Evening mix",
        "device_type": "desktop", "battery_level": 70, "metadata": {"play_source": "spotify", "media": media}}))
    assert isinstance(stored, models.ReportResponse) and isinstance(stored.data.started_at, datetime.datetime)
    call("device_reporting", "ingest_report_activity_post", body=models.Report.from_dict(
        {"generatedHashKey": key, "process_name": "Code"}))
    verified = call("device_reporting", "ingest_verify_device_post",
                    body=models.Verify.from_dict({"generatedHashKey": key}))
    assert isinstance(verified, models.VerifyResponse) and verified.data.approved is True

    feed = call("public_feed", "query_public_feed_get", via=public).data
    assert isinstance(feed, models.Feed) and isinstance(feed.generated_at, datetime.datetime)
    [live] = feed.active_statuses
    assert live.process_name == "Code" and live.now_playing is None and live.ended_at is None
    ended = next(item for item in feed.recent_activities if item.process_name == "Spotify")
    assert isinstance(ended.ended_at, datetime.datetime) and isinstance(ended.last_report_at, datetime.datetime)
    assert isinstance(ended.now_playing, models.NowPlaying)
    assert (str(ended.now_playing.status), ended.now_playing.position_ms) == ("stopped", 30000)
    assert str(ended.device_type) == "desktop" and isinstance(ended.battery, models.Battery)

    # Your day: the statistics (the open Code run, the ended Spotify run) and the history export.
    day = call("device_reporting", "query_device_day_stats_get").data
    assert isinstance(day, models.DayStats) and len(day.hours) == 24
    assert {a.app for a in day.apps} == {"Spotify", "Code"} and day.devices[0].device == "Desk PC"
    runs = call("device_reporting", "query_device_history_get", limit=10).data
    assert [r.process_name for r in runs.items] == ["Code", "Spotify"]
    assert isinstance(runs.items[1].ended_at, datetime.datetime) and runs.next_before is None
    # The owner's status: set (it shows in the feed, typed), then cleared.
    shown = call("owner_status", "ingest_set_owner_status_put", body=models.StatusSet.from_dict(
        {"emoji": "🛌", "text": "asleep", "until": "07:30"}))
    assert shown.data.text == "asleep" and isinstance(shown.data.until, datetime.datetime)
    status = call("public_feed", "query_public_feed_get", via=public).data.owner_status
    assert isinstance(status, models.OwnerStatus) and status.emoji == "🛌"
    assert call("owner_status", "ingest_clear_owner_status_delete").data is None

    # The agent log: create, finish, read, list, stats, export.
    created = call("agent_activity_log", "ingest_create_agent_activity_post", status=201,
                   body=models.ActivityCreate.from_dict({"type": "tool_call", "description": "ran the tests",
                                                         "status": "running", "agent": "main"}))
    assert isinstance(created, models.Activity) and isinstance(created.timestamp, datetime.datetime)
    finished = call("agent_activity_log", "ingest_update_agent_activity_patch", activity_id=created.id,
                    body=models.ActivityUpdate.from_dict({"status": "success", "duration_ms": 1200}))
    assert str(finished.status) == "success" and finished.duration_ms == 1200
    # null, like a field left out, leaves the value as it is.
    kept = call("agent_activity_log", "ingest_update_agent_activity_patch", activity_id=created.id,
                body=models.ActivityUpdate.from_dict({"status": None, "tokens_used": None}))
    assert str(kept.status) == "success" and kept.duration_ms == 1200
    one = call("agent_activity_log", "query_get_agent_activity_get", activity_id=created.id)
    assert one.id == created.id and one.agent == "main"
    page = call("agent_activity_log", "query_list_agent_activities_get", limit=10)
    assert isinstance(page, models.ActivityList) and [a.id for a in page.activities] == [created.id]
    stats = call("agent_activity_log", "query_agent_activity_stats_get")
    assert isinstance(stats, models.Stats) and stats.total == 1 and isinstance(stats.heatmap[0], models.DayCount)
    csv = call("agent_activity_log", "query_export_agent_activities_get", limit=10)
    assert isinstance(csv, str) and csv.splitlines()[0].startswith("id,") and "ran the tests" in csv
    refused = call("agent_activity_log", "query_list_agent_activities_get", status=400, limit=501)
    assert isinstance(refused, models.Error) and "limit" in refused.error

    # Sessions: a record with a session, then the session list and the session itself.
    call("agent_activity_log", "ingest_create_agent_activity_post", status=201, body=models.ActivityCreate.from_dict(
        {"type": "tool_call", "description": "read the plan", "status": "success", "agent": "main",
         "session": "s-1", "cost_usd": 0.25, "tokens_used": 900}))
    sessions = call("agent_activity_log", "query_list_agent_sessions_get", limit=5)
    assert isinstance(sessions, models.AgentSessionList) and [s.key for s in sessions.sessions] == ["s-1"]
    summary = sessions.sessions[0]
    assert isinstance(summary.start, datetime.datetime) and summary.cost_usd == 0.25 and summary.records == 1
    assert summary.by_status.success == 1 and summary.agents == ["main"]
    detail = call("agent_activity_log", "query_get_agent_session_get", key="s-1")
    assert isinstance(detail, models.AgentSessionDetail) and detail.session.key == "s-1"
    assert [a.description for a in detail.activities] == ["read the plan"] and detail.has_more is False
    missing = call("agent_activity_log", "query_get_agent_session_get", status=404, key="no-such-session")
    assert isinstance(missing, models.Error)

    # OTLP/JSON: a Claude Code tool_result and a GenAI chat span become agent activities.
    resource = {"attributes": [{"key": "service.name", "value": {"stringValue": "claude-code"}}]}
    now_ns = str(time.time_ns())
    logs = call("open_telemetry_otlphttp", "ingest_otlp_logs_post", body=models.ExportLogsServiceRequest.from_dict(
        {"resourceLogs": [{"resource": resource, "scopeLogs": [{"logRecords": [
            {"timeUnixNano": now_ns, "body": {"stringValue": "claude_code.tool_result"},
             "attributes": [{"key": "tool_name", "value": {"stringValue": "Bash"}}]},
            {"timeUnixNano": now_ns, "body": {"stringValue": "claude_code.hook_run"}}]}]}]}))
    assert logs.partial_success.rejected_log_records == "1"
    assert "hook_run" in logs.partial_success.error_message
    spans = call("open_telemetry_otlphttp", "ingest_otlp_traces_post", body=models.ExportTraceServiceRequest.from_dict(
        {"resourceSpans": [{"resource": resource, "scopeSpans": [{"spans": [
            {"traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174", "name": "chat",
             "startTimeUnixNano": now_ns, "endTimeUnixNano": now_ns,
             "attributes": [{"key": "gen_ai.operation.name", "value": {"stringValue": "chat"}}]}]}]}]}))
    assert isinstance(spans, models.IngestOtlpTracesPostResponse200)
    metrics = call("open_telemetry_otlphttp", "ingest_otlp_metrics_post",
                   body=models.ExportMetricsServiceRequest.from_dict({"resourceMetrics": [{
                       "resource": resource, "scopeMetrics": [{"metrics": [
                           {"name": "claude_code.session.count", "sum": {"dataPoints": [
                               {"timeUnixNano": now_ns, "asInt": "1"}]}}]}]}]}))
    assert metrics.partial_success.rejected_data_points == "1"
    assert {a.type_ for a in call("agent_activity_log", "query_list_agent_activities_get", agent="claude-code",
                                  limit=10).activities} == {"tool_call", "agent_action"}

    exported = call("admin", "admin_api_export_apps_get", via=admin)
    assert isinstance(exported.data, models.AppsExport)
    assert isinstance(exported.data.exported_at, datetime.datetime)
    assert {r.app_name for r in exported.data.groups.pc} == {"Spotify", "Code"}
    assert isinstance(exported.data.groups.pc[0].last_seen_at, datetime.datetime)
    document = call("api_description", "query_openapi_json_get", via=public)
    assert document.additional_properties["openapi"] == spec["openapi"]

    # The live streams are typed as text (an event stream), never as a JSON model.
    for group, name in (("public_feed", "query_activity_stream_get"),
                        ("agent_activity_log", "query_agent_activity_stream_get")):
        source = inspect.getsource(op(group, name)._parse_response)
        assert "response.text" in source and "from_dict(response.json())" not in source.split("== 400")[0]
        called.add(name)
    return called


def spec_operations(spec):
    return [op for item in spec["paths"].values() for op in item.values()]
