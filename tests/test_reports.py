"""POST /api/activity and /verify through HTTP, over a real SQLite file, with an injected clock."""
import base64
import io
import json
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest
from PIL import Image

from tests.support import DEVICE_KEY, db_rows

START = datetime(2026, 11, 1, 12, 0, tzinfo=timezone.utc)
pytestmark = pytest.mark.clock(START)


def body(**fields):
    """A report as the real reporter builds it: every key present, null when absent."""
    report = {"generatedHashKey": DEVICE_KEY, "process_name": "Code.exe", "device": "DESKTOP-7QK2M",
              "process_title": "main.py - waken", "persist_minutes": None, "battery_level": None,
              "is_charging": None, "device_type": "desktop", "push_mode": "realtime", "metadata": None}
    report.update(fields)
    return report


@pytest.fixture
def post(client, auth, device, clock):
    def post(headers=None, **fields):
        return client.post("/api/activity", json=body(**fields), headers={**auth, **(headers or {})})
    return post


def test_report_is_stored_and_echoed(post, app):
    response = post(metadata={"dc_source": "ab" * 32})
    assert response.status_code == 200
    data = response.json["data"]
    assert response.json["success"] is True
    assert data["processName"] == "Code.exe" and data["processTitle"] == "main.py - waken"
    assert data["device"] == "DESKTOP-7QK2M" and data["deviceType"] == "desktop"
    assert data["pushMode"] == "realtime" and data["endedAt"] is None
    assert data["startedAt"] == "2026-11-01T12:00:00.000Z"
    assert data["metadata"] == {"dc_source": "ab" * 32}
    assert DEVICE_KEY not in response.get_data(as_text=True)
    assert db_rows(app, "SELECT process_name, ended_at FROM device_activity") == [("Code.exe", None)]


def test_the_answer_is_what_the_documented_schema_dumps(post):
    from waken.schemas.reports import activity_item_schema, dump_activity_item
    data = post(device="Desk", metadata={"media": {"title": "Song"}}).json["data"]
    activity = SimpleNamespace(**{"device": {"name": "Desk", "device_type": "desktop"}, "ended_at": None,
                                  "process_name": data["processName"], "process_title": data["processTitle"],
                                  "push_mode": data["pushMode"], "meta": data["metadata"], "id": data["id"],
                                  "started_at": START, "updated_at": START})
    assert dump_activity_item(activity) == activity_item_schema.dump(activity)
    assert set(data) == set(activity_item_schema.dump(activity))


@pytest.mark.parametrize("fields, field", [
    ({"generatedHashKey": None}, "generatedHashKey"),
    ({"generatedHashKey": "   "}, "generatedHashKey"),
    ({"generatedHashKey": "k" * 129}, "generatedHashKey"),
    ({"process_name": ""}, "process_name"),
    ({"process_name": None}, "process_name"),
    ({"process_name": "x" * 257}, "process_name"),
    ({"process_name": 42}, "process_name"),
    ({"process_title": "t" * 1025}, "process_title"),
    ({"process_title": ["a"]}, "process_title"),
    ({"device": "d" * 129}, "device"),
    ({"battery_level": 101}, "battery_level"),
    ({"battery_level": -1}, "battery_level"),
    ({"battery_level": "50"}, "battery_level"),
    ({"battery_level": True}, "battery_level"),
    ({"is_charging": "yes"}, "is_charging"),
    ({"is_charging": 1}, "is_charging"),
    ({"device_type": "fridge"}, "device_type"),
    ({"push_mode": "sometimes"}, "push_mode"),
    ({"persist_minutes": 0}, "persist_minutes"),
    ({"persist_minutes": 1441}, "persist_minutes"),
    ({"persist_minutes": 2.5}, "persist_minutes"),
    ({"metadata": []}, "metadata"),
    ({"metadata": "x"}, "metadata"),
])
def test_invalid_fields_are_400_with_a_message(post, app, fields, field):
    response = post(**fields)
    assert response.status_code == 400
    assert response.json["success"] is False
    assert field in response.json["fields"]
    assert field in response.json["error"]
    assert db_rows(app, "SELECT count(*) FROM device_activity") == [(0,)]


