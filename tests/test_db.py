"""The database layer: pragmas on every connection, schema and models agree, init-db upgrades."""
import sqlite3
import threading

import pytest
from sqlalchemy import JSON, Boolean, Integer, String

from waken import db
from waken.db import connect_sqlite, orm
from waken.migrate import SCHEMA_PATH, init_db


@pytest.mark.parametrize("pragma, expected", [
    ("journal_mode", "wal"), ("synchronous", 1), ("foreign_keys", 1), ("busy_timeout", 15000),
    ("cache_size", -1024)])
def test_pragmas_on_every_connection(app, pragma, expected):
    engine = app.extensions["waken.engine"]
    connections = [engine.raw_connection() for _ in range(3)]   # distinct pooled connections
    try:
        for pooled in connections:
            assert pooled.driver_connection.execute(f"PRAGMA {pragma}").fetchone()[0] == expected
    finally:
        for pooled in connections:
            pooled.close()
    conn = connect_sqlite(app.config["DATABASE"])
    assert conn.execute(f"PRAGMA {pragma}").fetchone()[0] == expected


def _schema_tables():
    conn = sqlite3.connect(":memory:")
    conn.executescript(SCHEMA_PATH.read_text())
    names = [n for (n,) in conn.execute(
        "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")]
    return {name: {row[1]: {"type": row[2], "notnull": bool(row[3]), "pk": bool(row[5])}
                   for row in conn.execute(f"PRAGMA table_info({name})")} for name in names}


def test_models_match_schema_sql(app):
    tables = _schema_tables()
    assert set(orm.metadata.tables) <= set(tables)   # the other tables are plain SQL only
    for name, table in orm.metadata.tables.items():
        columns = tables[name]
        assert set(table.columns.keys()) == set(columns), name
        for column in table.columns:
            declared = columns[column.name]
            assert column.primary_key == declared["pk"], f"{name}.{column.name} primary key"
            if not column.primary_key:
                assert column.nullable == (not declared["notnull"]), f"{name}.{column.name} nullability"
            assert _affinity(column.type) == declared["type"], f"{name}.{column.name} type"


def _affinity(column_type):
    """The SQLite storage class a SQLAlchemy type writes."""
    impl = getattr(column_type, "impl", column_type)
    if isinstance(impl, (Integer, Boolean)):
        return "INTEGER"
    if isinstance(impl, (String, JSON)):
        return "TEXT"
    raise AssertionError(f"unexpected column type {column_type!r}")


