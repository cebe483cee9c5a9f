"""A full or read-only disk: told apart from other errors, remembered, and probed for /healthz."""
import errno
import os
import sqlite3
import time

from flask import current_app

FULL, READ_ONLY, IO_ERROR = "full", "read-only", "io-error"

# What each kind of failure is, and what the owner can do about it (sentences for people).
PROBLEM = {
    FULL: "The server's disk is full",
    READ_ONLY: "The server's data folder is read-only (or not writable by the server)",
    IO_ERROR: "The server's disk failed to write (an input/output error)",
}
ADVICE = {
    FULL: "Free some space on the Pi.",
    READ_ONLY: "Check the Pi's SD card and the folder's permissions.",
    IO_ERROR: "Check the Pi's SD card.",
}
# 507 Insufficient Storage says exactly what a full disk is. A read-only folder or a failing
# card gets 503: the server is unavailable for writes for a while, which clients (OTLP
# exporters included) know to retry after Retry-After.
STATUS = {FULL: 507, READ_ONLY: 503, IO_ERROR: 503}
RETRY_AFTER_S = 60

# A failure this process saw counts for /healthz this long, unless a write succeeds first.
REMEMBER_S = 10
# /healthz asks the kernel about the instance folder at most this often per process:
# a statvfs and an access() are cheap, but /healthz is what the benchmark measures against.
PROBE_EVERY_S = 1.0
# Below this much free space, SQLite's next WAL growth or checkpoint fails: writes fail or are about to.
MIN_FREE_BYTES = 1024 * 1024

_SQLITE = {sqlite3.SQLITE_FULL: FULL, sqlite3.SQLITE_READONLY: READ_ONLY, sqlite3.SQLITE_IOERR: IO_ERROR}
_ERRNO = {errno.ENOSPC: FULL, errno.EDQUOT: FULL, errno.EROFS: READ_ONLY, errno.EACCES: READ_ONLY,
          errno.EPERM: READ_ONLY, errno.EIO: IO_ERROR}
_SQLITE_IOERR_NOMEM = sqlite3.SQLITE_IOERR | (12 << 8)   # memory, not the disk

_failure = None           # (kind, time.monotonic()) of this process's last write failure
_probed = (-PROBE_EVERY_S, None)   # (time.monotonic(), kind or None) of the last probe


def kind_of(err):
    """FULL, READ_ONLY or IO_ERROR when err (or what it wraps) is the disk refusing a write, else None."""
    seen = 0
    while err is not None and seen < 4:
        kind = _kind(err)
        if kind is not None:
            return kind
        # SQLAlchemy keeps the driver's error in .orig; our own re-raises chain it as the cause.
        err, seen = getattr(err, "orig", None) or err.__cause__, seen + 1
    return None


def _kind(err):
    if isinstance(err, sqlite3.Error):
        code = getattr(err, "sqlite_errorcode", None)
        if code is None or code == _SQLITE_IOERR_NOMEM:
            return None
        if code & 0xFF == sqlite3.SQLITE_CANTOPEN:
            # On a read-only folder a database without its -shm file cannot even be opened;
            # anywhere else "cannot open" is a bug or a missing file, not the disk.
            return READ_ONLY if probe(_folder()) == READ_ONLY else None
        return _SQLITE.get(code & 0xFF)
    if isinstance(err, OSError):
        return _ERRNO.get(err.errno)
    return None


def failed(err):
    """The kind of disk failure behind err, remembered for /healthz (and logged once a spell), or None."""
    global _failure
    kind = kind_of(err)
    if kind is None:
        return None
    first = _failure is None or time.monotonic() - _failure[1] >= REMEMBER_S
    _failure = (kind, time.monotonic())
    if first:
        # One line, no traceback: nothing is wrong with the code, and a full disk has no room for more.
        current_app.logger.warning("Writes fail: %s (%s); refused writes answer %d with Retry-After.",
                                   PROBLEM[kind], err, STATUS[kind])
    return kind


def wrote():
    """A write reached the disk: this process's memory of a failure is over."""
    global _failure
    if _failure is not None:
        _failure = None


def refusal_sentence(kind):
    """Why a write was refused, for whoever sent it."""
    return f"{PROBLEM[kind]}: nothing was stored. {ADVICE[kind]}"


def health_sentence(kind):
    """What /healthz says while writes fail."""
    return f"{PROBLEM[kind]}: writes fail, reads still work. {ADVICE[kind]}"


def writes_failing():
    """The kind of disk failure writes meet now, or None: a failure this process saw
    lately, else what the kernel says of the instance folder (probed at most once a second)."""
    global _probed
    failure, at = _failure, time.monotonic()
    if failure is not None and at - failure[1] < REMEMBER_S:
        return failure[0]
    probed_at, kind = _probed
    if at - probed_at >= PROBE_EVERY_S:
        kind = probe(_folder())
        _probed = (at, kind)
    return kind


def probe(folder):
    """What the kernel says of a folder without writing to it: READ_ONLY, FULL, or None when writable."""
    try:
        stat = os.statvfs(folder)
    except OSError as err:
        return _ERRNO.get(err.errno, IO_ERROR)
    if stat.f_flag & os.ST_RDONLY or not os.access(folder, os.W_OK):
        return READ_ONLY
    # root may also write the blocks a file system keeps back for it.
    free = (stat.f_bfree if os.geteuid() == 0 else stat.f_bavail) * stat.f_frsize
    return FULL if free < MIN_FREE_BYTES else None


def _folder():
    return os.path.dirname(current_app.config["DATABASE"])