@pytest.mark.parametrize("raw, message", [
    (b"{", "not valid JSON"),
    (b"[1, 2]", "JSON object"),
    (b"", "empty"),
    (b'{"battery_level": NaN}', "NaN"),
    (b"\xff\xfe\x00garbage", "UTF-8"),
    (b"[" * 100000 + b"]" * 100000, "nested too deeply"),
])
def test_malformed_bodies_are_400(client, auth, device, raw, message):
    response = client.post("/api/activity", data=raw, headers=auth)
    assert response.status_code == 400
    assert message in response.json["error"]


def test_missing_content_type_is_accepted(client, auth, device):
    response = client.post("/api/activity", data=json.dumps(body()), headers=auth)
    assert response.status_code == 200


def test_unknown_top_level_keys_are_ignored(post):
    assert post(colour="blue").status_code == 200


def test_explicit_nulls_mean_not_given(post):
    first = post(process_title="first", metadata={"a": 1}, battery_level=50, is_charging=True)
    second = post(process_title=None, metadata=None, battery_level=None, is_charging=None,
                  device=None, device_type=None, push_mode=None)
    assert second.status_code == 200
    assert second.json["data"]["id"] == first.json["data"]["id"]
    assert second.json["data"]["processTitle"] == "first"
    assert second.json["data"]["metadata"] == {"a": 1, "deviceBatteryPercent": 50, "deviceBatteryCharging": True}


@pytest.mark.parametrize("headers, status", [
    ({"Authorization": ""}, 401),
    ({"Authorization": "Bearer"}, 401),
    ({"Authorization": "Basic abc"}, 401),
    ({"Authorization": "Bearer not-a-token"}, 401),
])
def test_token_is_required(post, headers, status):
    response = post(headers=headers)
    assert response.status_code == status
    assert "token" in response.json["error"].lower()


def test_token_in_query_string_is_not_accepted(client, token, device, clock):
    response = client.post(f"/api/activity?token={token}&access_token={token}", json=body())
    assert response.status_code == 401


def test_disabled_token_is_401(post, runner):
    runner.invoke(args=["token", "disable", "1"])
    assert post().status_code == 401


def test_token_last_used_is_recorded(post, app, clock):
    post()
    assert db_rows(app, "SELECT last_used_at FROM api_token") == [(int(START.timestamp() * 1000),)]


def test_device_rules(post, runner, app):
    assert post(generatedHashKey="wwd-unknown-device").status_code == 403
    assert post(generatedHashKey="waken-web-admin").status_code == 403
    runner.invoke(args=["token", "create", "other"])
    runner.invoke(args=["device", "create", "Bound", "--key", "wwd-bound-to-2", "--token", "2"])
    assert post(generatedHashKey="wwd-bound-to-2").status_code == 403
    runner.invoke(args=["device", "revoke", DEVICE_KEY])
    response = post()
    assert response.status_code == 403 and "revoked" in response.json["error"]


def test_pending_registration_answers_202_with_approval_url(post, runner, app):
    runner.invoke(args=["settings", "set", "device_registration", "pending"])
    response = post(generatedHashKey="wwd-new-phone-0001", device="Pixel 8")
    assert response.status_code == 202
    assert response.json["success"] is False and response.json["pending"] is True
    assert response.json["error"]
    assert response.json["approvalUrl"].endswith("/admin/devices?key=wwd-new-phone-0001")
    assert db_rows(app, "SELECT name, status, token_id FROM device WHERE hash_key='wwd-new-phone-0001'") == [
        ("Pixel 8", "pending", 1)]
    assert post(generatedHashKey="wwd-new-phone-0001").status_code == 202
    runner.invoke(args=["device", "approve", "wwd-new-phone-0001"])
    assert post(generatedHashKey="wwd-new-phone-0001").status_code == 200
    assert db_rows(app, "SELECT count(*) FROM device_activity") == [(1,)]


def test_auto_registration_stores_the_report(post, runner, app):
    runner.invoke(args=["settings", "set", "device_registration", "auto"])
    assert post(generatedHashKey="wwd-new-laptop-01").status_code == 200
    assert db_rows(app, "SELECT status, token_id FROM device WHERE hash_key='wwd-new-laptop-01'") == [("active", 1)]


