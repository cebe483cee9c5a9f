"""In Chromium: the owner's status and private mode appear and disappear live on the home page."""
from datetime import UTC, datetime, timedelta

import pytest
import requests

from tests.support import chromium, watch_errors


@pytest.mark.browser
@pytest.mark.slow
def test_status_and_private_mode_follow_live_on_the_home_page(start_server):
    from playwright.sync_api import expect, sync_playwright

    server = start_server()
    headers = {"Authorization": f"Bearer {server.token()}"}
    desk = server.device("Desk PC")
    answer = requests.post(server.url + "/api/activity", headers=headers, timeout=10, json={
        "generatedHashKey": desk, "process_name": "Editor", "process_title": "diary.txt", "push_mode": "active"})
    assert answer.status_code == 200, answer.text

    problems = []
    with sync_playwright() as p:
        browser = chromium(p)
        try:
            page = browser.new_page()
            watch_errors(page, problems)
            page.goto(server.url + "/")
            status, note = page.locator("#owner-status"), page.locator("#private-note")
            card = page.locator("#current-list .card", has_text="Desk PC")
            expect(status).to_be_hidden()
            expect(card.locator(".title")).to_have_text("diary.txt")

            in_two_hours = (datetime.now(UTC) + timedelta(hours=2)).strftime("%H:%M")
            answer = requests.put(server.url + "/api/status", headers=headers, timeout=10,
                                  json={"emoji": "🛌", "text": "asleep", "until": in_two_hours})
            assert answer.status_code == 200, answer.text
            expect(status).to_be_visible(timeout=10000)
            expect(status.locator(".status-text")).to_have_text("asleep")
            expect(status.locator(".status-until")).to_contain_text("until ")

            server.cli("settings", "set", "private_mode", "true")
            expect(note).to_be_visible(timeout=10000)
            expect(card.locator(".app")).to_have_text("online")
            expect(card.locator(".title")).to_have_count(0)
            expect(card.locator(".updated")).to_have_count(0)
            expect(page.locator("#recent-list")).to_have_text("Hidden in private mode.")
            assert "diary.txt" not in page.content() and "Editor" not in page.content()
            expect(status.locator(".status-text")).to_have_text("asleep")

            server.cli("settings", "set", "private_mode", "false")
            expect(note).to_be_hidden(timeout=10000)
            expect(card.locator(".title")).to_have_text("diary.txt")
            requests.delete(server.url + "/api/status", headers=headers, timeout=10)
            expect(status).to_be_hidden(timeout=10000)

            # The card embed renders as an image in the browser, from nothing but itself.
            page.set_content(f'<img id="card" src="{server.url}/embed/now.svg?theme=dark">')
            page.wait_for_function("document.getElementById('card').complete")
            assert page.evaluate("document.getElementById('card').naturalWidth") == 420
        finally:
            browser.close()
    assert problems == []
