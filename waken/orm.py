"""The ORM (Flask-SQLAlchemy), loaded by the first admin page or command that edits a row.

SQLAlchemy with Flask-SQLAlchemy is ~20 MB of a worker's memory, and reports, the feed
and the agent log never need it (they run plain SQL, see db.py), so nothing imports
this module at start-up: models.py and the functions that use the ORM import it where
they run. The session is Flask-SQLAlchemy's, one per app context, and it is bound to the
request's one sqlite3 connection (connections.py), so ORM and plain SQL share one
transaction. There is no engine per app to set up, so `init_app` is never called and
the ORM may arrive after the first request (Flask refuses to set up an extension then).
"""
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session
from sqlalchemy import case, create_engine, event, func, select  # noqa: F401  (builders its users import from here)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import NullPool

from waken.connections import compact_json, request_state


class Base(DeclarativeBase):
    pass


class RequestSession(Session):
    """The ORM session, bound to the request's one connection."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        return bind if bind is not None else request_state().orm_connection(engine)


orm = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False, "class_": RequestSession})


class _Borrowed:
    """The request's sqlite3 connection as SQLAlchemy holds it: closing it hands nothing back.

    connections.py owns the connection (and returns it to its pool); SQLAlchemy only
    borrows it for the ORM's statements.
    """

    def __init__(self, driver):
        self._driver = driver

    def __getattr__(self, name):
        return getattr(self._driver, name)

    def close(self):
        pass


def _on_begin(conn):
    # The ORM joins the transaction write() or snapshot() began; otherwise it reads in a
    # deferred transaction, so rendering an admin page never holds the write lock.
    driver = conn.connection.driver_connection
    if not driver.in_transaction:
        driver.execute("BEGIN")


# One engine per process for every app: its "pool" hands out the current request's
# connection, so it holds no connection of its own.
engine = create_engine("sqlite://", creator=lambda: _Borrowed(request_state().driver), poolclass=NullPool,
                       json_serializer=compact_json)
event.listen(engine, "begin", _on_begin)