def test_same_process_merges_title_then_singer(post):
    first = post(metadata={"media": {"title": "Song"}})
    second = post(metadata={"media": {"singer": "Artist"}})
    assert second.json["data"]["id"] == first.json["data"]["id"]
    assert second.json["data"]["metadata"]["media"] == {"title": "Song", "singer": "Artist"}


def test_a_new_track_title_replaces_the_media_object(post):
    post(metadata={"media": {"title": "Old", "album": "Old album", "coverUrl": "https://x.test/a.png"}})
    response = post(metadata={"media": {"title": "New", "singer": "B"}})
    assert response.json["data"]["metadata"]["media"] == {"title": "New", "singer": "B"}


def test_top_level_metadata_is_shallow_merged(post):
    post(metadata={"a": 1, "nested": {"x": 1}})
    response = post(metadata={"b": 2, "nested": {"y": 2}})
    assert response.json["data"]["metadata"] == {"a": 1, "b": 2, "nested": {"y": 2}}


def test_battery_and_charging(post):
    response = post(battery_level=76.6, isCharging=True)
    assert response.json["data"]["metadata"] == {"deviceBatteryPercent": 77, "deviceBatteryCharging": True}
    response = post(battery_level=70)
    assert response.json["data"]["metadata"]["deviceBatteryCharging"] is True
    # A new process keeps the device's battery state when the report omits it.
    response = post(process_name="firefox")
    assert response.json["data"]["metadata"] == {"deviceBatteryPercent": 70, "deviceBatteryCharging": True}


def test_another_process_ends_the_open_activity(post, app, clock):
    first = post()
    clock.advance(seconds=30)
    second = post(process_name="firefox")
    assert second.json["data"]["id"] != first.json["data"]["id"]
    ended = db_rows(app, f"SELECT ended_at FROM device_activity WHERE id={first.json['data']['id']}")
    assert ended == [(int(clock.now.timestamp() * 1000),)]
    assert db_rows(app, "SELECT count(*) FROM device_activity WHERE ended_at IS NULL") == [(1,)]


def test_stale_realtime_activity_is_ended_at_its_last_report(post, app, clock):
    first = post()
    last_report = clock.now
    clock.advance(seconds=181)   # past the default process_stale_seconds of 180
    second = post()
    assert second.json["data"]["id"] != first.json["data"]["id"]
    assert db_rows(app, f"SELECT ended_at FROM device_activity WHERE id={first.json['data']['id']}") == [
        (int(last_report.timestamp() * 1000),)]


def test_active_mode_outlives_the_stale_timeout_until_persist_minutes(post, clock):
    first = post(push_mode="persistent", persist_minutes=30)
    assert first.json["data"]["pushMode"] == "active"
    clock.advance(minutes=29)
    assert post(push_mode="active", persist_minutes=30).json["data"]["id"] == first.json["data"]["id"]
    clock.advance(minutes=31)
    assert post(push_mode="active", persist_minutes=30).json["data"]["id"] != first.json["data"]["id"]


def test_device_name_and_type_update_only_when_given(post, app):
    post(device="Laptop", device_type="TABLET")
    post(device=None, device_type=None)
    assert db_rows(app, "SELECT name, device_type FROM device") == [("Laptop", "tablet")]


def _data_url(fmt, size=(600, 400), mime=None):
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, fmt)
    return f"data:{mime or 'image/' + fmt.lower()};base64," + base64.b64encode(buffer.getvalue()).decode()


def test_cover_and_icon_are_stored_and_served(post, client, app):
    response = post(metadata={"media": {"title": "Song", "coverDataUrl": _data_url("PNG"),
                                        "iconDataUrl": _data_url("PNG", (256, 256))}})
    media = response.json["data"]["metadata"]["media"]
    assert media["coverUrl"].startswith("http://localhost/media/cover/")
    assert media["appIconUrl"].startswith("http://localhost/media/icon/")
    assert "coverDataUrl" not in media and "iconDataUrl" not in media
    with client.get(media["coverUrl"].removeprefix("http://localhost")) as image:
        assert image.status_code == 200 and image.headers["X-Content-Type-Options"] == "nosniff"
        assert "immutable" in image.headers["Cache-Control"]
        assert max(Image.open(io.BytesIO(image.data)).size) == 512
    assert "data:image" not in db_rows(app, "SELECT metadata FROM device_activity")[0][0]
    assert db_rows(app, "SELECT kind FROM media_asset ORDER BY kind") == [("cover",), ("icon",)]


