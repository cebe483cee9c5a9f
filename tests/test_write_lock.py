"""begin_write(): the only way to the write lock, safe after a read that another writer outdated."""
import sqlite3

import pytest

from waken import settings
from waken.db import begin_write, connect_sqlite, db, raw_connection
from waken.models import ApiToken


def other_writer(app):
    conn = connect_sqlite(app.config["DATABASE"])
    conn.execute("INSERT INTO setting (key, value) VALUES ('timezone', '\"Europe/Berlin\"') "
                 "ON CONFLICT (key) DO UPDATE SET value = excluded.value")
    conn.close()


def lock_is_free(app):
    conn = sqlite3.connect(app.config["DATABASE"], timeout=0, isolation_level=None)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        conn.close()


def test_a_write_after_a_read_that_another_writer_outdated_succeeds(app):
    with app.test_request_context("/api/activity", method="POST"):
        assert settings.get("timezone")          # a read transaction is open now
        other_writer(app)                        # ... and another writer commits meanwhile
        begin_write()                            # upgraded in place, this would be SQLITE_BUSY_SNAPSHOT
        raw_connection().execute("UPDATE setting SET value = '\"UTC\"' WHERE key = 'timezone'")
        db.session.commit()
    with app.app_context():
        assert settings.load()["timezone"] == "UTC"


def test_a_post_request_reads_without_the_write_lock_until_begin_write(app):
    with app.test_request_context("/admin/login", method="POST"):
        settings.load()
        db.session.scalar(db.select(ApiToken).limit(1))
        assert lock_is_free(app)
        begin_write()
        assert not lock_is_free(app)
        begin_write()                            # a second call in the same transaction changes nothing
        db.session.rollback()
        assert lock_is_free(app)


def test_begin_write_after_an_unsaved_change_is_a_programming_error(app):
    with app.test_request_context("/", method="POST"):
        settings.load()
        db.session.add(ApiToken(name="x", token_hash="0" * 64, prefix="00000000", enabled=True))
        with pytest.raises(RuntimeError, match="before the first change"):
            begin_write()
        db.session.rollback()
