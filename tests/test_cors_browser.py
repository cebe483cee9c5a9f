"""Browser reporting in real Chromium: pages on other origins report, or are blocked, and read the feed."""
import functools
import http.server
import json
import threading

import pytest
import requests

from tests.support import chromium, free_port, wait_for

# The seed document's browser snippet, verbatim (its indentation restored): the product's
# contract, kept here so the test runs from a clean clone. Only the host changes; `token` and
# `deviceHashKey` are the variables it expects the page to have.
BROWSER_SNIPPET = """const battery = await navigator.getBattery?.().catch(() => null)
const batteryLevel = battery ? Math.round(battery.level * 100) : undefined
const isCharging = battery ? battery.charging : undefined
await fetch('http://localhost:3000/api/activity', {
  method: 'POST',
  headers: {
    Authorization: `Bearer ${token}`,
    'Content-Type': 'application/json',
  },
  body: JSON.stringify({
    generatedHashKey: deviceHashKey, // required
    device: navigator.platform || 'My PC',
    device_type: 'desktop',
    process_name: 'Chrome',
    process_title: 'Dashboard',
    battery_level: batteryLevel,
    ...(typeof isCharging === 'boolean' ? { is_charging: isCharging } : {}),
    push_mode: 'active', // active push: long-lived display with last update time
    metadata: {
      media: {
        title: 'Example Track',
        singer: 'Example Artist', // optional
      },
    },
  }),
})"""


def report_page(server_url, token, key):
    """A page that runs the snippet and writes its outcome on <body data-result>."""
    snippet = BROWSER_SNIPPET.replace("http://localhost:3000", server_url)
    return f"""<!doctype html><title>report</title><body><script type="module">
const token = {json.dumps(token)}, deviceHashKey = {json.dumps(key)}
try {{
{snippet}
  document.body.dataset.result = 'sent'
}} catch (err) {{
  document.body.dataset.result = 'blocked: ' + err
}}
</script>"""


def status_page(server_url):
    """A personal site's status box: reads the feed once, then follows its stream."""
    return f"""<!doctype html><title>status</title><body><script type="module">
const base = {json.dumps(server_url)}
const feed = await (await fetch(base + '/api/activity')).json()
document.body.dataset.feed = feed.data.activeStatuses.map((s) => s.processName).join(',')
const source = new EventSource(base + '/api/activity/stream')
source.addEventListener('activity', (event) => {{
  document.body.dataset.events = (Number(document.body.dataset.events || 0) + 1).toString()
  document.body.dataset.last = event.data
}})
</script>"""


@pytest.fixture
def pages(tmp_path):
    """Factory: pages(address) -> base URL of a static file server for tmp_path/site on that address."""
    site = tmp_path / "site"
    site.mkdir()
    servers = []

    def serve(address):
        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
        handler.log_message = lambda *args: None
        httpd = http.server.ThreadingHTTPServer((address, free_port()), handler)
        servers.append(httpd)
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        return f"http://{address}:{httpd.server_port}"

    serve.site = site
    yield serve
    for httpd in servers:
        httpd.shutdown()
        httpd.server_close()


def activities_of(server, key):
    with server.db() as conn:
        return conn.execute("SELECT a.process_name FROM device_activity a JOIN device d ON d.id = a.device_id "
                            "WHERE d.hash_key = ?", (key,)).fetchall()


@pytest.mark.browser
@pytest.mark.slow
def test_pages_on_other_origins_in_chromium(start_server, pages):
    from playwright.sync_api import sync_playwright

    server = start_server()
    listed, unlisted = pages("127.0.0.2"), pages("127.0.0.3")   # both other origins than 127.0.0.1
    server.cli("settings", "set", "cors_report_origins", listed)
    token = server.token()
    listed_key, unlisted_key = server.device("Listed page"), server.device("Unlisted page")
    (pages.site / "listed.html").write_text(report_page(server.url, token, listed_key))
    (pages.site / "unlisted.html").write_text(report_page(server.url, token, unlisted_key))
    (pages.site / "status.html").write_text(status_page(server.url))

    with sync_playwright() as p:
        browser = chromium(p)
        try:
            page = browser.new_page()
            page.goto(listed + "/listed.html")
            page.wait_for_selector("body[data-result]", state="attached")
            assert page.locator("body").get_attribute("data-result") == "sent"
            feed = requests.get(server.url + "/api/activity", timeout=10).json()["data"]
            assert [s["processName"] for s in feed["activeStatuses"]] == ["Chrome"]
            assert [tuple(row) for row in activities_of(server, listed_key)] == [("Chrome",)]

            blocked = browser.new_page()
            blocked.goto(unlisted + "/unlisted.html")
            blocked.wait_for_selector("body[data-result]", state="attached")
            assert blocked.locator("body").get_attribute("data-result").startswith("blocked: TypeError")
            assert activities_of(server, unlisted_key) == []   # the preflight failed: nothing was sent

            status = browser.new_page()
            status.goto(unlisted + "/status.html")   # reading needs no listing
            status.wait_for_selector("body[data-events]", state="attached")
            assert status.locator("body").get_attribute("data-feed") == "Chrome"
            requests.post(server.url + "/api/activity", headers={"Authorization": f"Bearer {token}"}, json={
                "generatedHashKey": listed_key, "process_name": "Terminal", "push_mode": "active"},
                timeout=10).raise_for_status()
            assert wait_for(lambda: "Terminal" in (status.locator("body").get_attribute("data-last") or ""),
                            seconds=10)
        finally:
            browser.close()
