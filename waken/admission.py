"""Admission control: a bounded number of one costly step at once per process, the rest refused
at once; and turns that one holder at a time takes on the whole machine."""
import fcntl
import os
import threading
from contextlib import contextmanager

from waken.connections import open_turn_file


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


class MachineTurn:
    """One holder at a time on the whole machine: this process's threads queue on a lock, the
    processes on an flock of `path` (which wakes the next one the moment the turn is over).

    A folder that is read-only and lacks the file leaves the process's lock alone; the file is
    tried again at the next turn.
    """

    def __init__(self, path):
        self.path = path
        self._lock = threading.Lock()
        self._fd = None

    def _file(self):
        if self._fd is None:
            try:
                self._fd, _ = open_turn_file(self.path)
            except OSError:   # a read-only folder without the file
                return None
        return self._fd

    @contextmanager
    def turn(self, refusal=None):
        """Hold the turn for the block, waiting for it; with `refusal`, raise that at once instead of waiting."""
        if not self._lock.acquire(blocking=refusal is None):
            raise refusal()
        try:
            fd = self._file()
            if fd is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX if refusal is None else fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    raise refusal() from None
            try:
                yield
            finally:
                if fd is not None:
                    fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            self._lock.release()


def machine_turn(app, name):
    """The app's machine-wide turn called `name` (the file instance/<name>.lock), made on first use:
    in the worker that uses it, so no descriptor crosses a fork."""
    turn = app.extensions.get(f"waken.turn.{name}")
    if turn is None:
        turn = app.extensions.setdefault(f"waken.turn.{name}",
                                         MachineTurn(os.path.join(app.instance_path, f"{name}.lock")))
    return turn
