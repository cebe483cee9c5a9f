"""The Settings page: every setting, validation messages, and the integration config."""
import base64
import json
import re

import pytest

from tests.admin_support import form_values
from tests.support import DEVICE_KEY
from waken.settings import SETTINGS


def decode_config(html):
    b64 = re.search(r'id="integration-config"[^>]*>([A-Za-z0-9+/=]+)</textarea>', html).group(1)
    return json.loads(base64.b64decode(b64).decode("utf-8"))


def test_every_setting_is_on_the_form(admin):
    page = admin.get("/admin/settings").text
    for key, setting in SETTINGS.items():
        assert f'name="{key}"' in page, key
        assert setting.label in page


def test_saving_stores_every_field_and_unticked_boxes_mean_off(admin):
    values = form_values(admin.get("/admin/settings").text)
    values.update({"site_name": "Ada's desk", "history_window_minutes": "60", "timezone": "Europe/Berlin",
                   "device_registration": "pending", "media_play_source_blocklist": "Spotify\nqqmusic"})
    del values["save_app_records"]
    assert admin.post("/admin/settings", data=values).status_code == 303
    page = admin.get("/admin/settings").text
    assert "Settings saved." in page
    saved = form_values(page)
    assert saved["site_name"] == "Ada&#39;s desk" and saved["history_window_minutes"] == "60"
    assert saved["device_registration"] == "pending" and "save_app_records" not in saved
    assert saved["media_play_source_blocklist"] == "qqmusic\nSpotify"
    assert admin.get("/api/activity").json["data"]["historyWindowMinutes"] == 60


@pytest.mark.parametrize("key, value, message", [
    ("history_window_minutes", "5", "History window (minutes) must be a whole number from 10 to 1440."),
    ("history_window_minutes", "two hours", "History window (minutes) must be a whole number from 10 to 1440."),
    ("process_stale_seconds", "86401", "Realtime stale timeout (seconds) must be a whole number from 30 to 86400."),
    ("timezone", "Mars/Olympus", "Time zone &#39;Mars/Olympus&#39; is not a known IANA time zone"),
    ("public_url", "status.example", "Public base URL must start with http:// or https://."),
    ("avatar_url", "javascript:alert(1)", "Avatar URL must start with http:// or https://."),
    ("device_registration", "maybe", "Device registration must be one of off, pending, auto."),
    ("site_name", "n" * 81, "Site name must be at most 80 characters."),
])
def test_bad_values_are_explained_and_nothing_is_saved(admin, key, value, message):
    values = form_values(admin.get("/admin/settings").text)
    values.update({"site_name": "Changed", key: value})
    response = admin.post("/admin/settings", data=values)
    assert response.status_code == 400
    assert message in response.text
    assert "Nothing was saved" in response.text
    assert form_values(admin.get("/admin/settings").text)["site_name"] == "waken"


def test_integration_config_has_the_documented_shape(admin):
    admin.post("/admin/tokens", data={"name": "laptop", "scope": "report"})
    config = decode_config(admin.get("/admin/settings").text)
    assert set(config) == {"version", "exportedAt", "web", "token"}
    assert config["version"] == 1 and config["exportedAt"].endswith("Z")
    assert config["web"]["name"] == "waken" and config["web"]["historyWindowMinutes"] == 120
    assert config["web"]["currentlyText"] == "Current Status"
    assert config["token"]["reportEndpoint"] == "http://localhost/api/activity"
    [item] = config["token"]["items"]
    assert set(item) == {"id", "name", "isActive", "createdAt", "lastUsedAt", "token"}
    assert (item["name"], item["isActive"], item["lastUsedAt"], item["token"]) == ("laptop", True, None, None)


def test_minting_embeds_a_usable_token_first(admin, device):
    admin.post("/admin/tokens", data={"name": "old", "scope": "report"})
    page = admin.post("/admin/settings/integration", data={"name": "imported"})
    assert page.status_code == 200 and "shown only on this page" in page.text
    config = decode_config(page.text)
    first = next(i for i in config["token"]["items"] if isinstance(i["token"], str))
    assert first is config["token"]["items"][0] and first["name"] == "imported"
    assert [i["token"] for i in config["token"]["items"][1:]] == [None]
    response = admin.client.post(config["token"]["reportEndpoint"].removeprefix("http://localhost"),
                                 headers={"Authorization": f"Bearer {first['token']}"},
                                 json={"generatedHashKey": DEVICE_KEY, "process_name": "Code"})
    assert response.status_code == 200
    assert first["token"] not in admin.get("/admin/settings").text


def test_minting_needs_a_name(admin):
    response = admin.post("/admin/settings/integration", data={"name": ""}, follow_redirects=True)
    assert "No token minted. The name is required." in response.text
    assert "No tokens yet" in admin.get("/admin/tokens").text