def test_init_db_is_idempotent_and_upgrades_without_losing_rows(tmp_path):
    path = tmp_path / "old.sqlite"
    old = sqlite3.connect(path)
    # An older waken: fewer columns, no app records, no indexes.
    old.executescript("""
        CREATE TABLE api_token (id INTEGER PRIMARY KEY, name TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE,
                                prefix TEXT NOT NULL, created_at INTEGER NOT NULL);
        INSERT INTO api_token VALUES (1, 'phone', 'abc', 'abc', 1);
    """)
    old.close()
    init_db(path)
    init_db(path)   # twice is harmless
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT id, name, enabled, last_used_at FROM api_token").fetchall() == [(1, "phone", 1, None)]
    tables = {n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert set(_schema_tables()) <= tables
    indexes = {n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    assert "device_activity_open" in indexes


def test_upgrade_rebuilds_an_index_whose_definition_changed(tmp_path):
    path = tmp_path / "old.sqlite"
    init_db(path)
    old = sqlite3.connect(path)
    # The session list's type index as an older waken defined it, with a session in the mix.
    old.executescript("""
        DROP INDEX agent_session_mix_type;
        CREATE INDEX agent_session_mix_type ON agent_session_mix (type, agent, session, status);
        INSERT INTO agent_activity (type, description, status, timestamp, created_at, session)
        VALUES ('tool_call', 'x', 'success', 1, 1, 's1');
    """)
    old.close()
    init_db(path)
    conn = sqlite3.connect(path)
    [(sql,)] = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'agent_session_mix_type'").fetchall()
    assert "(type, session, agent, status)" in sql
    assert conn.execute("SELECT session FROM agent_session_mix INDEXED BY agent_session_mix_type "
                        "WHERE type = 'tool_call'").fetchall() == [("s1",)]


def test_one_open_activity_per_device_is_enforced_by_the_schema(tmp_path):
    path = tmp_path / "w.sqlite"
    init_db(path)
    conn = connect_sqlite(path)
    conn.execute("INSERT INTO device (id, name, hash_key, created_at) VALUES (1, 'd', 'key-12345', 0)")
    insert = ("INSERT INTO device_activity (device_id, process_name, started_at, updated_at) "
              "VALUES (1, 'a', 0, 0)")
    conn.execute(insert)
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(insert)


ROLLUP_FROM_TABLE = """
    SELECT timestamp - timestamp % 900000, type, status, coalesce(agent, ''), count(*),
           coalesce(sum(tokens_used), 0), coalesce(sum(duration_ms), 0), count(duration_ms)
    FROM agent_activity GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"""
DAILY_FROM_TABLE = """
    SELECT timestamp - timestamp % 86400000, type, status, coalesce(agent, ''), count(*)
    FROM agent_activity GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"""


def test_triggers_keep_the_rollups_exact(tmp_path):
    path = tmp_path / "w.sqlite"
    init_db(path)
    conn = connect_sqlite(path)
    insert = ("INSERT INTO agent_activity (type, description, status, timestamp, duration_ms, tokens_used, "
              "agent, created_at) VALUES (?, 'd', ?, ?, ?, ?, ?, 0)")
    for n in range(300):    # every 25 minutes: many 15-minute buckets over five days
        conn.execute(insert, (("tool_call", "command")[n % 2], ("success", "error", "running")[n % 3],
                              n * 1_500_000, None if n % 5 == 0 else n, n * 3, (None, "main")[n % 2]))
    conn.execute("UPDATE agent_activity SET status = 'success', duration_ms = 7 WHERE status = 'running'")
    conn.execute("UPDATE agent_activity SET timestamp = timestamp + 50000000, agent = 'other' WHERE id % 7 = 0")
    conn.execute("DELETE FROM agent_activity WHERE id % 3 = 0")
    rollup = conn.execute("SELECT * FROM agent_activity_rollup ORDER BY 1, 2, 3, 4").fetchall()
    assert rollup == conn.execute(ROLLUP_FROM_TABLE).fetchall()
    daily = conn.execute("SELECT * FROM agent_activity_daily ORDER BY 1, 2, 3, 4").fetchall()
    assert daily == conn.execute(DAILY_FROM_TABLE).fetchall()
    assert all(row[4] > 0 for row in rollup + daily)    # emptied buckets and days are removed


# agent_activity as databases made before the rollups and caller-scoped keys had it.
OLD_AGENT_TABLE = """
        CREATE TABLE agent_activity (id INTEGER PRIMARY KEY AUTOINCREMENT, type TEXT NOT NULL,
            description TEXT NOT NULL, status TEXT NOT NULL, timestamp INTEGER NOT NULL,
            duration_ms INTEGER, tokens_used INTEGER, agent TEXT, metadata TEXT,
            idempotency_key TEXT UNIQUE, created_at INTEGER NOT NULL);
"""


def test_upgrade_builds_the_rollups_from_existing_rows(tmp_path):
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(OLD_AGENT_TABLE + """
        INSERT INTO agent_activity (type, description, status, timestamp, duration_ms, agent, created_at)
        VALUES ('tool_call', 'a', 'success', 1000, 5, NULL, 0), ('tool_call', 'b', 'error', 90000000, NULL, 'x', 0);
    """)
    conn.close()
    init_db(path)
    conn = connect_sqlite(path)
    assert conn.execute("SELECT * FROM agent_activity_rollup ORDER BY 1").fetchall() == [
        (0, "tool_call", "success", "", 1, 0, 5, 1), (90_000_000, "tool_call", "error", "x", 1, 0, 0, 0)]
    assert conn.execute("SELECT * FROM agent_activity_daily ORDER BY 1").fetchall() == [
        (0, "tool_call", "success", "", 1), (86_400_000, "tool_call", "error", "x", 1)]


def test_writers_take_turns_and_the_next_starts_as_soon_as_one_commits(app):
    first_holds, second_in, seen = threading.Event(), threading.Event(), {}

    def first():
        with app.app_context():
            with db.write():
                db.execute("INSERT INTO setting (key, value) VALUES ('first', '1')")
                first_holds.set()
                seen["together"] = second_in.wait(0.3)   # the other writer waits for this turn
            # Still inside the app context: the turn must already be free, so the other gets in.
            seen["after_commit"] = second_in.wait(10)

    def second():
        first_holds.wait(10)
        with app.app_context():
            with db.write():
                second_in.set()
                db.execute("INSERT INTO setting (key, value) VALUES ('second', '1')")

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == {"together": False, "after_commit": True}


def test_upgrade_scopes_idempotency_keys_to_their_caller(tmp_path):
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(OLD_AGENT_TABLE + """
        INSERT INTO agent_activity (type, description, status, timestamp, idempotency_key, created_at)
        VALUES ('tool_call', 'a', 'success', 1000, 'run-1', 0), ('tool_call', 'b', 'success', 2000, NULL, 0),
               ('tool_call', 'c', 'success', 3000, 'run-3', 0);
        DELETE FROM agent_activity WHERE id = 3;
    """)
    conn.commit()
    conn.close()
    init_db(path)
    init_db(path)   # the rebuild happens once
    conn = connect_sqlite(path)
    assert conn.execute("SELECT id, idempotency_key, idempotency_caller FROM agent_activity").fetchall() == [
        (1, "run-1", None), (2, None, None)]
    insert = ("INSERT INTO agent_activity (type, description, status, timestamp, idempotency_key, "
              "idempotency_caller, created_at) VALUES ('tool_call', 'd', 'success', 4000, 'run-1', ?, 0)")
    conn.execute(insert, (0,))
    conn.execute(insert, (7,))
    with pytest.raises(sqlite3.IntegrityError):
        conn.execute(insert, (7,))
    # Ids are never reused: the deleted row's id 3 stays taken.
    assert [row[0] for row in conn.execute("SELECT id FROM agent_activity WHERE id > 2 ORDER BY id")] == [4, 5]
    assert conn.execute("SELECT count(*) FROM agent_activity_rollup").fetchone()[0] == 1
    indexes = {n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE tbl_name = 'agent_activity'")}
    assert {"agent_activity_idempotency", "agent_activity_timestamp", "agent_activity_rollup_insert"} <= indexes
