"""Search (q=) through HTTP: the list, the CSV export, sessions and the admin page; its bounds and hostile text."""
import csv
import io
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from tests.support import AGENT_TABLE_BEFORE_SESSIONS, older_database
from waken import db
from waken.agent_log import search
from waken.migrate import init_db
from waken.sweeps import apply_retention

NOW = datetime(2026, 3, 31, 10, 0, tzinfo=timezone.utc)
pytestmark = pytest.mark.clock(NOW)

RECORDS = [  # (description, metadata, session)
    ("修复登录页面的错误", None, "s-zh"),
    ("日本語のテキストを読み込む", {"tool": "Read"}, "s-ja"),
    ("Bash", {"command": "rm -rf build/", "tool_name": "Bash"}, "s-rm"),
    ("Edit", {"file_path": "src/ログイン.py"}, "s-ja"),
    ("released 🎉 v2", None, "s-emoji"),
    ("deploy 100% done_ok", {"path": "C:\\work\\app"}, None),
    ("plain words", {"notes": "secret not indexed", "tool": 42}, "s-other"),
]


@pytest.fixture
def logged(add):
    return [add(description=text, metadata=meta, session=session) for text, meta, session in RECORDS]


def _found(client, auth, q, path="/api/activities", **more):
    answer = client.get(path, headers=auth, query_string={"q": q, **more})
    assert answer.status_code == 200, answer.json
    return answer.json


def _descriptions(client, auth, q, **more):
    return sorted(r["description"] for r in _found(client, auth, q, **more)["activities"])


@pytest.mark.parametrize("q, expected", [
    ("登录页面", ["修复登录页面的错误"]),              # Chinese, no spaces
    ("テキスト", ["日本語のテキストを読み込む"]),        # Japanese
    ("ログイン", ["Edit"]),                          # Japanese in metadata.file_path
    ("rm -RF", ["Bash"]),                            # metadata.command, case-insensitive
    ("🎉 v2", ["released 🎉 v2"]),                   # emoji within a trigram
    ("🎉", ["released 🎉 v2"]),                      # one emoji: the short scan
    ("错误", ["修复登录页面的错误"]),                  # two CJK characters: the short scan
    ("語", ["日本語のテキストを読み込む"]),             # one
    ("read", ["日本語のテキストを読み込む"]),            # metadata.tool
    ("100%", ["deploy 100% done_ok"]),               # LIKE's and FTS5's own characters are text
    ("%", ["deploy 100% done_ok"]),
    ("_", ["deploy 100% done_ok"]),
    ("C:\\work", ["deploy 100% done_ok"]),           # metadata.path, backslash kept
    ("secret", []),                                  # other metadata keys are not searched
    ("42", ["plain words"]),                          # a number under a searched key
])
def test_q_finds_text_in_any_language(client, auth, logged, q, expected):
    assert _descriptions(client, auth, q) == expected
    assert _found(client, auth, q)["partial"] is False


def test_q_combines_with_filters_paging_and_sort(client, auth, add):
    for n in range(5):
        add(f"2026-03-31T09:0{n}:00Z", description=f"构建 step {n}", agent="a" if n % 2 else "b")
    add(description="unrelated", agent="a")
    page = _found(client, auth, "构建", agent="a")
    assert [r["description"] for r in page["activities"]] == ["构建 step 3", "构建 step 1"] and page["total"] == 2
    page = _found(client, auth, "构建", sort="oldest", limit=2, offset=1)
    assert [r["description"] for r in page["activities"]] == ["构建 step 1", "构建 step 2"]
    assert page["total"] == 5 and page["hasMore"] is True
    assert _found(client, auth, "构建", startDate="2026-03-31T09:03:00Z")["total"] == 2
    assert "partial" not in client.get("/api/activities", headers=auth).json


@pytest.mark.parametrize("q", ['"', 'a"b', '"unbalanced', "NEAR(a b)", "a* OR b", "text:abc", "^x", "(((", "-",
                               "AND", "a\x00b", "'; DROP TABLE agent_activity; --", "\\", "*", "{a b}: c",
                               "NOT NOT NOT", '""""', "𝌆𝌆𝌆"])
def test_hostile_queries_are_plain_text(client, auth, logged, q):
    for path in ("/api/activities", "/api/activities/export", "/api/agent-sessions"):
        answer = client.get(path, headers=auth, query_string={"q": q})
        assert answer.status_code in (200, 400), (path, q, answer.status_code)
        if answer.status_code == 400:
            assert answer.json["fields"]["q"]


def test_quotes_and_operators_match_literally(client, auth, add):
    add(description='said "NEAR(a b)" OR *stars*')
    add(description="said NEAR a b")
    assert _descriptions(client, auth, '"NEAR(a b)" OR *') == ['said "NEAR(a b)" OR *stars*']


def test_query_length_is_capped_and_blank_is_refused(client, auth):
    long = "字" * (search.MAX_QUERY_CHARS + 1)
    for path in ("/api/activities", "/api/activities/export", "/api/agent-sessions"):
        refused = client.get(path, headers=auth, query_string={"q": long})
        assert refused.status_code == 400
        assert refused.json["fields"]["q"] == f"must be at most {search.MAX_QUERY_CHARS} characters"
        assert client.get(path, headers=auth, query_string={"q": "  "}).status_code == 400
    assert client.get("/api/activities", headers=auth,
                      query_string={"q": "字" * search.MAX_QUERY_CHARS}).status_code == 200


