"""Device names on a live server: a device that sent no name gets a neutral one (never its key),
verify answers and stores the name sent, and the reporter's placeholder never renames a device."""
import json
import time

import pytest
import requests

KEYS = [f"wwd-secret-key-{n:04d}-do-not-publish" for n in range(8)]
PLACEHOLDER = "Waken-Wa Client"


def call(server, token, path, **body):
    return requests.post(server.url + path, headers={"Authorization": f"Bearer {token}"}, json=body, timeout=10)


def report(server, token, key, **body):
    return call(server, token, "/api/activity", generatedHashKey=key, process_name="Code", **body)


def first_stream_event(server):
    """The data of the public stream's first `activity` event."""
    with requests.get(server.url + "/api/activity/stream", stream=True, timeout=10) as response:
        buffer, deadline = "", time.monotonic() + 10
        for chunk in response.iter_content(chunk_size=None):
            buffer += chunk.decode()
            for block in buffer.split("\n\n")[:-1]:
                if "event: activity" in block:
                    return "\n".join(line[6:] for line in block.splitlines() if line.startswith("data: "))
            assert time.monotonic() < deadline, "no activity event within 10 s"
    raise AssertionError("the stream ended before an activity event")


def public_names(server):
    """Device names on the feed, and every public text a visitor or a client can fetch."""
    feed = requests.get(server.url + "/api/activity?limit=200", timeout=10)
    names = {item["device"] for item in feed.json()["data"]["recentActivities"]}
    texts = {"feed": feed.text, "stream": first_stream_event(server)}
    for path in ("/", "/api/openapi.json", "/api-reference"):
        texts[path] = requests.get(server.url + path, timeout=10).text
    return names, texts


def assert_no_key_in(texts):
    for where, text in texts.items():
        for key in KEYS:
            assert key not in text, (where, key)


@pytest.fixture(scope="module")
def auto(server):
    server.cli("settings", "set", "device_registration", "auto")
    return server.token("reporters")


def test_auto_registration_without_a_name_gets_a_neutral_one(server, auto):
    assert report(server, auto, KEYS[0], device_type="desktop").json()["data"]["device"] == "Desktop 1"
    assert report(server, auto, KEYS[1], device=None).json()["data"]["device"] == "Device 1"
    assert report(server, auto, KEYS[2], device_type="desktop", device="  ").json()["data"]["device"] == "Desktop 2"
    assert report(server, auto, KEYS[3], device_type="desktop", device=PLACEHOLDER).json()["data"]["device"] == "Desktop 3"
    # The allowed path: a name sent is the name shown.
    assert report(server, auto, KEYS[4], device="Studio PC").json()["data"]["device"] == "Studio PC"
    names, texts = public_names(server)
    assert {"Desktop 1", "Device 1", "Desktop 2", "Desktop 3", "Studio PC"} <= names
    streamed = {item["device"] for item in json.loads(texts["stream"])["data"]["recentActivities"]}
    assert {"Desktop 1", "Studio PC"} <= streamed and "Desktop 1" in texts["/"]
    assert_no_key_in(texts)


def test_pending_registration_without_a_name_gets_a_neutral_one(server, auto):
    server.cli("settings", "set", "device_registration", "pending")
    try:
        waiting = report(server, auto, KEYS[5], device_type="mobile")
        assert waiting.status_code == 202 and waiting.json()["pending"] is True
        probe = call(server, auto, "/api/activity/verify", generatedHashKey=KEYS[6], deviceType="tablet")
        assert probe.status_code == 202
        named = call(server, auto, "/api/activity/verify", generatedHashKey=KEYS[7], device="Kitchen tablet")
        assert named.status_code == 202
        for key in KEYS[5:8]:
            server.cli("device", "approve", key)
        assert report(server, auto, KEYS[5]).json()["data"]["device"] == "Mobile 1"
        assert report(server, auto, KEYS[6]).json()["data"]["device"] == "Tablet 1"
        assert report(server, auto, KEYS[7]).json()["data"]["device"] == "Kitchen tablet"
    finally:
        server.cli("settings", "set", "device_registration", "auto")
    names, texts = public_names(server)
    assert {"Mobile 1", "Tablet 1", "Kitchen tablet"} <= names
    assert_no_key_in(texts)


def test_verify_answers_and_stores_the_name_sent(server, auto):
    key = server.device("Desk", "wwd-verify-device-01")
    answer = call(server, auto, "/api/activity/verify", generatedHashKey=key, device="iPad", deviceType="tablet")
    assert answer.status_code == 200
    assert answer.json() == {"success": True, "data": {
        "tokenValid": True, "approved": True, "deviceStatus": "active",
        "generatedHashKey": key, "displayName": "iPad"}}
    # Stored: a report without a name now shows it, and so does the CLI.
    assert report(server, auto, key).json()["data"]["device"] == "iPad"
    assert f"{key}\tiPad\tactive" in server.cli("device", "list")


@pytest.mark.parametrize("name", [PLACEHOLDER, "", "   ", None])
def test_the_placeholder_and_an_empty_name_never_rename(server, auto, name):
    key = "wwd-named-device-01"
    if key not in server.cli("device", "list"):
        server.device("Living room PC", key)
    stored = report(server, auto, key, device=name)
    assert stored.status_code == 200 and stored.json()["data"]["device"] == "Living room PC"
    answer = call(server, auto, "/api/activity/verify", generatedHashKey=key, device=name)
    assert answer.status_code == 200 and answer.json()["data"]["displayName"] == "Living room PC"
    names, _ = public_names(server)
    assert PLACEHOLDER not in names and "Living room PC" in names

