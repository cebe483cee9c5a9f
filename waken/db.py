"""The database: the request's one connection and its transactions, the SQLAlchemy instance, pragmas and init-db."""
import fcntl
import json
import os
import queue
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path

from flask import current_app, g, has_app_context
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import DeclarativeBase

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


class RequestSession(Session):
    """The ORM session, bound to the request's one connection (see connection())."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        return bind if bind is not None else _request_connection()


orm = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False, "class_": RequestSession})


# Compact JSON text for stored values; one encoder, since json.dumps with options builds one per call.
compact_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def init_app(app):
    """Bind the database to the app and set up its connections."""
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {
        "json_serializer": compact_json,
        "connect_args": {"timeout": 15, "check_same_thread": False},
        # Kept connections each hold up to 1 MiB of page cache: 8 cover what one process
        # runs at once in practice (make bench counts them); bursts beyond open extra
        # ones that close on return, up to the 48 threads of a gunicorn worker.
        "pool_size": 8,
        "max_overflow": 40,
    })
    orm.init_app(app)
    # Registered after Flask-SQLAlchemy's own teardown, so it runs first.
    app.teardown_appcontext(lambda _exc: release())
    turn_path = app.config["DATABASE"] + "-writelock"
    with app.app_context():
        engine = orm.engine
    event.listen(engine, "connect", lambda dbapi_conn, record: _on_connect(dbapi_conn, record, turn_path))
    event.listen(engine, "begin", _on_begin)
    event.listen(engine, "commit", _on_transaction_end)
    event.listen(engine, "rollback", _on_transaction_end)
    event.listen(engine.pool, "checkin", _on_checkin)
    event.listen(engine.pool, "close", _on_close)


def connect_sqlite(path):
    """A plain sqlite3 connection with waken's pragmas (for init-db, backup, tests)."""
    conn = sqlite3.connect(path, timeout=15, isolation_level=None)
    for pragma in PRAGMAS:
        conn.execute(pragma)
    return conn


def _on_connect(dbapi_conn, record, turn_path):
    # We emit BEGIN ourselves (see _on_begin and write()), so the driver must not.
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


def _on_transaction_end(conn):
    # An ORM commit or rollback ends the request's write (see begin_write).
    state = g.get("_waken_db") if has_app_context() else None
    if state is not None and state.orm is conn:
        state.writing = False
    _end_turn(getattr(_turn, "fd", None))


def _on_checkin(_dbapi_conn, record):
    _end_turn(record.info.get("turn"))


def _on_close(_dbapi_conn, record):
    fd = record.info.pop("turn", None)
    if fd is not None:
        os.close(fd)


def _on_begin(conn):
    # The ORM joins a transaction that write() or snapshot() began in plain SQL; else
    # it reads in a deferred transaction, so parsing, hashing, decoding and rendering
    # never hold the write lock.
    driver = conn.connection.driver_connection
    if not driver.in_transaction:
        driver.execute("BEGIN")


class _RequestDb:
    """The request's one connection: a pooled sqlite3 connection, and the ORM's view of it once needed."""

    def __init__(self, engine):
        self.engine = engine
        self.pooled = engine.raw_connection()
        self.driver = self.pooled.driver_connection
        self.orm = None          # the SQLAlchemy Connection the session is bound to
        self.writing = False

    def orm_connection(self):
        if self.orm is None:
            self.orm = Connection(self.engine, self.pooled)
        return self.orm

    def close(self):
        (self.orm or self.pooled).close()


# One connection per request (per app context). Plain SQL runs on the pooled sqlite3
# connection directly, so a report's write is BEGIN IMMEDIATE ... COMMIT with nothing
# in between; the ORM session is bound to the same connection and only comes in when
# a request uses the ORM, joining whatever transaction is open.

def _state():
    state = g.get("_waken_db")
    if state is None:
        state = g._waken_db = _RequestDb(orm.engine)
    return state


def _request_connection():
    return _state().orm_connection()


def _session():
    """The request's ORM session if one was opened, else None (without opening one)."""
    return orm.session() if orm.session.registry.has() else None


def _session_open(session):
    return session is not None and (session.in_transaction() or session.new or session.dirty or session.deleted)


def _begin_immediate(state):
    """Take the turn and BEGIN IMMEDIATE, ending a read still open; False when already writing.

    A read transaction upgraded in place would fail with SQLITE_BUSY_SNAPSHOT once
    another writer had committed, so it is ended first.
    """
    if state.writing:
        return False
    session = _session()
    if _session_open(session):
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("begin_write() must come before the first change to the session")
        session.commit()
    if state.driver.in_transaction:
        state.driver.execute("COMMIT")
    turn = state.pooled.info["turn"]
    _take_turn(turn)
    try:
        state.driver.execute("BEGIN IMMEDIATE")
    except BaseException:
        _end_turn(turn)
        raise
    state.writing = True
    return True


def begin_write():
    """Take the write lock for the session's transaction: BEGIN IMMEDIATE, ended by orm.session.commit().

    Call it after parsing, validation, hashing and image decoding, right before the
    reads that feed the writes. Calling it again in the same transaction does nothing;
    commit or roll back to release the lock.
    """
    _begin_immediate(_state())
    orm.session.connection()   # the session joins the transaction, so its commit ends it


def _finish(state, commit):
    """Commit (or roll back) the request's transaction, ORM changes included, and end the turn."""
    session = _session()
    try:
        if _session_open(session):
            session.commit() if commit else session.rollback()
        if state.driver.in_transaction:
            state.driver.execute("COMMIT" if commit else "ROLLBACK")
    finally:
        state.writing = False
        _end_turn(state.pooled.info.get("turn"))


def raw_connection():
    """The request's sqlite3 connection, in a transaction the ORM session shares."""
    state = _state()
    if not (state.writing or state.driver.in_transaction):
        orm.session.connection()   # a deferred read transaction, as the session's
    return state.driver


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
    reads that feed the writes, so none of that work holds the lock. Inside, plain SQL
    and the ORM share the one transaction.
    """
    state = _state()
    if not _begin_immediate(state):   # already inside a write: the outer block commits
        yield state.driver
        return
    try:
        yield state.driver
    except BaseException:
        _finish(state, commit=False)
        raise
    _finish(state, commit=True)


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
    if orm.session.registry.has():
        orm.session.remove()
    state = g.pop("_waken_db", None)
    if state is not None:
        state.close()


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
