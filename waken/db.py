"""The database API every module uses: SQL on the request's connection, write(), snapshot(), quick_read().

The connection itself, the pool and the writers' turn live in connections.py, the ORM
session bound to the same connection in orm.py; the names other modules need from
connections.py are imported here, so that `from waken import db` is the one import for
data (and `from waken.orm import orm`, where a function edits rows through the ORM).
"""
import sqlite3
from contextlib import contextmanager

from flask import current_app

from waken import disk, errors
from waken.connections import (  # noqa: F401  (the names other modules use through db)
    begin_immediate,
    compact_json,
    connect_sqlite,
    finish,
    init_app,
    release,
    request_state,
)

# When SQL, when the ORM. Plain SQL through the functions below (rows are sqlite3.Row,
# read by column name) on the paths that run per report, per visitor or per agent call:
# reports, the feed, the agent log, OTLP, token checks, sweeps; and wherever a statement
# reads better as SQL (aggregates, upserts). The ORM (orm.py, models.py) for the owner's pages
# and commands, which edit one row at a time. Both run on the request's one connection
# and in its one transaction. `with db.write():` wraps every change, ORM or SQL: views
# and commands own the transaction; domain functions never commit. Outside write() and
# snapshot(), each plain statement reads on its own. The ORM is imported inside the
# functions that use it, so a worker that only takes reports never loads it (orm.py).

def connection():
    """The request's sqlite3 connection."""
    return request_state().driver


def execute(sql, params=()):
    """Run one statement; the cursor's rows are sqlite3.Row (read them by column name)."""
    cursor = connection().cursor()
    cursor.row_factory = sqlite3.Row
    try:
        return cursor.execute(sql, params)
    except BaseException:
        # A failed statement stays unfinalized while its cursor lives (a traceback keeps it), and
        # with it the connection's files, after close: opened read-only, they would keep every
        # new connection of this process read-only after the folder is writable again.
        cursor.close()
        raise


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
    and the ORM share the one transaction; a write() inside another leaves the commit
    to the outer one. A disk that refuses the write raises its ApiError (errors.disk_refusal).
    """
    state = request_state()
    try:
        if not begin_immediate(state):
            yield state.driver
            return
        try:
            yield state.driver
        except BaseException:
            finish(state, commit=False)
            raise
        finish(state, commit=True)
    except Exception as err:
        # A full or read-only disk is answered here, for every write: 507 or 503, not a 500.
        refusal = errors.disk_refusal(err)
        if refusal is None:
            raise
        raise refusal from err
    disk.wrote()


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
        if conn.in_transaction:   # a write() inside has committed it already
            conn.execute("COMMIT")


def quick_read(sql, params=()):
    """The rows (plain tuples) of one read-only statement, on a pooled connection of its own.

    For the single query a request makes before it knows whether it needs more (the token
    check, the settings, the feed's change counter): it reads outside the request's
    transaction and leaves the request's own connection untaken.
    """
    pool = current_app.extensions["waken.pool"]
    pooled = pool.checkout()
    try:
        return pooled.driver.execute(sql, params).fetchall()
    finally:
        pool.checkin(pooled)
