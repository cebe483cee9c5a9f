"""GET /api/activities/stream: SSE in process, then from a real gunicorn under a burst of writes."""
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
import requests

from tests.admin_support import Admin, create_admin
from tests.stream_support import SseReader, parse
from tests.support import record
from waken import db, settings

START = datetime(2026, 3, 10, 12, 0, tzinfo=timezone.utc)
pytestmark = [pytest.mark.clock(START), pytest.mark.app_config(SSE_POLL_SECONDS=0.01, SSE_KEEPALIVE_SECONDS=0.05)]


class InProcessStream:
    def __init__(self, response):
        assert response.status_code == 200, response.get_data()
        self.chunks = iter(response.response)

    def next(self, limit=2000):
        """The next event that is not a comment."""
        for _ in range(limit):
            event_id, data = parse(next(self.chunks).decode())
            if event_id is not None:
                return event_id, data
        raise AssertionError("no event arrived")

    def comments(self, limit=50):
        return [parse(next(self.chunks).decode())[1] for _ in range(limit)]


def open_stream(client, headers=None, query=""):
    return InProcessStream(client.get("/api/activities/stream" + query, headers=headers or {},
                                      buffered=False))


def test_connected_then_new_rows_in_id_order(client, auth, add, clock):
    before = add()
    stream = open_stream(client, auth)
    event_id, data = stream.next()
    assert data == {"type": "connected", "ts": "2026-03-10T12:00:00.000Z"}
    assert event_id == before["id"]         # the cursor: nothing before it is resent
    first = add(description="first")
    late = add(description="back-dated", timestamp="2026-03-01T00:00:00Z")
    assert stream.next() == (first["id"], {"type": "new", "activity": first})
    assert stream.next() == (late["id"], {"type": "new", "activity": late})


def test_keep_alive_comments_while_idle(client, auth, clock):
    response = client.get("/api/activities/stream", headers=auth, buffered=False)
    assert response.mimetype == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-cache"
    stream = InProcessStream(response)
    stream.next()
    assert ": keep-alive" in stream.comments(limit=3)


@pytest.mark.parametrize("how", ["header", "query"])
def test_last_event_id_replays_what_was_missed(client, auth, add, how):
    seen = add()
    missed = [add(description=f"missed {n}") for n in range(3)]
    if how == "header":
        stream = open_stream(client, {**auth, "Last-Event-ID": str(seen["id"])})
    else:
        stream = open_stream(client, auth, f"?lastEventId={seen['id']}")
    assert stream.next()[1]["type"] == "connected"
    assert [stream.next()[1]["activity"] for _ in missed] == missed


def test_replay_is_bounded(app, client, auth, add):
    with app.app_context(), db.write():   # more writes in a moment than the default rate limit allows
        settings.put("rate_limit_per_minute", 0)
    for n in range(1005):
        client.post("/api/activities", headers=auth, json=record(description=f"call {n}"))
    stream = open_stream(client, {**auth, "Last-Event-ID": "0"})
    connected_id, data = stream.next()
    assert data["type"] == "connected" and connected_id == 1005 - 1000
    assert [stream.next()[0] for _ in range(3)] == [6, 7, 8]


def test_rows_past_retention_are_not_replayed(client, auth, add, clock):
    old = add(timestamp="2026-02-09T00:00:00Z")
    fresh = add()
    clock.advance(days=1)
    stream = open_stream(client, {**auth, "Last-Event-ID": "0"})
    stream.next()
    assert stream.next()[1]["activity"]["id"] == fresh["id"] != old["id"]


@pytest.mark.parametrize("headers, query, status", [
    ({}, "", 401),
    ({"Authorization": "Bearer wrong"}, "", 401),
    ({"Last-Event-ID": "abc"}, "", 400),
    ({}, "?lastEventId=-1", 400),
    ({}, "?since=3", 400),
])
def test_bad_stream_requests(client, auth, clock, headers, query, status):
    merged = {**auth, **headers} if status == 400 else headers
    response = client.get("/api/activities/stream" + query, headers=merged)
    assert response.status_code == status
    assert response.json["success"] is False


def test_admin_session_can_follow_the_stream(app, client, clock, add):
    create_admin(app)
    admin = Admin(client).login()
    stream = InProcessStream(admin.get("/api/activities/stream", buffered=False))
    assert stream.next()[1]["type"] == "connected"
    row = add()
    assert stream.next()[1]["activity"] == row


# End to end: a real gunicorn with two workers, the reader in one, writers everywhere.

@pytest.fixture
def live(start_server):
    server = start_server(env={"WAKEN_SSE_POLL_SECONDS": "0.05", "WAKEN_SSE_KEEPALIVE_SECONDS": "0.3"})
    server.api_token = server.token()
    return server


def post_many(server, count, start=0):
    """Post `count` records from 8 threads at once; some back-dated. Returns their ids."""
    headers = {"Authorization": f"Bearer {server.api_token}"}
    now = datetime.now(timezone.utc)

    def post(n):
        body = record(description=f"call {n}")
        if n % 5 == 0:
            body["timestamp"] = (now - timedelta(hours=n % 48)).strftime("%Y-%m-%dT%H:%M:%SZ")
        response = requests.post(server.url + "/api/activities", json=body, headers=headers, timeout=30)
        assert response.status_code == 201, response.text
        return response.json()["id"]

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(post, range(start, start + count)))


def test_live_stream_receives_every_row_once_in_order_and_resumes(live):
    reader = SseReader(live.url, live.api_token)
    assert reader.connected.wait(10)
    posted = post_many(live, 200)
    received = reader.wait_for(200)
    ids = [a["id"] for a in received]
    assert len(ids) == 200 and sorted(ids) == ids and set(ids) == set(posted)
    reader.close()

    last_seen = ids[-1]
    missed = post_many(live, 20, start=200)
    again = SseReader(live.url, live.api_token, last_event_id=last_seen)
    replayed = [a["id"] for a in again.wait_for(20)]
    assert replayed == sorted(missed)
    more = post_many(live, 5, start=220)
    assert [a["id"] for a in again.wait_for(25)][20:] == sorted(more)
    again.close()


def test_a_closed_stream_gives_its_slot_back(live):
    live.cli("settings", "set", "sse_max_agent_streams", "1")
    first = SseReader(live.url, live.api_token)
    assert first.connected.wait(10)
    busy = requests.get(live.url + "/api/activities/stream", timeout=10,
                        headers={"Authorization": f"Bearer {live.api_token}"}, stream=True)
    assert busy.status_code == 503 and "Retry-After" in busy.headers
    busy.close()
    first.close()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        response = requests.get(live.url + "/api/activities/stream", timeout=10, stream=True,
                                headers={"Authorization": f"Bearer {live.api_token}"})
        response.close()
        if response.status_code == 200:
            break
        time.sleep(0.2)
    assert response.status_code == 200
