"""The data layer: Flask-SQLAlchemy's engine and session, SQL on the request's one connection, write(), snapshot().

Flask-SQLAlchemy (`orm`, set up by init_app in create_app) owns the engine and its one
pool; connections.py sets each connection up (pragmas, waken's own BEGIN, the writers'
turn). A request takes one connection from that pool on first use and hands it back at
teardown; the ORM session and plain SQL both run on it, in one transaction.

Each table is written through one style:
- the ORM (`orm.session` with the classes of models.py), for what the owner edits one row
  at a time from the admin pages and commands: every table models.py maps but the two
  below (today setting, owner_status, media_source_rule, app_rule, model_price, admin_user,
  api_token, alert_channel, alert_rule; a report touches a token's last_used_at through it at
  most once a minute);
- plain SQL (the functions below; rows are sqlite3.Row, read by column name), for the tables
  written per report, per visitor or per agent call: device and app_record (models.py maps
  them for the admin pages' reads), device_activity, media_asset,
  agent_activity, admin_session, alert_state and alert_outbox, and your day's device_day and
  day_hour (written by waken/devices/day_rollup.py as runs end); their rollups (agent_session,
  agent_session_part, agent_session_mix, the agent_activity_usage tables, day_app and day_device
  among them), feed_version and agent_pulse are
  kept by schema.sql's triggers,
  and migrate.py's upgrades are SQL like the schema.
Reads use whichever reads better: SQL on the hot paths and for aggregates, the ORM on the
owner's pages.

`with db.write():` wraps every change, ORM or SQL: views and commands own the transaction;
domain functions never commit. Outside write() and snapshot(), each plain statement reads
on its own (no transaction is held while a body is read).
"""
import sqlite3
from contextlib import contextmanager

from flask import g
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session
from sqlalchemy.orm import DeclarativeBase

from waken import connections, disk, errors
from waken.connections import compact_json, connect_sqlite, request_state  # noqa: F401  (used through db)


class Base(DeclarativeBase):
    pass


class RequestSession(Session):
    """The ORM session, bound to the request's one connection."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        return bind if bind is not None else request_state().orm_connection()


orm = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False, "class_": RequestSession})


def init_app(app):
    """Flask-SQLAlchemy's engine over the DATABASE file; the last teardown hands the request's connection back."""
    connections.configure(app)
    app.teardown_appcontext(lambda _exc: release())   # runs after the session's own teardown
    orm.init_app(app)
    with app.app_context():
        engine = app.extensions["waken.engine"] = orm.engine
    connections.listen(engine, app.config["DATABASE"])


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


def _session():
    """The request's ORM session if it was used and holds a transaction or changes, else None."""
    if not orm.session.registry.has():
        return None
    session = orm.session()
    return session if session.in_transaction() or session.new or session.dirty or session.deleted else None


@contextmanager
def write():
    """Hold the write lock for the block: commit at its end, roll back if it raises.

    Enter it after parsing, validation, hashing and image decoding, right before the
    reads that feed the writes, so none of that work holds the lock. Inside, plain SQL
    and the ORM share the one transaction; a write() inside another leaves the commit
    to the outer one. A disk that refuses the write raises errors.DiskRefused (errors.disk_refusal).
    """
    state = request_state()
    try:
        if not connections.begin_immediate(state, _session()):
            yield state.driver
            return
        try:
            yield state.driver
        except BaseException:
            connections.finish(state, _session(), commit=False)
            raise
        connections.finish(state, _session(), commit=True)
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


def release():
    """Hand the request's connection back early (a stream that idles holds none)."""
    if orm.session.registry.has():
        orm.session.remove()
    state = g.pop("_waken_db", None)
    if state is not None:
        state.close()
