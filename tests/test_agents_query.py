"""GET /api/activities (JSON and CSV) and /api/activities/stats through HTTP."""
import csv
import io
import json
from datetime import datetime, timezone

import pytest

from tests.admin_support import Admin, create_admin
from tests.support import record, set_setting
from waken import db, settings

NOW = datetime(2026, 3, 31, 10, 0, tzinfo=timezone.utc)
pytestmark = pytest.mark.clock(NOW)


@pytest.fixture
def get(client, auth):
    def get(query="", **kwargs):
        return client.get("/api/activities" + query, headers=auth, **kwargs)
    return get


@pytest.fixture
def log(add):
    """Five records of several types, statuses and agents, oldest first."""
    return [
        add("2026-03-29T08:00:00Z", type="file_read", status="success", agent="main"),
        add("2026-03-29T09:00:00Z", type="tool_call", status="error", agent="main"),
        add("2026-03-30T08:00:00Z", type="command", status="success", agent="tenacitas"),
        add("2026-03-30T23:30:00Z", type="tool_call", status="running", agent="tenacitas"),
        add("2026-03-31T09:00:00Z", type="tool_call", status="success"),
    ]


def ids(response):
    assert response.status_code == 200, response.json
    return [a["id"] for a in response.json["activities"]]


def test_newest_first_by_default_with_paging(get, log):
    page = get("?limit=2")
    assert ids(page) == [log[4]["id"], log[3]["id"]]
    assert page.json["total"] == 5 and page.json["hasMore"] is True
    assert page.json["limit"] == 2 and page.json["offset"] == 0
    last = get("?limit=2&offset=4")
    assert ids(last) == [log[0]["id"]] and last.json["hasMore"] is False
    assert ids(get("?sort=oldest")) == [r["id"] for r in log]
    assert get("").json["activities"][0] == log[4]


def test_back_dated_rows_sort_by_their_timestamp(get, log, add):
    late = add("2026-03-29T08:30:00Z")
    assert ids(get("?sort=oldest&limit=2")) == [log[0]["id"], late["id"]]


@pytest.mark.parametrize("query, expected", [
    ("?type=tool_call", [4, 3, 1]),
    ("?type=command,file_read", [2, 0]),
    ("?type=command&type=file_read", [2, 0]),
    ("?type=nothing", []),
    ("?status=success", [4, 2, 0]),
    ("?status=running,error", [3, 1]),
    ("?agent=main", [1, 0]),
    ("?agent=main&type=tool_call", [1]),
    ("?startDate=2026-03-30T08:00:00Z", [4, 3, 2]),
    ("?endDate=2026-03-29T09:00:00Z", [1, 0]),
    ("?startDate=2026-03-29T08:30:00Z&endDate=2026-03-30T08:00:00Z", [2, 1]),
    ("?startDate=2026-03-30", [4, 3, 2]),
    ("?endDate=2026-03-30", [3, 2, 1, 0]),        # the whole day, 23:30 included
    ("?startDate=2026-03-30&endDate=2026-03-30", [3, 2]),
])
def test_filters(get, log, query, expected):
    response = get(query)
    assert ids(response) == [log[i]["id"] for i in expected]
    assert response.json["total"] == len(expected)


def test_date_only_bounds_use_the_configured_timezone(get, log, runner):
    # In New York (UTC-4 in late March) 2026-03-30T23:30Z is 19:30 on the 30th and
    # 2026-03-31T09:00Z is 05:00 on the 31st.
    set_setting(runner, "timezone", "America/New_York")
    assert ids(get("?endDate=2026-03-30")) == [log[i]["id"] for i in (3, 2, 1, 0)]
    assert ids(get("?startDate=2026-03-31")) == [log[4]["id"]]
    # In Tokyo (UTC+9) 23:30Z on the 30th is already the 31st.
    set_setting(runner, "timezone", "Asia/Tokyo")
    assert ids(get("?startDate=2026-03-31")) == [log[4]["id"], log[3]["id"]]


@pytest.mark.parametrize("query, field", [
    ("?limit=0", "limit"),
    ("?limit=501", "limit"),
    ("?limit=abc", "limit"),
    ("?offset=-1", "offset"),
    ("?offset=x", "offset"),
    ("?sort=sideways", "sort"),
    ("?format=xml", "format"),
    ("?status=done", "status"),
    ("?type=", "type"),
    ("?agent=" + "a" * 65, "agent"),
    ("?startDate=yesterday", "startDate"),
    ("?endDate=2026-02-30", "endDate"),
    ("?startDate=2026-03-31&endDate=2026-03-30", "startDate"),
    ("?limit=5&limit=6", "limit"),
    ("?stauts=error", "stauts"),
])
def test_invalid_query_values_are_400(get, clock, query, field):
    response = get(query)
    assert response.status_code == 400
    assert field in response.json["fields"]
    assert response.json["error"].startswith(("Invalid request", "startDate"))


