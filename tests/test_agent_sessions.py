"""Sessions and cost through HTTP: the session list and one session, session= filters, stats, CSV, prices."""
import csv
import io
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from tests.support import AGENT_TABLE_BEFORE_SESSIONS, Clock, make_app, older_database
from waken import db
from waken.auth.tokens import create_token
from waken.db import connect_sqlite
from waken.migrate import init_db

NOW = datetime(2026, 3, 31, 10, 0, tzinfo=timezone.utc)
pytestmark = pytest.mark.clock(NOW)

# (timestamp, session, agent, status, tokens, cost in dollars, model)
ROWS = [
    ("2026-03-30T08:00:00Z", "s-a", "main", "success", 100, 0.000001, "m1"),
    ("2026-03-30T08:00:05Z", "s-a", "main", "error", 50, 0.1, "m1"),
    ("2026-03-30T08:00:09Z", "s-a", "sub", "success", None, 0.2, "m2"),
    ("2026-03-31T09:00:00Z", "s-b", "other", "running", 7, None, None),
    ("2026-03-31T09:30:00Z", None, "main", "success", 3, 1.5, "m1"),
]


@pytest.fixture
def logged(add):
    out = []
    for timestamp, session, agent, status, tokens, cost, model in ROWS:
        out.append(add(timestamp, session=session, agent=agent, status=status, tokens_used=tokens,
                       cost_usd=cost, metadata={"model": model} if model else None))
    return out


def test_session_list_sums_equal_hand_sums(client, auth, logged):
    page = client.get("/api/agent-sessions", headers=auth).json
    assert [s["key"] for s in page["sessions"]] == ["s-b", "s-a"]
    assert page["total"] == 2 and page["hasMore"] is False
    first = page["sessions"][1]
    mine = [r for r in ROWS if r[1] == "s-a"]
    assert first["records"] == len(mine)
    assert first["tokensUsed"] == sum(r[4] or 0 for r in mine)
    assert first["costUsd"] == 0.300001          # exact: micro-dollars, not float sums
    assert first["byStatus"] == {"success": 2, "error": 1, "pending": 0, "running": 0}
    assert first["start"] == "2026-03-30T08:00:00.000Z" and first["end"] == "2026-03-30T08:00:09.000Z"
    assert first["durationMs"] == 9000
    assert first["agents"] == ["main", "sub"] and first["models"] == ["m1", "m2"]
    assert page["sessions"][0]["costUsd"] == 0
    second = client.get("/api/agent-sessions?limit=1&offset=1", headers=auth).json
    assert [s["key"] for s in second["sessions"]] == ["s-a"] and second["hasMore"] is False
    assert client.get("/api/agent-sessions?limit=1", headers=auth).json["hasMore"] is True


def test_session_list_filters(client, auth, logged):
    def keys(query):
        response = client.get("/api/agent-sessions" + query, headers=auth)
        assert response.status_code == 200, response.json
        return [s["key"] for s in response.json["sessions"]], response.json["total"]
    assert keys("?status=error") == (["s-a"], 1)
    assert keys("?agent=other") == (["s-b"], 1)
    assert keys("?type=nothing") == ([], 0)
    assert keys("?startDate=2026-03-31") == (["s-b"], 1)
    assert keys("?endDate=2026-03-30") == (["s-a"], 1)
    # Filters with dates: a matching record inside the dates.
    assert keys("?agent=main&endDate=2026-03-30") == (["s-a"], 1)
    assert keys("?agent=main&startDate=2026-03-31") == ([], 0)
    assert keys("?status=running&type=tool_call&startDate=2026-03-31") == (["s-b"], 1)
    assert keys("?status=success&agent=sub") == (["s-a"], 1)
    assert keys("?status=error&agent=sub") == ([], 0)
    # A filtered session is still summed whole.
    response = client.get("/api/agent-sessions?agent=sub", headers=auth).json
    assert response["sessions"][0]["records"] == 3
    for bad in ("?limit=0", "?limit=101", "?sort=oldest", "?format=csv", "?nope=1"):
        assert client.get("/api/agent-sessions" + bad, headers=auth).status_code == 400, bad


