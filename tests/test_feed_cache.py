"""The feed, the home page and the stream come from one rendering per change: ETag/304, invalidation, expiry."""
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
import requests

from waken import db, settings
from waken.db import orm
from waken.devices.registry import create_device
from waken.feed import privacy
from waken.feed.build import build_feed
from waken.schemas.feed import feed_response_schema

START = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
KEY = "wwd-cache-0000-1111-2222-333344445555"
OTHER = "wwd-cache-9999-1111-2222-333344445555"
pytestmark = [pytest.mark.clock(START), pytest.mark.usefixtures("clock")]


@pytest.fixture
def app(app):
    with app.app_context(), db.write():
        create_device("Desk", key=KEY)
        create_device("Phone", key=OTHER)
    return app


def report(client, auth, key=KEY, **fields):
    response = client.post("/api/activity", headers=auth,
                           json={"generatedHashKey": key, "process_name": "Code", **fields})
    assert response.status_code == 200, response.get_json()


def comparable(data):
    """The feed without what a snapshot states for its own moment (generatedAt, track positions)."""
    def item(i):
        return {**i, "nowPlaying": i["nowPlaying"] and {**i["nowPlaying"], "positionMs": None}}
    return {**data, "generatedAt": None, "activeStatuses": [item(i) for i in data["activeStatuses"]],
            "recentActivities": [item(i) for i in data["recentActivities"]]}


def assert_same_as_fresh(app, client, query=""):
    """What a visitor gets now equals the feed built from scratch at this moment."""
    served = client.get("/api/activity" + query)
    assert served.status_code == 200
    with app.test_request_context():
        limit = int(query.split("=")[1]) if query else 50
        feed = build_feed(limit)
        view = privacy.view_at(settings.load(), feed["generatedAt"])
        fresh = feed_response_schema.dump({"data": privacy.public_feed(feed, view)})["data"]
        orm.session.rollback()
    assert comparable(served.get_json()["data"]) == comparable(fresh)
    return served.get_json()["data"]


