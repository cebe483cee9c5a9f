"""Expiry and retention sweeps, the one in-process scheduler that runs them, and the `sweep` command."""
import atexit
import fcntl
import logging
import os
import threading
from datetime import UTC, datetime, timedelta

import click
from flask import current_app
from flask.cli import with_appcontext

from waken import settings
from waken.agent_filters import retention_cutoff
from waken.db import begin_write, orm, raw_connection
from waken.media import FILENAME_RE, KINDS
from waken.timeutil import now as clock_now
from waken.timeutil import to_ms

log = logging.getLogger("waken.sweeps")

# A report stores its image a moment before it commits the row that points to it;
# nothing younger than this is ever an orphan.
MEDIA_GRACE = timedelta(hours=1)
# Rows deleted per write transaction, so a first sweep over a big backlog never makes
# reports wait long for the write lock.
DELETE_BATCH = 1000
LOCK_FILE = "scheduler.lock"
LOCK_RETRY_MAX_SECONDS = 30

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
    begin_write()
    ended = raw_connection().execute(
        f"UPDATE device_activity SET ended_at = updated_at WHERE ended_at IS NULL AND ({NOT_LIVE})",
        _liveness_bounds(now)).rowcount
    orm.session.commit()
    return ended


def _delete_in_batches(table, condition, params):
    deleted = 0
    while True:
        begin_write()
        count = raw_connection().execute(
            f"DELETE FROM {table} WHERE id IN (SELECT id FROM {table} WHERE {condition} LIMIT {DELETE_BATCH})",
            params).rowcount
        orm.session.commit()
        deleted += count
        if count < DELETE_BATCH:
            return deleted


def apply_retention(now):
    """Delete agent and device activities past their retention, then the media only they used."""
    settings.load()
    orm.session.commit()     # end that read, so that every batch below begins with the write lock
    agent_cutoff = {"cutoff": to_ms(retention_cutoff(now))}
    agents = _delete_in_batches("agent_activity", "timestamp < :cutoff", agent_cutoff)
    # An open activity past retention is deleted only when it is no longer live (a
    # realtime one always is by then); an active one without persist_minutes is still
    # the device's current status however old, and stays until it ends.
    cutoff = now - timedelta(days=settings.get("activity_retention_days"))
    devices = _delete_in_batches(
        "device_activity", f"updated_at < :cutoff AND (ended_at IS NOT NULL OR {NOT_LIVE})",
        {"cutoff": to_ms(cutoff), **_liveness_bounds(now)})
    return {"agent activities deleted": agents, "device activities deleted": devices,
            **remove_orphaned_media(now)}


def _referenced_media():
    """(kind, filename) of every stored image some kept device activity points to."""
    referenced = set()
    for urls in raw_connection().execute(
            "SELECT json_extract(metadata, '$.media.coverUrl'), json_extract(metadata, '$.media.appIconUrl')"
            " FROM device_activity WHERE metadata LIKE '%/media/%' AND json_valid(metadata)"):
        for url in urls:
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
    begin_write()
    conn = raw_connection()
    referenced, media_dir = _referenced_media(), current_app.config["MEDIA_DIR"]
    grace_ms = to_ms(now - MEDIA_GRACE)
    assets = conn.execute("SELECT id, kind, filename, last_used_at FROM media_asset").fetchall()
    known = {(kind, filename) for _, kind, filename, _ in assets}
    rows = files = 0
    for asset_id, kind, filename, last_used in assets:
        if (kind, filename) in referenced or last_used >= grace_ms or _touched_since(media_dir, kind, filename, grace_ms):
            continue
        rows += conn.execute("DELETE FROM media_asset WHERE id = ?", (asset_id,)).rowcount
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
    # Files go before the commit: were the commit to fail, the next sweep deletes the
    # rows of files already gone, whereas a file unlinked after the lock is released
    # might just have been reused by a report.
    orm.session.commit()
    return {"media records deleted": rows, "media files deleted": files}


