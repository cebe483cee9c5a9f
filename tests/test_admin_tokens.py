"""The API Token page: the plaintext is shown once, and the token works with the API."""
import base64
import json
import re

import pytest

from tests.support import DEVICE_KEY


def create(admin, name="laptop", scopes=("report",)):
    """Submit the form as a browser does; `report` is the box ticked by default."""
    page = admin.post("/admin/tokens", data={"name": name, "scope": list(scopes)})
    assert page.status_code == 200
    plaintext = re.search(r'id="token-value" class="mono" readonly value="([0-9a-f]{64})"', page.text).group(1)
    bundle = re.search(r'id="token-bundle"[^>]*>([A-Za-z0-9+/=]+)</textarea>', page.text).group(1)
    return page, plaintext, bundle


def report(client, plaintext, key=DEVICE_KEY):
    return client.post("/api/activity", headers={"Authorization": f"Bearer {plaintext}"},
                       json={"generatedHashKey": key, "process_name": "Code"})


def test_created_token_is_shown_once_with_a_bundle_that_works(admin, device):
    page, plaintext, bundle = create(admin)
    assert "shown only on this page" in page.text
    assert json.loads(base64.b64decode(bundle)) == {
        "version": 1, "endpoint": "http://localhost/api/activity", "apiKey": plaintext, "tokenName": "laptop"}
    assert report(admin.client, plaintext).status_code == 200

    listing = admin.get("/admin/tokens").text
    assert "laptop" in listing and f"{plaintext[:8]}…" in listing
    # Never again: no page of the admin panel, and no export, holds the plaintext.
    for url in ("/admin/tokens", "/admin/", "/admin/devices", "/admin/settings", "/admin/quick-add",
                "/admin/apps", "/admin/rules", "/api/admin/activity/apps-export"):
        assert plaintext not in admin.get(url).text, url
    settings_page = admin.get("/admin/settings").text
    config_b64 = re.search(r'id="integration-config"[^>]*>([A-Za-z0-9+/=]+)</textarea>', settings_page).group(1)
    assert plaintext not in base64.b64decode(config_b64).decode()


def test_the_list_shows_use_and_state(admin, device):
    _, plaintext, _ = create(admin)
    report(admin.client, plaintext)
    row = re.search(r'<tr id="token-1">(.*?)</tr>', admin.get("/admin/tokens").text, re.DOTALL).group(1)
    assert "enabled" in row and "never" not in row   # created and last used both have times


def test_disable_enable_and_delete(admin, device):
    _, plaintext, _ = create(admin)
    assert admin.post("/admin/tokens/1/disable").status_code == 303
    refused = report(admin.client, plaintext)
    assert refused.status_code == 401 and "disabled" in refused.json["error"]
    assert "Token disabled" in admin.get("/admin/tokens").text
    admin.post("/admin/tokens/1/enable")
    assert report(admin.client, plaintext).status_code == 200
    admin.post("/admin/tokens/1/delete")
    assert report(admin.client, plaintext).status_code == 401
    assert "No tokens yet" in admin.get("/admin/tokens").text


def test_actions_on_a_missing_token_say_so(admin):
    response = admin.post("/admin/tokens/42/disable", follow_redirects=True)
    assert "Nothing changed. There is no token with id 42." in response.text


@pytest.mark.parametrize("name, message", [
    ("", "The name is required."),
    ("x" * 81, "The name must be at most 80 characters."),
])
def test_token_name_is_checked(admin, name, message):
    response = admin.post("/admin/tokens", data={"name": name, "scope": "report"})
    assert response.status_code == 400
    assert message in response.text
    assert "No tokens yet" in response.text


def test_names_are_escaped(admin):
    create(admin, "<script>alert(1)</script>")
    page = admin.get("/admin/tokens").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