def test_the_list_is_json_and_the_export_is_csv(get, client, auth, log):
    # format=csv on the list (SPEC §4.2) is the export's download, its filters and limits included.
    listed = get("?format=csv&type=tool_call")
    assert listed.status_code == 200 and listed.mimetype == "text/csv"
    assert listed.headers["Content-Disposition"].startswith("attachment")
    rows = listed.get_data()
    assert rows == client.get("/api/activities/export?type=tool_call", headers=auth).get_data()
    assert get("?format=csv&limit=10001").json["fields"]["limit"] == "must be from 1 to 10000"
    assert get("?format=json").json["total"] == 5
    export = client.get("/api/activities/export?limit=10000", headers=auth)
    assert export.status_code == 200 and export.mimetype == "text/csv"
    assert client.get("/api/activities/export?limit=10001", headers=auth).json["fields"]["limit"] == \
        "must be from 1 to 10000"


def test_one_csv_download_streams_at_a_time_per_process(client, auth, log):
    first = client.get("/api/activities/export", headers=auth)     # not read yet: still streaming
    second = client.get("/api/activities?format=csv", headers=auth)
    assert second.status_code == 503 and second.json["code"] == "busy.export"
    assert second.headers["Retry-After"] == "1"
    assert first.get_data().count(b"\r\n") == 6 and first.status_code == 200
    first.close()
    assert client.get("/api/activities/export", headers=auth).status_code == 200


