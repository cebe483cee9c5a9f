"""The Agent Activities page and the overview's agent numbers, through HTTP with a signed-in admin."""
import csv
import html
import io
import re
from datetime import UTC, datetime

import pytest

from tests.admin_support import create_admin

NOW = datetime(2026, 3, 31, 10, 0, tzinfo=UTC)
pytestmark = pytest.mark.clock(NOW)
XSS = "<script>alert(1)</script>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"



@pytest.fixture
def add(add):
    """The shared `add`, returning the new record's id."""
    return lambda timestamp, **fields: add(timestamp, **fields)["id"]


@pytest.fixture
def log(add):
    """Five records over three days and several hours, oldest first."""
    return [
        add("2026-03-29T08:00:00Z", type="file_read", status="success", agent="main", description="read a"),
        add("2026-03-29T09:00:00Z", type="tool_call", status="error", agent="main", description="call b"),
        add("2026-03-30T08:15:00Z", type="command", status="success", agent="tenacitas", description="run c"),
        add("2026-03-30T23:30:00Z", type="tool_call", status="running", agent="tenacitas", description="call d"),
        add("2026-03-31T09:00:00Z", type="tool_call", status="success", description="call e"),
    ]


def rows(page):
    """Ids of the table's records, in page order."""
    return [int(i) for i in re.findall(r'<tr id="activity-(\d+)">', page)]


def link(page, rel):
    match = re.search(rf'<a href="([^"]+)" rel="{rel}">', page)
    return html.unescape(match.group(1)) if match else None


def figure(page, caption):
    """The SVG of the chart under a caption."""
    match = re.search(rf"<figcaption>{caption}.*?</figcaption>(<svg.*?</svg>)", page, re.DOTALL)
    assert match, f"no chart captioned {caption}"
    return match.group(1)


def titles(svg):
    """{label: count} from the <title> of each bar or cell."""
    return {label: int(count) for label, count in re.findall(r"<title>(.*?): (\d+)</title>", svg)}


def page_of(admin, query=""):
    response = admin.get("/admin/agents" + query)
    assert response.status_code == 200, response.text
    return response.text


def test_needs_a_session(app, client):
    create_admin(app)
    response = client.get("/admin/agents?type=tool_call")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/login?next=")
    assert client.get("/api/activities/export").status_code == 401


def test_posted_records_show_newest_first(admin, log):
    page = page_of(admin)
    assert rows(page) == log[::-1]
    assert "5 matching" in page
    assert "<td><code>command</code></td>" in page and "tenacitas" in page and "run c" in page
    assert '<span class="badge running">running</span>' in page
    assert "2026-03-30 23:30:00" in page
    assert 'aria-current="page">Agent Activities</a>' in page


@pytest.mark.parametrize("query, expected", [
    ("?type=tool_call", [4, 3, 1]),
    ("?type=command,file_read", [2, 0]),
    ("?status=success", [4, 2, 0]),
    ("?agent=main", [1, 0]),
    ("?agent=tenacitas&type=tool_call", [3]),
    ("?startDate=2026-03-30", [4, 3, 2]),
    ("?endDate=2026-03-29", [1, 0]),
    ("?startDate=2026-03-30&endDate=2026-03-30", [3, 2]),
    ("?sort=oldest", [0, 1, 2, 3, 4]),
    ("?type=&status=&agent=&startDate=&endDate=&sort=newest", [4, 3, 2, 1, 0]),   # the empty form
    ("?type=nothing", []),
])
def test_each_filter_narrows_the_table(admin, log, query, expected):
    page = page_of(admin, query)
    assert rows(page) == [log[i] for i in expected]
    assert f"({len(expected)} matching)" in page
    if not expected:
        assert "No agent activity matches these filters." in page


@pytest.mark.parametrize("query, message", [
    ("?limit=abc", "Limit must be a whole number."),
    ("?limit=0", "Limit must be from 1 to 500"),
    ("?offset=-1", "Offset must be a whole number of at least 0."),
    ("?status=maybe", "Status &#39;maybe&#39; is not one of success, error, pending, running."),
    ("?sort=random", "Sort must be one of"),
    ("?startDate=yesterday", "The start date &#39;yesterday&#39; is not a date (2026-03-01)"),
    ("?startDate=2026-03-31&endDate=2026-03-30", "startDate must not be after endDate."),
    ("?agent=a&agent=b", "Agent is given more than once."),
    ("?page=2", "Page is not a known parameter."),
    ("?format=csv", "the Download CSV link gives the CSV"),
])
def test_a_bad_filter_is_explained_on_a_400_page(admin, log, query, message):
    response = admin.get("/admin/agents" + query)
    assert response.status_code == 400
    assert message in response.text
    assert "These filters cannot be used" in response.text
    assert '<form method="get"' in response.text and rows(response.text) == []


def test_a_bad_filter_keeps_the_typed_values_escaped(admin, clock):
    response = admin.get("/admin/agents", query_string={"status": XSS, "type": "tool_call"})
    assert response.status_code == 400
    assert XSS not in response.text and ESCAPED in response.text
    assert 'name="type" value="tool_call"' in response.text


