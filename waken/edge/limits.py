"""Counters every worker shares without the main database: the token and address rate limits, login attempts."""
import fcntl
import functools
import math
import os
import sqlite3
import struct
import threading
import time
from contextlib import contextmanager

from flask import current_app, request

from waken import disk, settings
from waken.auth.tokens import require_token
from waken.edge.addresses import address_key
from waken.errors import ApiError
from waken.timeutil import now

FILE = "limits.sqlite"
TOKENS = "-tokens"   # beside FILE: the token buckets, one record each (see Counters.token_records)
# A token's bucket: the writes still "in the bucket" (it drains at the per-minute rate) and the
# unix seconds of its last change, at token id x RECORD.size in the file; zeros: an empty bucket.
RECORD = struct.Struct("<dd")

SCHEMA = """
CREATE TABLE IF NOT EXISTS address_bucket (
    address TEXT PRIMARY KEY,     -- addresses.address_key of an anonymous writer
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
        self._conn = self._turn = self._tokens = None

    def _open(self):
        # Opened lazily in each worker: a connection must never cross a fork. Opened again when
        # the file was deleted or replaced: a worker still on the old, unlinked file would count
        # alone, and every limit would silently double. It costs one stat of each file per transaction.
        if self._pid == os.getpid():
            if self._files == _identity(self.path, self.path + "-lock", self.path + TOKENS):
                return
            self._pid = None
            self._conn.close()
            os.close(self._turn)
            os.close(self._tokens)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            self._turn = os.open(self.path + "-lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                self._tokens = os.open(self.path + TOKENS, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            except BaseException:
                os.close(self._turn)
                raise
            self._files = tuple(_file_id(os.fstat(f)) for f in (fd, self._turn, self._tokens))
        finally:
            os.close(fd)
        self._conn = sqlite3.connect(self.path, timeout=15, isolation_level=None,
                                     check_same_thread=False)
        self._conn.row_factory = sqlite3.Row
        try:
            self._prepare()
        except BaseException:   # e.g. a full disk: the next transaction opens afresh, leaking nothing
            self._conn.close()
            os.close(self._turn)
            os.close(self._tokens)
            raise
        self._pid = os.getpid()

    def _prepare(self):
        # Inside the turn: two workers opening a new file at once would otherwise race to set it up.
        with self._flock():
            # Counters are not worth an fsync: after a power cut they start again from zero.
            self._conn.execute("PRAGMA synchronous=OFF")
            # A rollback journal, not WAL: processes take turns on the flock anyway, and WAL's
            # -wal and -shm, found by name, would be shared between a replaced file's old
            # connections and the new one (and deleted under it by the last old one to close).
            # A file still open in WAL by an older worker (during a reload) stays so until then.
            # PERSIST: each commit zeroes the journal's header instead of truncating the file,
            # as safe against a crash and a sixth cheaper per charge (one per report).
            self._conn.execute("PRAGMA busy_timeout=0")
            try:
                self._conn.execute("PRAGMA journal_mode=PERSIST")
            except sqlite3.OperationalError:
                pass
            self._conn.execute("PRAGMA busy_timeout=15000")
            self._conn.executescript(SCHEMA)

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


    @contextmanager
    def token_records(self):
        """The token buckets' file, during this process's and thread's turn.

        Charged on every report, so not in SQLite: a rollback-journal transaction (the
        journal opened, written, zeroed and closed, and checked for at the next one) cost
        ~0.2 ms of server CPU per report. A bucket is one fixed-size record at its token's
        id, read and written in place with one pread and one pwrite inside the turn; a
        pwrite this small lands whole even if the process is killed, and a record lost to a
        power cut starts again from zero, as the counters in SQLite do (no fsync there either).
        """
        with self._lock:
            self._open()
            with self._flock():
                yield self._tokens


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


def charged_token(scope):
    """The request's token with `scope` (401 or 403 otherwise), one write counted for it (429 past the limit)."""
    token = require_token(scope)
    charge_token(token.id)
    return token


