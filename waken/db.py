"""The database: the SQLAlchemy instance, per-connection pragmas and init-db."""
import fcntl
import json
import os
import queue
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path

from flask import current_app, g
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import event
from sqlalchemy.orm import DeclarativeBase, Session

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schema.sql"

# Set on every connection, here and nowhere else. WAL lets readers (the feed, SSE
# streams) run while a report is written; NORMAL is durable against a crashed
# process and spares the SD card an fsync per commit; the busy timeout makes a
# writer wait for the lock instead of failing with "database is locked". Each pooled
# connection keeps a private page cache: 1 MiB (not SQLite's 2 MiB) keeps a worker with
# dozens of threads within a Pi's memory; the OS caches the file for all of them.
PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=15000",
    "PRAGMA cache_size=-1024",
)


class Base(DeclarativeBase):
    pass


orm = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})


def _dumps(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def init_app(app):
    """Bind the database to the app and set up its connections."""
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {
        "json_serializer": _dumps,
        "connect_args": {"timeout": 15, "check_same_thread": False},
        # Kept connections each hold up to 1 MiB of page cache: 8 cover what one process
        # runs at once in practice (make bench counts them); bursts beyond open extra
        # ones that close on return, up to the 48 threads of a gunicorn worker.
        "pool_size": 8,
        "max_overflow": 40,
    })
    orm.init_app(app)
    turn_path = app.config["DATABASE"] + "-writelock"
    with app.app_context():
        engine = orm.engine
    event.listen(engine, "connect", lambda dbapi_conn, record: _on_connect(dbapi_conn, record, turn_path))
    event.listen(engine, "begin", _on_begin)
    event.listen(engine.pool, "checkin", _on_checkin)
    event.listen(engine.pool, "close", _on_close)
    for moment in ("after_commit", "after_rollback"):
        if not event.contains(Session, moment, _on_transaction_end):
            event.listen(Session, moment, _on_transaction_end)


def connect_sqlite(path):
    """A plain sqlite3 connection with waken's pragmas (for init-db, backup, tests)."""
    conn = sqlite3.connect(path, timeout=15, isolation_level=None)
    for pragma in PRAGMAS:
        conn.execute(pragma)
    return conn


def _on_connect(dbapi_conn, record, turn_path):
    # We emit BEGIN ourselves (see _on_begin), so the driver must not.
    dbapi_conn.isolation_level = None
    for pragma in PRAGMAS:
        dbapi_conn.execute(pragma)
    record.info["turn"] = os.open(turn_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)


# Writers take turns on an flock beside the database before BEGIN IMMEDIATE. Left to
# SQLite alone, a waiting writer sleeps in growing steps (up to 100 ms) between tries,
# so under load reports waited far longer than anyone held the lock; a blocking flock
# wakes the next writer, in any thread or process, the moment the turn is over. The
# turn ends after the commit or rollback, or at the latest when the connection goes
# back to the pool.
_turn = threading.local()


def _take_turn(fd):
    fcntl.flock(fd, fcntl.LOCK_EX)
    _turn.fd = fd


def _end_turn(fd):
    if fd is not None:
        fcntl.flock(fd, fcntl.LOCK_UN)
        if getattr(_turn, "fd", None) == fd:
            _turn.fd = None


def _on_transaction_end(_session):
    _end_turn(getattr(_turn, "fd", None))


def _on_checkin(_dbapi_conn, record):
    _end_turn(record.info.get("turn"))


def _on_close(_dbapi_conn, record):
    fd = record.info.pop("turn", None)
    if fd is not None:
        os.close(fd)


def _on_begin(conn):
    # Only begin_write() asks for IMMEDIATE: every other transaction is a deferred read,
    # so parsing, hashing, decoding and rendering never hold the write lock.
    immediate = bool(conn.get_execution_options().get("immediate"))
    if immediate:
        _take_turn(conn.connection.info["turn"])
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
    conn.info["writing"] = immediate


def begin_write():
    """Take the write lock: start the session's transaction with BEGIN IMMEDIATE.

    Call it after parsing, validation, hashing and image decoding, right before the
    reads that feed the writes. A read transaction still open from earlier in the
    request is ended first: upgraded in place, it would fail with SQLITE_BUSY_SNAPSHOT
    once another writer had committed. Calling it again in the same transaction does
    nothing; commit or roll back to release the lock.
    """
    session = orm.session()
    if session.in_transaction():
        if session.connection().info.get("writing"):
            return
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("begin_write() must come before the first change to the session")
        session.commit()
    session.connection(execution_options={"immediate": True})


def raw_connection():
    """The sqlite3 connection under the session's transaction, for plain SQL on hot paths."""
    session = orm.session()
    transaction, cached = session.get_transaction(), g.get("raw_connection")
    if transaction is not None and cached is not None and cached[0] is transaction:
        return cached[1]   # same transaction: skip the session's bookkeeping
    raw = session.connection().connection.driver_connection
    g.raw_connection = (session.get_transaction(), raw)
    return raw


