"""POST /api/activities and PATCH /api/activities/<id> through HTTP, with an injected clock."""
import json
import shutil
import subprocess
from datetime import datetime, timedelta, timezone

import pytest
import requests

from tests.support import db_rows, record, set_setting

START = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)
pytestmark = pytest.mark.clock(START)


@pytest.fixture
def post(client, auth, clock):
    def post(headers=None, **fields):
        return client.post("/api/activities", json=record(**fields), headers={**auth, **(headers or {})})
    return post


def count_rows(app):
    return db_rows(app, "SELECT count(*) FROM agent_activity")[0][0]


def test_created_record_is_echoed_with_location(post, client, auth):
    response = post(timestamp="2026-03-10T11:59:00Z", duration_ms=120, tokens_used=1500,
                    agent="tenacitas", metadata={"tool": "read_file"})
    assert response.status_code == 201
    created = response.json
    assert created == {"id": created["id"], "type": "tool_call",
                       "description": "read_file path=src/app/page.tsx", "status": "success",
                       "timestamp": "2026-03-10T11:59:00.000Z", "duration_ms": 120, "tokens_used": 1500,
                       "agent": "tenacitas", "metadata": {"tool": "read_file"}, "session": None,
                       "cost_usd": None}
    location = response.headers["Location"]
    assert location.endswith(f"/api/activities/{created['id']}")
    assert client.get(location, headers=auth).json == created


def test_defaults_now_and_explicit_nulls_mean_not_given(post):
    response = post(timestamp=None, duration_ms=None, tokens_used=None, agent=None, metadata=None,
                    idempotency_key=None, unknown_key="ignored")
    assert response.status_code == 201, response.json
    assert response.json["timestamp"] == "2026-03-10T12:00:00.000Z"
    assert response.json["metadata"] is None and response.json["agent"] is None


@pytest.mark.parametrize("timestamp, stored", [
    ("2026-03-10T11:00:00", "2026-03-10T11:00:00.000Z"),           # no zone means UTC
    ("2026-03-10T13:00:00+02:00", "2026-03-10T11:00:00.000Z"),
    ("2026-03-10T12:00:04.500Z", "2026-03-10T12:00:04.500Z"),     # within the 5 s clock skew
    ("2026-02-08T12:00:01Z", "2026-02-08T12:00:01.000Z"),         # just inside 30 days
])
def test_accepted_timestamps(post, timestamp, stored):
    response = post(timestamp=timestamp)
    assert response.status_code == 201, response.json
    assert response.json["timestamp"] == stored


@pytest.mark.parametrize("fields, field", [
    ({"type": None}, "type"),
    ({"type": "  "}, "type"),
    ({"type": "x" * 65}, "type"),
    ({"type": 7}, "type"),
    ({"description": None}, "description"),
    ({"description": ""}, "description"),
    ({"description": "x" * 4001}, "description"),
    ({"status": None}, "status"),
    ({"status": "done"}, "status"),
    ({"status": True}, "status"),
    ({"timestamp": "yesterday"}, "timestamp"),
    ({"timestamp": 1773144000000}, "timestamp"),
    ({"timestamp": "2026-03-10T12:00:06Z"}, "timestamp"),      # beyond the clock skew
    ({"timestamp": "2026-02-08T11:59:59Z"}, "timestamp"),      # older than the retention window
    ({"duration_ms": -1}, "duration_ms"),
    ({"duration_ms": 1.5}, "duration_ms"),
    ({"duration_ms": "120"}, "duration_ms"),
    ({"tokens_used": -5}, "tokens_used"),
    ({"tokens_used": True}, "tokens_used"),
    ({"agent": "a" * 65}, "agent"),
    ({"metadata": ["not", "an", "object"]}, "metadata"),
    ({"metadata": "text"}, "metadata"),
    ({"idempotency_key": ""}, "idempotency_key"),
])
def test_invalid_fields_are_400_with_a_message(post, app, fields, field):
    response = post(**fields)
    assert response.status_code == 400
    assert response.json["success"] is False
    assert field in response.json["fields"]
    assert field in response.json["error"]
    assert count_rows(app) == 0


