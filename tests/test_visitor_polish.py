"""Small things a visitor notices: "just now", the favicon, a heatmap that one busy day cannot wash out."""
import re
from datetime import UTC, datetime, timedelta

import pytest

from tests.support import record

NOW = datetime(2026, 3, 31, 10, 0, tzinfo=UTC)
pytestmark = pytest.mark.clock(NOW)
SHADE = re.compile(r'<rect [^>]*class="shade(\d)"[^>]*><title>([\d-]+): (\d+)</title>')


def test_a_fresh_report_reads_just_now(client, auth, device):
    client.post("/api/activity", headers=auth, json={
        "generatedHashKey": device, "process_name": "Code", "push_mode": "active"})
    # The page is kept until its data changes, so its HTML carries clock times; home.js
    # says "just now" for the first five seconds, on the visitor's clock.
    html = client.get("/").text
    assert re.search(r'class="updated" data-at="[^"]+">updated at \d\d:\d\d<', html)
    assert not re.search(r">[^<]*\b0 s\b", html)   # no count of seconds in the page's text
    assert re.search(r'<span class="duration">now · since \d\d:\d\d</span>', html)
    with client.get("/static/home.js") as response:
        script = response.text
    assert "var JUST_NOW_S = 5;" in script and 't("justNow")' in script
    assert '"justNow": "just now"' in html   # its words, in the page's language


def test_favicon_is_served_locally_on_every_page(client, admin):
    for page in ("/", "/admin/", "/api-reference"):
        html = (admin.get(page) if page.startswith("/admin") else client.get(page)).text
        assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in html, page
    with client.get("/static/favicon.svg") as icon:
        assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
        assert icon.text.startswith("<svg") and "http" not in icon.text.replace("http://www.w3.org/2000/svg", "")


def test_one_busy_day_does_not_wash_out_the_heatmap(client, auth, admin, clock):  # noqa: F811
    counts = {1: 1, 2: 3, 3: 6, 4: 10, 5: 150}     # days ago → records
    for days, count in counts.items():
        at = (NOW - timedelta(days=days)).isoformat()
        for _ in range(count):
            assert client.post("/api/activities", headers=auth, json=record(timestamp=at)).status_code == 201
    page = admin.get("/admin/agents").text
    shades = {day: (int(shade), int(n)) for shade, day, n in SHADE.findall(page)}
    busy = {day: shade for day, (shade, n) in shades.items() if n}
    assert sorted(n for _, n in shades.values() if n) == sorted(counts.values())
    # Four distinct shades for five busy days, the busiest darkest, and no busy day as pale
    # as an empty one (a share of the peak would have put the four quieter days together).
    assert len(set(busy.values())) == 4
    assert max(busy.values()) == 4 and busy[(NOW - timedelta(days=5)).date().isoformat()] == 4
    assert min(busy.values()) == 1 and all(shade == 0 for shade, n in shades.values() if not n)
    # Labels are drawn at their own size: the svg carries its width and height.
    assert re.search(r'<svg class="chart" width="\d+" height="\d+" viewBox', page)


@pytest.mark.parametrize("path", ["/api/activities?", "/api/activities/export?"])
def test_csv_with_dates_the_wrong_way_round_is_a_400(client, auth, path):
    response = client.get(path + "startDate=2026-03-05&endDate=2026-03-01", headers=auth)
    assert response.status_code == 400
    assert response.json["error"] == "startDate must not be after endDate."
