"""The flask commands a Pi owner runs over SSH."""
import hashlib
import sqlite3

import pytest

from tests.support import db_rows


def test_token_create_prints_plaintext_last_and_stores_only_its_hash(runner, app):
    result = runner.invoke(args=["token", "create", "phone"])
    assert result.exit_code == 0
    plaintext = result.output.strip().splitlines()[-1]
    assert len(plaintext) == 64
    assert "1" in result.output.splitlines()[0]
    stored = db_rows(app, "SELECT name, token_hash, prefix FROM api_token")
    assert stored == [("phone", hashlib.sha256(plaintext.encode()).hexdigest(), plaintext[:8])]
    listing = runner.invoke(args=["token", "list"]).output
    assert "phone" in listing and plaintext not in listing


def test_token_disable_enable_delete(runner, app):
    runner.invoke(args=["token", "create", "t"])
    assert runner.invoke(args=["token", "disable", "1"]).exit_code == 0
    assert db_rows(app, "SELECT enabled FROM api_token") == [(0,)]
    assert runner.invoke(args=["token", "enable", "1"]).exit_code == 0
    assert db_rows(app, "SELECT enabled FROM api_token") == [(1,)]
    assert runner.invoke(args=["token", "delete", "1"]).exit_code == 0
    assert db_rows(app, "SELECT count(*) FROM api_token") == [(0,)]
    missing = runner.invoke(args=["token", "disable", "7"])
    assert missing.exit_code != 0 and "no token with id 7" in missing.output


def test_device_create_random_and_custom_keys(runner, app):
    random_key = runner.invoke(args=["device", "create", "Phone"]).output.strip().splitlines()[-1]
    assert random_key.startswith("wwd-") and len(random_key) == 36
    custom = runner.invoke(args=["device", "create", "PC", "--key", "my-own-key-1"])
    assert custom.output.strip().splitlines()[-1] == "my-own-key-1"
    duplicate = runner.invoke(args=["device", "create", "PC2", "--key", "my-own-key-1"])
    assert duplicate.exit_code != 0 and "already exists" in duplicate.output
    short = runner.invoke(args=["device", "create", "X", "--key", "short"])
    assert short.exit_code != 0 and "8 to 128" in short.output
    assert "Phone" in runner.invoke(args=["device", "list"]).output


def test_device_approve_revoke_delete(runner, app):
    runner.invoke(args=["device", "create", "PC", "--key", "my-own-key-1"])
    runner.invoke(args=["device", "revoke", "my-own-key-1"])
    assert db_rows(app, "SELECT status FROM device") == [("revoked",)]
    runner.invoke(args=["device", "approve", "my-own-key-1"])
    assert db_rows(app, "SELECT status FROM device") == [("active",)]
    runner.invoke(args=["device", "delete", "my-own-key-1"])
    assert db_rows(app, "SELECT count(*) FROM device") == [(0,)]
    missing = runner.invoke(args=["device", "revoke", "my-own-key-1"])
    assert missing.exit_code == 1 and "There is no device with the key 'my-own-key-1'." in missing.output


@pytest.mark.parametrize("key, raw, stored", [
    ("agent_ingest_open", "true", "true"),
    ("process_stale_seconds", "300", "300"),
    ("media_play_source_blocklist", '["spotify", "msedge.exe"]', '["msedge.exe","spotify"]'),
    ("site_name", "My status", '"My status"'),
    ("timezone", "Europe/Berlin", '"Europe/Berlin"'),
])
def test_settings_set_parses_json_then_text(runner, app, key, raw, stored):
    result = runner.invoke(args=["settings", "set", key, raw])
    assert result.exit_code == 0, result.output
    assert db_rows(app, f"SELECT value FROM setting WHERE key='{key}'") == [(stored,)]
    assert runner.invoke(args=["settings", "get", key]).output.strip().replace(" ", "") == stored.replace(" ", "")


@pytest.mark.parametrize("key, raw, message", [
    ("nope", "1", "not a setting"),
    ("process_stale_seconds", "10", "from 30 to 86400"),
    ("history_window_minutes", "abc", "whole number"),
    ("timezone", "Mars/Olympus", "not a known IANA time zone"),
    ("device_registration", "maybe", "off, pending, auto"),
    ("agent_ingest_open", "perhaps", "true or false"),
    ("public_url", "ftp://x", "http"),
])
def test_settings_set_refuses_bad_values(runner, app, key, raw, message):
    result = runner.invoke(args=["settings", "set", key, raw])
    assert result.exit_code != 0
    assert message in result.output
    assert db_rows(app, "SELECT count(*) FROM setting") == [(0,)]


def test_settings_get_lists_defaults(runner):
    output = runner.invoke(args=["settings", "get"]).output
    assert "process_stale_seconds = 180" in output and 'device_registration = "off"' in output


def test_backup_is_a_readable_copy(runner, app, tmp_path):
    runner.invoke(args=["token", "create", "kept"])
    target = tmp_path / "backup.sqlite"
    assert runner.invoke(args=["backup", str(target)]).exit_code == 0
    conn = sqlite3.connect(target)
    assert conn.execute("SELECT name FROM api_token").fetchall() == [("kept",)]
    assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_init_db_command(runner, app):
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0 and "Database ready" in result.output
