"""Closing a connection after its response: the unread rest of the body read and dropped in the event loop."""
import selectors
import socket
import time
from collections import OrderedDict
from functools import partial

from gunicorn import util
from gunicorn.workers.gthread import TConn

RECV_BYTES = 64 * 1024
# After a response whose request body was not read, what the client still sends is read
# and dropped for this long (or this much): closing at once would reset the connection
# and could destroy the response before the client reads it. gunicorn does the same, but
# blocking the event loop for up to 2 s per connection.
LINGER_SECONDS = 2.0
LINGER_MAX_BYTES = 64 * 1024
DRAIN_MAX_BYTES = 1024 * 1024   # unread body already received, dropped so the connection stays alive


class Conn(TConn):
    """A client connection that knows its address key, and closes through its worker after a response."""

    def __init__(self, cfg, sock, client, server, worker, peer_key):
        super().__init__(cfg, sock, client, server)
        self.worker, self.peer_key = worker, peer_key
        self.head = None
        self.registered = self.refused = False
        self.body_unfinished = True   # until a thread has seen the body read or drained

    def close(self, graceful=False):
        if graceful and self.worker is not None:
            self.worker.close_after_response(self)
            return
        if self.worker is not None:
            self.worker.peers.release(self.peer_key)
            self.worker = None
        util.close(self.sock)


class CloseAfterResponse:
    """The worker's part that closes answered connections without a thread waiting on them.

    Mixed into the worker: it uses the worker's poller and `_unregister`, and the worker's
    `_make_room` ends the oldest lingering connection first at the connection ceiling.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.lingering = OrderedDict()   # answered; the rest of their body is read and dropped

    def _keepalive_after(self, conn, keepalive):
        """Keep the connection only when the body was read, or is already here to drop; never
        wait for the rest of it in a thread (gunicorn would wait up to 5 s)."""
        unreader = conn.parser.unreader
        unreader.waits = False
        try:
            finished = bool(conn.parser.finish_body(max_bytes=DRAIN_MAX_BYTES))
        except Exception:   # the client reset or broke its framing: nothing to keep
            finished = False
        finally:
            unreader.waits = True
        conn.body_unfinished = not finished
        return keepalive and finished

    def close_after_response(self, conn):
        """Close in the event loop's time, never waiting on it: at once when nothing more is
        coming, else after the rest of the body is read and dropped (LINGER_SECONDS at most)."""
        try:
            conn.sock.shutdown(socket.SHUT_WR)
            conn.sock.setblocking(False)
        except OSError:
            conn.worker and conn.close()
            return
        conn.drained, conn.deadline = 0, time.monotonic() + LINGER_SECONDS
        if self._drain(conn) and conn.body_unfinished:
            self.lingering[conn] = None
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_linger_bytes, conn))
        else:
            conn.close()

    def _drain(self, conn):
        """Read and drop what the client sent; False once it closed or sent too much."""
        while True:
            try:
                data = conn.sock.recv(RECV_BYTES)
            except (BlockingIOError, InterruptedError):
                return True
            except OSError:
                return False
            conn.drained += len(data)
            if not data or conn.drained >= LINGER_MAX_BYTES:
                return False

    def _on_linger_bytes(self, conn, _sock=None):
        if not self._drain(conn):
            self._end_linger(conn)

    def _end_linger(self, conn):
        del self.lingering[conn]
        self._unregister(conn)
        conn.close()

    def end_overdue_lingering(self, now):
        """Close the lingering connections whose time is up."""
        while self.lingering and next(iter(self.lingering)).deadline <= now:
            self._end_linger(next(iter(self.lingering)))