def test_csv_export_and_sessions_search(client, auth, logged):
    for path, more in (("/api/activities/export", {}), ("/api/activities", {"format": "csv"})):
        text = client.get(path, headers=auth, query_string={"q": "テキスト", **more}).get_data(as_text=True)
        rows = list(csv.DictReader(io.StringIO(text)))
        assert [r["description"] for r in rows] == ["日本語のテキストを読み込む"]
    sessions = _found(client, auth, "ログ", path="/api/agent-sessions")    # short: the scan
    assert [s["key"] for s in sessions["sessions"]] == ["s-ja"] and sessions["total"] == 1
    assert sessions["sessions"][0]["records"] == 2 and sessions["partial"] is False
    assert [s["key"] for s in _found(client, auth, "rm -rf", path="/api/agent-sessions")["sessions"]] == ["s-rm"]
    assert _found(client, auth, "rm -rf", path="/api/agent-sessions", status="error")["total"] == 0
    assert "partial" not in client.get("/api/agent-sessions", headers=auth).json


def test_admin_filter_form_searches(admin, logged):
    page = admin.get("/admin/agents", query_string={"q": "テキスト"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "日本語のテキストを読み込む" in html and "修复登录页面的错误" not in html
    assert 'name="q"' in html and "q=%E3%83%86" in html      # the CSV link keeps the search
    refused = admin.get("/admin/agents", query_string={"q": "x" * (search.MAX_QUERY_CHARS + 1)})
    assert refused.status_code == 400 and "Search must be at most" in refused.get_data(as_text=True)


def test_edits_and_retention_keep_the_index_exact(app, client, auth, add, clock):
    old = add((NOW - timedelta(days=20)).isoformat(), description="古い記録 old")
    new = add(description="新しい記録 new")
    patched = client.patch(f"/api/activities/{new['id']}", headers=auth, json={"metadata": {"command": "make 配布"}})
    assert patched.status_code == 200
    assert [r["id"] for r in _found(client, auth, "make 配布")["activities"]] == [new["id"]]
    clock.advance(days=15)
    with app.app_context(), db.write():
        apply_retention(clock.now)
    assert _found(client, auth, "記録")["total"] == 1
    with app.app_context():
        assert db.value("SELECT count(*) FROM agent_activity_search WHERE agent_activity_search MATCH ?",
                        (search.phrase("古い記録"),)) == 0
        db.execute("INSERT INTO agent_activity_search (agent_activity_search, rank) VALUES ('integrity-check', 1)")
    assert old["id"] != new["id"]


def test_the_match_cap_says_partial(client, auth, add, monkeypatch):
    monkeypatch.setattr(search, "MAX_MATCHES", 3)
    monkeypatch.setattr(search, "SCAN_RECORDS", 4)
    for n in range(6):
        add(description=f"job 作業 {n}")
    page = _found(client, auth, "job 作業")
    assert page["partial"] is True and page["total"] == 3
    assert [r["description"] for r in page["activities"]] == ["job 作業 5", "job 作業 4", "job 作業 3"]
    add(description="x")
    short = _found(client, auth, "作業")         # the 4 newest records are read, 3 of them match
    assert short["partial"] is True and short["total"] == 3
    assert _found(client, auth, "x")["total"] == 1
    assert _found(client, auth, "job 作業", path="/api/agent-sessions")["partial"] is True


def test_init_db_indexes_an_existing_database(tmp_path):
    path = older_database(tmp_path / "old.sqlite", AGENT_TABLE_BEFORE_SESSIONS + """
        INSERT INTO agent_activity (type, description, status, timestamp, metadata, created_at)
        VALUES ('tool_call', '旧い行', 'success', 1000, '{"command": "ls -la"}', 1),
               ('tool_call', 'two', 'error', 2000, 'not json', 1);""")
    init_db(str(path))
    init_db(str(path))      # idempotent
    conn = sqlite3.connect(path)
    match = "SELECT rowid FROM agent_activity_search WHERE agent_activity_search MATCH ?"
    assert conn.execute(match, ('"ls -la"',)).fetchall() == [(1,)]
    conn.execute("INSERT INTO agent_activity (type, description, status, timestamp, created_at) "
                 "VALUES ('t', '新しい行です', 'success', 3000, 1)")
    assert conn.execute(match, ('"しい行"',)).fetchall() == [(3,)]
    conn.execute("DELETE FROM agent_activity WHERE id = 2")
    conn.execute("INSERT INTO agent_activity_search (agent_activity_search, rank) VALUES ('integrity-check', 1)")


def test_the_cpu_budget_stops_a_search_with_partial(client, auth, add, monkeypatch):
    for n in range(30):
        add(description=f"budget 予算 {n}")
    monkeypatch.setattr(search, "BUDGET_SECONDS", 0)
    monkeypatch.setattr(search, "SESSIONS_BUDGET_SECONDS", 0)
    for q in ("budget 予算", "予算"):
        for path in ("/api/activities", "/api/agent-sessions"):
            answer = _found(client, auth, q, path=path)
            assert answer["partial"] is True and answer["total"] < 30
    monkeypatch.setattr(search, "BUDGET_SECONDS", 1)
    assert _found(client, auth, "budget 予算")["total"] == 30
