"""The expiry and retention sweeps with injected time, and the `sweep` command."""
import base64
import io
import os
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image

from tests.support import DEVICE_KEY, db_rows
from waken import db, sweeps
from waken.db import connect_sqlite
from waken.devices.registry import create_device
from waken.timeutil import from_ms, iso

MS = timedelta(milliseconds=1)



# Near the real time, because the media sweep also judges files by their mtime.
pytestmark = pytest.mark.clock(lambda: datetime.now(UTC).replace(microsecond=0))


def run(app, sweep, at):
    with app.app_context():
        return sweep(at)


def report(client, auth, key=DEVICE_KEY, **fields):
    body = {"generatedHashKey": key, "process_name": "Code.exe", "process_title": "main.py"}
    body.update(fields)
    response = client.post("/api/activity", json=body, headers=auth)
    assert response.status_code == 200, response.json
    return response.json["data"]


def online(client, clock, at):
    """The device ids the public feed shows as live at `at`."""
    clock.now, before = at, clock.now
    statuses = client.get("/api/activity").json["data"]["activeStatuses"]
    clock.now = before
    return [item["id"] for item in statuses]


def png_data_url(color, size=8):
    buffer = io.BytesIO()
    Image.new("RGB", (size, size), color).save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def set_setting(runner, key, value):
    result = runner.invoke(args=["settings", "set", key, str(value)])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("stale_seconds", [None, 30])
def test_stale_realtime_activity_ends_at_its_last_report(app, client, auth, device, clock, runner,
                                                         stale_seconds):
    if stale_seconds:
        set_setting(runner, "process_stale_seconds", stale_seconds)
    stale = timedelta(seconds=stale_seconds or 180)
    first = report(client, auth)
    clock.advance(seconds=20)
    merged = report(client, auth, process_title="other.py")          # the last report
    assert merged["id"] == first["id"]
    last = clock.now

    # The sweep and the feed agree to the millisecond on when it stops being live.
    assert online(client, clock, last + stale) == [first["id"]]
    assert run(app, sweeps.expire_activities, last + stale) == 0
    assert online(client, clock, last + stale + MS) == []
    assert run(app, sweeps.expire_activities, last + stale + MS) == 1
    (ended, updated), = db_rows(app, "SELECT ended_at, updated_at FROM device_activity")
    assert from_ms(ended) == last and ended == updated
    clock.now = last + stale + MS
    item, = client.get("/api/activity").json["data"]["recentActivities"]
    assert item["endedAt"] == iso(last) and item["online"] is False
    assert run(app, sweeps.expire_activities, last + timedelta(days=1)) == 0     # idempotent
    assert db_rows(app, "SELECT ended_at FROM device_activity") == [(ended,)]


def test_active_activities_end_only_at_their_persist_expiry(app, client, auth, device, clock):
    forever = report(client, auth, process_name="Reader", push_mode="active")
    at = clock.now
    assert run(app, sweeps.expire_activities, at + timedelta(days=10)) == 0
    assert db_rows(app, "SELECT ended_at FROM device_activity") == [(None,)]
    assert online(client, clock, at + timedelta(days=10)) == [forever["id"]]

    music = report(client, auth, process_name="Music", push_mode="active", persist_minutes=5)
    expires = clock.now + timedelta(minutes=5)
    assert run(app, sweeps.expire_activities, expires) == 0
    assert online(client, clock, expires) == [music["id"]]
    assert run(app, sweeps.expire_activities, expires + MS) == 1
    assert online(client, clock, expires + MS) == []
    assert db_rows(app, "SELECT ended_at = updated_at FROM device_activity WHERE id = ?", (music["id"],)) == [(1,)]


