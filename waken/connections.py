"""Each request's one SQLite connection, the process's pool of them, and the writers' turn."""
import errno
import fcntl
import json
import os
import sqlite3
import sys

from flask import current_app, g

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

# Compact JSON text for stored values; one encoder, since json.dumps with options builds one per call.
compact_json = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def init_app(app):
    """Give the app its pool of connections; the last teardown hands the request's back."""
    app.extensions["waken.pool"] = Pool(app.config["DATABASE"])
    app.teardown_appcontext(lambda _exc: release())


def connect_sqlite(path):
    """A sqlite3 connection with waken's pragmas, in autocommit mode: waken emits BEGIN itself."""
    conn = sqlite3.connect(path, timeout=15, isolation_level=None, check_same_thread=False)
    for pragma in PRAGMAS:
        conn.execute(pragma)
    return conn


# Writers take turns on an flock beside the database before BEGIN IMMEDIATE. Left to
# SQLite alone, a waiting writer sleeps in growing steps (up to 100 ms) between tries,
# so under load reports waited far longer than anyone held the lock; a blocking flock
# wakes the next writer, in any thread or process, the moment the turn is over. The
# turn ends after the commit or rollback, or at the latest when the request hands its
# connection back.

def _take_turn(fd):
    fcntl.flock(fd, fcntl.LOCK_EX)


def _end_turn(fd):
    fcntl.flock(fd, fcntl.LOCK_UN)


class Pool:
    """A process's sqlite3 connections to the database, each with waken's pragmas and its own
    descriptor on the writers' turn file.

    KEEP stay open between requests (each holds up to 1 MiB of page cache: 8 cover what
    one process runs at once in practice, make bench counts them); a burst opens more,
    one per busy thread at most, which close when handed back.
    """

    KEEP = 8

    def __init__(self, path):
        self.path = path
        # The last one handed back goes out first: its page cache is warm. A list's
        # append and pop are atomic, so the threads need no lock of their own.
        self.idle = []
        self.lent = set()

    def checkout(self):
        try:
            pooled = self.idle.pop()
        except IndexError:
            pooled = Pooled(connect_sqlite(self.path), self.path + "-writelock")
        self.lent.add(pooled)
        return pooled

    def checkin(self, pooled):
        self.lent.discard(pooled)
        if len(self.idle) < self.KEEP and not pooled.read_only:
            self.idle.append(pooled)
        else:
            pooled.close()


class Pooled:
    """One pooled connection and its descriptor on the turn file."""

    def __init__(self, driver, turn_path):
        self.driver = driver
        self.read_only = False
        try:
            self.turn = os.open(turn_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as err:
            if err.errno not in (errno.EROFS, errno.EACCES):
                raise
            # A read-only folder: reads still work, and flock works on a read-only descriptor.
            # SQLite opened the database read-only too, and would stay so once the folder is
            # writable again; such a connection is never kept (checkin), so writes resume
            # without a restart.
            self.turn = os.open(turn_path, os.O_RDONLY | os.O_CLOEXEC)
            self.read_only = True

    def close(self):
        self.driver.close()
        os.close(self.turn)


class _RequestDb:
    """The request's one connection: a pooled sqlite3 connection, and the ORM's view of it once needed."""

    def __init__(self, pool):
        self.pool = pool
        self.pooled = pool.checkout()
        self.driver = self.pooled.driver
        self.orm = None          # the SQLAlchemy Connection the session is bound to
        self.writing = False

    def orm_connection(self, engine):
        if self.orm is None:
            self.orm = engine.connect()
        return self.orm

    def close(self):
        if self.orm is not None:
            self.orm.close()
        try:
            if self.driver.in_transaction:
                self.driver.execute("ROLLBACK")
        finally:
            _end_turn(self.pooled.turn)    # at the latest: write() ends it after the commit
        self.pool.checkin(self.pooled)


# One connection per request (per app context). Plain SQL runs on the pooled sqlite3
# connection directly, so a report's write is BEGIN IMMEDIATE ... COMMIT with nothing
# in between; the ORM session (orm.py) is bound to the same connection and only comes
# in when a request uses the ORM, joining whatever transaction is open.

def request_state():
    state = g.get("_waken_db")
    if state is None:
        state = g._waken_db = _RequestDb(current_app.extensions["waken.pool"])
    return state


def _orm_session():
    """The ORM's scoped session if this process has loaded the ORM (orm.py) and this context used it."""
    # Another thread may be importing orm.py right now: the module is then in sys.modules
    # before its `orm` exists, and this context cannot have used it yet.
    orm = getattr(sys.modules.get("waken.orm"), "orm", None)
    if orm is None or not orm.session.registry.has():
        return None
    return orm.session


def _open_session():
    """The request's ORM session if it was used and holds a transaction or changes, else None."""
    scoped = _orm_session()
    if scoped is None:
        return None
    session = scoped()
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
    _take_turn(state.pooled.turn)
    try:
        state.driver.execute("BEGIN IMMEDIATE")
    except BaseException:
        _end_turn(state.pooled.turn)
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
        _end_turn(state.pooled.turn)


def release():
    """Hand the request's connection back early (a stream that idles holds none)."""
    scoped = _orm_session()
    if scoped is not None:
        scoped.remove()
    state = g.pop("_waken_db", None)
    if state is not None:
        state.close()
