"""GET /api/activity: the track of an ended or offline activity stays where its last report left it."""
import pytest

from tests.feed_support import PLAYING, START, START_MS, feed, report

pytestmark = [pytest.mark.clock(START), pytest.mark.usefixtures("clock")]


def _recent(client, process):
    return next(a for a in feed(client)["recentActivities"] if a["processName"] == process)


def test_ended_activity_stops_at_its_last_report(client, auth, device, clock):
    report(client, auth, device, process_name="Spotify", metadata={"media": PLAYING})
    clock.advance(seconds=20)
    report(client, auth, device, process_name="Spotify", metadata={"media": PLAYING | {"positionMs": 103000}})
    clock.advance(seconds=10)
    report(client, auth, device, process_name="Code")
    first = _recent(client, "Spotify")
    assert first["endedAt"] is not None and first["online"] is False
    assert first["nowPlaying"]["status"] == "stopped"
    assert first["nowPlaying"]["positionMs"] == 103000
    clock.advance(minutes=1)
    later = _recent(client, "Spotify")["nowPlaying"]
    assert (later["status"], later["positionMs"]) == ("stopped", 103000)


def test_offline_realtime_activity_stops_and_live_one_still_advances(client, auth, device, clock):
    report(client, auth, device, process_name="Spotify", metadata={"media": PLAYING})
    clock.advance(seconds=10)
    live = feed(client)["activeStatuses"][0]["nowPlaying"]
    assert (live["status"], live["positionMs"]) == ("playing", 93000)

    clock.advance(minutes=10)    # far past the stale timeout: the device went quiet
    data = feed(client)
    assert data["activeStatuses"] == []
    gone = _recent(client, "Spotify")
    assert gone["online"] is False
    assert (gone["nowPlaying"]["status"], gone["nowPlaying"]["positionMs"]) == ("stopped", 83000)


def test_paused_track_of_an_ended_activity_stays_paused(client, auth, device, clock):
    report(client, auth, device, process_name="Spotify",
           metadata={"media": PLAYING | {"status": "paused", "positionMs": 5000}})
    clock.advance(seconds=5)
    report(client, auth, device, process_name="Code")
    clock.advance(seconds=50)
    playing = _recent(client, "Spotify")["nowPlaying"]
    assert (playing["status"], playing["positionMs"]) == ("paused", 5000)


def test_ended_discord_style_track_keeps_the_position_of_its_last_report(client, auth, device, clock):
    start = START_MS - 60000
    report(client, auth, device, process_name="Discord",
           metadata={"media": {"title": "Song", "timestamps": {"start": start, "end": start + 200000}}})
    clock.advance(seconds=30)
    report(client, auth, device, process_name="Code")
    clock.advance(minutes=3)
    playing = _recent(client, "Discord")["nowPlaying"]
    assert (playing["status"], playing["positionMs"], playing["durationMs"]) == ("stopped", 60000, 200000)
