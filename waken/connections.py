"""Each request's one SQLite connection, the ORM session bound to it, and the writers' turn."""
import fcntl
import json
import os
import sqlite3

from flask import g
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.orm import DeclarativeBase

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
    """The ORM session, bound to the request's one connection."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        return bind if bind is not None else request_state().orm_connection()


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
    event.listen(engine.pool, "checkin", lambda _conn, record: _end_turn(record.info.get("turn")))
    event.listen(engine.pool, "close", _on_close)


def connect_sqlite(path):
    """A plain sqlite3 connection with waken's pragmas (for init-db, backup, tests)."""
    conn = sqlite3.connect(path, timeout=15, isolation_level=None)
    for pragma in PRAGMAS:
        conn.execute(pragma)
    return conn


def _on_connect(dbapi_conn, record, turn_path):
    # We emit BEGIN ourselves (see write() and _on_begin), so the driver must not.
    dbapi_conn.isolation_level = None
    for pragma in PRAGMAS:
        dbapi_conn.execute(pragma)
    record.info["turn"] = os.open(turn_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)


def _on_close(_dbapi_conn, record):
    fd = record.info.pop("turn", None)
    if fd is not None:
        os.close(fd)


def _on_begin(conn):
    # The ORM joins the transaction write() or snapshot() began; otherwise it reads in a
    # deferred transaction, so rendering an admin page never holds the write lock.
    driver = conn.connection.driver_connection
    if not driver.in_transaction:
        driver.execute("BEGIN")


# Writers take turns on an flock beside the database before BEGIN IMMEDIATE. Left to
# SQLite alone, a waiting writer sleeps in growing steps (up to 100 ms) between tries,
# so under load reports waited far longer than anyone held the lock; a blocking flock
# wakes the next writer, in any thread or process, the moment the turn is over. The
# turn ends after the commit or rollback, or at the latest when the connection goes
# back to the pool.

def _take_turn(fd):
    fcntl.flock(fd, fcntl.LOCK_EX)


def _end_turn(fd):
    if fd is not None:
        fcntl.flock(fd, fcntl.LOCK_UN)


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

def request_state():
    state = g.get("_waken_db")
    if state is None:
        state = g._waken_db = _RequestDb(orm.engine)
    return state


def _open_session():
    """The request's ORM session if it was used and holds a transaction or changes, else None."""
    if not orm.session.registry.has():
        return None
    session = orm.session()
    return session if session.in_transaction() or session.new or session.dirty or session.deleted else None


def begin_immediate(state):
    """Take the turn and BEGIN IMMEDIATE, ending a read still open; False when already writing.

    A read transaction upgraded in place would fail with SQLITE_BUSY_SNAPSHOT once
    another writer had committed, so it is ended first.
    """
    if state.writing:
        return False
    session = _open_session()
    if session is not None:
        if session.new or session.dirty or session.deleted:
            raise RuntimeError("db.write() must come before the first change to the ORM session")
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


def finish(state, commit):
    """Commit (or roll back) the request's transaction, ORM changes included, and end the turn."""
    session = _open_session()
    try:
        if session is not None:
            session.commit() if commit else session.rollback()
        if state.driver.in_transaction:
            state.driver.execute("COMMIT" if commit else "ROLLBACK")
    finally:
        state.writing = False
        _end_turn(state.pooled.info.get("turn"))


def release():
    """Hand the request's connection back early (a stream that idles holds none)."""
    if orm.session.registry.has():
        orm.session.remove()
    state = g.pop("_waken_db", None)
    if state is not None:
        state.close()
