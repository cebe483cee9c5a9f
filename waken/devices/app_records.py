"""App records: the apps seen in reports, by group, for choosing rules and for export."""
import json
from datetime import timedelta

from sqlalchemy import select

from waken import db
from waken.db import compact_json, orm
from waken.models import AppRecord
from waken.timeutil import from_ms, to_ms

GROUPS = ("pc", "mobile")
RECORD_INTERVAL = timedelta(seconds=60)   # last_seen_at of an app record, at most this often


def record_app(device_type, process_name, title, at):
    """Remember an app for rule selection and export: latest 3 titles, newest first."""
    group = "mobile" if device_type in ("mobile", "tablet") else "pc"
    title = (title or "").strip()
    row = db.query_one("SELECT id, titles, last_seen_at FROM app_record WHERE app_group = ? AND process_name = ?",
                       (group, process_name))
    if row is None:
        db.execute("INSERT INTO app_record (app_group, process_name, titles, last_seen_at) VALUES (?, ?, ?, ?)",
                   (group, process_name, compact_json([title] if title else []), to_ms(at)))
        return
    titles = json.loads(row["titles"])
    if title and titles[:1] != [title]:
        titles = ([title] + [t for t in titles if t != title])[:3]
        db.execute("UPDATE app_record SET titles = ?, last_seen_at = ? WHERE id = ?",
                   (compact_json(titles), to_ms(at), row["id"]))
    elif at - from_ms(row["last_seen_at"]) >= RECORD_INTERVAL:
        db.execute("UPDATE app_record SET last_seen_at = ? WHERE id = ?", (to_ms(at), row["id"]))


def app_groups():
    """App records by group, most recently seen first."""
    groups = {group: [] for group in GROUPS}
    for record in orm.session.scalars(select(AppRecord).order_by(
            AppRecord.last_seen_at.desc(), AppRecord.process_name)):
        groups.setdefault(record.app_group, []).append(record)
    return groups
