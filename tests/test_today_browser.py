"""Your day and agents on the home page, in real headless Chromium against one live server: the
Today charts, and an agent card that appears and disappears live."""
import pytest
import requests

from tests.support import chromium, wait_for, watch_errors

SECRET = "cat /home/ada/.ssh/id_ed25519"


@pytest.mark.browser
@pytest.mark.slow
def test_today_charts_and_a_live_agent_card_in_chromium(server):
    from playwright.sync_api import sync_playwright

    server.cli("settings", "set", "public_stats", "on")
    server.cli("settings", "set", "public_agents", "summary")
    headers = {"Authorization": f"Bearer {server.token()}"}
    desk = server.device("Desk PC")
    response = requests.post(server.url + "/api/activity", headers=headers, timeout=10, json={
        "generatedHashKey": desk, "process_name": "Code", "process_title": "main.py"})
    assert response.status_code == 200, response.text

    problems = []
    with sync_playwright() as p:
        browser = chromium(p)
        try:
            page = browser.new_page()
            watch_errors(page, problems)
            page.goto(server.url + "/")
            assert page.locator("#today svg.chart").count() == 3
            assert "Code" in page.locator("#today").inner_text()
            assert page.locator("#agents").is_hidden()

            for _ in range(2):
                answer = requests.post(server.url + "/api/activities", headers=headers, timeout=10, json={
                    "type": "tool_call", "description": SECRET, "status": "success", "agent": "Claude Code",
                    "metadata": {"command": SECRET}})
                assert answer.status_code == 201, answer.text
            card = page.locator("#agent-list .agent-card", has_text="Claude Code")
            card.wait_for(timeout=10000)
            assert wait_for(lambda: card.locator(".agent-line").inner_text() == "working · 2 tool calls in 5 min")
            assert page.locator("#agents").is_visible()

            requests.post(server.url + "/api/activities", headers=headers, timeout=10, json={
                "type": "permission_request", "description": SECRET, "status": "pending", "agent": "Claude Code"})
            assert wait_for(lambda: card.locator(".agent-line").inner_text() == "waiting for you", seconds=10)
            assert SECRET not in page.content()

            server.cli("settings", "set", "public_agents", "off")
            assert wait_for(lambda: page.locator("#agent-list .agent-card").count() == 0, seconds=10)
            assert page.locator("#agents").is_hidden()
        finally:
            browser.close()
    assert problems == []
