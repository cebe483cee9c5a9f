"""Token scopes against a live server: each token does what its scopes allow and nothing more."""
import base64
import hashlib
import json
import re
import sqlite3

import pytest
import requests

from tests.admin_support import Admin, create_admin

KEY = "wwd-scopes-device-0001"
# Every agent-log read.
READS = ("/api/activities", "/api/activities/1", "/api/activities/export",
         "/api/activities/stats", "/api/activities/stream")


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def token_with(server, name, *scopes):
    args = [arg for scope in scopes for arg in ("--scope", scope)]
    return server.cli("token", "create", name, *args).strip().splitlines()[-1]


def report(server, token, key=KEY, **body):
    return requests.post(server.url + "/api/activity", headers=bearer(token), timeout=10,
                         json={"generatedHashKey": key, "process_name": "Code", **body})


def verify(server, token, key=KEY, **body):
    return requests.post(server.url + "/api/activity/verify", headers=bearer(token), timeout=10,
                         json={"generatedHashKey": key, **body})


def create_record(server, headers=None, **extra):
    return requests.post(server.url + "/api/activities", headers=headers or {}, timeout=10, json={
        "type": "tool_call", "description": "ran the deploy script", "status": "running", **extra})


def patch_record(server, record_id, headers=None, body=None):
    return requests.patch(f"{server.url}/api/activities/{record_id}", headers=headers or {}, timeout=10,
                          json={"status": "success"} if body is None else body)


def read(server, path, headers=None):
    # stream=True: the agent stream is endless; only its status and first bytes matter here.
    response = requests.get(server.url + path, headers=headers or {}, timeout=10, stream=True)
    if response.status_code == 200 and path.endswith("/stream"):
        first = next(response.iter_content(chunk_size=None))
        response.close()
        return response.status_code, first.decode()
    body = response.content.decode()
    response.close()
    return response.status_code, body


@pytest.fixture(scope="module")
def tokens(server):
    """Tokens of the shared server by what they may do, and one record in the log."""
    server.device("Desk", KEY)
    found = {"report": token_with(server, "phone", "report"),
             "write": token_with(server, "hook", "agents:write"),
             "read": token_with(server, "dashboard", "agents:read"),
             "all": server.token("everything")}
    create_admin(server)
    assert create_record(server, bearer(found["all"])).status_code == 201
    return found


def test_a_report_token_reports_and_nothing_else(server, tokens):
    assert report(server, tokens["report"]).status_code == 200
    assert verify(server, tokens["report"]).status_code == 200
    for path in READS:
        status, body = read(server, path, bearer(tokens["report"]))
        assert status == 403, path
        assert "lacks the 'agents:read' scope" in body and "ran the deploy script" not in body, path
    refused = create_record(server, bearer(tokens["report"]))
    assert refused.status_code == 403 and "'agents:write' scope" in refused.json()["error"]
    refused = patch_record(server, 1, bearer(tokens["report"]), body={})
    assert refused.status_code == 403 and "'agents:write' scope" in refused.json()["error"]
    assert "description" not in refused.json()
    assert read(server, "/api/activities/1", bearer(tokens["all"]))[1].count('"running"') == 1


def test_an_agents_read_token_reads_and_nothing_else(server, tokens):
    for path in READS:
        status, body = read(server, path, bearer(tokens["read"]))
        assert status == 200, (path, body)
    assert "ran the deploy script" in read(server, "/api/activities/export", bearer(tokens["read"]))[1]
    for call in (report, verify):
        refused = call(server, tokens["read"])
        assert refused.status_code == 403 and "lacks the 'report' scope" in refused.json()["error"]
    assert create_record(server, bearer(tokens["read"])).status_code == 403
    assert patch_record(server, 1, bearer(tokens["read"])).status_code == 403


def test_an_agents_write_token_writes_and_cannot_read(server, tokens):
    created = create_record(server, bearer(tokens["write"]), description="write-only hook")
    assert created.status_code == 201 and created.json()["description"] == "write-only hook"
    patched = patch_record(server, created.json()["id"], bearer(tokens["write"]))
    assert patched.status_code == 200 and patched.json() == {"id": created.json()["id"]}
    # Neither a PATCH nor a retried key reads back a record written by another token.
    owner = create_record(server, bearer(tokens["all"]), idempotency_key="owner-7", description="owner's secret")
    assert patch_record(server, owner.json()["id"], bearer(tokens["write"]), body={"metadata": {}}).json() == {
        "id": owner.json()["id"]}
    # Keys belong to their token: the same key from another token is another record.
    own = create_record(server, bearer(tokens["write"]), idempotency_key="owner-7")
    assert own.status_code == 201 and own.json()["id"] != owner.json()["id"]
    retry = create_record(server, bearer(tokens["write"]), idempotency_key="owner-7")
    assert retry.status_code == 200 and retry.json() == {"id": own.json()["id"], "duplicate": True}
    again = create_record(server, bearer(tokens["all"]), idempotency_key="owner-7")
    assert again.status_code == 200 and again.json()["description"] == "owner's secret"
    for path in READS:
        assert read(server, path, bearer(tokens["write"]))[0] == 403, path
    assert report(server, tokens["write"]).status_code == 403
    status, body = read(server, "/api/activities", bearer(tokens["all"]))
    assert status == 200 and '"write-only hook"' in body and body.count('"success"') >= 1


