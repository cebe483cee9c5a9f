"""Counters every worker shares without the main database: the token rate limit and login attempts."""
import fcntl
import math
import os
import sqlite3
import threading
import time
from contextlib import contextmanager

from flask import current_app, request

from waken import settings
from waken.addresses import address_key
from waken.errors import ApiError
from waken.timeutil import now

FILE = "limits.sqlite"

SCHEMA = """
CREATE TABLE IF NOT EXISTS token_bucket (
    token_id INTEGER PRIMARY KEY,
    level REAL NOT NULL,          -- writes still "in the bucket"; it drains at the per-minute rate
    at REAL NOT NULL              -- unix seconds of the last change
);
CREATE TABLE IF NOT EXISTS login_failure (
    client TEXT NOT NULL,         -- the real client's address key (see client_address)
    at REAL NOT NULL              -- unix seconds, on the app's clock
);
CREATE INDEX IF NOT EXISTS login_failure_client ON login_failure (client, at);
"""


class Counters:
    """The counters file of one instance: one connection per process, one thread at a time."""

    def __init__(self, path):
        self.path = path
        self._lock = threading.Lock()
        self._pid = self._files = None
        self._conn = self._turn = None

    def _open(self):
        # Opened lazily in each worker: a connection must never cross a fork. Opened again when
        # the file was deleted or replaced: a worker still on the old, unlinked file would count
        # alone, and every limit would silently double. It costs one stat of each file per transaction.
        if self._pid == os.getpid():
            if self._files == _identity(self.path, self.path + "-lock"):
                return
            self._pid = None
            self._conn.close()
            os.close(self._turn)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            self._turn = os.open(self.path + "-lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            self._files = (_file_id(os.fstat(fd)), _file_id(os.fstat(self._turn)))
        finally:
            os.close(fd)
        self._conn = sqlite3.connect(self.path, timeout=15, isolation_level=None,
                                     check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        # Inside the turn: two workers opening a new file at once would otherwise race to set it up.
        with self._flock():
            # Counters are not worth an fsync: after a power cut they start again from zero.
            self._conn.execute("PRAGMA synchronous=OFF")
            # A rollback journal, not WAL: processes take turns on the flock anyway, and WAL's
            # -wal and -shm, found by name, would be shared between a replaced file's old
            # connections and the new one (and deleted under it by the last old one to close).
            # A file still open in WAL by an older worker (during a reload) stays so until then.
            self._conn.execute("PRAGMA busy_timeout=0")
            try:
                self._conn.execute("PRAGMA journal_mode=TRUNCATE")
            except sqlite3.OperationalError:
                pass
            self._conn.execute("PRAGMA busy_timeout=15000")
            self._conn.executescript(SCHEMA)
        self._pid = os.getpid()

    @contextmanager
    def _flock(self):
        # Processes take turns on a blocking flock, which wakes the next one at once;
        # SQLite's own busy wait would sleep in growing steps under contention.
        fcntl.flock(self._turn, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._turn, fcntl.LOCK_UN)

    @contextmanager
    def transaction(self):
        """A short write transaction on the counters file."""
        with self._lock:
            self._open()
            with self._flock():
                self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self._conn
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")


def _file_id(stat):
    return stat.st_dev, stat.st_ino


def _identity(*paths):
    try:
        return tuple(_file_id(os.stat(path)) for path in paths)
    except FileNotFoundError:
        return None


def counters():
    """This app's shared counters."""
    ext = current_app.extensions
    if "waken_counters" not in ext:
        ext["waken_counters"] = Counters(os.path.join(current_app.instance_path, FILE))
    return ext["waken_counters"]


def charge_token(token_id):
    """Count one write for this token; 429 with Retry-After past rate_limit_per_minute."""
    per_minute = settings.get("rate_limit_per_minute")
    if not per_minute:
        return
    # A leaky bucket: up to per_minute writes at once, then per_minute / 60 a second.
    rate, at = per_minute / 60, time.time()
    with counters().transaction() as conn:
        row = conn.execute("SELECT level, at FROM token_bucket WHERE token_id = ?", (token_id,)).fetchone()
        level = 0.0 if row is None else max(0.0, row["level"] - max(0.0, at - row["at"]) * rate)
        if level + 1 <= per_minute:
            conn.execute("INSERT OR REPLACE INTO token_bucket (token_id, level, at) VALUES (?, ?, ?)",
                         (token_id, level + 1, at))
            return
    wait = max(1, math.ceil((level + 1 - per_minute) / rate))
    raise ApiError(429, f"Too many writes with this token: at most {per_minute} a minute. "
                        f"Try again in {wait} s.", headers={"Retry-After": str(wait)})


def client_address():
    """The key of the caller's address: the socket peer, or what trusted proxies say
    (WAKEN_TRUSTED_PROXIES); an IPv6 client counts as its /64 (see address_key)."""
    return address_key(request.remote_addr)


def _window():
    return current_app.config["LOGIN_LOCKOUT_MINUTES"] * 60


def count_login_attempt():
    """Count a password or setup code attempt from this address before it is checked;
    429 (with Retry-After) once LOGIN_MAX_FAILURES are counted within the window.

    Counted first and cleared by record_login_success: guesses sent together all count,
    so a burst from one address is refused before it costs a password hash each.
    """
    at, window, limit = now().timestamp(), _window(), current_app.config["LOGIN_MAX_FAILURES"]
    client = client_address()
    with counters().transaction() as conn:
        conn.execute("DELETE FROM login_failure WHERE at <= ?", (at - window,))
        times = [row["at"] for row in conn.execute(
            "SELECT at FROM login_failure WHERE client = ? ORDER BY at DESC LIMIT ?", (client, limit))]
        if len(times) < limit:
            conn.execute("INSERT INTO login_failure (client, at) VALUES (?, ?)", (client, at))
            return
    wait = max(1, math.ceil(times[-1] + window - at))
    raise ApiError(429, f"Too many sign-in attempts from your address; try again in {math.ceil(wait / 60)} min.",
                   headers={"Retry-After": str(wait)})


def record_login_success():
    """A correct password (or setup code) clears this address's count."""
    with counters().transaction() as conn:
        conn.execute("DELETE FROM login_failure WHERE client = ?", (client_address(),))