def test_timestamp_messages_say_why(post):
    future = post(timestamp="2026-03-10T12:01:00Z").json["error"]
    assert "in the future" in future and "5 s" in future
    old = post(timestamp="2026-01-01T00:00:00Z").json["error"]
    assert "older than the 30-day retention window" in old


@pytest.mark.parametrize("raw, message", [
    (b"", "empty"),
    (b"{not json", "not valid JSON"),
    (b"[1, 2]", "JSON object"),
])
def test_malformed_bodies_are_400(client, auth, clock, raw, message):
    response = client.post("/api/activities", data=raw, headers=auth)
    assert response.status_code == 400
    assert message in response.json["error"]


def test_missing_content_type_is_accepted(client, auth, clock):
    response = client.post("/api/activities", data=json.dumps(record()), headers=auth)
    assert response.status_code == 201


def test_oversized_metadata_is_413(post, app):
    response = post(metadata={"blob": "x" * (65 * 1024)})
    assert response.status_code == 413
    assert "metadata" in response.json["fields"]
    assert count_rows(app) == 0


@pytest.mark.parametrize("how", ["body", "header"])
def test_idempotent_retry_returns_the_first_record(post, client, auth, app, how):
    def send(**fields):
        if how == "body":
            return post(idempotency_key="run-7/call-3", **fields)
        return post(headers={"Idempotency-Key": "run-7/call-3"}, **fields)

    first = send(description="first attempt")
    assert first.status_code == 201
    retry = send(description="the retry")
    assert retry.status_code == 200
    assert retry.json == first.json
    assert count_rows(app) == 1
    assert post(idempotency_key="another").status_code == 201
    assert client.get("/api/activities", headers=auth).json["total"] == 2


@pytest.mark.parametrize("key", ["caf\xc3\xa9", "tab\there", "", "x" * 201])
def test_an_idempotency_key_header_is_printable_ascii(post, app, key):
    # The test client sends header values as Latin-1, as a UTF-8 "café" arrives at a real server.
    response = post(headers={"Idempotency-Key": key})
    assert response.status_code == 400
    assert "printable ASCII" in response.json["error"] and "Idempotency-Key" in response.json["fields"]
    assert count_rows(app) == 0


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}])
def test_token_is_required(client, clock, app, headers):
    response = client.post("/api/activities", json=record(), headers=headers)
    assert response.status_code == 401
    assert count_rows(app) == 0


def test_disabled_token_is_401(post, runner):
    result = runner.invoke(args=["token", "disable", "1"])
    assert result.exit_code == 0, result.output
    assert post().status_code == 401


def test_open_agent_ingest_needs_no_token_for_creation_only(client, runner, clock, auth):
    set_setting(runner, "agent_ingest_open", "true")
    created = client.post("/api/activities", json=record(status="running"))
    assert created.status_code == 201
    # Changing a record still needs a token (issue 10: open ingest opens creation only).
    refused = client.patch(f"/api/activities/{created.json['id']}", json={"status": "success"})
    assert refused.status_code == 401 and "status" not in refused.json
    patched = client.patch(f"/api/activities/{created.json['id']}", json={"status": "success"}, headers=auth)
    assert patched.status_code == 200 and patched.json["status"] == "success"
    assert client.get("/api/activities").status_code == 401
    set_setting(runner, "agent_ingest_open", "false")
    assert client.post("/api/activities", json=record()).status_code == 401


def test_patch_finishes_a_running_record(post, client, auth, clock):
    created = post(status="running", metadata={"tool": "bash", "attempt": 1}).json
    clock.advance(seconds=3)
    response = client.patch(f"/api/activities/{created['id']}", headers=auth, json={
        "status": "error", "duration_ms": 3000, "tokens_used": 42, "metadata": {"attempt": 2, "exit": 1}})
    assert response.status_code == 200
    assert response.json == {**created, "status": "error", "duration_ms": 3000, "tokens_used": 42,
                             "metadata": {"tool": "bash", "attempt": 2, "exit": 1}}
    assert client.get(f"/api/activities/{created['id']}", headers=auth).json == response.json
    stats = client.get("/api/activities/stats", headers=auth).json
    assert stats["byStatus"]["error"] == 1 and stats["byStatus"]["running"] == 0
    assert stats["tokensUsed"] == 42


