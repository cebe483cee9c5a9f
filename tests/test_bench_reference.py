"""The bench's reference app: a known token, then one row per device or agent, upserted."""
import sqlite3
from contextlib import closing

import pytest

from waken.bench.reference import create_app, init_db

TOKEN = "reference-token"
REPORT = {"generatedHashKey": "bench-ingest-00", "process_name": "Code.exe", "battery_level": 80}
RECORD = {"type": "tool_call", "description": "Edit src/a.py", "status": "success", "agent": "coder"}


@pytest.fixture
def db_path(tmp_path):
    path = tmp_path / "reference.sqlite"
    init_db(path, TOKEN)
    return path


@pytest.fixture
def client(db_path):
    return create_app(db_path).test_client()


def post(client, path, body, token=TOKEN):
    return client.post(path, json=body, headers={"Authorization": f"Bearer {token}"})


def rows(db_path):
    with closing(sqlite3.connect(db_path)) as conn:
        return conn.execute("SELECT key, reports FROM latest ORDER BY key").fetchall()


def test_reports_keep_one_row_per_device(client, db_path):
    assert post(client, "/api/activity", REPORT).status_code == 200
    second = post(client, "/api/activity", {**REPORT, "process_name": "chrome.exe"})
    assert second.status_code == 200
    assert second.get_json()["data"]["process_name"] == "chrome.exe"
    assert rows(db_path) == [("bench-ingest-00", 2)]


def test_agent_records_are_keyed_by_agent(client, db_path):
    assert post(client, "/api/activities", RECORD).status_code == 201
    assert rows(db_path) == [("coder", 1)]


@pytest.mark.parametrize(("path", "body"), [("/api/activity", REPORT), ("/api/activities", RECORD)])
def test_an_unknown_token_writes_nothing(client, db_path, path, body):
    assert post(client, path, body, token="other").status_code == 401
    assert rows(db_path) == []


def test_a_body_without_its_key_is_refused(client, db_path):
    assert post(client, "/api/activity", RECORD).status_code == 400
    assert rows(db_path) == []


def test_the_database_runs_in_wal(db_path):
    with closing(sqlite3.connect(db_path)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