def test_agent_rows_past_retention_leave_reads_at_once_and_disk_at_the_sweep(app, client, auth, clock):
    def post(description):
        response = client.post("/api/activities", headers=auth, json={
            "type": "tool_call", "description": description, "status": "success"})
        assert response.status_code == 201, response.json
        return response.json["id"]

    def listed(at):
        clock.now, before = at, clock.now
        body = client.get("/api/activities", headers=auth).json
        clock.now = before
        return [a["id"] for a in body["activities"]]

    start = clock.now
    old = post("old")
    clock.advance(days=20)
    kept = post("kept")
    boundary = start + timedelta(days=30)
    assert listed(boundary) == [kept, old]
    assert run(app, sweeps.apply_retention, boundary)["agent activities deleted"] == 0
    assert listed(boundary + MS) == [kept]                           # gone from reads before any sweep
    assert len(db_rows(app, "SELECT id FROM agent_activity")) == 2
    assert run(app, sweeps.apply_retention, boundary + MS)["agent activities deleted"] == 1
    assert db_rows(app, "SELECT id FROM agent_activity") == [(kept,)]
    assert run(app, sweeps.apply_retention, boundary + MS)["agent activities deleted"] == 0


def test_agent_retention_follows_the_setting(app, client, auth, clock, runner):
    for age in (3, 6):
        conn = connect_sqlite(app.config["DATABASE"])
        ms = int((clock.now - timedelta(days=age)).timestamp() * 1000)
        conn.execute("INSERT INTO agent_activity (type, description, status, timestamp, created_at) "
                     "VALUES ('command', ?, 'success', ?, ?)", (f"{age} days ago", ms, ms))
        conn.close()
    assert run(app, sweeps.apply_retention, clock.now)["agent activities deleted"] == 0
    set_setting(runner, "agent_retention_days", 5)
    assert run(app, sweeps.apply_retention, clock.now)["agent activities deleted"] == 1
    assert db_rows(app, "SELECT description FROM agent_activity") == [("3 days ago",)]


def test_device_rows_past_retention_are_deleted_but_never_a_live_one(app, client, auth, device, clock):
    with app.app_context(), db.write():
        create_device("Tablet", key="tablet-key-0001")
    start = clock.now
    old = report(client, auth, process_name="Old")
    pinned = report(client, auth, key="tablet-key-0001", process_name="Reader", push_mode="active")
    clock.advance(days=2)
    newer = report(client, auth, process_name="Newer")               # ends the first
    cutoff_day = start + timedelta(days=90)
    assert run(app, sweeps.apply_retention, cutoff_day)["device activities deleted"] == 0
    assert run(app, sweeps.apply_retention, cutoff_day + MS)["device activities deleted"] == 1
    assert {r[0] for r in db_rows(app, "SELECT id FROM device_activity")} == {pinned["id"], newer["id"]}

    # The open realtime row is long stale by then, so it goes too; the active row
    # without an expiry is still the tablet's current status, and stays.
    later = cutoff_day + timedelta(days=30)
    assert run(app, sweeps.apply_retention, later)["device activities deleted"] == 1
    assert db_rows(app, "SELECT id, ended_at FROM device_activity") == [(pinned["id"], None)]
    assert online(client, clock, later) == [pinned["id"]]
    assert run(app, sweeps.apply_retention, later)["device activities deleted"] == 0
    assert old["id"] not in (pinned["id"], newer["id"])