def test_one_session_in_order_and_paged(client, auth, logged):
    one = client.get("/api/agent-sessions/s-a?limit=2", headers=auth).json
    assert [r["id"] for r in one["activities"]] == [logged[0]["id"], logged[1]["id"]]
    assert one["total"] == 3 and one["hasMore"] is True and one["session"]["key"] == "s-a"
    rest = client.get("/api/agent-sessions/s-a?limit=2&offset=2", headers=auth).json
    assert [r["id"] for r in rest["activities"]] == [logged[2]["id"]] and rest["hasMore"] is False
    assert rest["activities"][0]["cost_usd"] == 0.2 and rest["activities"][0]["session"] == "s-a"
    missing = client.get("/api/agent-sessions/nope", headers=auth)
    assert missing.status_code == 404 and "nope" in missing.json["error"]
    assert client.get("/api/agent-sessions/s-a").status_code == 401


def test_session_filter_on_list_and_csv(client, auth, logged):
    listed = client.get("/api/activities?session=s-a", headers=auth).json
    assert listed["total"] == 3 and {r["session"] for r in listed["activities"]} == {"s-a"}
    raw = client.get("/api/activities/export?session=s-a&sort=oldest", headers=auth).get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(raw, newline="")))
    assert rows[0][-2:] == ["session", "cost_usd"]
    assert [row[-2:] for row in rows[1:]] == [["s-a", "0.000001"], ["s-a", "0.1"], ["s-a", "0.2"]]
    assert client.get("/api/activities?session=" + "x" * 129, headers=auth).status_code == 400


def test_stats_cost_by_model_agent_and_day(client, auth, logged):
    stats = client.get("/api/activities/stats", headers=auth).json
    assert stats["costUsd"] == 1.800001
    assert stats["byModel"] == {
        "m1": {"records": 3, "tokensUsed": 153, "costUsd": 1.600001},
        "m2": {"records": 1, "tokensUsed": 0, "costUsd": 0.2}}
    assert stats["byAgent"]["main"] == {"records": 3, "tokensUsed": 153, "costUsd": 1.600001}
    assert stats["byAgent"]["other"] == {"records": 1, "tokensUsed": 7, "costUsd": 0}
    by_day = {d["day"]: d["costUsd"] for d in stats["trend"]}
    assert by_day["2026-03-30"] == 0.300001 and by_day["2026-03-31"] == 1.5


def test_stats_cost_is_exact_across_the_retention_cutoff(client, auth, add, clock):
    # 30 days' retention; 7 minutes later the cutoff is 2026-03-01T10:07, inside a 15-minute
    # bucket and a UTC day: each record is summed from another tier (table, 15-minute, day).
    rows = [("2026-03-01T10:05:00Z", "m1", "a", 1.0),        # before the cutoff by then: not counted
            ("2026-03-01T10:10:00Z", "m1", "a", 0.000002),   # the minutes before the first bucket
            ("2026-03-01T20:00:00Z", "m2", "a", 0.03),       # the cut day's buckets
            ("2026-03-20T12:00:00Z", "m1", "b", 0.4),        # whole days
            ("2026-03-31T09:00:00Z", "m2", "b", 5.0)]
    for timestamp, model, agent, cost in rows:
        add(timestamp, agent=agent, cost_usd=cost, tokens_used=10, metadata={"model": model})
    clock.advance(minutes=7)
    stats = client.get("/api/activities/stats", headers=auth).json
    assert stats["total"] == 4
    assert stats["costUsd"] == 5.430002
    assert stats["byModel"] == {"m2": {"records": 2, "tokensUsed": 20, "costUsd": 5.03},
                                "m1": {"records": 2, "tokensUsed": 20, "costUsd": 0.400002}}
    assert stats["byAgent"] == {"b": {"records": 2, "tokensUsed": 20, "costUsd": 5.4},
                                "a": {"records": 2, "tokensUsed": 20, "costUsd": 0.030002}}
    assert sum(day["costUsd"] for day in stats["trend"]) == 5.0
    only_b = client.get("/api/activities/stats?agent=b", headers=auth).json
    assert only_b["costUsd"] == 5.4 and only_b["byModel"]["m2"]["costUsd"] == 5.0


@pytest.mark.parametrize("field, value", [
    ("session", ""), ("session", "x" * 129), ("session", 5), ("cost_usd", -0.01), ("cost_usd", "1"),
    ("cost_usd", True), ("cost_usd", 2e9)])
