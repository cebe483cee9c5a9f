"""The waken-wa-reporter replay set, sent to a real gunicorn server exactly as the client builds it."""
import base64
import hashlib
import io
import json
import random
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from PIL import Image

K = "wwd-6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f"
DC = hashlib.sha256(b"waken-wa-reporter discord id").hexdigest()
REPORTER_UA = "waken-wa-tauri-reporter/0.1.0"
MANUAL_UA = "waken-wa-tauri-client/0.1.0"
LAB = "wwd-1a1a1a1a-2b2b-4c3c-8d4d-5e5e5e5e5e5e"       # scenario device (merges, liveness)
REVOKED = "wwd-deadbeef-0000-4000-8000-000000000001"
BOUND = "wwd-b0b0b0b0-0000-4000-8000-000000000002"      # bound to the "other" token
IPAD = "wwd-1ad1ad1a-0000-4000-8000-000000000003"
STALE_MS = 300_000   # well past the default process_stale_seconds (180 s)


@pytest.fixture(scope="module")
def env(server):
    """A token, a second (bound) token, a disabled token and the devices the replay needs."""
    with ThreadPoolExecutor(3) as pool:
        token = pool.submit(server.token, "reporter")
        other = pool.submit(server.cli, "token", "create", "other")
        disabled = pool.submit(server.cli, "token", "create", "disabled")
        other_id = other.result().splitlines()[0].split()[2]
        disabled_out = disabled.result().strip().splitlines()
        jobs = [pool.submit(server.cli, "token", "disable", disabled_out[0].split()[2]),
                pool.submit(server.device, "Bound", BOUND, "--token", other_id)]
        jobs += [pool.submit(server.device, name, key)
                 for name, key in (("Desk", K), ("Lab", LAB), ("Old phone", REVOKED), ("iPad", IPAD))]
        for job in jobs:
            job.result()
        token = token.result()
    server.cli("device", "revoke", REVOKED)
    return {"token": token, "disabled": disabled_out[-1]}


def client_body(**changes):
    """The 10 keys the reporter always sends, absent values as explicit null."""
    body = {"generatedHashKey": K, "process_name": "Code.exe", "device": "DESKTOP-7QK2M",
            "process_title": "payload.rs - waken-wa-reporter - Visual Studio Code",
            "persist_minutes": None, "battery_level": None, "is_charging": None,
            "device_type": "desktop", "push_mode": "realtime", "metadata": None}
    body.update(changes)
    return body


def post(server, token, body, ua=REPORTER_UA, path="/api/activity", raw=None, headers=None):
    """POST like reqwest does: JSON bytes, Bearer token, Content-Type and the client's UA."""
    sent = {"Content-Type": "application/json", "User-Agent": ua, "Accept": "*/*"}
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    sent.update(headers or {})
    data = raw if raw is not None else json.dumps(body, ensure_ascii=False).encode()
    return requests.post(server.url + path, data=data, headers=sent, timeout=15)


def ok(response):
    """The `data` of a 200 success, after checking the envelope and that no device key leaks."""
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["success"] is True
    assert "generatedHashKey" not in response.text
    assert K not in response.text and LAB not in response.text
    return body["data"]


def rows(server, sql, *args):
    with server.db() as conn:
        return [dict(r) for r in conn.execute(sql, args)]


def activity(server, activity_id):
    row = rows(server, "SELECT * FROM device_activity WHERE id = ?", activity_id)[0]
    row["metadata"] = json.loads(row["metadata"])
    return row


def open_rows(server, key):
    return rows(server, "SELECT a.* FROM device_activity a JOIN device d ON d.id = a.device_id "
                        "WHERE d.hash_key = ? AND a.ended_at IS NULL", key)


def backdate(server, activity_id, ms):
    """Pretend `ms` milliseconds have passed since this activity's last report."""
    with server.db() as conn:
        conn.execute("UPDATE device_activity SET started_at = started_at - ?, updated_at = updated_at - ?,"
                     " expires_at = expires_at - ? WHERE id = ?", (ms, ms, ms, activity_id))


def feed(server):
    """The public feed's data."""
    response = requests.get(server.url + "/api/activity", timeout=15)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def image_data_url(img, fmt, mime):
    buffer = io.BytesIO()
    img.save(buffer, fmt, **({"quality": 85} if fmt == "JPEG" else {}))
    return f"data:{mime};base64," + base64.b64encode(buffer.getvalue()).decode()