@_uncounted_if_the_disk_fails
def charge_token(token_id, cost=1):
    """Count `cost` writes for this token; 429 with Retry-After past rate_limit_per_minute."""
    per_minute = settings.get("rate_limit_per_minute")
    if not per_minute:
        return
    wait = _drip_token(token_id, per_minute, cost)
    if wait:
        what = f"{cost:,} writes" if cost > 1 else "a write"
        raise ApiError(429, f"Too many writes with this token: at most {per_minute:,} a minute, and {what} "
                            f"would go past that. Try again in {wait} s.", headers={"Retry-After": str(wait)}, code="rate_limited", params={"scope": "token", "limit": per_minute, "retryAfter": wait})


@_uncounted_if_the_disk_fails
def charge_address(per_minute, cost=1):
    """Count `cost` anonymous writes from the caller's address (an IPv6 /64 counts as one); 429 past per_minute."""
    wait = _drip_address(address_key(client_address()), per_minute, cost)
    if wait:
        raise ApiError(429, f"Too many writes without a token from your address: at most {per_minute:,} "
                            f"a minute. Try again in {wait} s.", headers={"Retry-After": str(wait)}, code="rate_limited", params={"scope": "address", "limit": per_minute, "retryAfter": wait})


def _leak(level, last, at, per_minute, cost):
    """A leaky bucket that held `level` at `last`, charged `cost` at `at`: (its new level, 0)
    when that fits, else (None, the seconds until it would).

    Up to per_minute writes at once, then per_minute / 60 a second. A batch that costs more
    than the whole bucket goes only into an empty one (else it could never go); the bucket
    then holds its full cost, so the caller waits that long for its next write.
    """
    rate, room = per_minute / 60, max(per_minute, cost)
    level = max(0.0, level - max(0.0, at - last) * rate)
    if level + cost <= room:
        return level + cost, 0
    return None, max(1, math.ceil((level + cost - room) / rate))


def _drip_token(token_id, per_minute, cost):
    """Charge a token's bucket, kept in its record (Counters.token_records); 0 or the seconds to wait."""
    offset, at = token_id * RECORD.size, time.time()
    with counters().token_records() as fd:
        data = os.pread(fd, RECORD.size, offset)
        level, last = RECORD.unpack(data) if len(data) == RECORD.size else (0.0, 0.0)
        if not (math.isfinite(level) and math.isfinite(last)):
            level, last = 0.0, 0.0   # not a record this code wrote: an empty bucket
        level, wait = _leak(level, last, at, per_minute, cost)
        if not wait:
            os.pwrite(fd, RECORD.pack(level, at), offset)
    return wait


def _drip_address(key, per_minute, cost):
    """Charge an address's bucket; 0 or the seconds to wait.

    The buckets untouched for a minute (empty by then) are dropped, so that the table stays
    as small as the callers of the last minute.
    """
    at = time.time()
    with counters().transaction() as conn:
        conn.execute("DELETE FROM address_bucket WHERE at < ?", (at - 60,))
        row = conn.execute("SELECT level, at FROM address_bucket WHERE address = ?", (key,)).fetchone()
        level, last = (0.0, at) if row is None else (row["level"], row["at"])
        level, wait = _leak(level, last, at, per_minute, cost)
        if not wait:
            conn.execute("INSERT OR REPLACE INTO address_bucket (address, level, at) VALUES (?, ?, ?)",
                         (key, level, at))
    return wait


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
                   headers={"Retry-After": str(wait)}, code="rate_limited", params={"scope": "sign_in", "limit": limit, "retryAfter": wait})


def record_login_success():
    """A correct password (or setup code) clears this address's count."""
    with counters().transaction() as conn:
        conn.execute("DELETE FROM login_failure WHERE client = ?", (client_address(),))