@pytest.mark.parametrize("path", ["/api/activity", "/"])
def test_conditional_get_is_answered_304_until_the_data_changes(client, auth, path):
    report(client, auth)
    first = client.get(path)
    assert first.status_code == 200
    etag = first.headers["ETag"]
    assert etag.startswith('W/"') and first.headers["Cache-Control"] == "no-cache"

    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag and again.headers["Cache-Control"] == "no-cache"
    assert client.get(path, headers={"If-None-Match": 'W/"something-else"'}).status_code == 200
    # Other forms a cache may send: a list holding the tag, the tag without W/ (compared weakly), *.
    for sent in (f'W/"something-else", {etag}', etag.removeprefix("W/"), "*"):
        assert client.get(path, headers={"If-None-Match": sent}).status_code == 304, sent

    report(client, auth, process_title="a new window")
    changed = client.get(path, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert b"a new window" in changed.data


def test_every_change_the_feed_shows_reaches_the_next_read(app, client, runner, auth):
    report(client, auth, metadata={"play_source": "spotify", "media": {"title": "Song", "status": "paused"}})
    report(client, auth, OTHER, process_name="Chrome")
    etags = {client.get("/api/activity").headers["ETag"]}
    assert assert_same_as_fresh(app, client)["activeStatuses"][1]["nowPlaying"]["source"] == "spotify"

    changes = [
        (["settings", "set", "history_window_minutes", "30"], lambda d: d["historyWindowMinutes"] == 30),
        (["settings", "set", "process_stale_seconds", "60"], lambda d: d["processStaleSeconds"] == 60),
        (["rule", "add", "spotify", "--rename", "Music"],
         lambda d: d["activeStatuses"][1]["nowPlaying"]["source"] == "Music"),
        (["rule", "delete", "spotify"], lambda d: d["activeStatuses"][1]["nowPlaying"]["source"] == "spotify"),
        (["settings", "set", "media_play_source_blocklist", '["spotify"]'],
         lambda d: d["activeStatuses"][1]["nowPlaying"] is None),
        (["app-rule", "add", "Chrome", "--rename", "Web"], lambda d: d["activeStatuses"][0]["processName"] == "Web"),
        (["app-rule", "delete", "Chrome"], lambda d: d["activeStatuses"][0]["processName"] == "Chrome"),
        (["device", "revoke", OTHER], lambda d: True),
        (["device", "delete", OTHER], lambda d: [s["device"] for s in d["activeStatuses"]] == ["Desk"]),
    ]
    for args, shows in changes:
        result = runner.invoke(args=args)
        assert result.exit_code == 0, result.output
        data = assert_same_as_fresh(app, client)
        assert shows(data), args
        etag = client.get("/api/activity").headers["ETag"]
        assert etag not in etags, args
        etags.add(etag)


def test_the_home_page_follows_settings_and_reports(client, runner, auth):
    report(client, auth, process_title="first")
    assert b"first" in client.get("/").data
    assert runner.invoke(args=["settings", "set", "site_name", "Ada's desk"]).exit_code == 0
    assert b"Ada&#39;s desk" in client.get("/").data
    report(client, auth, process_title="second")
    page = client.get("/").get_data(as_text=True)
    assert "second" in page and "first" not in page


def test_the_limit_is_part_of_the_key(app, client, auth, clock):
    for n in range(4):
        report(client, auth, process_name=f"App {n}")
        clock.advance(seconds=1)
    assert len(assert_same_as_fresh(app, client, "?limit=2")["recentActivities"]) == 2
    assert len(assert_same_as_fresh(app, client)["recentActivities"]) == 4
    assert len(client.get("/api/activity?limit=3").get_json()["data"]["recentActivities"]) == 3
    assert client.get("/api/activity?limit=2").headers["ETag"] != client.get("/api/activity").headers["ETag"]


def test_a_realtime_activity_goes_offline_exactly_on_time(app, client, auth, clock):
    report(client, auth, metadata={"media": {"title": "Song", "status": "playing",
                                             "positionMs": 1000, "durationMs": 600_000}})
    at_report = clock.now
    clock.advance(seconds=30)
    etag = client.get("/api/activity").headers["ETag"]

    clock.now = at_report + timedelta(seconds=180)       # the last instant it is live
    data = assert_same_as_fresh(app, client)
    assert [s["online"] for s in data["activeStatuses"]] == [True]
    assert client.get("/api/activity", headers={"If-None-Match": etag}).status_code == 304

    clock.now += timedelta(microseconds=1)              # the first instant it is not
    data = assert_same_as_fresh(app, client)
    assert data["activeStatuses"] == [] and data["recentActivities"][0]["online"] is False
    assert client.get("/api/activity", headers={"If-None-Match": etag}).status_code == 200
    assert "Song" in client.get("/").get_data(as_text=True)


def test_an_active_activity_expires_exactly_on_time(app, client, auth, clock):
    report(client, auth, push_mode="active", persist_minutes=5)
    report(client, auth, OTHER, process_name="Chrome", push_mode="active")    # never expires
    clock.now = START + timedelta(minutes=5)
    assert len(assert_same_as_fresh(app, client)["activeStatuses"]) == 2
    clock.now += timedelta(microseconds=1)
    assert [s["device"] for s in assert_same_as_fresh(app, client)["activeStatuses"]] == ["Phone"]
    clock.advance(days=3)      # nothing else changes by time alone: still the same answer
    assert [s["device"] for s in assert_same_as_fresh(app, client)["activeStatuses"]] == ["Phone"]


def test_an_activity_leaves_the_history_window_exactly_on_time(app, client, auth, clock):
    report(client, auth)
    clock.advance(seconds=10)
    report(client, auth, process_name="Terminal")        # ends Code at START + 10 s
    clock.advance(seconds=10)
    report(client, auth, push_mode="active")              # keeps one activity open for good
    leaves = START + timedelta(seconds=10, minutes=120)   # Code's end plus the 120-minute window
    for moment, names in ((leaves, ["Code", "Terminal", "Code"]),
                          (leaves + timedelta(microseconds=999), ["Code", "Terminal", "Code"]),
                          (leaves + timedelta(milliseconds=1), ["Code", "Terminal"])):
        clock.now = moment
        assert [a["processName"] for a in assert_same_as_fresh(app, client)["recentActivities"]] == names


def test_renderings_agree_across_workers_and_processes(start_server):
    server = start_server()
    token, key = server.token(), server.device("Laptop")
    auth = {"Authorization": f"Bearer {token}"}

    def read_many(path="/api/activity", headers=None):
        # Fresh connections, so both gunicorn workers answer some of them.
        return [requests.get(server.url + path, headers=headers, timeout=10) for _ in range(16)]

    for n in range(5):
        response = requests.post(server.url + "/api/activity", headers=auth, timeout=10,
                                 json={"generatedHashKey": key, "process_name": f"App {n}"})
        assert response.status_code == 200
        for got in read_many():
            assert got.json()["data"]["activeStatuses"][0]["processName"] == f"App {n}"
    etags = {got.headers["ETag"] for got in read_many()}
    assert len(etags) == 1       # every worker names the same rendering alike
    assert {got.status_code for got in read_many(headers={"If-None-Match": etags.pop()})} == {304}

    # A change made by another process (the CLI, straight into SQLite) reaches every worker.
    server.cli("settings", "set", "site_name", "Renamed by the CLI")
    assert all("Renamed by the CLI" in got.text for got in read_many("/"))
    with sqlite3.connect(server.instance / "waken.sqlite") as conn:
        conn.execute("UPDATE device SET name = 'Renamed in SQLite'")
    assert all(got.json()["data"]["activeStatuses"][0]["device"] == "Renamed in SQLite" for got in read_many())