def run_all(now):
    """Every sweep once, in order; returns what each did."""
    return {"device activities ended": expire_activities(now), **apply_retention(now)}


@click.command("sweep")
@with_appcontext
def sweep_command():
    """Run the expiry and retention sweeps once, now."""
    for what, count in run_all(clock_now()).items():
        click.echo(f"{what}: {count}")


def init_app(app):
    """Register the sweep command (the scheduler is started by wsgi.py only)."""
    app.cli.add_command(sweep_command)


class Sweeper:
    """One process's part in the scheduler election: holds the lock and the scheduler, or retries."""

    def __init__(self, app):
        self.app = app
        self.scheduler = None
        self.stopped = threading.Event()
        path = os.path.join(app.instance_path, LOCK_FILE)
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        # Retrying as often as the expiry sweep runs means a takeover costs at most one round.
        self.retry_seconds = min(LOCK_RETRY_MAX_SECONDS, app.config["SWEEP_EXPIRY_SECONDS"])

    def start(self):
        if not self._try_lock():
            threading.Thread(target=self._contend, name="waken-sweep-lock", daemon=True).start()
        atexit.register(self.stop)

    def _contend(self):
        while not self.stopped.wait(self.retry_seconds):
            if self._try_lock():
                return

    def _try_lock(self):
        if self.stopped.is_set():
            return False
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        os.ftruncate(self.fd, 0)
        os.pwrite(self.fd, f"{os.getpid()}\n".encode(), 0)     # for people: who sweeps
        self.scheduler = self._scheduler()
        log.info("scheduler started in pid %d", os.getpid())
        return True

    def _scheduler(self):
        # Imported here: only the one process that wins the lock pays for APScheduler.
        from apscheduler.schedulers.background import BackgroundScheduler

        config = self.app.config
        scheduler = BackgroundScheduler(timezone=UTC, daemon=True)
        first = datetime.now(UTC)
        for name, sweep, seconds in (("expiry", _expiry, config["SWEEP_EXPIRY_SECONDS"]),
                                     ("retention", apply_retention, config["SWEEP_RETENTION_SECONDS"])):
            scheduler.add_job(self._run, "interval", seconds=seconds, args=(name, sweep), id=name,
                              next_run_time=first, coalesce=True, max_instances=1,
                              misfire_grace_time=max(1, int(seconds)))
        scheduler.start()
        return scheduler

    def _run(self, name, sweep):
        with self.app.app_context():    # fresh settings and a fresh session each round
            try:
                counts = sweep(clock_now())
            except Exception:
                log.exception("%s sweep failed", name)
                return
        done = ", ".join(f"{what}: {count}" for what, count in counts.items() if count)
        if done:
            log.info("%s sweep: %s", name, done)

    def stop(self):
        """Stop retrying, or shut the scheduler down (waiting for a running sweep) and let the lock go."""
        self.stopped.set()
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=True)
            self.scheduler = None
            os.close(self.fd)   # lets another process take over before this one is gone


def _expiry(now):
    return {"device activities ended": expire_activities(now)}


def start_scheduler(app):
    """Run the sweeps in this process if it wins the lock on instance/scheduler.lock.

    Every gunicorn worker calls this (wsgi.py, after the fork: a lock taken before a
    fork would be shared with the children). The kernel gives the flock to one process
    and drops it when that process dies; the others retry, so one of them takes over.
    """
    if "waken.sweeper" not in app.extensions:
        if log.level == logging.NOTSET:
            # The first use of app.logger attaches Flask's stderr handler, which ours propagates to.
            app.logger.debug("pid %d competes for the sweep scheduler", os.getpid())
            log.setLevel(logging.INFO)
        sweeper = app.extensions["waken.sweeper"] = Sweeper(app)
        sweeper.start()
    return app.extensions["waken.sweeper"]
