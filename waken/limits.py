"""Counters every worker shares without the main database: the token rate limit and login failures."""
import fcntl
import functools
import math
import os
import sqlite3
import threading
import time
from contextlib import contextmanager

from flask import current_app, request
from werkzeug.exceptions import TooManyRequests

from waken import disk, settings
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
    client TEXT NOT NULL,         -- the real client address (see WAKEN_TRUSTED_PROXIES)
    at REAL NOT NULL              -- unix seconds, on the app's clock
);
CREATE INDEX IF NOT EXISTS login_failure_client ON login_failure (client, at);
"""


class Counters:
    """The counters file of one instance: one connection per process, one thread at a time."""

    def __init__(self, path):
        self.path = path
        self._lock = threading.Lock()
        self._pid = None
        self._conn = self._turn = None

    def _open(self):
        # Opened lazily in each worker: a connection must never cross a fork.
        if self._pid == os.getpid():
            return
        os.close(os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600))
        self._turn = os.open(self.path + "-lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        self._conn = sqlite3.connect(self.path, timeout=15, isolation_level=None,
                                     check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        # Inside the turn: switching a new file to WAL does not wait for a busy lock, so
        # two workers opening it at once would otherwise fail with "database is locked".
        with self._flock():
            # Counters are not worth an fsync: after a power cut they start again from zero.
            for pragma in ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=OFF", "PRAGMA busy_timeout=15000"):
                self._conn.execute(pragma)
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
                    self._conn.execute("COMMIT")
                except BaseException:
                    # Also after a failed COMMIT (a full disk): the next transaction must not find this one open.
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                    raise


def counters():
    """This app's shared counters."""
    ext = current_app.extensions
    if "waken_counters" not in ext:
        ext["waken_counters"] = Counters(os.path.join(current_app.instance_path, FILE))
    return ext["waken_counters"]


def _uncounted_if_the_disk_fails(charge):
    """A charge that lets the write through when the disk cannot take the count (full, read-only).

    The data is worth more than the count, and the main database, on the same disk, answers
    507 or 503 itself if it cannot store the write either. Login counts never do this: a
    sign-in that cannot be counted is refused (503 or 507), so a failing disk never means
    unlimited password guesses.
    """
    @functools.wraps(charge)
    def charged(*args, **kwargs):
        try:
            return charge(*args, **kwargs)
        except (sqlite3.Error, OSError) as err:
            if disk.failed(err) is None:
                raise
    return charged


@_uncounted_if_the_disk_fails
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
    """The caller's address: the socket peer, or what trusted proxies say (WAKEN_TRUSTED_PROXIES)."""
    return request.remote_addr or "unknown"


def _window():
    return current_app.config["LOGIN_LOCKOUT_MINUTES"] * 60


def check_login_allowed():
    """Refuse with 429 (and Retry-After) while this address has too many recent failures."""
    at, window, limit = now().timestamp(), _window(), current_app.config["LOGIN_MAX_FAILURES"]
    with counters().transaction() as conn:
        times = [row["at"] for row in conn.execute(
            "SELECT at FROM login_failure WHERE client = ? AND at > ? ORDER BY at DESC LIMIT ?",
            (client_address(), at - window, limit))]
    if len(times) >= limit:
        wait = max(1, math.ceil(times[-1] + window - at))
        raise TooManyRequests("Too many wrong attempts from your address; wait a few minutes and try again.",
                              retry_after=wait)


def record_login_failure():
    """Count a wrong password or setup code from this address (never in the main database)."""
    at = now().timestamp()
    with counters().transaction() as conn:
        conn.execute("DELETE FROM login_failure WHERE at <= ?", (at - _window(),))
        conn.execute("INSERT INTO login_failure (client, at) VALUES (?, ?)", (client_address(), at))


def record_login_success():
    """A correct password clears this address's count."""
    with counters().transaction() as conn:
        conn.execute("DELETE FROM login_failure WHERE client = ?", (client_address(),))
