"""Agents on the public page (public_agents = summary): states under the injected clock, nothing but
the summary in the feed, its stream and the home page, and at most one re-render a second."""
import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.support import record, set_setting
from waken.timeutil import iso

pytestmark = [pytest.mark.clock(datetime(2026, 5, 1, 12, 0, tzinfo=UTC)),
              pytest.mark.app_config(SSE_POLL_SECONDS=0.01, SSE_KEEPALIVE_SECONDS=0.05)]
SECRETS = ("rm -rf /home/ada/secret-project", "/home/ada/secret-project", "sk-live-token", "sess-4242")


def post(client, auth, clock, **fields):
    body = record(agent="Claude Code", timestamp=iso(clock.now), description=SECRETS[0],
                  metadata={"path": SECRETS[1], "key": SECRETS[2]}, session=SECRETS[3], **fields)
    response = client.post("/api/activities", headers=auth, json=body)
    assert response.status_code == 201, response.json
    return response.json


def agents(client):
    return client.get("/api/activity").json["data"]["agents"]


def test_agents_stay_off_the_page_by_default(client, auth, clock):
    post(client, auth, clock)
    assert agents(client) == []
    assert "Claude Code" not in client.get("/").get_data(as_text=True)


def test_each_state_follows_the_latest_record_and_the_clock(client, auth, clock, runner):
    set_setting(runner, "public_agents", "summary")
    start = clock.now
    for _ in range(3):
        post(client, auth, clock)
        clock.advance(seconds=20)
    post(client, auth, clock, type="message")
    assert agents(client) == [{"agent": "Claude Code", "state": "working", "since": iso(start), "toolCalls5m": 3}]

    clock.advance(seconds=61)   # no record for over a minute
    assert agents(client) == [{"agent": "Claude Code", "state": "idle", "since": iso(clock.now - timedelta(seconds=1)),
                               "toolCalls5m": 3}]
    clock.advance(minutes=4)    # the tool calls leave the 5-minute window
    assert agents(client)[0]["toolCalls5m"] == 0

    asked = clock.now
    post(client, auth, clock, type="permission_request", status="pending")
    clock.advance(seconds=1)   # the page shows agent records within a second (see the burst test)
    assert agents(client)[0] == {"agent": "Claude Code", "state": "waiting", "since": iso(asked), "toolCalls5m": 0}
    post(client, auth, clock, status="error")
    clock.advance(seconds=1)
    assert agents(client)[0]["state"] == "error"

    clock.advance(minutes=61)   # an hour after its latest record, the agent leaves the page
    assert agents(client) == []


def test_the_summary_never_shows_descriptions_commands_paths_or_metadata(client, auth, clock, runner):
    set_setting(runner, "public_agents", "summary")
    post(client, auth, clock)
    post(client, auth, clock, type="command", status="running")
    feed = client.get("/api/activity").get_data(as_text=True)
    html = client.get("/").get_data(as_text=True)
    response = client.get("/api/activity/stream", buffered=False)
    try:
        event = next(iter(response.response)).decode()
    finally:
        response.close()
    assert "Claude Code" in feed and "Claude Code" in html and "Claude Code" in event
    assert "working · 1 tool call in 5 min" in html
    for output in (feed, html, event):
        for secret in SECRETS:
            assert secret not in output
    assert set(json.loads(feed)["data"]["agents"][0]) == {"agent", "state", "since", "toolCalls5m"}


def test_a_burst_of_records_renders_the_feed_at_most_once_a_second(client, auth, clock, runner):
    set_setting(runner, "public_agents", "summary")
    post(client, auth, clock)
    first = client.get("/api/activity")
    assert first.json["data"]["agents"][0]["toolCalls5m"] == 1
    for _ in range(20):   # a burst within the same second: the rendering stands
        clock.advance(milliseconds=40)
        post(client, auth, clock)
        assert client.get("/api/activity").headers["ETag"] == first.headers["ETag"]
    clock.advance(milliseconds=200)   # a second after the rendering: every record shows
    assert agents(client)[0]["toolCalls5m"] == 21


def test_agent_records_leave_the_feed_alone_while_agents_are_off(client, auth, clock):
    etag = client.get("/api/activity").headers["ETag"]
    clock.advance(seconds=5)
    post(client, auth, clock)
    assert client.get("/api/activity", headers={"If-None-Match": etag}).status_code == 304
