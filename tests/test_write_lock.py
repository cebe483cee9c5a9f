"""db.write(): the only way to the write lock, safe after a read that another writer outdated."""
import base64
import sqlite3

import pytest

from tests.cost_support import gradients, png
from waken import db, settings
from waken.db import connect_sqlite, orm
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
        orm.session.scalar(orm.select(ApiToken).limit(1))   # the ORM's read transaction is open now
        other_writer(app)                        # ... and another writer commits meanwhile
        with db.write():                         # upgraded in place, this would be SQLITE_BUSY_SNAPSHOT
            db.execute("UPDATE setting SET value = '\"UTC\"' WHERE key = 'timezone'")
    with app.app_context():
        assert settings.load()["timezone"] == "UTC"


def test_a_post_request_reads_without_the_write_lock_until_write(app):
    with app.test_request_context("/admin/login", method="POST"):
        settings.load()
        orm.session.scalar(orm.select(ApiToken).limit(1))
        assert lock_is_free(app)
        with pytest.raises(ZeroDivisionError):
            with db.write():
                assert not lock_is_free(app)
                with db.write():                 # an inner block leaves the commit to the outer one
                    assert not lock_is_free(app)
                assert not lock_is_free(app)
                1 / 0
        assert lock_is_free(app)                 # rolled back, turn ended


def test_write_after_an_unsaved_change_is_a_programming_error(app):
    with app.test_request_context("/", method="POST"):
        settings.load()
        orm.session.add(ApiToken(name="x", token_hash="0" * 64, prefix="00000000", enabled=True))
        with pytest.raises(RuntimeError, match="before the first change"):
            with db.write():
                pass
        orm.session.rollback()


def test_images_are_stored_before_the_lock_and_a_file_swept_meanwhile_is_dropped(app, token, device):
    from waken.auth.tokens import require_token
    from waken.devices import reports
    from waken.media.files import stored_path
    from waken.media.report_images import prepare_images
    from waken.schemas.reports import report_schema

    cover = "data:image/png;base64," + base64.b64encode(png(gradients("RGB", 600))).decode()
    body = {"generatedHashKey": device, "process_name": "Music",
            "metadata": {"media": {"title": "Song", "coverDataUrl": cover}}}
    with app.test_request_context("/api/activity", method="POST", headers={"Authorization": f"Bearer {token}"}):
        caller = require_token("report")   # what POST /api/activity asks for
        images = prepare_images(report_schema.load(body))
        assert lock_is_free(app)                 # decoded and written without the write lock
        [image] = images.stored
        stored_path(app.config["MEDIA_DIR"], image).unlink()   # as the media sweep would
        with db.write():
            outcome = reports.submit_report(report_schema.load(body), caller, images)
    assert "coverUrl" not in outcome.activity.meta["media"]
    assert outcome.warnings == ["coverUrl was dropped: its stored file was cleaned up meanwhile; "
                                "send the image again."]
