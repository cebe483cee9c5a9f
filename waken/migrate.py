"""Creating and upgrading the database from schema.sql, keeping every row."""
import os
import sqlite3
from pathlib import Path

from waken.db import connect_sqlite
from waken.devices import day_rollup

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schema.sql"


def make_private(*paths):
    """chmod 0600 each of paths that exists."""
    for name in paths:
        try:
            os.chmod(name, 0o600)
        except FileNotFoundError:
            pass


def init_db(path):
    """Create or upgrade the database at path from schema.sql, keeping every row."""
    target = sqlite3.connect(":memory:")
    target.executescript(SCHEMA_PATH.read_text())
    # Private from the first byte; an older world-readable database is tightened.
    os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    make_private(path, f"{path}-wal", f"{path}-shm")
    conn = connect_sqlite(path)
    try:
        conn.execute("BEGIN IMMEDIATE")
        _upgrade(conn, target)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    finally:
        conn.close()
        target.close()


ROLLUP_BACKFILL = """
    INSERT INTO agent_activity_rollup
    SELECT timestamp - timestamp % 900000, type, status, coalesce(agent, ''), count(*),
           total(tokens_used), total(duration_ms), count(duration_ms)
    FROM agent_activity GROUP BY 1, 2, 3, 4"""

DAILY_BACKFILL = """
    INSERT INTO agent_activity_daily
    SELECT timestamp - timestamp % 86400000, type, status, coalesce(agent, ''), count(*)
    FROM agent_activity GROUP BY 1, 2, 3, 4"""

MODEL = ("coalesce(CASE WHEN json_valid(metadata) THEN substr(json_extract(metadata, '$.model'), 1, 200) END, '')")

# The tables schema.sql's triggers keep, built from the rows an older database already has.
# total(), not sum(): a sum past SQLite's integers is a float there, as in the triggers, not an error.
BACKFILLS = {
    "agent_activity_rollup": ROLLUP_BACKFILL,
    "agent_activity_daily": DAILY_BACKFILL,
    "agent_activity_usage": f"""
        INSERT INTO agent_activity_usage
        SELECT timestamp - timestamp % 900000, type, status, coalesce(agent, ''), {MODEL}, count(*),
               total(tokens_used), total(cost_usd)
        FROM agent_activity GROUP BY 1, 2, 3, 4, 5""",
    "agent_activity_usage_daily": f"""
        INSERT INTO agent_activity_usage_daily
        SELECT timestamp - timestamp % 86400000, type, status, coalesce(agent, ''), {MODEL}, count(*),
               total(tokens_used), total(cost_usd)
        FROM agent_activity GROUP BY 1, 2, 3, 4, 5""",
    "agent_session": """
        INSERT INTO agent_session
        SELECT session, min(timestamp), max(timestamp), count(*), total(tokens_used),
               total(cost_usd), sum(status = 'success'), sum(status = 'error'),
               sum(status = 'pending'), sum(status = 'running')
        FROM agent_activity WHERE session IS NOT NULL GROUP BY session""",
    "agent_session_mix": """
        INSERT INTO agent_session_mix
        SELECT session, status, type, coalesce(agent, ''), count(*)
        FROM agent_activity WHERE session IS NOT NULL GROUP BY 1, 2, 3, 4""",
    "agent_session_part": f"""
        INSERT INTO agent_session_part
        SELECT session, coalesce(agent, ''), {MODEL}, count(*)
        FROM agent_activity WHERE session IS NOT NULL GROUP BY 1, 2, 3""",
    # The search index reads its content (agent_activity_search_text) again, all of it.
    "agent_activity_search": "INSERT INTO agent_activity_search (agent_activity_search) VALUES ('rebuild')",
}


def _upgrade(conn, target):
    existing = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "agent_activity" in existing:
        _scope_idempotency_keys(conn, target)
    for name, sql in target.execute(
            "SELECT name, sql FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"):
        if name not in existing:
            if not _has_table(conn, name):     # a virtual table's own tables come with it
                conn.execute(sql)
            continue
        have = {row[1] for row in conn.execute(f'PRAGMA table_info("{name}")')}
        for _cid, col, coltype, notnull, default, _pk in target.execute(f'PRAGMA table_info("{name}")'):
            if col not in have:
                clause = f'ALTER TABLE "{name}" ADD COLUMN "{col}" {coltype}'
                if default is not None:
                    clause += f" DEFAULT {default}"
                if notnull:
                    clause += " NOT NULL"
                conn.execute(clause)
    for kind in ("index", "view", "trigger"):
        have = dict(conn.execute("SELECT name, sql FROM sqlite_master WHERE type = ?", (kind,)))
        for name, sql in target.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = ? AND sql IS NOT NULL", (kind,)):
            if name in have:
                if kind != "index" or have[name] == sql:
                    continue
                conn.execute(f'DROP INDEX "{name}"')   # redefined in schema.sql: built again
            conn.execute(sql)
    if "agent_activity" in existing:
        # An older database: build the statistics rollups from the rows it already has.
        for table, backfill in BACKFILLS.items():
            if table not in existing:
                conn.execute(backfill)
    if "device_activity" in existing and not {"device_day", "day_app"} <= existing:
        # Your day's rollup, cut in the zone the owner set (waken/devices/day_rollup.py).
        day_rollup.rebuild(conn, day_rollup.stored_zone(conn))
    _rename_key_named_devices(conn)


def _has_table(conn, name):
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)).fetchone() is not None


def _scope_idempotency_keys(conn, target):
    """Rebuild an agent_activity whose idempotency keys were unique across all callers.

    That uniqueness was a column constraint, which only a new table drops. The rows keep
    their ids, and the id sequence its value (ids are never reused); their keys are kept
    with no caller, so no retry matches them. The loop after this adds the indexes and
    triggers of the new table from schema.sql; the rollups stay as they are (same rows).
    """
    columns = [row[1] for row in conn.execute('PRAGMA table_info("agent_activity")')]
    if "idempotency_caller" in columns:
        return
    create = target.execute("SELECT sql FROM sqlite_master WHERE name = 'agent_activity'").fetchone()[0]
    conn.execute(create.replace("agent_activity", "agent_activity_scoped", 1))
    wanted = {row[1] for row in target.execute('PRAGMA table_info("agent_activity")')}
    kept = ", ".join(f'"{name}"' for name in columns if name in wanted)
    conn.execute(f"INSERT INTO agent_activity_scoped ({kept}) SELECT {kept} FROM agent_activity")
    sequence = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'agent_activity'").fetchone()
    conn.execute("DROP TABLE agent_activity")
    conn.execute("ALTER TABLE agent_activity_scoped RENAME TO agent_activity")
    if sequence is not None:
        conn.execute("UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = 'agent_activity'", sequence)


def _rename_key_named_devices(conn):
    """Older versions named a device registered without a name after its key, which the public
    pages then showed: give such devices the neutral name a new one gets ("Desktop 2")."""
    labels = {"desktop": "Desktop", "tablet": "Tablet", "mobile": "Mobile"}
    for device_id, device_type in conn.execute("SELECT id, device_type FROM device WHERE name = hash_key").fetchall():
        label = labels.get(device_type, "Device")
        taken = {name for (name,) in conn.execute("SELECT name FROM device WHERE name LIKE ?", (f"{label} %",))}
        number = next(n for n in range(1, len(taken) + 2) if f"{label} {n}" not in taken)
        conn.execute("UPDATE device SET name = ? WHERE id = ?", (f"{label} {number}", device_id))