def test_token_list_shows_the_scopes(server, tokens):
    listing = server.cli("token", "list")
    rows = {line.split("\t")[1]: line for line in listing.splitlines()}
    assert "scopes report\t" in rows["phone"]
    assert "scopes agents:read\t" in rows["dashboard"]
    assert "scopes report,agents:write,agents:read\t" in rows["everything"]
    bad = server.cli("token", "create", "x", "--scope", "admin", check=False)
    assert "Created token" not in bad and "\tx\t" not in server.cli("token", "list")


def test_an_admin_session_still_reads_the_agent_log(server, tokens):
    admin = Admin.live(server).login()
    for path in READS:
        status, _ = read(server, path, {"Cookie": admin.cookie()})
        assert status == 200, path


def test_the_token_form_ticks_scopes_and_only_report_tokens_get_a_bundle(server, tokens):
    admin = Admin.live(server).login()
    form = admin.get("/admin/tokens").text
    ticked = re.findall(r'name="scope" value="([^"]+)"( checked)?', form)
    assert ticked == [("report", " checked"), ("agents:write", ""), ("agents:read", ""), ("history:read", "")]

    page = admin.post("/admin/tokens", data={"name": "grafana", "scope": ["agents:read"]})
    assert page.status_code == 200 and 'id="token-bundle"' not in page.text
    plaintext = re.search(r'id="token-value" class="mono" readonly value="([0-9a-f]{64})"', page.text).group(1)
    assert read(server, "/api/activities", bearer(plaintext))[0] == 200
    assert report(server, plaintext).status_code == 403

    page = admin.post("/admin/tokens", data={"name": "tablet", "scope": ["report"]})
    assert 'id="token-bundle"' in page.text
    none_ticked = admin.post("/admin/tokens", data={"name": "nothing"})
    assert none_ticked.status_code == 400 and "Tick at least one scope" in none_ticked.text
    assert "nothing" not in server.cli("token", "list")


def test_mint_and_export_makes_a_report_only_token(server, tokens):
    admin = Admin.live(server).login()
    page = admin.post("/admin/settings/integration", data={"name": "exported"})
    assert page.status_code == 200
    config = json.loads(base64.b64decode(re.search(
        r'id="integration-config"[^>]*>([A-Za-z0-9+/=]+)</textarea>', page.text).group(1)))
    plaintext = config["token"]["items"][0]["token"]
    assert report(server, plaintext).status_code == 200
    status, body = read(server, "/api/activities", bearer(plaintext))
    assert status == 403 and "ran the deploy script" not in body
    assert create_record(server, bearer(plaintext)).status_code == 403


def test_an_old_database_upgrades_tokens_keep_all_three_scopes_and_no_device_is_named_by_its_key(start_server, tmp_path):
    """A database from before scopes (and before neutral names), upgraded by init-db on start."""
    instance = tmp_path / "old"
    instance.mkdir()
    plaintext = "ab" * 32
    old_keys = ("wwd-old-key-named-0001", "wwd-old-key-named-0002")
    conn = sqlite3.connect(instance / "waken.sqlite")
    conn.executescript("""
        CREATE TABLE api_token (id INTEGER PRIMARY KEY, name TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE,
            prefix TEXT NOT NULL, enabled INTEGER NOT NULL DEFAULT 1, created_at INTEGER NOT NULL,
            last_used_at INTEGER);
        CREATE TABLE device (id INTEGER PRIMARY KEY, name TEXT NOT NULL, hash_key TEXT NOT NULL UNIQUE,
            status TEXT NOT NULL DEFAULT 'active', token_id INTEGER REFERENCES api_token (id) ON DELETE SET NULL,
            device_type TEXT, created_at INTEGER NOT NULL, last_seen_at INTEGER);""")
    conn.execute("INSERT INTO api_token (name, token_hash, prefix, created_at) VALUES ('old', ?, 'abababab', 0)",
                 (hashlib.sha256(plaintext.encode()).hexdigest(),))
    conn.executemany("INSERT INTO device (name, hash_key, device_type, created_at) VALUES (?, ?, ?, 0)",
                     [("Old desk", KEY, None), (old_keys[0], old_keys[0], "mobile"),
                      ("Mobile 1", "wwd-old-named-0003", "mobile"), (old_keys[1], old_keys[1], None)])
    conn.commit()
    conn.close()
    server = start_server(name="old")
    assert report(server, plaintext).status_code == 200
    created = create_record(server, bearer(plaintext))
    assert created.status_code == 201
    assert read(server, f"/api/activities/{created.json()['id']}", bearer(plaintext))[0] == 200
    assert "scopes report,agents:write,agents:read" in server.cli("token", "list")

    # Devices an older version named after their key now have neutral names.
    assert report(server, plaintext, old_keys[0]).json()["data"]["device"] == "Mobile 2"
    assert report(server, plaintext, old_keys[1]).json()["data"]["device"] == "Device 1"
    for path in ("/", "/api/activity"):
        page = requests.get(server.url + path, timeout=10).text
        assert "Old desk" in page and not any(key in page for key in old_keys), path
