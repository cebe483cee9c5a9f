"""The one in-process sweep scheduler: the flock election between workers, and the APScheduler it runs."""
import atexit
import contextlib
import fcntl
import logging
import os
import threading
from datetime import UTC, datetime

from waken import db, disk
from waken.alerts.jobs import run_alerts
from waken.server import memory
from waken.sweeps import apply_retention, run_expiry
from waken.timeutil import now as clock_now

log = logging.getLogger("waken.scheduler")

LOCK_FILE = "scheduler.lock"
LOCK_RETRY_MAX_SECONDS = 30


class Sweeper:
    """One process's part in the scheduler election: holds the lock and the scheduler, or retries."""

    def __init__(self, app):
        self.app = app
        self.scheduler = None
        self.stopped = threading.Event()
        self.path = os.path.join(app.instance_path, LOCK_FILE)
        self.fd = self._open_lock()
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

    def _open_lock(self):
        """The lock file's descriptor, or None while a read-only folder lacks the file (tried again with the lock)."""
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as err:
            if disk.kind_of(err) != disk.READ_ONLY:
                raise
        # A read-only folder must not stop the server from starting: reads still work, and
        # flock works on a read-only descriptor.
        try:
            return os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            return None

    def _try_lock(self):
        if self.stopped.is_set():
            return False
        if self.fd is None:
            self.fd = self._open_lock()
            if self.fd is None:
                return False
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        with contextlib.suppress(OSError):    # a read-only or full disk: the note can wait
            os.ftruncate(self.fd, 0)
            os.pwrite(self.fd, f"{os.getpid()}\n".encode(), 0)     # for people: who sweeps
        self.scheduler = self._scheduler()
        log.info("scheduler started in pid %d", os.getpid())
        return True

    def _scheduler(self):
        # Imported here: only the one process that wins the lock pays for APScheduler.
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.background import BackgroundScheduler

        config = self.app.config
        # One thread for the sweeps, taking turns, and one for the alerts, whose sends may wait
        # on the network: two threads and two database connections, not one per job at once.
        scheduler = BackgroundScheduler(timezone=UTC, daemon=True, executors={
            "default": ThreadPoolExecutor(1), "alerts": ThreadPoolExecutor(1)})
        first = datetime.now(UTC)
        for name, sweep, seconds in (("expiry", run_expiry, config["SWEEP_EXPIRY_SECONDS"]),
                                     ("retention", apply_retention, config["SWEEP_RETENTION_SECONDS"]),
                                     ("alerts", run_alerts, config["ALERT_SECONDS"])):
            scheduler.add_job(self._run, "interval", seconds=seconds, args=(name, sweep), id=name,
                              next_run_time=first, coalesce=True, max_instances=1,
                              misfire_grace_time=max(1, int(seconds)),
                              executor="alerts" if name == "alerts" else "default")
        scheduler.start()
        return scheduler

    def _run(self, name, sweep):
        with self.app.app_context():    # fresh settings and a fresh session each round
            try:
                counts = sweep(clock_now())
                # The round's pages leave its connection's cache (another writer will have changed
                # them by the next round), and with malloc_trim below their memory leaves the
                # process: the sweeping worker rests ~1 MB smaller.
                db.connection().execute("PRAGMA shrink_memory")
            except Exception as err:
                if disk.failed(err) is None:    # a full or read-only disk is logged once, without a traceback
                    log.exception("%s sweep failed", name)
                return
        memory.trim()
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
