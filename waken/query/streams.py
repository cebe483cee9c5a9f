"""What both live streams share: the cap on open streams and the SSE response."""
import fcntl
import os
import threading

from flask import Response, current_app

from waken import settings
from waken.errors import ApiError

RETRY_AFTER_SECONDS = 15


def take_slot():
    """A stream slot for this request, or 503 with Retry-After when sse_max_streams are open."""
    slot = StreamSlot.acquire(os.path.join(current_app.instance_path, "sse-slots"),
                              settings.get("sse_max_streams"))
    if slot is None:
        raise ApiError(503, "Too many live streams are open; try again shortly.",
                       headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    return slot


def sse_response(events, slot):
    """A text/event-stream response that gives its slot back when it closes."""
    response = Response(events, mimetype="text/event-stream")
    # The WSGI server closes the response when the client goes, even before the body started.
    response.call_on_close(slot.release)
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"
    return response


class StreamSlot:
    """One of N lock files in the instance folder: the stream cap holds across all processes."""

    def __init__(self, fd):
        self._fd = fd
        self._lock = threading.Lock()

    @classmethod
    def acquire(cls, directory, cap):
        """A free slot, or None when `cap` streams are open. The kernel frees it if a process dies."""
        os.makedirs(directory, exist_ok=True)
        for index in range(cap):
            fd = os.open(os.path.join(directory, f"slot-{index}.lock"),
                         os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            return cls(fd)
        return None

    def release(self):
        """Give the slot back (safe to call twice)."""
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