def test_reads_need_a_token_or_an_admin_session(app, client, log):
    assert client.get("/api/activities").status_code == 401
    assert client.get("/api/activities", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/api/activities/stats").status_code == 401
    assert client.get(f"/api/activities/{log[0]['id']}").status_code == 401
    create_admin(app)
    admin = Admin(client).login()
    assert admin.get("/api/activities").json["total"] == 5
    assert admin.get("/api/activities/stats").json["total"] == 5
    assert admin.get("/api/activities/export").status_code == 200


def test_rows_past_retention_vanish_from_every_read(get, client, auth, clock, add, runner):
    old = add("2026-03-01T10:30:00Z")          # 29 days 23.5 hours before NOW
    kept = add("2026-03-02T10:00:00Z")
    clock.advance(hours=1)
    assert ids(get()) == [kept["id"]]
    assert client.get(f"/api/activities/{old['id']}", headers=auth).status_code == 404
    assert client.get("/api/activities/stats", headers=auth).json["total"] == 1
    set_setting(runner, "agent_retention_days", "60")
    assert ids(get()) == [kept["id"], old["id"]]


def test_csv_export_quotes_and_neutralises(get, add, runner, clock):
    set_setting(runner, "timezone", "Europe/Berlin")
    clock.now = datetime(2026, 3, 31, 22, 30, tzinfo=timezone.utc)     # already April 1st in Berlin
    tricky = [
        add("2026-03-31T10:00:00Z", description='read "a, b"\nand c', agent="main", duration_ms=7,
            metadata={"path": "x,y", "note": 'say "hi"'}),
        add("2026-03-31T10:01:00Z", description="=cmd()", agent="+1"),
        add("2026-03-31T10:02:00Z", description="\tindented", agent="@SUM(A1)", type="-2+3"),
        add("2026-03-31T10:03:00Z", description="\rcarriage", status="error", tokens_used=5),
    ]
    response = get("/export?sort=oldest")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == "attachment; filename=activities-2026-04-01.csv"
    raw = response.get_data(as_text=True)
    assert raw.startswith("id,timestamp,type,description,status,duration_ms,tokens_used,agent,metadata,session,cost_usd\r\n")
    assert '"read ""a, b""\nand c"' in raw
    rows = list(csv.reader(io.StringIO(raw, newline="")))
    assert rows[0] == ["id", "timestamp", "type", "description", "status", "duration_ms", "tokens_used",
                       "agent", "metadata", "session", "cost_usd"]
    assert rows[1] == [str(tricky[0]["id"]), "2026-03-31T10:00:00.000Z", "tool_call", 'read "a, b"\nand c',
                       "success", "7", "", "main", rows[1][8], "", ""]
    assert json.loads(rows[1][8]) == {"path": "x,y", "note": 'say "hi"'}
    assert rows[2][3] == "'=cmd()" and rows[2][7] == "'+1"
    assert rows[3][2] == "'-2+3" and rows[3][3] == "'\tindented" and rows[3][7] == "'@SUM(A1)"
    assert rows[4][3] == "'\rcarriage" and rows[4][4] == "error" and rows[4][6] == "5"
    assert len(rows) == 5


def test_csv_follows_the_filters_and_streams_many_rows(app, get, client, auth, clock):
    with app.app_context(), db.write():   # more writes in a moment than the default rate limit allows
        settings.put("rate_limit_per_minute", 0)
    for n in range(1203):
        client.post("/api/activities", headers=auth,
                    json=record(description=f"call {n}", type="command" if n % 3 else "tool_call"))
    response = get("/export?type=command", buffered=False)
    chunks = list(response.response)
    assert len(chunks) > 1          # streamed in parts, not built whole
    rows = list(csv.reader(io.StringIO(b"".join(chunks).decode(), newline="")))
    assert len(rows) == 1 + 802
    assert {row[2] for row in rows[1:]} == {"command"}
    assert len(list(csv.reader(io.StringIO(get("/export?limit=10").text, newline="")))) == 11


def test_stats_in_a_timezone_across_the_dst_change(client, auth, add, runner):
    # Europe/Berlin moves from UTC+1 to UTC+2 at 01:00 UTC on Sunday 2026-03-29.
    set_setting(runner, "timezone", "Europe/Berlin")
    add("2026-03-05T12:00:00Z", type="command", duration_ms=100)           # 03-05 13h
    add("2026-03-25T12:00:00Z", type="command", tokens_used=10)            # 03-25 13h
    add("2026-03-28T23:30:00Z", status="error", duration_ms=300)           # 03-29 00h (UTC+1)
    add("2026-03-29T01:30:00Z", agent="main")                              # 03-29 03h (UTC+2)
    add("2026-03-30T22:30:00Z", agent="main", tokens_used=5)               # 03-31 00h
    add("2026-03-31T09:00:00Z", status="error", agent="main")              # 03-31 11h
    stats = client.get("/api/activities/stats", headers=auth).json
    heat = {entry["day"]: entry["count"] for entry in stats["heatmap"]}
    assert [entry["day"] for entry in stats["heatmap"]][:1] == ["2026-03-01"]
    assert [entry["day"] for entry in stats["heatmap"]][-1] == "2026-03-31"
    assert len(stats["heatmap"]) == 31
    assert {day: n for day, n in heat.items() if n} == {
        "2026-03-05": 1, "2026-03-25": 1, "2026-03-29": 2, "2026-03-31": 2}
    assert stats["trend"] == [
        {"day": "2026-03-25", "count": 1, "success": 1, "errors": 0, "costUsd": 0.0},
        {"day": "2026-03-26", "count": 0, "success": 0, "errors": 0, "costUsd": 0.0},
        {"day": "2026-03-27", "count": 0, "success": 0, "errors": 0, "costUsd": 0.0},
        {"day": "2026-03-28", "count": 0, "success": 0, "errors": 0, "costUsd": 0.0},
        {"day": "2026-03-29", "count": 2, "success": 1, "errors": 1, "costUsd": 0.0},
        {"day": "2026-03-30", "count": 0, "success": 0, "errors": 0, "costUsd": 0.0},
        {"day": "2026-03-31", "count": 2, "success": 1, "errors": 1, "costUsd": 0.0},
    ]
    hourly = {entry["hour"]: entry["count"] for entry in stats["hourly"]}
    assert list(hourly) == [f"{h:02d}" for h in range(24)]
    assert {h: n for h, n in hourly.items() if n} == {"00": 2, "03": 1, "11": 1, "13": 2}
    assert stats["total"] == 6 and stats["today"] == 2
    assert stats["thisWeek"] == 2          # since Monday 2026-03-30, local time
    assert stats["byType"] == {"tool_call": 4, "command": 2}
    assert stats["byStatus"] == {"success": 4, "error": 2, "pending": 0, "running": 0}
    assert stats["tokensUsed"] == 15 and stats["avgDurationMs"] == 200

    filtered = client.get("/api/activities/stats?agent=main&type=tool_call", headers=auth).json
    assert filtered["total"] == 3 and filtered["byStatus"]["error"] == 1
    assert filtered["avgDurationMs"] is None
    assert client.get("/api/activities/stats?type=command,nothing", headers=auth).json["total"] == 2


def test_stats_hourly_covers_only_the_last_30_days(client, auth, add, runner, clock):
    set_setting(runner, "agent_retention_days", "90")
    add("2026-02-15T05:00:00Z")
    add("2026-03-30T05:00:00Z")
    stats = client.get("/api/activities/stats", headers=auth).json
    assert stats["total"] == 2 and len(stats["heatmap"]) == 91
    assert sum(entry["count"] for entry in stats["hourly"]) == 1


def test_stats_match_the_list_at_the_retention_edge(client, auth, add, clock, get):
    add("2026-03-01T10:05:00Z")       # the cutoff (NOW - 30 days) falls inside this 15-minute bucket
    add("2026-03-01T10:14:00Z")
    add("2026-03-01T10:20:00Z")
    clock.advance(minutes=10)         # cutoff 10:10: the first row is past retention
    stats = client.get("/api/activities/stats", headers=auth).json
    assert stats["total"] == get().json["total"] == 2
    assert stats["heatmap"][0] == {"day": "2026-03-01", "count": 2}


def test_stats_of_the_largest_counts_add_up_without_failing(client, auth, add, clock):
    # Each value is within what a record may hold; their sum is past SQLite's integers.
    for when in ("2026-03-29T09:00:00Z", "2026-03-30T09:00:00Z", "2026-03-31T09:00:00Z"):   # three buckets
        add(when, tokens_used=2**63 - 1, duration_ms=2**63 - 1)
    response = client.get("/api/activities/stats", headers=auth)
    assert response.status_code == 200, response.json
    assert response.json["total"] == 3
    assert response.json["tokensUsed"] == pytest.approx(3 * (2**63 - 1), rel=1e-9)
    assert response.json["avgDurationMs"] == pytest.approx(2**63 - 1, rel=1e-9)


def test_empty_stats_are_zero_filled(client, auth, clock):
    stats = client.get("/api/activities/stats", headers=auth).json
    assert stats["total"] == stats["today"] == stats["thisWeek"] == stats["tokensUsed"] == 0
    assert stats["byType"] == {} and set(stats["byStatus"].values()) == {0}
    assert len(stats["trend"]) == 7 and len(stats["hourly"]) == 24 and len(stats["heatmap"]) == 31
    assert stats["avgDurationMs"] is None


@pytest.mark.parametrize("query, field", [("?agent=", "agent"), ("?status=error", "status"),
                                          ("?type=a&agent=b&agent=c", "agent")])
def test_invalid_stats_queries_are_400(client, auth, clock, query, field):
    response = client.get("/api/activities/stats" + query, headers=auth)
    assert response.status_code == 400
    assert field in response.json["fields"]


def test_single_record_is_readable(client, auth, log):
    assert client.get(f"/api/activities/{log[2]['id']}", headers=auth).json == log[2]
    assert client.get("/api/activities/4242", headers=auth).status_code == 404



@pytest.mark.parametrize("window", [
    "",
    "&startDate=2026-03-30T08:07:30Z",
    "&endDate=2026-03-30T09:52:10Z",
    "&startDate=2026-03-30T08:07:30Z&endDate=2026-03-30T09:52:10Z",
    "&startDate=2026-03-30T08:20:00Z&endDate=2026-03-30T08:29:00Z",     # inside one bucket
    "&startDate=2026-03-30&endDate=2026-03-30",
])
def test_totals_with_several_filters_are_exact_at_any_bounds(get, add, clock, window):
    # Totals come from the day and 15-minute rollups plus the rows at the edges.
    posted = [add(f"2026-03-30T{8 + m // 60:02d}:{m % 60:02d}:00Z", agent=("main", "scout")[m % 2],
                  type=("tool_call", "command")[m // 7 % 2], status=("success", "error")[m // 3 % 2])
              for m in range(0, 180, 7)]
    assert len(posted) == 26
    for agent, rest in (("main", "type=tool_call"), ("scout", "status=error"),
                        ("main", "type=command&status=success,error")):
        listed = get(f"?agent={agent}&{rest}{window}&limit=500").json
        assert listed["total"] == len(listed["activities"])
        # The same filters without agent, with the agent picked here, list the same rows.
        broader = get(f"?{rest}{window}&limit=500").json["activities"]
        assert listed["activities"] == [a for a in broader if a["agent"] == agent]