def test_patch_keeps_what_is_not_sent(post, client, auth):
    created = post(status="pending", duration_ms=10).json
    response = client.patch(f"/api/activities/{created['id']}", headers=auth, json={"status": "success"})
    assert response.json == {**created, "status": "success"}


@pytest.mark.parametrize("body, status, field", [
    ({}, 400, "_schema"),
    ({"status": "success", "stauts": "error"}, 400, "stauts"),
    ({"status": "finished"}, 400, "status"),
    ({"duration_ms": -3}, 400, "duration_ms"),
    ({"metadata": [1]}, 400, "metadata"),
])
def test_invalid_patches_are_400(post, client, auth, body, status, field):
    created = post(status="running").json
    response = client.patch(f"/api/activities/{created['id']}", headers=auth, json=body)
    assert response.status_code == status
    assert field in response.json["fields"]


def test_null_in_a_patch_leaves_the_value_as_it_is(post, client, auth):
    created = post(status="running", duration_ms=5, metadata={"step": 1}).json
    nulls = client.patch(f"/api/activities/{created['id']}", headers=auth,
                         json={"status": None, "duration_ms": None, "metadata": None})
    assert nulls.status_code == 200 and nulls.json == created
    finished = client.patch(f"/api/activities/{created['id']}", headers=auth, json={"status": None, "tokens_used": 9})
    assert (finished.json["status"], finished.json["duration_ms"], finished.json["tokens_used"]) == ("running", 5, 9)


def test_patch_of_unknown_or_expired_record_is_404_and_needs_a_token(post, client, auth, clock):
    created = post(status="running").json
    assert client.patch(f"/api/activities/{created['id']}", json={"status": "success"}).status_code == 401
    assert client.patch("/api/activities/999", headers=auth, json={"status": "success"}).status_code == 404
    clock.advance(days=31)
    response = client.patch(f"/api/activities/{created['id']}", headers=auth, json={"status": "success"})
    assert response.status_code == 404


# The seed's example, verbatim but for the host.
SEED_CURL = """curl -X POST "https://mara.example.com/api/activities" \\
  -H "Content-Type: application/json" \\
  -d '{
    "type": "tool_call",
    "description": "read_file path=src/app/page.tsx",
    "status": "success",
    "timestamp": "2026-02-27T10:00:00.000Z",
    "duration_ms": 120,
    "tokens_used": 1500,
    "agent": "tenacitas"
  }'"""


def _curl(server, command):
    command = command.replace("https://mara.example.com", server.url)
    result = subprocess.run(["sh", "-c", command + ' -sS -w "\\n%{http_code}"'],
                            capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 0, result.stderr
    body, status = result.stdout.rsplit("\n", 1)
    return int(status), json.loads(body)


@pytest.mark.skipif(shutil.which("curl") is None, reason="the curl binary is not installed")
def test_seed_curl_example_against_a_real_server(server):
    assert datetime.now(timezone.utc) - datetime(2026, 2, 27, 10, tzinfo=timezone.utc) > timedelta(days=30)
    server.cli("settings", "set", "agent_ingest_open", "false")
    status, body = _curl(server, SEED_CURL)
    assert status == 401 and body["success"] is False

    server.cli("settings", "set", "agent_ingest_open", "true")
    status, body = _curl(server, SEED_CURL)
    assert status == 400
    assert "older than the 30-day retention window" in body["error"]

    recent = (datetime.now(timezone.utc) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    status, body = _curl(server, SEED_CURL.replace("2026-02-27T10:00:00.000Z", recent))
    assert status == 201, body
    assert body["timestamp"] == recent and body["agent"] == "tenacitas" and body["tokens_used"] == 1500

    server.cli("settings", "set", "agent_retention_days", "3650")
    status, body = _curl(server, SEED_CURL)
    assert status == 201, body
    assert body["timestamp"] == "2026-02-27T10:00:00.000Z"
    listed = requests.get(server.url + "/api/activities", timeout=10,
                          headers={"Authorization": f"Bearer {server.token('reader')}"}).json()
    assert listed["total"] == 2
    server.cli("settings", "set", "agent_retention_days", "30")
    server.cli("settings", "set", "agent_ingest_open", "false")
