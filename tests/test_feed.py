"""GET /api/activity: liveness, history window, battery, now-playing aliases and source rules."""
import json
import sqlite3
from datetime import UTC, datetime

import pytest
from sqlalchemy import event

from tests.feed_support import PLAYING, START, START_MS, feed, report
from waken import db
from waken.devices.registry import create_device

PHONE_KEY = "wwd-phone-0000-1111-2222-333344445555"
pytestmark = [pytest.mark.clock(START), pytest.mark.usefixtures("clock")]


@pytest.fixture
def phone(app):
    with app.app_context(), db.write():
        create_device("Phone", key=PHONE_KEY)
    return PHONE_KEY


def test_realtime_device_goes_stale_while_active_device_stays(client, auth, device, phone, clock):
    report(client, auth, device, device="Desk PC", device_type="desktop", process_title="main.py",
           battery_level=81.6, is_charging=True, metadata={"dc_source": "waken-reporter"})
    clock.advance(seconds=5)
    report(client, auth, phone, device="Pixel", device_type="mobile", process_name="Chrome",
           push_mode="active", battery_level=40)

    data = feed(client)
    assert [s["device"] for s in data["activeStatuses"]] == ["Pixel", "Desk PC"]
    desk = data["activeStatuses"][1]
    assert desk["online"] is True
    assert desk["deviceType"] == "desktop"
    assert desk["processName"] == "Code" and desk["processTitle"] == "main.py"
    assert desk["battery"] == {"percent": 82, "charging": True}
    assert desk["lastReportAt"] == "2026-05-01T12:00:00.000Z"
    assert desk["metadata"]["dc_source"] == "waken-reporter"
    assert data["activeStatuses"][0]["battery"] == {"percent": 40, "charging": None}
    assert data["processStaleSeconds"] == 180 and data["historyWindowMinutes"] == 120

    clock.advance(seconds=180)   # the desk's last report is now 185 s old
    data = feed(client)
    assert [s["device"] for s in data["activeStatuses"]] == ["Pixel"]
    assert {a["device"]: a["online"] for a in data["recentActivities"]} == {"Desk PC": False, "Pixel": True}
    assert data["generatedAt"] == "2026-05-01T12:03:05.000Z"


def test_feed_never_identifies_a_device_key(client, auth, device):
    report(client, auth, device, metadata={"media": {"title": "Song"}})
    body = client.get("/api/activity").get_data(as_text=True)
    assert device not in body
    assert "generatedHashKey" not in body


def test_active_mode_expires_after_persist_minutes(client, auth, device, clock):
    report(client, auth, device, push_mode="active", persist_minutes=10)
    clock.advance(minutes=9)
    assert len(feed(client)["activeStatuses"]) == 1
    clock.advance(minutes=2)
    assert feed(client)["activeStatuses"] == []


def test_recent_activities_window_and_limit(client, auth, device, clock):
    for name in ("One", "Two", "Three"):
        report(client, auth, device, process_name=name)
        clock.advance(minutes=1)
    assert [a["processName"] for a in feed(client)["recentActivities"]] == ["Three", "Two", "One"]
    assert [a["processName"] for a in feed(client, "?limit=2&public=1")["recentActivities"]] == ["Three", "Two"]
    assert len(feed(client, "?limit=5000")["recentActivities"]) == 3
    ended = feed(client)["recentActivities"][1]
    assert ended["endedAt"] == "2026-05-01T12:02:00.000Z" and ended["online"] is False

    clock.advance(minutes=119)   # "One" ended at 12:01, now outside the 120-minute window
    assert [a["processName"] for a in feed(client)["recentActivities"]] == ["Three", "Two"]


@pytest.mark.parametrize("query", ["?limit=abc", "?limit=0", "?limit=-3", "?limit=2.5"])
def test_bad_limit_is_a_clear_400(client, query):
    response = client.get("/api/activity" + query)
    assert response.status_code == 400
    body = response.get_json()
    assert body["success"] is False and "limit" in body["fields"]
    assert "limit" in body["error"]


TRACK_START = START_MS - 83000
TRACK_END = TRACK_START + 244000


def _iso(ms):
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat()


