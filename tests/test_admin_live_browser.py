"""In Chromium: the Agent Activities page follows its stream, its chart labels are readable,
and the home page and the admin panel follow the visitor's dark or light colour scheme."""
import re

import pytest
import requests

from tests.admin_support import create_admin
from tests.support import chromium, wait_for, watch_errors

PASSWORD = "a long pass phrase"
# The page's background as painted: the body's, or the root's when the body has none.
BACKGROUND = ("(() => { const b = getComputedStyle(document.body).backgroundColor;"
              " return b === 'rgba(0, 0, 0, 0)' ? getComputedStyle(document.documentElement).backgroundColor : b; })()")


def luminance(css_color):
    r, g, b = (int(v) for v in re.findall(r"\d+", css_color)[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


def sign_in(page, server):
    page.goto(server.url + "/admin/login")
    page.fill("input[name=username]", "owner")
    page.fill("input[name=password]", PASSWORD)
    page.click("button:has-text('Log in')")
    page.wait_for_selector("h1:has-text('Overview')")


@pytest.mark.browser
@pytest.mark.slow
def test_agent_page_is_live_readable_and_dark_when_asked(start_server):
    from playwright.sync_api import sync_playwright

    server = start_server()
    create_admin(server, password=PASSWORD)
    headers = {"Authorization": f"Bearer {server.token()}"}

    def log(description):
        response = requests.post(server.url + "/api/activities", headers=headers, timeout=10, json={
            "type": "tool_call", "description": description, "status": "success", "agent": "main"})
        assert response.status_code == 201, response.text

    log("first")
    problems = []
    with sync_playwright() as p:
        browser = chromium(p)
        try:
            for scheme in ("dark", "light"):
                context = browser.new_context(color_scheme=scheme, viewport={"width": 1200, "height": 900})
                page = context.new_page()
                watch_errors(page, problems)
                page.goto(server.url + "/")
                home = luminance(page.evaluate(BACKGROUND))
                sign_in(page, server)
                page.goto(server.url + "/admin/agents")
                panel = luminance(page.evaluate(BACKGROUND))
                if scheme == "dark":
                    assert home < 0.2 and panel < 0.2, (home, panel)
                else:
                    assert home > 0.8 and panel > 0.8, (home, panel)
                context.close()

            context = browser.new_context(viewport={"width": 1000, "height": 900})
            page = context.new_page()
            watch_errors(page, problems)
            sign_in(page, server)
            page.goto(server.url + "/admin/agents")
            status = page.locator("#live-status")
            assert wait_for(lambda: status.get_attribute("data-state") == "live", 10)
            assert page.locator("#new-records").is_hidden()

            # Every chart label is drawn at 11 px or more on screen.
            sizes = page.locator("svg.chart text").evaluate_all(
                "texts => texts.map(t => parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a)")
            assert sizes and min(sizes) >= 11, sizes

            log("second")
            log("third")
            notice = page.locator("#new-records")
            assert wait_for(lambda: notice.is_visible(), 10)
            assert wait_for(lambda: "2 new records" in notice.inner_text(), 10), notice.inner_text()
            notice.locator("a").click()
            page.wait_for_selector("td:has-text('third')")
            assert page.locator("#new-records").is_hidden()
        finally:
            browser.close()
    assert problems == []
