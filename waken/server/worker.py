"""gunicorn's gthread worker, but each request's header, and a small body, is read in the event loop first."""
import errno
import os
import resource
import selectors
import socket
import time
from collections import OrderedDict
from functools import partial

from gunicorn import util
from gunicorn.workers.gthread import ThreadWorker

from waken.config import SMALL_BODY_MAX_BYTES
from waken.server.closing import RECV_BYTES, CloseAfterResponse, Conn
from waken.server.framing import chunked_end, framing
from waken.server.peer_caps import PeerCaps

# A client has this long (WAKEN_HEADER_TIMEOUT) to send a whole request header, from connecting
# or from the first byte of a request on a kept-alive connection; then the socket is closed.
HEADER_TIMEOUT = 10
# ... and this long (WAKEN_BODY_TIMEOUT) for the whole body once the header is in.
BODY_TIMEOUT = 10
# No real header comes near this; a bigger one is answered 431 and closed.
HEADER_MAX_BYTES = 64 * 1024
END_OF_HEADER = b"\r\n\r\n"
BARE_END = b"\n\n"   # not valid HTTP, but gunicorn's parser, not a timeout, should answer it
# Bodies up to this size (forms, agent records) are read here too, so one that trickles in
# costs a descriptor, not a thread. Larger ones (reports, OTLP) are read by the app after it
# checked the token, in a thread, under the same deadline.
LOOP_BODY_MAX_BYTES = SMALL_BODY_MAX_BYTES
# What all requests still being read here may hold at once; beyond it the oldest go.
READ_BUFFER_BUDGET = 32 * 1024 * 1024
FD_RESERVE = 256   # descriptors besides client sockets: database files, pipes, logs
ACCEPT_BATCH = 64
WARN_EVERY = 60   # seconds between two warnings of the same kind
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


def _answer(status, sentence):
    body = b'{"success":false,"error":"' + sentence + b'"}'
    return (b"HTTP/1.1 " + status + b"\r\nConnection: close\r\nContent-Type: application/json\r\n"
            b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)


TOO_LARGE = _answer(b"431 Request Header Fields Too Large", b"The request header is far too large.")