@pytest.mark.parametrize("media", [
    PLAYING,
    {"title": "Song", "artist": "Singer", "isPlaying": True, "elapsedMs": 83000, "lengthMs": 244000},
    {"title": " Song ", "singer": "Singer", "isPaused": False, "currentMs": 83000, "totalMs": 244000},
    {"title": "Song", "singer": "Singer", "status": "PLAYING", "progressMs": 83000, "durationMs": 244000},
    {"title": "Song", "singer": "Singer", "timestamps": {"start": TRACK_START, "end": TRACK_END}},
    {"title": "Song", "singer": "Singer", "timestamps": {"start": TRACK_START // 1000, "end": TRACK_END // 1000}},
    {"title": "Song", "singer": "Singer", "timestamps": {"start": _iso(TRACK_START), "end": _iso(TRACK_END)}},
    {"title": "Song", "singer": "Singer", "status": "playing", "positionMs": "83000",
     "timestamps": {"start": str(TRACK_START), "end": str(TRACK_END)}},
])
def test_every_media_alias_gives_the_same_now_playing(client, auth, device, clock, media):
    report(client, auth, device, metadata={"media": media})
    clock.advance(seconds=10)
    playing = feed(client)["activeStatuses"][0]["nowPlaying"]
    assert playing == {"title": "Song", "singer": "Singer", "album": None, "status": "playing",
                       "positionMs": 93000, "durationMs": 244000, "startMs": TRACK_START,
                       "endMs": TRACK_END, "coverUrl": None, "appIconUrl": None, "source": None}


@pytest.mark.parametrize("media", [
    {"title": "Song", "status": "paused", "positionMs": 83000, "durationMs": 244000},
    {"title": "Song", "isPlaying": False, "elapsedMs": 83000, "totalMs": 244000},
    {"title": "Song", "isPaused": True, "progressMs": 83000.4, "lengthMs": 244000},
])
def test_paused_track_keeps_its_position(client, auth, device, clock, media):
    report(client, auth, device, metadata={"media": media})
    clock.advance(seconds=30)
    playing = feed(client)["activeStatuses"][0]["nowPlaying"]
    assert (playing["status"], playing["positionMs"], playing["durationMs"]) == ("paused", 83000, 244000)


def test_playing_position_stops_at_the_track_end(client, auth, device, clock):
    report(client, auth, device, metadata={"media": PLAYING})
    clock.advance(minutes=2, seconds=50)
    assert feed(client)["activeStatuses"][0]["nowPlaying"]["positionMs"] == 244000


@pytest.mark.parametrize("media", [{"title": "   "}, {"title": None, "singer": "Singer"}, {"singer": "Singer"}, "Song"])
def test_media_without_a_title_is_not_shown(client, auth, device, media):
    report(client, auth, device, metadata={"media": media})
    assert feed(client)["activeStatuses"][0]["nowPlaying"] is None


def test_cover_icon_album_and_source_are_carried(client, auth, device):
    media = {**PLAYING, "album": "Album", "coverUrl": "https://img.example/c.jpg",
             "iconUrl": "https://img.example/app.png"}
    report(client, auth, device, metadata={"play_source": "cloudmusic.exe", "media": media})
    playing = feed(client)["activeStatuses"][0]["nowPlaying"]
    assert playing["album"] == "Album"
    assert playing["coverUrl"] == "https://img.example/c.jpg"
    assert playing["appIconUrl"] == "https://img.example/app.png"
    assert playing["source"] == "cloudmusic.exe"


def test_block_rule_hides_media_but_keeps_the_stored_row(app, client, runner, auth, device):
    result = runner.invoke(args=["rule", "add", "Spotify.exe", "--block"])
    assert result.exit_code == 0, result.output
    report(client, auth, device, metadata={"play_source": "spotify.EXE", "dc_source": "x", "media": PLAYING})

    for item in (feed(client)["activeStatuses"][0], feed(client)["recentActivities"][0]):
        assert item["nowPlaying"] is None
        assert "media" not in item["metadata"]
        assert item["metadata"]["dc_source"] == "x"
    with sqlite3.connect(app.config["DATABASE"]) as conn:
        (stored,) = conn.execute("SELECT metadata FROM device_activity").fetchone()
    assert json.loads(stored)["media"]["title"] == "Song"

    assert runner.invoke(args=["rule", "delete", "spotify.exe"]).exit_code == 0
    assert feed(client)["activeStatuses"][0]["nowPlaying"]["title"] == "Song"


def test_legacy_blocklist_setting_blocks(client, runner, auth, device):
    result = runner.invoke(args=["settings", "set", "media_play_source_blocklist", '["Foobar2000"]'])
    assert result.exit_code == 0, result.output
    report(client, auth, device, metadata={"play_source": "foobar2000", "media": PLAYING})
    item = feed(client)["activeStatuses"][0]
    assert item["nowPlaying"] is None and "media" not in item["metadata"]


def test_rename_rule_sets_the_source_label(client, runner, auth, device):
    assert runner.invoke(args=["rule", "add", "cloudmusic.exe", "--rename", "NetEase Music"]).exit_code == 0
    report(client, auth, device, metadata={"play_source": "CloudMusic.exe", "play_source_name": "cm", "media": PLAYING})
    item = feed(client)["activeStatuses"][0]
    assert item["nowPlaying"]["source"] == "NetEase Music"
    assert item["metadata"]["media"]["title"] == "Song"


def test_feed_query_count_does_not_grow_with_devices(app, client, auth):
    statements = []

    def traced_checkout(driver, record, proxy):
        driver.set_trace_callback(statements.append)

    def queries_for_feed():
        statements.clear()
        feed(client)
        return len([sql for sql in statements if sql.startswith("SELECT")])

    event.listen(app.extensions["waken.engine"], "checkout", traced_checkout)
    with app.app_context(), db.write():
        for n in range(6):
            create_device(f"Device {n}", key=f"wwd-device-{n:04d}")
    report(client, auth, "wwd-device-0000")
    one = queries_for_feed()
    for n in range(1, 6):
        report(client, auth, f"wwd-device-{n:04d}", metadata={"media": PLAYING})
    many = queries_for_feed()    # the first read after the reports renders anew
    assert len(feed(client)["activeStatuses"]) == 6
    assert 1 <= many == one <= 6, statements


@pytest.mark.parametrize("extra, expected", [
    ({"positionMs": True, "durationMs": "abc"}, (None, None, None)),
    ({"positionMs": -5, "durationMs": -1, "timestamps": {"start": "yesterday"}}, (None, None, None)),
    ({"positionMs": 10**400, "durationMs": 1000, "status": "paused"}, ("paused", 1000, 1000)),
    ({"timestamps": {"start": [1], "end": {"x": 1}}, "status": "stopped"}, ("stopped", None, None)),
    ({"timestamps": "soon", "isPlaying": "yes"}, (None, None, None)),
])
def test_odd_media_values_never_break_the_feed(client, auth, device, extra, expected):
    report(client, auth, device, metadata={"media": {"title": "Song", **extra}})
    playing = feed(client)["activeStatuses"][0]["nowPlaying"]
    assert (playing["status"], playing["positionMs"], playing["durationMs"]) == expected
