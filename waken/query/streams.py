"""What both live streams share: the caps on open streams, disconnect checks and the SSE response."""
import fcntl
import os
import socket
import threading

from flask import Response, current_app, request

from waken import settings
from waken.edge.limits import client_address
from waken.errors import ApiError
from waken.server import memory

RETRY_AFTER_SECONDS = 15
PUBLIC_PER_ADDRESS = 4   # public streams one client address may hold at once


def take_slot():
    """A public feed stream slot: sse_max_streams in all, PUBLIC_PER_ADDRESS per address, else 503."""
    return _take("public", settings.get("sse_max_streams"), client_address(), PUBLIC_PER_ADDRESS)


def take_agent_slot():
    """An agent log stream slot, capped by sse_max_agent_streams apart from the public ones."""
    return _take("agent", settings.get("sse_max_agent_streams"), client_address(), None)


def _take(kind, cap, client, per_client):
    slot, reason = StreamSlot.acquire(os.path.join(current_app.instance_path, "sse-slots"),
                                      kind, cap, client, per_client)
    if slot is None:
        raise ApiError(503, reason, headers={"Retry-After": str(RETRY_AFTER_SECONDS)}, code="stream.limit_reached", params={"kind": kind})
    slot.watch(request.environ.get("gunicorn.socket"))
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
    """One lock file per slot in the instance folder: the caps hold across all processes.

    When this process's last stream closes, the worker hands the memory its streams freed
    back to the system: a burst of viewers would otherwise leave it megabytes larger.
    """

    _open_here = 0
    _count_lock = threading.Lock()

    def __init__(self, fd):
        self._fd = fd
        self._lock = threading.Lock()
        self._sock = None
        with StreamSlot._count_lock:
            StreamSlot._open_here += 1

    @classmethod
    def acquire(cls, directory, kind, cap, client, per_client):
        """(slot, None), or (None, a sentence why). The kernel frees a slot if its process dies."""
        os.makedirs(directory, exist_ok=True)
        guard = os.open(os.path.join(directory, "acquire.lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            # One acquirer at a time in every process, so two cannot both take an address's last slot.
            fcntl.flock(guard, fcntl.LOCK_EX)
            free, mine = None, 0
            for index in range(cap):
                fd = os.open(os.path.join(directory, f"{kind}-{index}.lock"),
                             os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    # Held: the file names the address that holds it.
                    mine += os.pread(fd, 256, 0).decode(errors="replace") == client
                    os.close(fd)
                    continue
                if free is None:
                    free = fd
                else:
                    os.close(fd)   # closing drops the lock taken above
                if per_client is None:
                    break
            if per_client is not None and mine >= per_client:
                if free is not None:
                    os.close(free)
                return None, (f"Your address already has {per_client} live streams open; "
                              "close one and try again.")
            if free is None:
                return None, "Too many live streams are open; try again shortly."
            os.ftruncate(free, 0)
            os.pwrite(free, client.encode()[:256], 0)
            return cls(free), None
        finally:
            os.close(guard)

    def watch(self, sock):
        """Remember the client's socket, so that client_gone() can notice a hang-up between events."""
        self._sock = sock

    def client_gone(self):
        """True once the client closed its side (checked without blocking, without reading data)."""
        if self._sock is None:
            return False
        try:
            return self._sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            return True

    def release(self):
        """Give the slot back (safe to call twice)."""
        with self._lock:
            if self._fd is None:
                return
            os.close(self._fd)
            self._fd = None
        with StreamSlot._count_lock:
            StreamSlot._open_here -= 1
            last = StreamSlot._open_here == 0
        if last:
            memory.trim()
