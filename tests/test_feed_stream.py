"""GET /api/activity/stream: events on connect, on reports and on timeouts; the stream cap."""
import json
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests

pytestmark = [pytest.mark.clock(datetime(2026, 5, 1, 12, 0, tzinfo=UTC)), pytest.mark.usefixtures("clock"),
              pytest.mark.app_config(SSE_POLL_SECONDS=0.01, SSE_KEEPALIVE_SECONDS=0.05)]


def parse(block):
    """(event name, JSON data) of one SSE block, or (None, comment text)."""
    lines = block.strip("\n").split("\n")
    if lines[0].startswith(":"):
        return None, lines[0]
    fields = dict(line.split(": ", 1) for line in lines if not line.startswith("retry"))
    return fields["event"], json.loads(fields["data"])


def next_activity(chunks, limit=500):
    """The next `activity` event's data from an in-process stream (bounded)."""
    for _ in range(limit):
        name, data = parse(next(chunks).decode())
        if name == "activity":
            return data["data"]
    raise AssertionError("no activity event arrived")


def test_stream_sends_feed_on_connect_on_report_and_on_timeout(app, client, auth, device, clock):
    response = client.get("/api/activity/stream?public=1", buffered=False)
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-cache"
    chunks = iter(response.response)
    try:
        first = next(chunks).decode()
        assert first.startswith("retry: ")
        assert parse(first.split("\n", 1)[1])[1]["data"]["activeStatuses"] == []

        # Nothing changes: only keep-alive comments, and no database connection is held.
        assert parse(next(chunks).decode()) == (None, ": keep-alive")
        assert app.extensions["waken.engine"].pool.checkedout() == 0

        client.post("/api/activity", headers=auth, json={
            "generatedHashKey": device, "process_name": "Code", "device": "Desk",
            "metadata": {"media": {"title": "Song", "status": "playing", "positionMs": 1000}}})
        data = next_activity(chunks)
        assert [(s["device"], s["processName"]) for s in data["activeStatuses"]] == [("Desk", "Code")]

        # A playing track's position moves every poll, but that alone is not a change.
        clock.now += timedelta(seconds=5)
        assert parse(next(chunks).decode()) == (None, ": keep-alive")

        clock.now += timedelta(seconds=180)   # past the 180 s stale timeout
        data = next_activity(chunks)
        assert data["activeStatuses"] == []
        assert data["recentActivities"][0]["online"] is False
    finally:
        response.close()


def test_bad_limit_on_the_stream_is_400(client):
    response = client.get("/api/activity/stream?limit=none")
    assert response.status_code == 400
    assert response.get_json()["fields"]["limit"]


def read_event(response_iter, buffer):
    """The next `activity` event's data from a real HTTP stream."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        while "\n\n" in buffer[0]:
            block, buffer[0] = buffer[0].split("\n\n", 1)
            name, data = parse(block)
            if name == "activity":
                return data["data"]
        buffer[0] += next(response_iter).decode()
    raise AssertionError("no activity event within 10 s")


def open_stream(url):
    response = requests.get(url + "/api/activity/stream", stream=True, timeout=10)
    return response, response.iter_content(chunk_size=None), [""]


@pytest.mark.slow
def test_cap_holds_across_workers_and_frees_when_a_client_goes(start_server):
    server = start_server(env={"WAKEN_SSE_POLL_SECONDS": "0.1", "WAKEN_SSE_KEEPALIVE_SECONDS": "0.2"})
    server.cli("settings", "set", "sse_max_streams", "2")
    token, key = server.token(), server.device("Laptop")
    streams = [open_stream(server.url) for _ in range(2)]
    try:
        for response, chunks, buffer in streams:
            assert response.status_code == 200
            assert read_event(chunks, buffer)["activeStatuses"] == []

        refused = requests.get(server.url + "/api/activity/stream", timeout=10)
        assert refused.status_code == 503
        assert refused.headers["Retry-After"] == "15"
        assert "Too many live streams" in refused.json()["error"]

        posted = requests.post(server.url + "/api/activity", headers={"Authorization": f"Bearer {token}"},
                               json={"generatedHashKey": key, "process_name": "Firefox"}, timeout=10)
        assert posted.status_code == 200
        for _, chunks, buffer in streams:
            assert [s["processName"] for s in read_event(chunks, buffer)["activeStatuses"]] == ["Firefox"]

        streams.pop()[0].close()   # the client goes; its slot comes back within a keep-alive or two
        deadline = time.monotonic() + 10
        while True:
            again = requests.get(server.url + "/api/activity/stream", stream=True, timeout=10)
            if again.status_code == 200:
                streams.append((again, None, None))
                break
            again.close()
            assert time.monotonic() < deadline, "the closed stream's slot was never released"
            time.sleep(0.2)
    finally:
        for response, _, _ in streams:
            response.close()