def artwork(size):
    """An opaque RGB picture with detail in it, like album art."""
    grad = Image.linear_gradient("L").resize((size, size))
    return Image.merge("RGB", (grad, grad.rotate(90), grad.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))


def app_icon(size):
    """A transparent RGBA icon, like the desktop reporter's 256 px PNGs."""
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    img.paste((30, 144, 255, 255), (size // 4, size // 4, 3 * size // 4, 3 * size // 4))
    return img


def photo_jpeg_data_url():
    """A JPEG cover of about 90 KB of base64, as Linux reporters download them."""
    w, h = 640, 400
    noise = Image.frombytes("RGB", (w, h), random.Random(7).randbytes(w * h * 3))
    grad = Image.linear_gradient("L").resize((w, h)).convert("RGB")
    return image_data_url(Image.blend(grad, noise, 0.16), "JPEG", "image/jpeg")


def fetch_image(server, url, max_side):
    """GET a stored image URL and check it is served as an immutable, unsniffable image."""
    assert url.startswith(server.url + "/media/"), url
    assert K not in url
    response = requests.get(url, timeout=15)
    assert response.status_code == 200
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    cache = response.headers["Cache-Control"]
    assert "immutable" in cache and "max-age=31536000" in cache
    img = Image.open(io.BytesIO(response.content))
    img.load()
    assert response.headers["Content-Type"] == {"PNG": "image/png", "JPEG": "image/jpeg"}[img.format]
    assert max(img.size) <= max_side
    return img


def media_of(track, **extra):
    """The reporter's media object (only keys with values)."""
    return {"title": track, "artist": "Artist", "singer": "Artist", "status": "playing",
            "positionMs": 5000, "durationMs": 180000, "reportedAt": 1767225600000, **extra}


REPLAY_OK = {
    "1-plain-foreground": client_body(),
    "5-paused-media": client_body(process_name="Spotify.exe", process_title="Spotify Premium", metadata={
        "media": {"title": "Song", "artist": "Artist", "singer": "Artist", "status": "paused",
                  "positionMs": 120500, "durationMs": 244000, "reportedAt": 1767225700000},
        "play_source": "Spotify.exe", "play_source_name": "Spotify"}),
    "6-play-source-only": client_body(process_name="firefox", process_title="Mozilla Firefox",
                                      metadata={"play_source": "spotify", "play_source_name": "spotify"}),
    "8-blocked-source": client_body(process_name="msedge.exe", process_title="New tab - Microsoft Edge",
                                    metadata={"play_source": "msedge.exe", "play_source_name": "Microsoft Edge"}),
    "9-user-metadata": client_body(process_name="cloudmusic.exe", process_title="Song - Artist", metadata={
        "source": "tauri", "play_source": "custom", "dc_source": DC,
        "media": media_of("Song", timestamps={"start": 1767225595000, "end": 1767225775000}),
        "play_source_name": "NetEase Cloud Music"}),
}


@pytest.mark.parametrize("body", REPLAY_OK.values(), ids=REPLAY_OK.keys())
def test_replay_bodies_are_stored_and_echoed(server, env, body):
    data = ok(post(server, env["token"], body))
    assert data["device"] == body["device"]
    assert data["deviceType"] == "desktop"
    assert data["processName"] == body["process_name"]
    assert data["processTitle"] == body["process_title"]
    assert data["pushMode"] == "realtime"
    assert data["endedAt"] is None
    for key, value in (body["metadata"] or {}).items():
        assert data["metadata"][key] == value
    stored = activity(server, data["id"])
    assert stored["process_name"] == body["process_name"]
    assert stored["ended_at"] is None
    assert len(open_rows(server, K)) == 1


def test_replay_2_null_title_keeps_the_previous_title(server, env):
    first = ok(post(server, env["token"], client_body(process_name="Code.exe")))
    second = ok(post(server, env["token"], client_body(process_name="Code.exe", process_title=None)))
    assert second["id"] == first["id"]
    assert second["processTitle"] == "payload.rs - waken-wa-reporter - Visual Studio Code"


def test_replay_3_cover_and_icon_become_urls_and_4_heartbeat_sends_the_url_back(server, env):
    media = {"title": "晴天", "artist": "周杰伦", "singer": "周杰伦", "album": "叶惠美",
             "coverDataUrl": image_data_url(artwork(600), "PNG", "image/png"),
             "appIconDataUrl": image_data_url(app_icon(256), "PNG", "image/png"),
             "status": "playing", "positionMs": 83000, "durationMs": 269000, "reportedAt": 1767225600000,
             "timestamps": {"start": 1767225517000, "end": 1767225786000}}
    body = client_body(process_name="cloudmusic.exe", process_title="晴天 - 周杰伦", metadata={
        "dc_source": DC, "media": media, "play_source": "cloudmusic.exe",
        "play_source_name": "NetEase Cloud Music"})
    response = post(server, env["token"], body)
    data = ok(response)
    assert "warnings" not in response.json()
    count = activity(server, data["id"])["report_count"]
    got = data["metadata"]["media"]
    assert "coverDataUrl" not in got and "appIconDataUrl" not in got
    for key in ("title", "artist", "singer", "album", "status", "positionMs", "durationMs", "timestamps"):
        assert got[key] == media[key]
    assert data["metadata"]["dc_source"] == DC
    assert data["processTitle"] == "晴天 - 周杰伦"
    cover = fetch_image(server, got["coverUrl"], 512)
    assert cover.size == (512, 512)          # scaled down from 600 px
    icon = fetch_image(server, got["appIconUrl"], 128)
    assert icon.size == (128, 128)
    assert icon.mode == "RGBA"               # transparency survives
    for row in rows(server, "SELECT metadata FROM device_activity"):
        assert "data:image" not in row["metadata"]

    heartbeat = json.loads(json.dumps(body))
    heartbeat["metadata"]["media"].update(positionMs=143000, reportedAt=1767225660000,
                                          coverDataUrl=got["coverUrl"])
    again = ok(post(server, env["token"], heartbeat))
    assert again["id"] == data["id"]
    assert again["metadata"]["media"]["coverUrl"] == got["coverUrl"]
    assert again["metadata"]["media"]["appIconUrl"] == got["appIconUrl"]
    assert again["metadata"]["media"]["positionMs"] == 143000
    stored = activity(server, data["id"])
    assert stored["report_count"] == count + 1
    assert stored["metadata"]["media"]["coverUrl"] == got["coverUrl"]
    assert "data:image" not in json.dumps(stored["metadata"])
    assert len(open_rows(server, K)) == 1


def test_replay_7_linux_jpeg_cover_is_stored_and_svg_icon_dropped_with_a_warning(server, env):
    cover = photo_jpeg_data_url()
    assert len(cover) > 80_000
    media = {"title": "Blinding Lights", "artist": "The Weeknd", "singer": "The Weeknd",
             "album": "After Hours", "coverDataUrl": cover,
             "appIconDataUrl": "data:image/svg+xml;base64," + base64.b64encode(
                 b'<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16">'
                 b'<rect width="16" height="16" fill="red"/></svg>').decode(),
             "status": "playing", "positionMs": 1000, "durationMs": 200040, "reportedAt": 1767225600000,
             "timestamps": {"start": 1767225599000, "end": 1767225800040}}
    response = post(server, env["token"], client_body(
        process_name="spotify", process_title="Spotify", device="arch-laptop",
        metadata={"media": media, "play_source": "spotify", "play_source_name": "spotify"}))
    data = ok(response)
    got = data["metadata"]["media"]
    img = fetch_image(server, got["coverUrl"], 512)
    assert img.size == (512, 320)
    assert "appIconUrl" not in got and "appIconDataUrl" not in got
    dropped = response.json()["warnings"]
    assert len(dropped) == 1 and "SVG" in dropped[0] and "appIconDataUrl" in dropped[0]
    assert "data:image" not in json.dumps(activity(server, data["id"])["metadata"])


def test_replay_10_android_battery_is_stored(server, env):
    body = client_body(process_name="com.tencent.mm", device="Pixel 8", process_title="微信",
                       battery_level=76, is_charging=True, metadata={
                           "media": media_of("Song", coverDataUrl=image_data_url(artwork(384), "PNG", "image/png"),
                                             appIconDataUrl=image_data_url(app_icon(96), "PNG", "image/png")),
                           "play_source": "com.netease.cloudmusic", "play_source_name": "网易云音乐"})
    data = ok(post(server, env["token"], body))
    assert data["device"] == "Pixel 8"
    assert data["metadata"]["deviceBatteryPercent"] == 76
    assert data["metadata"]["deviceBatteryCharging"] is True
    assert fetch_image(server, data["metadata"]["media"]["coverUrl"], 512).size == (384, 384)
    assert fetch_image(server, data["metadata"]["media"]["appIconUrl"], 128).size == (96, 96)
    stored = activity(server, data["id"])["metadata"]
    assert stored["deviceBatteryPercent"] == 76 and stored["deviceBatteryCharging"] is True


def test_replay_11_manual_active_push_is_stored_as_active(server, env):
    body = client_body(process_name="Reading", device="MacBook-Pro", process_title="DDIA ch.5",
                       persist_minutes=30, battery_level=64, is_charging=False, push_mode="active",
                       metadata={"dc_source": DC})
    data = ok(post(server, env["token"], body, ua=MANUAL_UA))
    assert data["pushMode"] == "active"
    assert data["metadata"] == {"dc_source": DC, "deviceBatteryPercent": 64, "deviceBatteryCharging": False}
    stored = activity(server, data["id"])
    assert stored["push_mode"] == "active"
    assert stored["expires_at"] - stored["updated_at"] == 30 * 60 * 1000


INVALID = {
    "12-empty-process-name": (client_body(process_name=""), "process_name"),
    "blank-process-name": (client_body(process_name="   "), "process_name"),
    "missing-key": ({k: v for k, v in client_body().items() if k != "generatedHashKey"}, "generatedHashKey"),
    "battery-101": (client_body(battery_level=101), "battery_level"),
    "battery-negative": (client_body(battery_level=-1), "battery_level"),
    "battery-text": (client_body(battery_level="76"), "battery_level"),
    "charging-text": (client_body(is_charging="yes"), "is_charging"),
    "device-type": (client_body(device_type="watch"), "device_type"),
    "push-mode": (client_body(push_mode="sometimes"), "push_mode"),
    "persist-0": (client_body(push_mode="active", persist_minutes=0), "persist_minutes"),
    "persist-1441": (client_body(push_mode="active", persist_minutes=1441), "persist_minutes"),
    "metadata-list": (client_body(metadata=["a"]), "metadata"),
    "metadata-text": (client_body(metadata="{}"), "metadata"),
    "process-name-too-long": (client_body(process_name="x" * 257), "process_name"),
}


@pytest.mark.parametrize("body,field", INVALID.values(), ids=INVALID.keys())
def test_invalid_reports_are_400_with_a_sentence(server, env, body, field):
    before = rows(server, "SELECT count(*) AS n, max(updated_at) AS last FROM device_activity")
    response = post(server, env["token"], body)
    assert response.status_code == 400
    answer = response.json()
    assert answer["success"] is False
    assert isinstance(answer["error"], str) and len(answer["error"].split()) >= 3
    assert field in answer["fields"]
    assert answer["code"] == "activity.validation_failed" and answer["fieldCodes"][field].startswith("field.")
    assert field in answer["params"]["fields"]
    assert rows(server, "SELECT count(*) AS n, max(updated_at) AS last FROM device_activity") == before


@pytest.mark.parametrize("raw", [b'{"generatedHashKey": "' + K.encode() + b'", "process_name": ',
                                 b"[1, 2]", b"\"text\"", b"NaN", b""],
                         ids=["truncated", "array", "string", "nan", "empty"])
def test_malformed_bodies_are_400(server, env, raw):
    response = post(server, env["token"], None, raw=raw)
    assert response.status_code == 400
    assert response.json()["success"] is False and response.json()["error"]


def test_body_without_content_type_is_accepted(server, env):
    response = requests.post(server.url + "/api/activity", timeout=15,
                             data=json.dumps(client_body(process_name="curl-no-header")).encode(),
                             headers={"Authorization": f"Bearer {env['token']}"})
    assert "Content-Type" not in response.request.headers
    assert ok(response)["processName"] == "curl-no-header"


def test_body_over_the_limit_is_413_json(server, env):
    body = client_body(metadata={"blob": "x" * (9 * 1024 * 1024)})
    response = post(server, env["token"], body)
    assert response.status_code == 413
    assert response.json()["success"] is False and response.json()["error"]


def test_metadata_over_64_kib_is_refused_with_a_sentence(server, env):
    response = post(server, env["token"], client_body(metadata={"notes": "x" * (65 * 1024)}))
    assert response.status_code in (400, 413)
    assert "metadata" in response.json()["error"]


def test_replay_13_unknown_device_pending_then_off(server, env):
    new_key = "wwd-0e0e0e0e-1111-4222-8333-444444444444"
    server.cli("settings", "set", "device_registration", "pending")
    try:
        for attempt in range(2):   # the reporter keeps sending; it stays pending
            response = post(server, env["token"], client_body(generatedHashKey=new_key, device="New PC"))
            assert response.status_code == 202
            body = response.json()
            assert body["success"] is False and body["pending"] is True and body["error"]
            assert body["code"] == "device.pending_approval" and body["params"] == {"device": "New PC"}
            assert body["approvalUrl"].startswith(server.url + "/admin/devices?key=")
        device = rows(server, "SELECT * FROM device WHERE hash_key = ?", new_key)
        assert len(device) == 1 and device[0]["status"] == "pending" and device[0]["token_id"] is not None
        assert rows(server, "SELECT count(*) AS n FROM device_activity WHERE device_id = ?",
                    device[0]["id"]) == [{"n": 0}]
        verify = post(server, env["token"], {"generatedHashKey": new_key, "device": "New PC",
                                             "deviceType": "tablet"}, ua=MANUAL_UA, path="/api/activity/verify")
        assert verify.status_code == 202
        assert verify.json()["pending"] is True and verify.json()["approvalUrl"] == body["approvalUrl"]
        assert verify.json()["code"] == "device.pending_approval"
    finally:
        server.cli("settings", "set", "device_registration", "off")
    response = post(server, env["token"], client_body(generatedHashKey="wwd-0f0f0f0f-1111-4222-8333-555555555555"))
    assert response.status_code == 403
    assert response.json()["success"] is False and response.json()["error"]
    assert response.json()["code"] == "device.unknown"
    assert post(server, env["token"], client_body(generatedHashKey=new_key)).status_code == 202


@pytest.mark.parametrize("case", ["bad-token", "no-bearer", "disabled-token"])
def test_replay_14_token_problems_are_401(server, env, case):
    headers = {"bad-token": {"Authorization": "Bearer " + "0" * 64},
               "no-bearer": {"Authorization": env["token"]},
               "disabled-token": {"Authorization": f"Bearer {env['disabled']}"}}[case]
    response = post(server, None, client_body(), headers=headers)
    assert response.status_code == 401
    assert response.json()["success"] is False and response.json()["error"]
    assert response.json()["code"] == {"bad-token": "auth.token_invalid", "no-bearer": "auth.token_missing",
                                       "disabled-token": "auth.token_disabled"}[case]


@pytest.mark.parametrize("key", [REVOKED, BOUND, "waken-web-admin"], ids=["revoked", "bound", "reserved"])
def test_replay_14_forbidden_devices_are_403(server, env, key):
    for path, body in (("/api/activity", client_body(generatedHashKey=key)),
                       ("/api/activity/verify", {"generatedHashKey": key, "device": "x", "deviceType": None})):
        response = post(server, env["token"], body, path=path)
        assert response.status_code == 403, path
        assert response.json()["success"] is False and response.json()["error"]
        assert response.json()["code"] == {REVOKED: "device.revoked", BOUND: "device.token_mismatch",
                                           "waken-web-admin": "device.reserved"}[key], path
    assert rows(server, "SELECT count(*) AS n FROM device_activity a JOIN device d ON d.id = a.device_id "
                        "WHERE d.hash_key = ?", key) == [{"n": 0}]


def test_replay_15_verify(server, env):
    response = post(server, env["token"], {"generatedHashKey": IPAD, "device": "iPad", "deviceType": "tablet"},
                    ua=MANUAL_UA, path="/api/activity/verify")
    assert response.status_code == 200
    assert response.json() == {"success": True, "data": {
        "tokenValid": True, "approved": True, "deviceStatus": "active",
        "generatedHashKey": IPAD, "displayName": "iPad"}}
    assert rows(server, "SELECT count(*) AS n FROM device_activity a JOIN device d ON d.id = a.device_id "
                        "WHERE d.hash_key = ?", IPAD) == [{"n": 0}]
    missing = post(server, env["token"], {"device": "iPad"}, path="/api/activity/verify")
    assert missing.status_code == 400 and "generatedHashKey" in missing.json()["fields"]
    assert missing.json()["code"] == "activity.validation_failed"
    assert missing.json()["fieldCodes"]["generatedHashKey"] == "field.required"


def lab(server, env, process, **changes):
    return post(server, env["token"], client_body(generatedHashKey=LAB, device="Lab", process_name=process,
                                                  process_title=None, **changes))


def test_new_track_title_replaces_the_media_object(server, env):
    first = ok(lab(server, env, "Music.app", metadata={"media": {
        "title": "Song A", "album": "Album A", "coverUrl": "https://cdn.example/a.jpg", "positionMs": 1}}))
    second = ok(lab(server, env, "Music.app", metadata={"media": {"title": "Song B", "singer": "B"}}))
    assert second["id"] == first["id"]
    assert second["metadata"]["media"] == {"title": "Song B", "singer": "B"}
    assert activity(server, first["id"])["metadata"]["media"] == {"title": "Song B", "singer": "B"}


def test_title_then_singer_merge_into_one_activity(server, env):
    first = ok(lab(server, env, "Player.exe", metadata={"media": {"title": "Intro", "album": "LP"}}))
    second = ok(lab(server, env, "Player.exe", metadata={"media": {"singer": "Band"}, "extra": 1}))
    assert second["id"] == first["id"]
    assert second["metadata"]["media"] == {"title": "Intro", "album": "LP", "singer": "Band"}
    stored = activity(server, first["id"])
    assert stored["report_count"] == 2
    assert stored["metadata"]["media"] == {"title": "Intro", "album": "LP", "singer": "Band"}
    assert stored["metadata"]["extra"] == 1


def test_omitted_charging_state_is_kept(server, env):
    first = ok(lab(server, env, "Battery.exe", battery_level=50, is_charging=True))
    body = client_body(generatedHashKey=LAB, device="Lab", process_name="Battery.exe", battery_level=49)
    del body["is_charging"]
    merged = ok(post(server, env["token"], body))
    assert merged["id"] == first["id"]
    assert merged["metadata"]["deviceBatteryCharging"] is True
    assert merged["metadata"]["deviceBatteryPercent"] == 49
    switched = ok(lab(server, env, "Other.exe"))     # explicit null, new activity: still kept
    assert switched["id"] != first["id"]
    assert switched["metadata"]["deviceBatteryCharging"] is True
    unplugged = ok(post(server, env["token"], {"generatedHashKey": LAB, "process_name": "Other.exe",
                                               "isCharging": False}))
    assert unplugged["metadata"]["deviceBatteryCharging"] is False


def test_another_process_ends_the_open_activity(server, env):
    first = ok(lab(server, env, "Editor.exe"))
    second = ok(lab(server, env, "Browser.exe"))
    assert second["id"] != first["id"]
    old, new = activity(server, first["id"]), activity(server, second["id"])
    assert old["ended_at"] is not None and old["updated_at"] <= old["ended_at"] <= new["started_at"]
    assert new["ended_at"] is None
    assert [r["id"] for r in open_rows(server, LAB)] == [second["id"]]


def test_stale_realtime_activity_is_offline_and_replaced_without_a_sweep(server, env):
    first = ok(lab(server, env, "Stale.exe"))
    backdate(server, first["id"], STALE_MS)
    last_report = activity(server, first["id"])["updated_at"]
    public = feed(server)
    assert first["id"] not in [item["id"] for item in public["activeStatuses"]]
    assert [item["online"] for item in public["recentActivities"] if item["id"] == first["id"]] in ([], [False])
    second = ok(lab(server, env, "Stale.exe"))
    assert second["id"] != first["id"]
    old = activity(server, first["id"])
    assert old["ended_at"] == last_report          # ended at its last report, not now
    assert old["report_count"] == 1
    assert [r["id"] for r in open_rows(server, LAB)] == [second["id"]]


@pytest.mark.parametrize("persist", [None, 30])
def test_stale_active_activity_is_still_merged(server, env, persist):
    first = ok(lab(server, env, f"Active-{persist}", push_mode="active", persist_minutes=persist))
    backdate(server, first["id"], STALE_MS)
    public = feed(server)
    assert [item["online"] for item in public["activeStatuses"] if item["id"] == first["id"]] == [True]
    second = ok(lab(server, env, f"Active-{persist}", push_mode="active", persist_minutes=persist))
    assert second["id"] == first["id"]
    stored = activity(server, first["id"])
    assert stored["ended_at"] is None and stored["report_count"] == 2


def test_active_activity_ends_when_persist_minutes_have_passed(server, env):
    first = ok(lab(server, env, "Brief", push_mode="active", persist_minutes=1))
    backdate(server, first["id"], 2 * 60 * 1000)
    last_report = activity(server, first["id"])["updated_at"]
    second = ok(lab(server, env, "Brief", push_mode="active", persist_minutes=1))
    assert second["id"] != first["id"]
    assert activity(server, first["id"])["ended_at"] == last_report
