"""The home page and every admin page in Chinese and in English, in real headless Chromium:
no English words in the Chinese pages (names and data aside), and nothing wider than the window."""
import re

import pytest
import requests

from tests.admin_support import PASSWORD, USERNAME, create_admin
from tests.support import chromium

pytest.importorskip("playwright")
from playwright.sync_api import sync_playwright

KEY = "wwd-desk-7f3a9c11"
SESSION = "sess-42"
PAGES = ["/", "/admin/", "/admin/tokens", "/admin/devices", "/admin/connect", "/admin/quick-add",
         "/admin/settings", "/admin/rules", "/admin/apps", "/admin/app-rules", "/admin/agents",
         "/admin/sessions", f"/admin/sessions/{SESSION}", "/admin/alerts", "/admin/alerts/deliveries",
         "/admin/status", "/admin/login", "/nowhere"]
# The data this module stores (names, apps, titles, agents) and the words that stay as they
# are in Chinese: names of programs, protocols, formats, fields and commands the pages quote.
DATA = {"Desk", "Code", "editing", "app", "py", "Song", "Singer", "claude", "tool_call", "Read", "file",
        "gpt", "laptop", "spotify", "main", "test", "owner", "command", "phone", "asleep", "notification", SESSION}
KEPT = {"waken", "API", "Token", "JSON", "CSV", "SVG", "OTLP", "OpenTelemetry", "MCP", "URL", "HTTP",
        "GeneratedHashKey", "Base64", "base64", "GenAI", "span", "token", "Linux", "macOS", "Windows",
        "PowerShell", "Python", "python", "org", "exe", "PATH", "Xcode", "Wayland", "Hyprland", "Sway",
        "KDE", "X11", "MPRIS", "Tasker", "HTTP", "Shortcuts", "iOS", "Android", "curl", "English", "UTC",
        "AI", "Claude", "WeChat", "Spotify", "OpenClaw", "MB", "Mon", "Wed", "Fri", "POST", "Bearer", "Authorization",
        "waken-wa-reporter", "waken-reporter", "waken-web-admin", "OpenAPI", "PATCH", "Add", "to",   # "Add python.exe to PATH" is the installer's own label
        "GET", "PUT", "DELETE", "Apprise", "ntfy", "tgram", "Telegram", "Bark", "Discord", "Slack", "Webhook", "REST", "ISO",
        "email", "url", "digits"}   # the title-mask presets, typed as they are


def _words_outside_code(page):
    """Latin words in the page's visible text, outside code, pre, inputs and quoted names."""
    text = page.evaluate("""() => {
      const skip = new Set(["SCRIPT", "STYLE", "CODE", "PRE", "TEXTAREA", "OPTION", "EM"]);   // em: another app's own labels
      const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
      const parts = [];
      while (walker.nextNode()) {
        let node = walker.currentNode, el = node.parentElement, hidden = false;
        for (let e = el; e; e = e.parentElement) {
          // .stored: texts stored as they were written (an alert's text, a channel's answer)
          if (skip.has(e.tagName) || e.hidden || e.classList.contains("key-name") || e.classList.contains("stored")) {
            hidden = true; break;
          }
        }
        if (!hidden) parts.push(node.textContent);
      }
      for (const el of document.querySelectorAll("[title], [aria-label], [placeholder]")) {
        for (const name of ["title", "aria-label", "placeholder"]) if (el.getAttribute(name)) parts.push(el.getAttribute(name));
      }
      return parts.join("\\n");
    }""")
    # Quoted names, addresses, paths, file names, scopes and snake_case identifiers are names.
    text = re.sub(r"“[^”]*”|https?://\S+|(?:/[\w{}.-]+)+|\S+\.(?:py|exe|json)\b|[\w.-]+:[\w.-]+|wwd-[\w-]+"
                  r"|\b\w+_\w+\b", " ", text)
    return {w for w in re.findall(r"[A-Za-z][A-Za-z0-9-]*[A-Za-z0-9]", text) if w not in DATA | KEPT}


