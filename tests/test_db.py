"""The database layer: pragmas on every connection, schema and models agree, init-db upgrades."""
import sqlite3

import pytest
from sqlalchemy import JSON, Boolean, Integer, String, text

from waken.db import SCHEMA_PATH, connect_sqlite, db, init_db


@pytest.mark.parametrize("pragma, expected", [
    ("journal_mode", "wal"), ("synchronous", 1), ("foreign_keys", 1), ("busy_timeout", 15000)])
def test_pragmas_on_every_connection(app, pragma, expected):
    with app.app_context():
        engine = db.engine
        connections = [engine.connect() for _ in range(3)]   # distinct pooled connections
        try:
            for conn in connections:
                assert conn.execute(text(f"PRAGMA {pragma}")).scalar() == expected
        finally:
            for conn in connections:
                conn.close()
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
    assert set(db.metadata.tables) == set(tables)
    for name, table in db.metadata.tables.items():
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
