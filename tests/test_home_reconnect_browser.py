"""The home page in Chromium keeps updating: after a refused stream, a server restart, and
with a stopped (ended) track whose bar stands still."""
import time

import pytest
import requests

from tests.support import chromium, wait_for

# Messages Chromium itself prints for a refused or dropped request; they are the browser's
# report of the server's answer, not a script error.
NETWORK_NOTES = ("Failed to load resource: the server responded with a status of 503",
                 "Failed to load resource: net::ERR_")


class Page:
    """A headless Chromium page on the server's home page that records every script problem."""

    def __init__(self, playwright, url):
        self.browser = chromium(playwright)
        self.page = self.browser.new_page()
        self.problems, self.network = [], []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda err: self.problems.append(str(err)))
        self.page.goto(url)

    def _console(self, msg):
        if msg.type == "error":
            (self.network if msg.text.startswith(NETWORK_NOTES) else self.problems).append(msg.text)

    def state(self):
        return self.page.locator("#live-status").get_attribute("data-state")

    def apps(self):
        return self.page.locator("#current-list .card .app").all_inner_texts()


def reporter(server):
    token, key = server.token(), server.device("Desk PC")

    def post(process, **fields):
        body = {"generatedHashKey": key, "process_name": process, **fields}
        response = requests.post(server.url + "/api/activity", json=body,
                                 headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert response.status_code == 200, response.text
    return post


@pytest.mark.browser
@pytest.mark.slow
def test_page_loaded_while_the_stream_is_refused_catches_up(start_server):
    from playwright.sync_api import sync_playwright

    server = start_server()
    server.cli("settings", "set", "sse_max_streams", "2")
    post = reporter(server)
    post("Editor")
    holders = [requests.get(server.url + "/api/activity/stream", stream=True, timeout=10) for _ in range(2)]
    assert all(h.status_code == 200 for h in holders)
    assert requests.get(server.url + "/api/activity/stream", timeout=5).status_code == 503

    with sync_playwright() as p:
        page = Page(p, server.url + "/")
        try:
            assert page.apps() == ["Editor"]
            assert wait_for(lambda: page.state() == "reconnecting", 10)
            time.sleep(8)    # refused for a while: the retries have backed off
            for holder in holders:
                holder.close()
            post("Terminal")
            assert wait_for(lambda: page.apps() == ["Terminal"], 40), page.apps()
            assert wait_for(lambda: page.state() == "live", 60)
            assert page.page.locator("#live-status").inner_text() == "live"

            # A server restart drops the stream; the page comes back on its own.
            server.stop()
            assert wait_for(lambda: page.state() == "reconnecting", 10)
            server.start()
            post("Browser")
            assert wait_for(lambda: page.apps() == ["Browser"], 40), page.apps()
            assert wait_for(lambda: page.state() == "live", 60)
        finally:
            page.browser.close()
    assert page.problems == []
    assert page.network, "the refused stream should have been tried"


@pytest.mark.browser
@pytest.mark.slow
def test_ended_track_bar_stands_still(start_server):
    from playwright.sync_api import sync_playwright

    server = start_server()
    post = reporter(server)
    post("Spotify", metadata={"play_source": "spotify", "media": {
        "title": "Song A", "status": "playing", "positionMs": 30000, "durationMs": 200000}})
    with sync_playwright() as p:
        page = Page(p, server.url + "/")
        try:
            entry = page.page.locator("#recent-list .entry", has_text="Spotify")
            bar = entry.locator("progress")
            first = bar.evaluate("bar => bar.value")
            assert wait_for(lambda: bar.evaluate("bar => bar.value") > first + 900)

            post("Code")    # Spotify's activity ends
            assert wait_for(lambda: page.apps() == ["Code"], 10)
            stopped = bar.evaluate("bar => bar.value")
            label = entry.locator(".progress-time").inner_text()
            assert entry.locator(".music").get_attribute("data-status") == "stopped"
            time.sleep(2.5)
            assert bar.evaluate("bar => bar.value") == stopped
            assert entry.locator(".progress-time").inner_text() == label
        finally:
            page.browser.close()
    assert page.problems == []