# When SQL, when the ORM. Plain SQL through the functions below (rows are sqlite3.Row,
# read by column name) on the paths that run per report, per visitor or per agent call:
# reports, the feed, the agent log, OTLP, token checks, sweeps; and wherever a statement
# reads better as SQL (aggregates, upserts). The ORM (models.py) for the owner's pages
# and commands, which edit one row at a time. Both run on the request's one connection
# and in its one transaction. `with db.write():` wraps every change, ORM or SQL: views
# and commands own the transaction; domain functions never commit.

def connection():
    """The request's sqlite3 connection."""
    return raw_connection()


def execute(sql, params=()):
    """Run one statement; the cursor's rows are sqlite3.Row (read them by column name)."""
    cursor = connection().cursor()
    cursor.row_factory = sqlite3.Row
    return cursor.execute(sql, params)


def query(sql, params=()):
    """Every row of a query, as sqlite3.Row."""
    return execute(sql, params).fetchall()


def query_one(sql, params=()):
    """The first row of a query, or None."""
    return execute(sql, params).fetchone()


def value(sql, params=()):
    """The first column of the first row, or None when there is no row."""
    row = connection().execute(sql, params).fetchone()
    return None if row is None else row[0]


@contextmanager
def write():
    """Hold the write lock for the block: commit at its end, roll back if it raises.

    Enter it after parsing, validation, hashing and image decoding, right before the
    reads that feed the writes, so none of that work holds the lock.
    """
    begin_write()
    try:
        yield connection()
    except BaseException:
        orm.session.rollback()
        raise
    orm.session.commit()


@contextmanager
def snapshot():
    """Run the block's reads against one moment of the database (a deferred read transaction)."""
    conn = connection()
    if conn.in_transaction:
        yield conn
        return
    conn.execute("BEGIN")
    try:
        yield conn
    finally:
        conn.execute("COMMIT")


def release():
    """Hand the request's connection back early (a stream that idles holds none)."""
    orm.session.remove()


class PlainReaders:
    """Plain autocommit SQLite connections for one-statement reads, shared by a process's threads.

    Cheaper than the session (no pool checkout, no BEGIN, no rollback) for the single
    query a request makes before it knows whether it will write: the token check, the
    feed's change counter. As many exist as such reads ever ran at once (~200 KB each).
    """

    def __init__(self, path):
        self.path = path
        self.idle = queue.SimpleQueue()

    def read(self, sql, params):
        try:
            conn = self.idle.get_nowait()
        except queue.Empty:
            conn = sqlite3.connect(self.path, timeout=15, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA cache_size=-64")     # small rows by index; the OS caches the file
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            self.idle.put(conn)


def quick_read(sql, params=()):
    """The rows of one read-only statement, outside the session's transaction."""
    readers = current_app.extensions.get("waken.plain_readers")
    if readers is None or readers.path != current_app.config["DATABASE"]:
        readers = current_app.extensions["waken.plain_readers"] = PlainReaders(current_app.config["DATABASE"])
    return readers.read(sql, params)


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
           coalesce(sum(tokens_used), 0), coalesce(sum(duration_ms), 0), count(duration_ms)
    FROM agent_activity GROUP BY 1, 2, 3, 4"""

DAILY_BACKFILL = """
    INSERT INTO agent_activity_daily
    SELECT timestamp - timestamp % 86400000, type, status, coalesce(agent, ''), count(*)
    FROM agent_activity GROUP BY 1, 2, 3, 4"""


def _upgrade(conn, target):
    existing = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    for name, sql in target.execute(
            "SELECT name, sql FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"):
        if name not in existing:
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
    for kind in ("index", "trigger"):
        have = {name for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = ?", (kind,))}
        for name, sql in target.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = ? AND sql IS NOT NULL", (kind,)):
            if name not in have:
                conn.execute(sql)
    if "agent_activity_rollup" not in existing and "agent_activity" in existing:
        # An older database: build the statistics rollup from the rows it already has.
        conn.execute(ROLLUP_BACKFILL)
    if "agent_activity_daily" not in existing and "agent_activity" in existing:
        conn.execute(DAILY_BACKFILL)
    _rename_key_named_devices(conn)


def _rename_key_named_devices(conn):
    """Older versions named a device registered without a name after its key, which the public
    pages then showed: give such devices the neutral name a new one gets ("Desktop 2")."""
    labels = {"desktop": "Desktop", "tablet": "Tablet", "mobile": "Mobile"}
    for device_id, device_type in conn.execute("SELECT id, device_type FROM device WHERE name = hash_key").fetchall():
        label = labels.get(device_type, "Device")
        taken = {name for (name,) in conn.execute("SELECT name FROM device WHERE name LIKE ?", (f"{label} %",))}
        number = next(n for n in range(1, len(taken) + 2) if f"{label} {n}" not in taken)
        conn.execute("UPDATE device SET name = ? WHERE id = ?", (f"{label} {number}", device_id))