def test_public_url_setting_is_the_base_of_cover_urls(post, runner):
    runner.invoke(args=["settings", "set", "public_url", "https://status.example.org/"])
    response = post(metadata={"media": {"title": "S", "coverDataUrl": _data_url("JPEG")}})
    assert response.json["data"]["metadata"]["media"]["coverUrl"].startswith(
        "https://status.example.org/media/cover/")


def test_plain_urls_pass_through_and_bad_images_only_warn(post):
    response = post(metadata={"media": {"title": "S", "coverDataUrl": "https://cdn.test/c.jpg",
                                        "appIconDataUrl": "data:image/svg+xml;base64,PHN2Zz48L3N2Zz4="}})
    assert response.status_code == 200
    media = response.json["data"]["metadata"]["media"]
    assert media == {"title": "S", "coverUrl": "https://cdn.test/c.jpg"}
    assert any("SVG" in w for w in response.json["warnings"])


@pytest.mark.parametrize("setting, key", [("media_cover_display", "coverDataUrl"),
                                          ("report_app_icon", "appIconDataUrl")])
def test_image_toggles_drop_data_urls(post, runner, app, setting, key):
    runner.invoke(args=["settings", "set", setting, "false"])
    response = post(metadata={"media": {"title": "S", key: _data_url("PNG")}})
    assert response.json["data"]["metadata"]["media"] == {"title": "S"}
    assert response.json["warnings"]
    assert db_rows(app, "SELECT count(*) FROM media_asset") == [(0,)]


def test_javascript_urls_are_not_kept(post):
    response = post(metadata={"media": {"title": "S", "coverUrl": "javascript:alert(1)"}})
    assert "coverUrl" not in response.json["data"]["metadata"]["media"]


def test_oversized_metadata_is_refused(post, app):
    response = post(metadata={"blob": "x" * 70_000})
    assert response.status_code == 413
    assert "KiB" in response.json["error"]
    assert db_rows(app, "SELECT count(*) FROM device_activity") == [(0,)]


def test_oversized_body_is_413_json(client, auth, device):
    response = client.post("/api/activity", data=b"{" + b" " * (9 * 1024 * 1024) + b"}", headers=auth)
    assert response.status_code == 413
    assert response.json["success"] is False


def test_app_records(post, app, runner):
    for title in ("a", "b", "a", "c", "d"):
        post(process_title=title)
    post(process_name="com.tencent.mm", device_type="mobile", process_title="WeChat")
    assert db_rows(app, "SELECT app_group, process_name, titles FROM app_record ORDER BY id") == [
        ("pc", "Code.exe", '["d","c","a"]'), ("mobile", "com.tencent.mm", '["WeChat"]')]
    runner.invoke(args=["settings", "set", "save_app_records", "false"])
    post(process_name="new.exe")
    assert db_rows(app, "SELECT count(*) FROM app_record") == [(2,)]


def test_verify(client, auth, device, runner):
    response = client.post("/api/activity/verify", json={"generatedHashKey": DEVICE_KEY,
                                                         "device": "iPad", "deviceType": "tablet"},
                           headers=auth)
    assert response.status_code == 200
    assert response.json == {"success": True, "data": {
        "tokenValid": True, "approved": True, "deviceStatus": "active",
        "generatedHashKey": DEVICE_KEY, "displayName": "iPad"}}   # the name sent (reporter case 15)
    assert client.post("/api/activity/verify", json={"generatedHashKey": "wwd-nobody-here"},
                       headers=auth).status_code == 403
    assert client.post("/api/activity/verify", json={}, headers=auth).status_code == 400
    assert client.post("/api/activity/verify", json={"generatedHashKey": DEVICE_KEY}).status_code == 401
    runner.invoke(args=["settings", "set", "device_registration", "pending"])
    response = client.post("/api/activity/verify", json={"generatedHashKey": "wwd-new-ipad-01"}, headers=auth)
    assert response.status_code == 202 and response.json["pending"] is True


@pytest.mark.parametrize("path", ["/api/activity", "/api/activity/verify"])
def test_a_bad_token_is_401_even_with_a_bad_body(client, device, path):
    response = client.post(path, data=b"{not json", headers={"Authorization": "Bearer wrong"})
    assert response.status_code == 401