def test_orphaned_media_goes_after_the_grace_period(app, client, auth, device, clock):
    media = app.config["MEDIA_DIR"]
    first = report(client, auth, process_name="Player", metadata={"media": {
        "title": "Blue", "coverDataUrl": png_data_url("blue"), "appIconDataUrl": png_data_url("green")}})
    blue = first["metadata"]["media"]["coverUrl"].rsplit("/", 1)[1]
    green = first["metadata"]["media"]["appIconUrl"].rsplit("/", 1)[1]
    covers, icons = os.path.join(media, "cover"), os.path.join(media, "icon")
    stray_old, stray_young = os.path.join(covers, "0" * 32 + ".png"), os.path.join(icons, "1" * 32 + ".jpg")
    foreign = [os.path.join(covers, "notes.txt"), os.path.join(covers, ".half-written.tmp"),
               os.path.join(icons, "A" * 32 + ".png")]
    for path in (stray_old, stray_young, *foreign):
        with open(path, "wb") as f:
            f.write(b"no row points here")
    two_hours_ago, ten_minutes_on = clock.now.timestamp() - 7200, clock.now.timestamp() + 600
    for path in (stray_old, *foreign, os.path.join(covers, blue), os.path.join(icons, green)):
        os.utime(path, (two_hours_ago, two_hours_ago))
    os.utime(stray_young, (ten_minutes_on, ten_minutes_on))

    # Referenced files stay whatever their age; so does the young stray, which may
    # belong to a report that has not committed yet.
    done = run(app, sweeps.remove_orphaned_media, clock.now)
    assert done == {"media records deleted": 0, "media files deleted": 1}
    assert not os.path.exists(stray_old)
    assert sorted(os.listdir(covers)) == sorted([blue, "notes.txt", ".half-written.tmp"])

    clock.advance(minutes=2)                                         # a new track: blue and green unreferenced
    second = report(client, auth, process_name="Player", metadata={"media": {
        "title": "Red", "coverDataUrl": png_data_url("red")}})
    assert second["id"] == first["id"] and "appIconUrl" not in second["metadata"]["media"]
    red = second["metadata"]["media"]["coverUrl"].rsplit("/", 1)[1]
    grace_end = clock.now - timedelta(minutes=2) + timedelta(hours=1)
    assert run(app, sweeps.remove_orphaned_media, grace_end)["media files deleted"] == 0
    assert run(app, sweeps.remove_orphaned_media, grace_end + MS) == {
        "media records deleted": 2, "media files deleted": 2}
    assert sorted(os.listdir(covers)) == sorted([red, "notes.txt", ".half-written.tmp"])
    assert db_rows(app, "SELECT kind, filename FROM media_asset") == [("cover", red)]
    assert client.get(f"/media/cover/{blue}").status_code == 404
    with client.get(f"/media/cover/{red}") as served:
        assert served.status_code == 200

    # Once the activity itself is past retention, its cover goes with it.
    done = run(app, sweeps.apply_retention, clock.now + timedelta(days=91))
    assert done["device activities deleted"] == 1 and done["media records deleted"] == 1
    assert done["media files deleted"] == 2                          # red, and the stray that grew old
    assert sorted(os.listdir(covers)) == sorted(["notes.txt", ".half-written.tmp"])
    assert os.listdir(icons) == ["A" * 32 + ".png"]
    assert db_rows(app, "SELECT count(*) FROM media_asset") == [(0,)]
    assert run(app, sweeps.remove_orphaned_media, clock.now + timedelta(days=91)) == {
        "media records deleted": 0, "media files deleted": 0}


def test_run_all_twice_changes_nothing_more(app, client, auth, device, clock):
    report(client, auth, metadata={"media": {"title": "Song", "coverDataUrl": png_data_url("blue")}})
    later = clock.now + timedelta(days=100)
    first = run(app, sweeps.run_all, later)
    assert first == {"device activities ended": 1, "agent activities deleted": 0,
                     "device activities deleted": 1, "day rollup rows deleted": 1, "media records deleted": 1,
                     "media files deleted": 1, "alert deliveries deleted": 0}
    snapshot = db_rows(app, "SELECT * FROM device_activity"), os.listdir(os.path.join(app.config["MEDIA_DIR"], "cover"))
    assert set(run(app, sweeps.run_all, later).values()) == {0}
    assert (db_rows(app, "SELECT * FROM device_activity"), os.listdir(os.path.join(app.config["MEDIA_DIR"], "cover"))) == snapshot


def test_sweep_command_prints_what_it_did(app, client, auth, device, clock, runner):
    report(client, auth)
    old = int((clock.now - timedelta(days=31)).timestamp() * 1000)
    conn = connect_sqlite(app.config["DATABASE"])
    conn.execute("INSERT INTO agent_activity (type, description, status, timestamp, created_at) "
                 "VALUES ('command', 'ls', 'success', ?, ?)", (old, old))
    conn.close()
    clock.advance(minutes=5)
    result = runner.invoke(args=["sweep"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "device activities ended: 1", "agent activities deleted: 1", "device activities deleted: 0",
        "day rollup rows deleted: 0", "media records deleted: 0", "media files deleted: 0",
        "alert deliveries deleted: 0"]
    again = runner.invoke(args=["sweep"])
    assert [line.rsplit(": ", 1)[1] for line in again.output.splitlines()] == ["0"] * 7
