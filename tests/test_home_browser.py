"""GET /: server-rendered home page, and the live page in real headless Chromium."""
import base64
import io
import re
import time

import pytest
import requests
from PIL import Image

from tests.support import chromium, wait_for, watch_errors

HOSTILE = "<img src=x onerror=alert(1)>"


def cover_data_url():
    image = Image.new("RGB", (96, 96), (220, 80, 60))
    for x in range(48):
        for y in range(48):
            image.putpixel((x, y), (40, 90, 200))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def test_home_page_is_readable_without_javascript(client, runner, auth, device):
    for key, value in (("site_name", "Ada's desk"), ("currently_text", "Right now"),
                       ("recent_text", "Earlier today"), ("bio", "Writes <b>code</b>.")):
        assert runner.invoke(args=["settings", "set", key, value]).exit_code == 0
    client.post("/api/activity", headers=auth, json={
        "generatedHashKey": device, "process_name": "Code", "process_title": HOSTILE, "device": "Desk",
        "push_mode": "active", "battery_level": 55,
        "metadata": {"play_source": "spotify", "media": {"title": "Song", "singer": "Singer",
                                                         "album": "Album", "durationMs": 1000}}})
    response = client.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for text in ("Ada&#39;s desk", "Right now", "Earlier today", "Writes &lt;b&gt;code&lt;/b&gt;.",
                 "&lt;img src=x onerror=alert(1)&gt;", "Album: Album", "Source: spotify", "55%",
                 "Times in UTC."):
        assert text in html
    # The page is kept until the data changes: the last update is a clock time (home.js says "N ago").
    assert re.search(r'class="updated" data-at="[^"]+">updated at \d\d:\d\d<', html)
    assert HOSTILE not in html
    assert "<script src=\"/static/home.js\" defer>" in html and "<script>" not in html
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "img-src 'self' https: http: data:" in csp


@pytest.mark.browser
@pytest.mark.slow
def test_live_home_page_in_chromium(start_server, tmp_path):
    from playwright.sync_api import sync_playwright

    server = start_server()
    server.cli("settings", "set", "timezone", "Europe/Berlin")
    token = server.token()
    desk, phone = server.device("Desk PC"), server.device("Pixel")
    headers = {"Authorization": f"Bearer {token}"}

    def post(body):
        response = requests.post(server.url + "/api/activity", json=body, headers=headers, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()["data"]

    stored = post({"generatedHashKey": desk, "device_type": "desktop", "process_name": "Spotify",
                   "process_title": "Evening mix", "battery_level": 76, "is_charging": True,
                   "metadata": {"play_source": "spotify", "media": {
                       "title": "Song A", "singer": "Singer A", "album": "Album A", "status": "playing",
                       "positionMs": 30000, "durationMs": 200000, "coverDataUrl": cover_data_url()}}})
    cover_url = stored["metadata"]["media"]["coverUrl"]
    assert cover_url.startswith(server.url + "/media/cover/")

    problems = []
    with sync_playwright() as p:
        browser = chromium(p)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 760})
            watch_errors(page, problems)
            page.on("dialog", lambda dialog: (problems.append("dialog: " + dialog.message), dialog.dismiss()))
            page.goto(server.url + "/")

            card = page.locator("#current-list .card", has_text="Spotify")
            assert card.locator(".app").inner_text() == "Spotify"
            assert card.locator(".track-title").inner_text() == "Song A"
            assert card.locator(".singer").inner_text() == "Singer A"
            assert "76%" in card.locator(".battery").inner_text()
            cover = card.locator("img.cover")
            assert cover.get_attribute("src") == cover_url
            assert wait_for(lambda: cover.evaluate("img => img.naturalWidth") == 96)

            # The progress bar ticks on its own (a second of playback moves it by ~1000 ms).
            first = card.locator("progress").evaluate("bar => bar.value")
            assert wait_for(lambda: card.locator("progress").evaluate("bar => bar.value") > first + 900)

            post({"generatedHashKey": phone, "device_type": "mobile", "process_name": "Browser",
                  "process_title": HOSTILE, "push_mode": "active"})
            phone_card = page.locator("#current-list .card", has_text="Browser")
            phone_card.wait_for(timeout=10000)
            assert phone_card.locator(".title").inner_text() == HOSTILE
            assert page.locator("img[src='x']").count() == 0
            assert phone_card.locator(".updated").inner_text().startswith("updated ")
            assert page.locator("#recent-list .entry").count() == 2

            card.locator(".music").hover()
            hover = card.locator(".hovercard")
            assert hover.is_visible()
            assert "Album: Album A" in hover.inner_text() and "Source: spotify" in hover.inner_text()

            page.mouse.move(0, 0)
            time.sleep(0.3)
            page.screenshot(path=str(tmp_path / "home.png"), full_page=True)
            page.set_viewport_size({"width": 390, "height": 844})
            page.screenshot(path=str(tmp_path / "home-phone.png"), full_page=True)
        finally:
            browser.close()
    assert problems == []
    assert (tmp_path / "home.png").stat().st_size > 10_000
