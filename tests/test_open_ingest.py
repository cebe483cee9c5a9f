"""agent_ingest_open against a live server: anyone may add a record, nobody anonymous may read or change one."""
import requests

SECRET = "rotated the production database password"
READS = ("/api/activities", "/api/activities/{id}", "/api/activities/export", "/api/activities/stats",
         "/api/activities/stream")


def post(server, headers=None, key=None, **body):
    headers = {**(headers or {}), **({"Idempotency-Key": key} if key else {})}
    return requests.post(server.url + "/api/activities", headers=headers, timeout=10, json={
        "type": "tool_call", "description": "anonymous hook", "status": "running", **body})


def test_open_ingest_lets_anyone_create_and_nobody_anonymous_read_or_change(start_server):
    server = start_server()
    server.cli("settings", "set", "agent_ingest_open", "true")
    owner = {"Authorization": f"Bearer {server.token('owner')}"}
    reporter = {"Authorization": f"Bearer {server.cli('token', 'create', 'phone', '--scope', 'report').splitlines()[-1]}"}
    first = post(server, owner, key="deploy-42", description=SECRET, metadata={"host": "db-1"})
    assert first.status_code == 201
    record_id = first.json()["id"]

    # The allowed path: an anonymous caller creates a record and sees what it sent.
    mine = post(server)
    assert mine.status_code == 201 and mine.json()["description"] == "anonymous hook"

    # A guessed key of the owner's is another caller's key: a record of its own, nothing learnt.
    guess = post(server, key="deploy-42", description="guess")
    assert guess.status_code == 201 and guess.json()["id"] != record_id
    assert SECRET not in guess.text and "db-1" not in guess.text
    # An anonymous retry learns the id only, never the content (anonymous keys are shared).
    retry = post(server, key="deploy-42", description="guess again")
    assert retry.status_code == 200
    assert retry.json() == {"id": guess.json()["id"], "duplicate": True}
    assert retry.headers["Location"] == f"/api/activities/{guess.json()['id']}"

    # A PATCH is a write and (with {}) a read: both need a token with agents:write.
    for body in ({}, {"status": "error", "metadata": {"host": "evil"}}):
        refused = requests.patch(f"{server.url}/api/activities/{record_id}", json=body, timeout=10)
        assert refused.status_code == 401 and SECRET not in refused.text
    refused = requests.patch(f"{server.url}/api/activities/{record_id}", json={"status": "error"},
                             headers=reporter, timeout=10)
    assert refused.status_code == 403 and "agents:write" in refused.json()["error"]

    for path in READS:
        response = requests.get(server.url + path.format(id=record_id), timeout=10)
        assert response.status_code == 401, path
        assert SECRET not in response.text, path

    # Nothing changed, and the owner's token still reads and changes everything.
    stored = requests.get(f"{server.url}/api/activities/{record_id}", headers=owner, timeout=10).json()
    assert stored["description"] == SECRET and stored["status"] == "running" and stored["metadata"] == {"host": "db-1"}
    again = post(server, owner, key="deploy-42")
    assert again.status_code == 200 and again.json()["description"] == SECRET
    done = requests.patch(f"{server.url}/api/activities/{record_id}", json={"status": "success"},
                          headers=owner, timeout=10)
    assert done.status_code == 200 and done.json()["status"] == "success"
    with server.db() as conn:
        assert conn.execute("SELECT count(*) FROM agent_activity").fetchone()[0] == 3

    # With the setting off, anonymous creation ends too.
    server.cli("settings", "set", "agent_ingest_open", "false")
    assert post(server).status_code == 401