def test_bad_session_and_cost_are_400(client, auth, field, value):
    body = {"type": "t", "description": "d", "status": "success", field: value}
    response = client.post("/api/activities", headers=auth, json=body)
    assert response.status_code == 400 and field in response.json["fields"]


def _steps_of_filtered_lists(instance, records_per_session):
    """SQLite VM steps (in hundreds) of filtered session lists over 20 sessions of that many records each."""
    app = make_app(instance, CLOCK=Clock(NOW))
    at = int(NOW.timestamp() * 1000) - 3_600_000
    conn = connect_sqlite(app.config["DATABASE"])
    with conn:
        conn.executemany(
            "INSERT INTO agent_activity (type, description, status, timestamp, created_at, session, agent) "
            "VALUES ('tool_call', 'd', 'success', ?, ?, ?, 'a')",
            [(at + n, at, f"s-{n % 20}") for n in range(20 * records_per_session)])
    conn.close()
    with app.app_context(), db.write():
        _, token = create_token("cost")
    steps = [0]

    def tick():
        steps[0] += 1
    app.before_request(lambda: db.connection().set_progress_handler(tick, 100))
    client = app.test_client()
    for query in ("agent=a", "type=tool_call", "status=success", "agent=a&type=tool_call", "agent=nobody"):
        response = client.get("/api/agent-sessions?" + query, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200 and response.json["total"] == (0 if "nobody" in query else 20)
    return steps[0]


def test_a_filtered_session_list_costs_per_session_not_per_record(tmp_path):
    # Reading the matching records would cost 30 times more for 30 times the records.
    few, many = _steps_of_filtered_lists(tmp_path / "few", 10), _steps_of_filtered_lists(tmp_path / "many", 300)
    assert many < few * 1.5, (few, many)


def test_a_patch_moves_the_session_counts(client, auth, logged):
    client.patch(f"/api/activities/{logged[3]['id']}", headers=auth, json={"status": "success", "tokens_used": 9})
    summary = client.get("/api/agent-sessions/s-b", headers=auth).json["session"]
    assert summary["byStatus"]["running"] == 0 and summary["byStatus"]["success"] == 1
    assert summary["tokensUsed"] == 9
    status = {s["key"] for s in client.get("/api/agent-sessions?status=running", headers=auth).json["sessions"]}
    assert "s-b" not in status
    assert [s["key"] for s in client.get("/api/agent-sessions?status=success&agent=other",
                                         headers=auth).json["sessions"]] == ["s-b"]


def test_price_commands_validate_and_list(runner):
    assert runner.invoke(args=["price", "list"]).output == ""       # empty by default
    done = runner.invoke(args=["price", "set", "gpt-x", "2.5", "$10"])
    assert done.exit_code == 0 and "input $2.5\toutput $10" in done.output
    for bad in (["price", "set", "gpt-x", "-1", "1"], ["price", "set", "gpt-x", "lots", "1"],
                ["price", "set", " ", "1", "1"], ["price", "set", "m", "1", "2000000"]):
        refused = runner.invoke(args=bad)
        assert refused.exit_code != 0 and "Traceback" not in refused.output, bad
    assert runner.invoke(args=["price", "list"]).output.startswith("gpt-x\tinput $2.5")
    assert runner.invoke(args=["price", "delete", "gpt-x"]).exit_code == 0
    assert runner.invoke(args=["price", "delete", "gpt-x"]).exit_code != 0


def test_an_old_database_upgrades_keeping_its_rows(tmp_path):
    path = older_database(tmp_path / "old.sqlite", AGENT_TABLE_BEFORE_SESSIONS + """
        INSERT INTO agent_activity (type, description, status, timestamp, tokens_used, agent, metadata, created_at)
        VALUES ('api_request', 'one', 'success', 1000, 5, 'main', '{"model": "m1"}', 1),
               ('tool_call', 'two', 'error', 2000, NULL, NULL, NULL, 1);""")
    init_db(str(path))
    init_db(str(path))      # idempotent
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT count(*), count(session), count(cost_usd) FROM agent_activity").fetchone() == (2, 0, 0)
    assert conn.execute("SELECT model, count, tokens_used, cost_usd FROM agent_activity_usage ORDER BY model").fetchall() \
        == [("", 1, 0, 0), ("m1", 1, 5, 0)]
    assert conn.execute("SELECT model, count, tokens_used FROM agent_activity_usage_daily ORDER BY model").fetchall() \
        == [("", 1, 0), ("m1", 1, 5)]
    conn.execute("INSERT INTO agent_activity (type, description, status, timestamp, created_at, session, cost_usd) "
                 "VALUES ('t', 'd', 'success', 3000, 1, 's', 42)")
    assert conn.execute("SELECT records, cost_usd FROM agent_session").fetchall() == [(1, 42)]
    assert conn.execute("SELECT * FROM agent_session_mix").fetchall() == [("s", "success", "t", "", 1)]
    conn.execute("UPDATE agent_activity SET agent = 'a', status = 'error' WHERE session = 's'")
    assert conn.execute("SELECT * FROM agent_session_mix").fetchall() == [("s", "error", "t", "a", 1)]
    conn.execute("DELETE FROM agent_activity WHERE session = 's'")
    assert conn.execute("SELECT count(*) FROM agent_session_mix").fetchone() == (0,)
    assert "agent_activity_session" in {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}


def test_admin_sessions_page_and_escaped_timeline(client, auth, add, admin, clock):
    add("2026-03-31T09:59:00Z", session="<b>s</b>", description='<script>alert("x")</script>', duration_ms=400)
    add("2026-03-31T09:59:01Z", session="<b>s</b>", description="second", status="error")
    listing = admin.get("/admin/sessions")
    assert listing.status_code == 200
    text = listing.get_data(as_text=True)
    assert "&lt;b&gt;s&lt;/b&gt;" in text and "<b>s</b>" not in text and 'id="prices"' in text
    page = admin.get("/admin/sessions/<b>s</b>")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<script>alert" not in html and "&lt;script&gt;alert" in html
    assert html.count('<rect ') == 2 and 'class="bar error"' in html
    assert 'http-equiv="refresh"' in html         # its last record is a minute old: live
    clock.advance(minutes=30)
    assert 'http-equiv="refresh"' not in admin.get("/admin/sessions/<b>s</b>").get_data(as_text=True)
    assert admin.get("/admin/sessions/nothing").status_code == 404


def test_admin_price_form(admin, runner):
    saved = admin.post("/admin/sessions/prices", {"model": "gpt-x", "input_per_mtok": "3",
                                                  "output_per_mtok": "15"})
    assert saved.status_code == 303
    assert "gpt-x\tinput $3\toutput $15" in runner.invoke(args=["price", "list"]).output
    refused = admin.post("/admin/sessions/prices", {"model": "gpt-x", "input_per_mtok": "free",
                                                    "output_per_mtok": "1"})
    assert refused.status_code == 400 and "dollars per million tokens" in refused.get_data(as_text=True)
    assert admin.post("/admin/sessions/prices/delete", {"model": "gpt-x"}).status_code == 303
    assert runner.invoke(args=["price", "list"]).output == ""


def test_one_type_and_agent_are_counted_from_the_index_exactly(client, auth, add, clock):
    # 12 sessions: s-00 past retention but not yet swept, s-01..s-10 other agents, s-11 a match.
    add((NOW - timedelta(days=29, hours=23)).isoformat(), session="s-00", agent="a", type="tool_call")
    for n in range(1, 11):
        add(f"2026-03-31T08:{n:02d}:00Z", session=f"s-{n:02d}", agent="b", type="tool_call")
    add("2026-03-31T07:00:00Z", session="s-11", agent="a", type="tool_call", status="error")
    add("2026-03-31T09:00:00Z", session="s-11", agent="a", type="message")
    clock.advance(hours=2)      # s-00's only record is now past the 30-day window
    for query, keys in (("agent=a&type=tool_call", ["s-11"]), ("agent=a&type=tool_call&status=error", ["s-11"]),
                        ("agent=a&type=tool_call&status=success", []), ("agent=b&type=tool_call&limit=3",
                                                                           ["s-10", "s-09", "s-08"]),
                        ("status=error", ["s-11"]), ("agent=a&type=message&startDate=2026-03-31", ["s-11"])):
        page = client.get("/api/agent-sessions?" + query, headers=auth).json
        assert [s["key"] for s in page["sessions"]] == keys, query
        assert page["total"] == (10 if "agent=b" in query else len(keys)), query