def test_pagination_keeps_the_filters(admin, add):
    ids = [add(f"2026-03-30T{h:02d}:00:00Z", type="tool_call") for h in range(3)]
    add("2026-03-30T05:00:00Z", type="command")
    first = page_of(admin, "?type=tool_call&limit=2&sort=oldest")
    assert rows(first) == ids[:2] and link(first, "prev") is None
    following = link(first, "next")
    assert following == "/admin/agents?type=tool_call&sort=oldest&limit=2&offset=2"
    second = page_of(admin, following[len("/admin/agents"):])
    assert rows(second) == ids[2:] and link(second, "next") is None
    assert "3–3 of 3" in second
    assert rows(page_of(admin, link(second, "prev")[len("/admin/agents"):])) == ids[:2]


def test_fifty_records_a_page_by_default(admin, add):
    ids = [add(f"2026-03-30T{n // 60:02d}:{n % 60:02d}:00Z", agent="main") for n in range(52)]
    first = page_of(admin, "?agent=main")
    assert rows(first) == ids[::-1][:50]
    assert link(first, "next") == "/admin/agents?agent=main&offset=50"
    assert rows(page_of(admin, "?agent=main&offset=50")) == ids[1::-1]


def test_the_csv_link_downloads_the_filtered_log_with_the_session(admin, log):
    page = page_of(admin, "?type=tool_call&sort=oldest&limit=1")
    href = html.unescape(re.search(r'<a href="([^"]+)" download>Download CSV</a>', page).group(1))
    assert href == "/api/activities/export?type=tool_call&sort=oldest"
    response = admin.get(href)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment; filename=activities-2026-03-31.csv" == response.headers["Content-Disposition"]
    table = list(csv.reader(io.StringIO(response.text)))
    assert table[0][:3] == ["id", "timestamp", "type"]
    assert [int(row[0]) for row in table[1:]] == [log[1], log[3], log[4]]
    assert [row[3] for row in table[1:]] == ["call b", "call d", "call e"]


def test_the_charts_count_per_day_hour_type_and_status(admin, log):
    page = page_of(admin)
    heatmap = figure(page, "Per day")
    api = admin.get("/api/activities/stats").json
    # The default 30-day retention from 2026-03-31 touches 1 March to 31 March.
    assert heatmap.count("<rect") == len(api["heatmap"]) == 31
    days = titles(heatmap)
    assert days["2026-03-01"] == 0 and days["2026-03-28"] == 0
    assert (days["2026-03-29"], days["2026-03-30"], days["2026-03-31"]) == (2, 2, 1)
    hourly = figure(page, "Per hour of day")
    assert hourly.count("<rect") == 24
    hours = titles(hourly)
    assert len(hours) == 24 and sum(hours.values()) == 5
    assert (hours["08:00"], hours["09:00"], hours["23:00"], hours["10:00"]) == (2, 2, 1, 0)
    assert titles(figure(page, "By type")) == {"tool_call": 3, "command": 1, "file_read": 1}
    assert titles(figure(page, "By status")) == {"success": 3, "error": 1, "running": 1, "pending": 0}
    assert re.search(r"<strong>1</strong><span>today</span>", page)


def test_the_charts_follow_the_filters_but_not_the_dates(admin, log):
    page = page_of(admin, "?agent=tenacitas&startDate=2026-03-31")
    assert rows(page) == []
    assert titles(figure(page, "By type")) == {"command": 1, "tool_call": 1}
    days = titles(figure(page, "Per day"))
    assert (days["2026-03-29"], days["2026-03-30"]) == (0, 2)


def test_days_and_hours_are_in_the_configured_time_zone(admin, runner, log):
    result = runner.invoke(args=["settings", "set", "timezone", "Asia/Tokyo"])
    assert result.exit_code == 0, result.output
    page = page_of(admin)
    # 2026-03-30T23:30Z is 08:30 on 31 March in Tokyo (UTC+9).
    assert "2026-03-31 08:30:00" in page
    days = titles(figure(page, "Per day"))
    assert (days["2026-03-29"], days["2026-03-30"], days["2026-03-31"]) == (2, 1, 2)
    hours = titles(figure(page, "Per hour of day"))
    assert (hours["17:00"], hours["18:00"], hours["08:00"]) == (2, 2, 1)
    overview = admin.get("/admin/").text
    assert re.search(r"<strong>2</strong><span>agent activity today</span>", overview)


def test_user_text_is_escaped_in_the_table_and_the_charts(admin, add):
    add("2026-03-31T09:00:00Z", type=XSS, description=XSS, agent=XSS)
    page = page_of(admin)
    assert XSS not in page
    assert f'<td class="wrap">{ESCAPED}' in page and f"<td>{ESCAPED}</td>" in page
    chart = figure(page, "By type")
    assert XSS not in chart and f"<title>{ESCAPED}: 1</title>" in chart
    overview = admin.get("/admin/").text
    assert XSS not in overview and ESCAPED in overview


def test_empty_log(admin, clock):
    page = page_of(admin)
    assert "No agent activity yet" in page and rows(page) == []
    days = titles(figure(page, "Per day"))
    assert len(days) == 31 and set(days.values()) == {0}
    assert len(titles(figure(page, "Per hour of day"))) == 24
    assert "No agent activity logged yet." in admin.get("/admin/").text


def test_the_overview_counts_today_and_lists_the_latest(admin, log):
    page = admin.get("/admin/").text
    assert re.search(r"<strong>1</strong><span>agent activity today</span>", page)
    latest = page[page.index("Latest agent activity"):]
    assert latest.index("call e") < latest.index("call d") < latest.index("read a")

