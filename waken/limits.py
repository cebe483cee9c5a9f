"""Counters every worker shares without the main database: the token and address rate limits, login failures."""
import fcntl
import math
import os
import sqlite3
import threading
import time
from contextlib import contextmanager

from flask import current_app, request
from werkzeug.exceptions import TooManyRequests

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
CREATE TABLE IF NOT EXISTS address_bucket (
    address TEXT PRIMARY KEY,     -- addresses.address_key of an anonymous writer
    level REAL NOT NULL,          -- as in token_bucket
    at REAL NOT NULL
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
                except BaseException:
                    self._conn.execute("ROLLBACK")
                    raise
                self._conn.execute("COMMIT")


def counters():
    """This app's shared counters."""
    ext = current_app.extensions
    if "waken_counters" not in ext:
        ext["waken_counters"] = Counters(os.path.join(current_app.instance_path, FILE))
    return ext["waken_counters"]


def charge_token(token_id, cost=1):
    """Count `cost` writes for this token; 429 with Retry-After past rate_limit_per_minute."""
    per_minute = settings.get("rate_limit_per_minute")
    if not per_minute:
        return
    wait = _drip("token_bucket", "token_id", token_id, per_minute, cost)
    if wait:
        what = f"{cost:,} writes" if cost > 1 else "a write"
        raise ApiError(429, f"Too many writes with this token: at most {per_minute:,} a minute, and {what} "
                            f"would go past that. Try again in {wait} s.", headers={"Retry-After": str(wait)})


def charge_address(per_minute, cost=1):
    """Count `cost` anonymous writes from the caller's address (an IPv6 /64 counts as one); 429 past per_minute."""
    wait = _drip("address_bucket", "address", address_key(client_address()), per_minute, cost, forget=True)
    if wait:
        raise ApiError(429, f"Too many writes without a token from your address: at most {per_minute:,} "
                            f"a minute. Try again in {wait} s.", headers={"Retry-After": str(wait)})


def _drip(table, column, key, per_minute, cost, forget=False):
    """Add `cost` to key's leaky bucket in table; 0 when it fits, else the seconds until it would.

    forget: drop the buckets untouched for a minute (they are empty by then), so that a
    table keyed by whoever calls stays as small as the callers of the last minute.
    """
    # A leaky bucket: up to per_minute writes at once, then per_minute / 60 a second. A batch
    # that costs more than the whole bucket goes only into an empty one (else it could never
    # go); the bucket then holds its full cost, so the caller waits that long for its next write.
    rate, at, room = per_minute / 60, time.time(), max(per_minute, cost)
    with counters().transaction() as conn:
        if forget:
            conn.execute(f"DELETE FROM {table} WHERE at < ?", (at - 60,))
        row = conn.execute(f"SELECT level, at FROM {table} WHERE {column} = ?", (key,)).fetchone()
        level = 0.0 if row is None else max(0.0, row["level"] - max(0.0, at - row["at"]) * rate)
        if level + cost <= room:
            conn.execute(f"INSERT OR REPLACE INTO {table} ({column}, level, at) VALUES (?, ?, ?)",
                         (key, level + cost, at))
            return 0
    return max(1, math.ceil((level + cost - room) / rate))


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
