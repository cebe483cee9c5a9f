"""Expiry and retention sweeps: functions of `now` that end stale activities and delete old rows and media."""
import os
from datetime import timedelta

import click
from flask import current_app
from flask.cli import with_appcontext

from waken import db, settings
from waken.agent_log.filters import retention_cutoff
from waken.alerts.jobs import sweep_alerts
from waken.devices import day_rollup
from waken.media.files import FILENAME_RE, KINDS
from waken.timeutil import now as clock_now
from waken.timeutil import to_ms

# A report stores its image a moment before it commits the row that points to it;
# nothing younger than this is ever an orphan.
MEDIA_GRACE = timedelta(hours=1)
# Rows deleted per write transaction, so a first sweep over a big backlog never makes
# reports wait long for the write lock.
DELETE_BATCH = 1000

# An open activity that is no longer live, exactly as reporting.is_live decides on
# read: realtime when now - updated_at > stale timeout, active once now > expires_at.
# The bounds are fractional milliseconds, so the two agree to the microsecond.
NOT_LIVE = ("(push_mode = 'realtime' AND updated_at < :stale_before)"
            " OR (push_mode = 'active' AND expires_at < :now)")


def _liveness_bounds(now):
    stale = timedelta(seconds=settings.get("process_stale_seconds"))
    return {"now": now.timestamp() * 1000, "stale_before": (now - stale).timestamp() * 1000}


def expire_activities(now):
    """End open activities that are no longer live at `now`: ended_at = their last report."""
    with db.write():
        ended = db.query(
            f"UPDATE device_activity SET ended_at = updated_at WHERE ended_at IS NULL AND ({NOT_LIVE}) "
            "RETURNING device_id, process_name, started_at, ended_at", _liveness_bounds(now))
        zone = day_rollup.zone_of(settings.get("timezone"))
        for run in ended:
            day_rollup.add_ended(db.execute, zone, *run)
        return len(ended)


def run_expiry(now):
    """The expiry sweep, reported as run_all reports it."""
    return {"device activities ended": expire_activities(now)}


def _delete_in_batches(table, condition, params):
    deleted = 0
    while True:
        with db.write():
            count = db.execute(
                f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE {condition} LIMIT {DELETE_BATCH})",
                params).rowcount
        deleted += count
        if count < DELETE_BATCH:
            return deleted


def apply_retention(now):
    """Delete agent and device activities past their retention, then the media only they used, then old alert deliveries."""
    agent_cutoff = {"cutoff": to_ms(retention_cutoff(now))}
    agents = _delete_in_batches("agent_activity", "timestamp < :cutoff", agent_cutoff)
    # An open activity past retention is deleted only when it is no longer live (a
    # realtime one always is by then); an active one without persist_minutes is still
    # the device's current status however old, and stays until it ends.
    cutoff = now - timedelta(days=settings.get("activity_retention_days"))
    devices = _delete_in_batches(
        "device_activity", f"updated_at < :cutoff AND (ended_at IS NOT NULL OR {NOT_LIVE})",
        {"cutoff": to_ms(cutoff), **_liveness_bounds(now)})
    with db.write():
        day = day_rollup.label(to_ms(cutoff), day_rollup.zone_of(settings.get("timezone")))[0]
        days = day_rollup.prune(db.execute, day)
    return {"agent activities deleted": agents, "device activities deleted": devices,
            "day rollup rows deleted": days, **remove_orphaned_media(now), **sweep_alerts(now)}


def referenced_media():
    """(kind, filename) of every stored image some kept device activity points to."""
    referenced = set()
    for row in db.query(
            "SELECT json_extract(metadata, '$.media.coverUrl') AS cover,"
            " json_extract(metadata, '$.media.appIconUrl') AS icon"
            " FROM device_activity WHERE metadata LIKE '%/media/%' AND json_valid(metadata)"):
        for url in (row["cover"], row["icon"]):
            parts = url.rsplit("/", 3) if isinstance(url, str) else ()
            if len(parts) == 4 and parts[1] == "media" and parts[2] in KINDS and FILENAME_RE.fullmatch(parts[3]):
                referenced.add((parts[2], parts[3]))
    return referenced


def _unlink(path):
    try:
        os.unlink(path)
        return 1
    except FileNotFoundError:
        return 0


def _touched_since(media_dir, kind, filename, grace_ms):
    """Whether a report decoded or reused this file within the grace period (it may be storing it now)."""
    try:
        return os.stat(os.path.join(media_dir, kind, filename)).st_mtime * 1000 >= grace_ms
    except (FileNotFoundError, ValueError):
        return False


def remove_orphaned_media(now):
    """Delete stored images no kept activity references, and stray files, once past the grace period."""
    # Reports decode and store (or reuse, touching its mtime) image files before they
    # take the write lock, then check the file is still there under the lock: a file
    # touched within the grace period is kept, and one removed here is never referenced.
    # Files go before the commit: were the commit to fail, the next sweep deletes the
    # rows of files already gone, whereas a file unlinked after the lock is released
    # might just have been reused by a report.
    with db.write():
        referenced, media_dir = referenced_media(), current_app.config["MEDIA_DIR"]
        grace_ms = to_ms(now - MEDIA_GRACE)
        assets = db.query("SELECT id, kind, filename, last_used_at FROM media_asset")
        known = {(asset["kind"], asset["filename"]) for asset in assets}
        rows = files = 0
        for asset in assets:
            kind, filename = asset["kind"], asset["filename"]
            if ((kind, filename) in referenced or asset["last_used_at"] >= grace_ms
                    or _touched_since(media_dir, kind, filename, grace_ms)):
                continue
            rows += db.execute("DELETE FROM media_asset WHERE id = ?", (asset["id"],)).rowcount
            if kind in KINDS and FILENAME_RE.fullmatch(filename):
                files += _unlink(os.path.join(media_dir, kind, filename))
        for kind in KINDS:
            directory = os.path.join(media_dir, kind)
            entries = os.scandir(directory) if os.path.isdir(directory) else ()
            for entry in entries:
                key = (kind, entry.name)
                if (FILENAME_RE.fullmatch(entry.name) and key not in known and key not in referenced
                        and entry.stat().st_mtime * 1000 < grace_ms):
                    files += _unlink(entry.path)
    return {"media records deleted": rows, "media files deleted": files}


def run_all(now):
    """Every sweep once, in order; returns what each did."""
    return {**run_expiry(now), **apply_retention(now)}


@click.command("sweep")
@with_appcontext
def sweep_command():
    """Run the expiry and retention sweeps once, now."""
    for what, count in run_all(clock_now()).items():
        click.echo(f"{what}: {count}")


def init_app(app):
    """Register the sweep command (the scheduler is started by wsgi.py only, see waken.scheduler)."""
    app.cli.add_command(sweep_command)