def _overflow(page):
    """Elements wider than the window, and whether the page scrolls sideways."""
    return page.evaluate("""() => {
      const root = document.documentElement;
      const wide = [...document.querySelectorAll("body *")].filter(e => {
        const r = e.getBoundingClientRect();
        return r.width > 0 && r.right > root.clientWidth + 1 && !e.closest(".chart-scroll, pre, table");
      }).map(e => e.tagName + "." + e.className);
      return {scrolls: root.scrollWidth > root.clientWidth, wide: wide.slice(0, 5)};
    }""")


@pytest.fixture(scope="module")
def seeded(server):
    create_admin(server)
    token = server.token("laptop")
    server.device("Desk", KEY)
    headers = {"Authorization": f"Bearer {token}"}
    requests.post(f"{server.url}/api/activity", headers=headers, timeout=10, json={
        "generatedHashKey": KEY, "process_name": "Code", "process_title": "editing app.py",
        "battery_level": 80, "is_charging": True,
        "metadata": {"play_source": "spotify", "media": {"title": "Song", "singer": "Singer", "durationMs": 200000,
                                                         "positionMs": 1000, "status": "playing"}}}).raise_for_status()
    for n, status in enumerate(("success", "error", "running")):
        requests.post(f"{server.url}/api/activities", headers=headers, timeout=10, json={
            "type": "tool_call", "description": f"Read file {n}", "status": status, "agent": "claude",
            "session": SESSION, "duration_ms": 1200, "tokens_used": 300}).raise_for_status()
    server.cli("app-rule", "set", "Code", "--label", "Code", check=False)
    # The owner's status, agent cards and the Today charts on the home page; an alert channel,
    # a rule that is on and one delivery in the admin panel.
    requests.put(f"{server.url}/api/status", headers=headers, timeout=10,
                 json={"emoji": "🛌", "text": "asleep", "until": "23:59"}).raise_for_status()
    server.cli("settings", "set", "public_agents", "summary")
    server.cli("settings", "set", "public_stats", "on")
    server.cli("alert", "channel", "add", "phone", "json://127.0.0.1:9/hook")
    server.cli("alert", "rule", "set", "needs_you", "--on", "--channel", "phone")
    requests.post(f"{server.url}/api/activities", headers=headers, timeout=10, json={
        "type": "notification", "description": "Read file 3", "status": "pending", "agent": "claude",
        "session": SESSION}).raise_for_status()
    return server


@pytest.mark.browser
@pytest.mark.parametrize("language, widths", [("zh-CN", (1280, 390)), ("en", (1280,))])
def test_every_page_speaks_the_language_and_fits_the_window(seeded, tmp_path, language, widths):
    server = seeded
    shots = tmp_path / language
    shots.mkdir()
    server.cli("settings", "set", "language", language)
    with sync_playwright() as p:
        browser = chromium(p)
        try:
            for width in widths:
                context = browser.new_context(viewport={"width": width, "height": 900}, locale="en-US")
                page = context.new_page()
                page.set_default_timeout(10_000)
                page.goto(server.url + "/admin/login")
                page.fill("input[name=username]", USERNAME)
                page.fill("input[name=password]", PASSWORD)
                page.click("button.primary")
                for path in PAGES:
                    page.goto(server.url + path)
                    page.wait_for_load_state("load")
                    name = re.sub(r"\W+", "_", path).strip("_") or "home"
                    page.screenshot(path=shots / f"{name}-{width}.png", full_page=True)
                    assert page.evaluate("document.documentElement.lang") == language, path
                    if path == "/":     # the owner's status, the agent cards and the Today charts are checked too
                        assert all(page.is_visible(s) for s in ("#owner-status", "#agent-list .agent-card", "#today svg"))
                    if path == "/admin/alerts/deliveries":
                        assert page.locator("tr[id^=delivery-]").count() == 1
                    if width >= 1280:
                        assert _overflow(page) == {"scrolls": False, "wide": []}, (language, path)
                    else:
                        assert not _overflow(page)["scrolls"], (language, path)
                    if language == "zh-CN":
                        assert sorted(_words_outside_code(page)) == [], path
                        assert re.search(r"[\u4e00-\u9fff]", page.inner_text("body")), path
                    else:
                        # (the language menu names each language in its own words: 简体中文)
                        assert not re.search(r"[\u4e00-\u9fff]", page.inner_text("body").replace("简体中文", "")), path
                context.close()
        finally:
            browser.close()
    server.cli("settings", "set", "language", "auto")
