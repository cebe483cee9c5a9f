"""Admission control: a bounded number of one costly step at once per process, the rest refused at once."""
import threading
from contextlib import contextmanager


class Gate:
    """`running` at once and `waiting` more queued for up to `wait_seconds`; the rest get
    `refusal()` raised before any of the costly work starts (no body read, no memory held)."""

    def __init__(self, running, refusal, waiting=0, wait_seconds=0):
        self._slots = threading.BoundedSemaphore(running)
        self._lock = threading.Lock()
        self._waiting, self.most_waiting, self.wait_seconds = 0, waiting, wait_seconds
        self.refusal = refusal

    @contextmanager
    def turn(self):
        """Hold one of the running places for the block, or raise the refusal."""
        if not self._slots.acquire(blocking=False):
            with self._lock:
                if self._waiting >= self.most_waiting:
                    raise self.refusal()
                self._waiting += 1
            try:
                admitted = self._slots.acquire(timeout=self.wait_seconds)
            finally:
                with self._lock:
                    self._waiting -= 1
            if not admitted:
                raise self.refusal()
        try:
            yield
        finally:
            self._slots.release()


def app_gate(app, name, running, refusal, **waiting):
    """The app's gate called `name` in this process, made on first use."""
    gate = app.extensions.get(name)
    if gate is None:
        gate = app.extensions.setdefault(name, Gate(running, refusal, **waiting))
    return gate
