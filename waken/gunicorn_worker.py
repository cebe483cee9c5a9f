"""gunicorn's gthread worker, but each request header is read in the event loop before a thread takes it."""
import selectors
import socket
import time
from collections import deque
from functools import partial

from gunicorn.workers.gthread import ThreadWorker

# A client has this long to send a whole request header, from connecting or from the
# first byte of a request on a kept-alive connection; then the socket is closed.
HEADER_TIMEOUT = 10
# No real header comes near this; a bigger one is answered 431 and closed.
HEADER_MAX_BYTES = 64 * 1024
END_OF_HEADER = b"\r\n\r\n"
BARE_END = b"\n\n"   # not valid HTTP, but gunicorn's parser, not a timeout, should answer it
TOO_LARGE = (b"HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n"
             b"Content-Type: application/json\r\nContent-Length: 64\r\n\r\n"
             b'{"success":false,"error":"The request header is far too large."}')


class HeaderFirstWorker(ThreadWorker):
    """Threads only ever see complete headers, so sockets that stall mid-header cost a file
    descriptor each, never a thread (plain gthread parks a thread on each of them)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.reading = deque()   # connections still sending a header, oldest deadline first

    def enqueue_req(self, conn):
        if getattr(conn, "header_read", False):
            conn.header_read = False
            super().enqueue_req(conn)
            return
        # A new connection, a kept-alive one with a new request, or bytes read ahead.
        conn.head = bytearray(conn.parser.unreader.take_buffered() if conn.parser else b"")
        conn.head_deadline = time.monotonic() + HEADER_TIMEOUT
        conn.sock.setblocking(False)
        if END_OF_HEADER in conn.head or BARE_END in conn.head:
            self._dispatch(conn)
            return
        self.reading.append(conn)
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_header_bytes, conn))
        self._on_header_bytes(conn)   # the first piece is often there already

    def _on_header_bytes(self, conn, _sock=None):
        try:
            chunk = conn.sock.recv(HEADER_MAX_BYTES)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._drop(conn)
            return
        if getattr(conn, "refused", False):
            return   # discarded until the client stops or the deadline passes (see below)
        searched_from = max(0, len(conn.head) - len(END_OF_HEADER) + 1)
        conn.head += chunk
        if conn.head.find(END_OF_HEADER, searched_from) >= 0 or conn.head.find(BARE_END, searched_from) >= 0:
            self._unwatch(conn)
            self._dispatch(conn)
        elif len(conn.head) > HEADER_MAX_BYTES:
            # Answer, then read and discard what keeps coming: closing with unread data
            # would reset the connection and could destroy the answer before it is read.
            conn.refused, conn.head = True, bytearray()
            try:
                conn.sock.send(TOO_LARGE)
                conn.sock.shutdown(socket.SHUT_WR)
            except OSError:
                self._drop(conn)

    def _dispatch(self, conn):
        # Plain HTTP only (waken sits behind a TLS proxy), so init() does no socket I/O.
        conn.init()
        conn.parser.unreader.unread(bytes(conn.head))
        conn.head = None
        conn.data_ready = conn.header_read = True
        self.enqueue_req(conn)

    def _unwatch(self, conn):
        try:
            self.poller.unregister(conn.sock)
        except (KeyError, ValueError, OSError):
            pass
        try:
            self.reading.remove(conn)
        except ValueError:
            pass

    def _drop(self, conn):
        self._unwatch(conn)
        self.nr_conns -= 1
        conn.close()

    def murder_pending(self):
        """Also close the connections whose header did not arrive in time."""
        super().murder_pending()
        at = time.monotonic()
        while self.reading and self.reading[0].head_deadline <= at:
            self._drop(self.reading[0])
