"""The engine's SQLite connections (pragmas, waken's own BEGIN, the writers' turn) and each request's one of them."""
import errno
import fcntl
import json
import os
import sqlite3

from flask import current_app, g
from sqlalchemy import Connection, event

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

# The engine's pool: pool_size connections stay open between requests (each holds up to 1 MiB of
# page cache; 8 cover what one process runs at once in practice, make bench counts them); a
# burst opens more, one per busy thread at most, which close when handed back. The last one
# handed back goes out first (LIFO): its page cache is warm. Measured against
# SingletonThreadPool, which costs the same per request but closes other threads'
# connections once more than its size of threads use it.
POOL_OPTIONS = {"pool_size": 8, "max_overflow": -1, "pool_use_lifo": True}

# Compact JSON text for stored values; one encoder, since json.dumps with options builds one per call.
compact_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def configure(app):
    """The engine Flask-SQLAlchemy builds for the app: the DATABASE file, the pool, no pysqlite transactions."""
    app.config.setdefault("SQLALCHEMY_DATABASE_URI", "sqlite:///" + app.config["DATABASE"])
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {
        **POOL_OPTIONS, "json_serializer": compact_json,
        "connect_args": {"timeout": 15, "check_same_thread": False}})


def listen(engine, path):
    """Set up each new connection, and emit BEGIN ourselves (SQLAlchemy's recipe for pysqlite)."""
    event.listen(engine, "connect", lambda conn, record: _on_connect(conn, record, path + "-writelock"))
    event.listen(engine, "close", _on_close)
    event.listen(engine, "begin", _on_begin)


def connect_sqlite(path):
    """A sqlite3 connection of its own with waken's pragmas, in autocommit mode (init-db, tests)."""
    conn = sqlite3.connect(path, timeout=15, isolation_level=None, check_same_thread=False)
    for pragma in PRAGMAS:
        conn.execute(pragma)
    return conn


def _on_connect(conn, record, turn_path):
    # pysqlite's own BEGIN off: waken chooses BEGIN (reads) or BEGIN IMMEDIATE (write()).
    conn.isolation_level = None
    for pragma in PRAGMAS:
        conn.execute(pragma)
    record.info["turn"], record.info["read_only"] = open_turn_file(turn_path)


def _on_close(conn, record):
    turn = record.info.pop("turn", None)
    if turn is not None:
        os.close(turn)


def _on_begin(conn):
    # The ORM joins the transaction write() or snapshot() began; otherwise it reads in a
    # deferred transaction, so rendering an admin page never holds the write lock.
    if not conn.connection.driver_connection.in_transaction:
        conn.exec_driver_sql("BEGIN")


# Writers take turns on an flock beside the database before BEGIN IMMEDIATE. Left to
# SQLite alone, a waiting writer sleeps in growing steps (up to 100 ms) between tries,
# so under load reports waited far longer than anyone held the lock; a blocking flock
# wakes the next writer, in any thread or process, the moment the turn is over. Each
# connection has its own descriptor (flock locks belong to an open file, so threads of
# one process take turns too). The turn ends after the commit or rollback, or at the
# latest when the request hands its connection back.

def open_turn_file(path):
    """(descriptor on a turn file for flock, whether the folder was read-only); also the
    machine-wide turns' (waken.admission)."""
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600), False
    except OSError as err:
        if err.errno not in (errno.EROFS, errno.EACCES):
            raise
        # A read-only folder: reads still work, and flock works on a read-only descriptor.
        # SQLite opened the database read-only too, and would stay so once the folder is
        # writable again; such a connection is never kept (close()), so writes resume
        # without a restart.
        return os.open(path, os.O_RDONLY | os.O_CLOEXEC), True


def _take_turn(fd):
    fcntl.flock(fd, fcntl.LOCK_EX)


def _end_turn(fd):
    fcntl.flock(fd, fcntl.LOCK_UN)


class _RequestDb:
    """The request's one pooled connection: its sqlite3 connection for plain SQL, and the
    SQLAlchemy Connection around it that the ORM session is bound to, made once the ORM is used."""

    def __init__(self, engine):
        self.engine = engine
        # The pool's connection itself, without a SQLAlchemy Connection: half the cost, and
        # no BEGIN yet (plain statements read on their own).
        self.pooled = engine.raw_connection()
        self.driver = self.pooled.driver_connection
        self.turn = self.pooled.info["turn"]
        self.read_only = self.pooled.info["read_only"]
        self.orm = None
        self.writing = False

    def orm_connection(self):
        if self.orm is None:
            self.orm = Connection(self.engine, connection=self.pooled)
        return self.orm

    def close(self):
        try:
            if self.driver.in_transaction:
                self.driver.execute("ROLLBACK")
        finally:
            _end_turn(self.turn)    # at the latest (write() ends it after the commit), and before
                                    # the connection goes back: the next borrower's turn is its own
        if self.read_only:
            self.pooled.invalidate()
        (self.orm or self.pooled).close()


# One connection per request (per app context), taken from the engine's pool on first use.
# Plain SQL runs on its sqlite3 connection directly, so a report's write is BEGIN IMMEDIATE
# ... COMMIT with nothing in between; the ORM session (db.py) is bound to the same
# connection and only comes in when a request uses the ORM, joining whatever transaction is open.

def request_state():
    state = g.get("_waken_db")
    if state is None:
        state = g._waken_db = _RequestDb(current_app.extensions["waken.engine"])
    return state


def begin_immediate(state, session):
    """Take the turn and BEGIN IMMEDIATE, ending a read still open; False when already writing.

    A read transaction upgraded in place would fail with SQLITE_BUSY_SNAPSHOT once
    another writer had committed, so it is ended first.
    """
    if state.writing:
        return False
    if session is not None:
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("db.write() must come before the first change to the ORM session")
        session.commit()
    if state.driver.in_transaction:
        state.driver.execute("COMMIT")
    _take_turn(state.turn)
    try:
        state.driver.execute("BEGIN IMMEDIATE")
    except BaseException:
        _end_turn(state.turn)
        raise
    state.writing = True
    return True


def finish(state, session, commit):
    """Commit (or roll back) the request's transaction, ORM changes included, and end the turn."""
    try:
        if session is not None:
            session.commit() if commit else session.rollback()
        if state.driver.in_transaction:
            state.driver.execute("COMMIT" if commit else "ROLLBACK")
    finally:
        state.writing = False
        _end_turn(state.turn)
