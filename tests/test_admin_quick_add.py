"""Quick Add: a hand-made report through the same path as POST /api/activity."""
import re

import pytest

from tests.support import DEVICE_KEY
from waken.devices.registry import WEB_ADMIN_KEY


def feed(client):
    return client.get("/api/activity").json["data"]


def test_an_empty_key_reports_as_the_reserved_device(admin, token):
    response = admin.post("/admin/quick-add", data={
        "process_name": "Reading", "process_title": "A paper book", "push_mode": "active",
        "persist_minutes": "30", "media_title": "Song", "media_singer": "Singer"})
    assert response.status_code == 303
    assert "Stored: Web Admin Quick Add is now in Reading." in admin.get("/admin/quick-add").text
    [item] = feed(admin.client)["activeStatuses"]
    assert (item["device"], item["processName"], item["processTitle"], item["pushMode"]) == \
        ("Web Admin Quick Add", "Reading", "A paper book", "active")
    assert item["nowPlaying"]["title"] == "Song" and item["nowPlaying"]["singer"] == "Singer"
    assert WEB_ADMIN_KEY in admin.get("/admin/devices").text
    # The API still may not use the reserved device.
    api = admin.client.post("/api/activity", headers={"Authorization": f"Bearer {token}"},
                            json={"generatedHashKey": WEB_ADMIN_KEY, "process_name": "x"})
    assert api.status_code == 403


def test_a_given_key_reports_for_that_device_and_merges_like_the_api(admin, device):
    form = {"key": DEVICE_KEY, "process_name": "Code", "process_title": "one.py", "device": "Desk PC"}
    admin.post("/admin/quick-add", data=form)
    admin.post("/admin/quick-add", data={**form, "process_title": "two.py"})
    [item] = feed(admin.client)["activeStatuses"]
    assert (item["device"], item["processTitle"]) == ("Desk PC", "two.py")
    assert 'value="Desk PC"' in admin.get("/admin/devices").text


def test_a_key_must_belong_to_an_active_device(admin, device):
    unknown = admin.post("/admin/quick-add", data={"key": "no-such-device-key", "process_name": "x"})
    assert unknown.status_code == 400
    assert "This key is not a device" in unknown.text
    admin.post("/admin/devices/1/revoke")
    revoked = admin.post("/admin/quick-add", data={"key": DEVICE_KEY, "process_name": "x"})
    assert revoked.status_code == 400
    assert "This key belongs to a revoked device" in revoked.text
    assert feed(admin.client)["activeStatuses"] == []


@pytest.mark.parametrize("form, message", [
    ({"process_name": ""}, "The process name is required."),
    ({"process_name": "x", "persist_minutes": "0"}, "Persist minutes must be from 1 to 1440."),
    ({"process_name": "x", "persist_minutes": "1441"}, "Persist minutes must be from 1 to 1440."),
    ({"process_name": "x", "persist_minutes": "soon"}, "Persist minutes must be a whole number."),
    ({"process_name": "x", "push_mode": "sometimes"}, "The push mode must be one of realtime, active."),
    ({"process_name": "x" * 257}, "The process name must be at most 256 characters."),
    ({"process_name": "x", "media_title": "t" * 257}, "The media title must be at most 256 characters."),
    ({"process_name": "x", "key": "k" * 129}, "The GeneratedHashKey must be at most 128 characters."),
])
def test_bad_input_is_explained_and_nothing_is_stored(admin, form, message):
    response = admin.post("/admin/quick-add", data=form)
    assert response.status_code == 400
    assert message in response.text
    assert feed(admin.client)["recentActivities"] == []


def test_generate_a_random_key_without_javascript(admin):
    page = admin.get("/admin/quick-add?generate=1").text
    key = re.search(r'<code id="generated-key" class="key">(wwd-[0-9a-f]{32})</code>', page).group(1)
    assert f"/admin/devices?new_key={key}" in page