class HeaderFirstWorker(CloseAfterResponse, ThreadWorker):
    """Threads only ever see complete headers (and complete small bodies), so sockets that stall
    cost a file descriptor each, never a thread (plain gthread parks a thread on each of them)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Connections still sending a header, or a small body, oldest deadline first.
        self.header_reads, self.small_bodies = OrderedDict(), OrderedDict()
        self.buffered = 0   # bytes held by header_reads and small_bodies
        self.peers = PeerCaps.from_environ()
        self.header_timeout = float(os.environ.get("WAKEN_HEADER_TIMEOUT") or HEADER_TIMEOUT)
        self.body_timeout = float(os.environ.get("WAKEN_BODY_TIMEOUT") or BODY_TIMEOUT)
        self.too_slow = _answer(b"408 Request Timeout", b"The request body did not arrive within %g "
                                b"seconds; send it again." % self.body_timeout)
        self.warned = {}

    def init_process(self):
        # Imported here, in the worker: werkzeug would add ~4 MB to the master, which serves nothing.
        from waken.server import body_reads
        self.body_reads = body_reads
        self._raise_fd_limit()
        super().init_process()

    def _raise_fd_limit(self):
        """Let the worker hold worker_connections sockets: Debian's default soft limit is 1,024."""
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        wanted = self.worker_connections + FD_RESERVE
        if hard != resource.RLIM_INFINITY:
            wanted = min(wanted, hard)
        if soft != resource.RLIM_INFINITY and soft < wanted:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        if soft != resource.RLIM_INFINITY and soft - FD_RESERVE < self.worker_connections:
            self.worker_connections = max(soft - FD_RESERVE, self.cfg.threads * 2)
            self.log.warning("Open-file limit %d: at most %d connections per worker", soft, self.worker_connections)

    def _warn(self, kind, message, *args):
        now = time.monotonic()
        if now - self.warned.get(kind, -WARN_EVERY) >= WARN_EVERY:
            self.warned[kind] = now
            self.log.warning(message, *args)

    # --- accepting ---------------------------------------------------------------------------

    def accept(self, listener):
        for _ in range(ACCEPT_BATCH):
            if not self._make_room():
                return
            try:
                sock, client = listener.accept()
            except OSError as e:
                if e.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                    raise
                return
            key = self.peers.admit(client)
            if key is None:
                # Closed at once, unanswered: this address already holds all its connections,
                # and an answer would cost a send and a lingering descriptor per attempt.
                util.close(sock)
                self._warn("per-address", "%s holds %d connections to this worker; refusing more",
                           client[0], self.peers.per_address)
                continue
            self.nr_conns += 1
            self.enqueue_req(Conn(self.cfg, sock, client, listener.getsockname(), self, key))

    def _make_room(self):
        """Whether one more connection fits; at the ceiling the oldest idle or unfinished one goes."""
        while self.nr_conns + len(self.lingering) >= self.worker_connections:
            for queue in (self.lingering, self.header_reads, self.small_bodies):
                if queue:
                    conn = next(iter(queue))
                    self._end_linger(conn) if queue is self.lingering else self._drop(conn)
                    break
            else:
                if not self.keepalived_conns:
                    return False
                conn = self.keepalived_conns.popleft()
                self._unregister(conn)
                self.nr_conns -= 1
                conn.close()
            self._warn("ceiling", "%d connections in this worker: closing the oldest unfinished ones",
                       self.worker_connections)
        return True

    # --- reading a request in the event loop -------------------------------------------------

    def enqueue_req(self, conn):
        if getattr(conn, "ready", False):
            conn.ready = False
            super().enqueue_req(conn)
            return
        # A new connection, a kept-alive one with a new request, or bytes read ahead.
        conn.head = bytearray(conn.parser.unreader.take_buffered() if conn.parser else b"")
        conn.searched, conn.body_start, conn.chunk_pos, conn.body_deadline = 0, None, None, None
        conn.deadline = time.monotonic() + self.header_timeout
        conn.sock.setblocking(False)
        self.buffered += len(conn.head)
        self.header_reads[conn] = None
        if conn.head and self._advance(conn):
            return
        self._on_bytes(conn)   # the first piece is often there already

    def _on_bytes(self, conn, _sock=None):
        try:
            chunk = conn.sock.recv(RECV_BYTES)
        except (BlockingIOError, InterruptedError):
            chunk = None
        except OSError:
            chunk = b""
        if chunk == b"":
            self._drop(conn)
            return
        if chunk and not conn.refused:   # a refused one's bytes are dropped until it stops
            conn.head += chunk
            self.buffered += len(chunk)
            if self._advance(conn) or (self.buffered > READ_BUFFER_BUDGET and self._shed(conn)):
                return
        if not conn.registered:
            self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_bytes, conn))
            conn.registered = True

    def _advance(self, conn):
        """Hand the request to a thread once its header (and small body) is in; True when it left."""
        head = conn.head
        if conn.body_start is None:
            end = head.find(END_OF_HEADER, conn.searched)
            if end < 0:
                if head.find(BARE_END, conn.searched) >= 0:
                    return self._dispatch(conn)
                conn.searched = max(0, len(head) - len(END_OF_HEADER) + 1)
                if len(head) > HEADER_MAX_BYTES:
                    self._refuse(conn)
                return False
            conn.body_start = end + len(END_OF_HEADER)
            conn.body_deadline = time.monotonic() + self.body_timeout
            try:
                body = framing(bytes(head[:end + 2]))
            except ValueError:
                return self._dispatch(conn)
            if body.chunked:
                conn.chunk_pos = conn.body_start
            elif 0 < body.length <= LOOP_BODY_MAX_BYTES:
                conn.body_end = conn.body_start + body.length
            else:
                return self._dispatch(conn)
            del self.header_reads[conn]
            conn.deadline = conn.body_deadline
            self.small_bodies[conn] = None
            if body.expects_continue and not self._send(conn, CONTINUE):
                return True
        if conn.chunk_pos is None:
            return len(head) >= conn.body_end and self._dispatch(conn)
        try:
            end, conn.chunk_pos = chunked_end(head, conn.chunk_pos)
        except ValueError:
            return self._dispatch(conn)
        if end is not None or len(head) - conn.body_start > LOOP_BODY_MAX_BYTES:
            return self._dispatch(conn)
        return False

    def _send(self, conn, data):
        try:
            conn.sock.send(data)
            return True
        except OSError:
            self._drop(conn)
            return False

    def _refuse(self, conn):
        # Answer, then read and discard what keeps coming: closing with unread data
        # would reset the connection and could destroy the answer before it is read.
        self.buffered -= len(conn.head)
        conn.refused, conn.head = True, bytearray()
        try:
            conn.sock.send(TOO_LARGE)
            conn.sock.shutdown(socket.SHUT_WR)
        except OSError:
            self._drop(conn)

    def _shed(self, conn):
        """Drop the oldest reads until what they buffer fits the budget; True when conn went too."""
        while self.buffered > READ_BUFFER_BUDGET and (self.header_reads or self.small_bodies):
            oldest = next(iter(self.header_reads or self.small_bodies))
            self._drop(oldest)
            self._warn("budget", "Requests being read hold over %d MiB: closing the oldest",
                       READ_BUFFER_BUDGET >> 20)
            if oldest is conn:
                return True
        return False

    def _dispatch(self, conn):
        data = conn.head
        self._stop_reading(conn)
        # Plain HTTP only (waken sits behind a TLS proxy), so init() does no socket I/O.
        if conn.parser is None:
            conn.init()
            conn.parser.unreader = self.body_reads.DeadlineUnreader(conn.sock, self.body_timeout)
        conn.parser.unreader.unread(bytes(data))
        conn.parser.unreader.deadline = conn.body_deadline or time.monotonic() + self.body_timeout
        conn.data_ready = conn.ready = True
        self.enqueue_req(conn)
        return True

    def _unregister(self, conn):
        try:
            self.poller.unregister(conn.sock)
        except (KeyError, ValueError, OSError):
            pass
        conn.registered = False

    def _stop_reading(self, conn):
        if conn.registered:
            self._unregister(conn)
        self.header_reads.pop(conn, None)
        self.small_bodies.pop(conn, None)
        self.buffered -= len(conn.head or b"")
        conn.head = None

    def _drop(self, conn, answer=None):
        self._stop_reading(conn)
        if answer:
            try:
                conn.sock.send(answer)
            except OSError:
                pass
        self.nr_conns -= 1
        conn.close()

    def murder_pending(self):
        """Also close the connections whose header or small body did not arrive in time, and end lingering."""
        super().murder_pending()
        now = time.monotonic()
        for queue, answer in ((self.header_reads, None), (self.small_bodies, self.too_slow)):
            while queue and next(iter(queue)).deadline <= now:
                self._drop(next(iter(queue)), answer)
        self.end_overdue_lingering(now)
        self._make_room()   # before gunicorn's loop stops accepting at the ceiling

    def handle_error(self, req, client, addr, exc):
        if isinstance(exc, self.body_reads.BodyTimeout):
            self.log.debug("Request body too slow from %s", addr)
            return
        super().handle_error(req, client, addr, exc)
