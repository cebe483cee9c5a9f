"""A new owner's first session, in real headless Chromium against gunicorn."""
import base64
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
import requests

from tests.support import chromium

pytest.importorskip("playwright")
from playwright.sync_api import expect, sync_playwright

KEY = "owner-laptop-7f3a9c"
PASSWORD = "a long pass phrase"


@pytest.fixture
def browser_page(start_server):
    server = start_server()
    with sync_playwright() as p:
        browser = chromium(p)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
        page = context.new_page()
        page.set_default_timeout(10_000)
        try:
            yield server, page
        finally:
            browser.close()


def report(server, token, key=KEY, process="Code", title="admin.py"):
    return requests.post(f"{server.url}/api/activity", headers={"Authorization": f"Bearer {token}"},
                         json={"generatedHashKey": key, "process_name": process, "process_title": title,
                               "device_type": "desktop"}, timeout=10)


def clipboard(page):
    return page.evaluate("navigator.clipboard.readText()")


@pytest.mark.browser
def test_a_new_owner_sets_up_connects_a_device_and_exports_the_config(browser_page, tmp_path):
    server, page = browser_page
    shots = tmp_path / "screens"
    shots.mkdir()

    def shot(name):
        page.screenshot(path=shots / f"{name}.png", full_page=True)

    # 1. The setup code is in the server's log; /admin leads to the setup form.
    code = re.search(r"setup code ([A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4})", server.log_path.read_text()).group(1)
    page.goto(server.url + "/admin")
    expect(page).to_have_url(server.url + "/admin/setup")
    page.fill("input[name=code]", code)
    page.fill("input[name=username]", "owner")
    page.fill("input[name=password]", PASSWORD)
    page.fill("input[name=confirm]", PASSWORD)
    shot("01-setup")
    page.click("button:has-text('Create admin')")
    expect(page.locator(".flash.success")).to_contain_text("Welcome, owner")
    assert "admin already set up" in server.cli("setup-info")

    # 2. Log out and in again.
    page.click("button:has-text('Log out')")
    expect(page).to_have_url(server.url + "/admin/login")
    page.fill("input[name=username]", "owner")
    page.fill("input[name=password]", PASSWORD)
    shot("02-login")
    page.click("button:has-text('Log in')")
    expect(page.locator("h1")).to_have_text("Overview")

    # 3. A token, copied with its button.
    page.click("nav >> text=API Token")
    page.fill("input[name=name]", "laptop")
    page.click("button:has-text('Create token')")
    page.click("button:has-text('Copy token')")
    token = clipboard(page)
    assert re.fullmatch(r"[0-9a-f]{64}", token)
    page.click("button:has-text('Copy bundle')")
    bundle = json.loads(base64.b64decode(clipboard(page)))
    assert bundle == {"version": 1, "endpoint": server.url + "/api/activity", "apiKey": token,
                      "tokenName": "laptop"}
    shot("03-token-created")
    page.goto(server.url + "/admin/tokens")
    assert token not in page.content()
    shot("04-tokens")

    # 4. A device with a custom key; the random-key button works too.
    page.click("nav >> text=Devices")
    page.click("button:has-text('Random key')")
    assert re.fullmatch(r"wwd-[0-9a-f]{32}", page.input_value("#new-device-key"))
    page.fill("input[name=name]", "Laptop")
    page.fill("#new-device-key", KEY)
    page.click("button:has-text('Add device')")
    expect(page.locator(".flash.success")).to_contain_text(KEY)

    # 5. The device reports over HTTP and shows up on the overview and the home page.
    assert report(server, token).status_code == 200
    page.click("nav >> text=Overview")
    online = page.locator("section:has(h2:has-text('Online now')) tbody tr")
    expect(online).to_have_count(1)
    expect(online).to_contain_text("Laptop")
    expect(online).to_contain_text("admin.py")
    shot("05-overview")
    page.goto(server.url + "/")
    expect(page.locator("body")).to_contain_text("Laptop")
    expect(page.locator("body")).to_contain_text("Code")
    shot("06-home")

    # 6. Revoked: the next report is refused.
    page.goto(server.url + "/admin/devices")
    row = page.locator("tr", has_text=KEY)
    expect(row).to_contain_text("active")
    shot("07-devices")
    row.locator("button:has-text('Revoke')").click()
    expect(page.locator("tr", has_text=KEY)).to_contain_text("revoked")
    refused = report(server, token)
    assert refused.status_code == 403 and "revoked" in refused.json()["error"]

    # 7. The integration config, minted with a usable token, decodes to the documented JSON.
    page.click("nav >> text=Settings")
    shot("08-settings")
    page.click("button:has-text('Mint token and export')")
    page.click("button:has-text('Copy Integration Config as Base64')")
    config_b64 = clipboard(page)
    config = json.loads(base64.b64decode(config_b64).decode("utf-8"))
    shot("09-integration")
    page.click("button[data-copy=linux-setup]")
    assert clipboard(page) == (f"curl -fsSO {server.url}/reporter/waken-reporter.py"
                               f" && python3 waken-reporter.py setup '{config_b64}'")
    assert set(config) == {"version", "exportedAt", "web", "token"} and config["version"] == 1
    assert config["token"]["reportEndpoint"] == server.url + "/api/activity"
    usable = next(item for item in config["token"]["items"] if isinstance(item["token"], str))
    assert {i["name"]: i["token"] for i in config["token"]["items"]}["laptop"] is None
    page.goto(server.url + "/admin/devices")
    page.locator("tr", has_text=KEY).locator("button:has-text('Approve')").click()
    response = requests.post(config["token"]["reportEndpoint"],
                             headers={"Authorization": f"Bearer {usable['token']}"},
                             json={"generatedHashKey": KEY, "process_name": "Terminal"}, timeout=10)
    assert response.status_code == 200

    # 8. The remaining pages render for the owner.
    for name, label in (("10-quick-add", "Quick Add"), ("11-rules", "Media Rules"), ("12-apps", "App Records")):
        page.click(f"nav >> text={label}")
        shot(name)
    page.click("nav >> text=Connect a device")
    page.click("button[data-copy=curl-request]")
    assert clipboard(page).startswith(f"curl -X POST {server.url}/api/activity \\\n")
    shot("13-connect")
    page.click("nav >> text=Quick Add")
    page.fill("input[name=process_name]", "Reading")
    page.click("button:has-text('Add activity')")
    expect(page.locator(".flash.success")).to_contain_text("Web Admin Quick Add is now in Reading")

    # 9. Agent activity logged with the token: the table, the charts, and no script run from its text.
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    logged = datetime.now(UTC)
    # The minted token is for a reporter (scope report only); an agent gets its own token.
    refused = requests.post(server.url + "/api/activities", headers={"Authorization": f"Bearer {usable['token']}"},
                            json={"type": "tool_call", "status": "success", "description": "x"}, timeout=10)
    assert refused.status_code == 403 and "agents:write" in refused.json()["error"]
    agent_token = server.cli("token", "create", "agent", "--scope", "agents:write").strip().splitlines()[-1]
    for n, (kind, status) in enumerate((("tool_call", "success"), ("tool_call", "error"), ("file_read", "success"),
                                        ("command", "running"), ("tool_call", "success"))):
        response = requests.post(server.url + "/api/activities", headers={"Authorization": f"Bearer {agent_token}"},
                                 json={"type": kind, "status": status, "agent": "main",
                                       "description": "<script>alert(1)</script>" if n == 0 else f"step {n}",
                                       "timestamp": (logged - timedelta(days=n % 3, hours=n)).isoformat()},
                                 timeout=10)
        assert response.status_code == 201, response.text
    page.click("nav >> text=Agent Activities")
    expect(page.locator("tbody tr")).to_have_count(5)
    expect(page.locator("td", has_text="<script>alert(1)</script>")).to_have_count(1)
    expect(page.locator("figure svg.chart")).to_have_count(4)
    shot("13-agents")
    assert dialogs == []
