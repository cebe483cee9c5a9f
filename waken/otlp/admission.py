"""Admission for OTLP batches: how many a process reads, decodes, maps and stores at once."""
import threading
from contextlib import contextmanager

from flask import current_app

from waken.errors import Busy

WAIT_SECONDS = 10     # the longest a batch waits for its turn before it is told to come back
RETRY_AFTER = 2       # seconds; a full batch takes well under that on a Pi


class Gate:
    """`running` batches at once, `waiting` more queued (their bodies still unread), the rest refused."""

    def __init__(self, running, waiting):
        self._slots = threading.BoundedSemaphore(running)
        self._lock = threading.Lock()
        self._waiting, self.most_waiting = 0, waiting

    @contextmanager
    def turn(self):
        """Hold one of the running places for the block; 503 with Retry-After when none comes free."""
        if not self._slots.acquire(blocking=False):
            with self._lock:
                if self._waiting >= self.most_waiting:
                    raise _busy()
                self._waiting += 1
            try:
                admitted = self._slots.acquire(timeout=WAIT_SECONDS)
            finally:
                with self._lock:
                    self._waiting -= 1
            if not admitted:
                raise _busy()
        try:
            yield
        finally:
            self._slots.release()


def _busy():
    return Busy("The server is busy with other OTLP exports; try again in a moment.", retry_after=RETRY_AFTER)


def gate():
    """This process's gate for the app (made on the first OTLP request)."""
    ext, config = current_app.extensions, current_app.config
    if "waken.otlp_gate" not in ext:
        ext.setdefault("waken.otlp_gate", Gate(config["OTLP_BATCHES_AT_ONCE"], config["OTLP_BATCHES_WAITING"]))
    return ext["waken.otlp_gate"]
