"""The load generator's HTTP: raw HTTP/1.1 over keep-alive sockets, cheap enough to leave the CPU to the server."""
import socket
import time


def get(path, headers=None):
    """The bytes of a GET request."""
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in (headers or {}).items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def post(path, body, headers=None, content_type="application/json"):
    """The bytes of a POST request with a body (JSON unless told)."""
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Type: {content_type}",
             f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v in (headers or {}).items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Conn:
    """One keep-alive connection; request() returns (status, body)."""

    def __init__(self, port):
        self.port, self.sock, self.buf = port, None, b""
        self.last_headers = {}

    def close(self):
        if self.sock:
            self.sock.close()
        self.sock, self.buf = None, b""

    def request(self, raw):
        for attempt in (0, 1):
            if self.sock is None:
                self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=60)
                self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                self.sock.sendall(raw)
                return self._response()
            except (ConnectionError, EOFError):
                self.close()   # the server closed an idle keep-alive connection: reconnect once
                if attempt:
                    raise

    def _fill(self):
        chunk = self.sock.recv(262144)
        if not chunk:
            raise EOFError("connection closed")
        self.buf += chunk

    def _response(self):
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        self.last_headers = headers
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = self._chunked()
        else:
            length = int(headers.get("content-length", 0))
            while len(self.buf) < length:
                self._fill()
            body, self.buf = self.buf[:length], self.buf[length:]
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, body

    def _chunked(self):
        body = b""
        while True:
            while b"\r\n" not in self.buf:
                self._fill()
            size_line, self.buf = self.buf.split(b"\r\n", 1)
            size = int(size_line.split(b";")[0], 16)
            while len(self.buf) < size + 2:
                self._fill()
            body, self.buf = body + self.buf[:size], self.buf[size + 2:]
            if size == 0:
                return body


def percentile(values, q):
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * q / 100))], 2)


def tally(statuses, more):
    """Add the status counts `more` into `statuses`."""
    for status, n in more.items():
        statuses[status] = statuses.get(status, 0) + n
    return statuses


def latency(port, raw, requests, max_seconds=10.0):
    """Sequential requests on one keep-alive connection (after 3 to warm up): p50, p99, statuses."""
    conn, times, statuses = Conn(port), [], {}
    for _ in range(3):
        conn.request(raw)
    deadline = time.monotonic() + max_seconds
    for i in range(requests):
        t0 = time.perf_counter()
        status, _ = conn.request(raw)
        times.append((time.perf_counter() - t0) * 1000)
        statuses[status] = statuses.get(status, 0) + 1
        if time.monotonic() > deadline and i >= 10:
            break
    conn.close()
    return {"p50_ms": percentile(times, 50), "p99_ms": percentile(times, 99), "n": len(times),
            "statuses": statuses}
