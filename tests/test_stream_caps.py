"""Live stream caps: 4 public streams per address, sse_max_streams in all, agent streams apart."""
import socket
import time

import pytest


class RawStream:
    """An SSE request from a chosen loopback address, over a plain socket the test closes itself."""

    def __init__(self, server, path, source="127.0.0.1", token=None, forwarded_for=None):
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=10,
                                             source_address=(source, 0))
        extra = f"Authorization: Bearer {token}\r\n" if token else ""
        extra += f"X-Forwarded-For: {forwarded_for}\r\n" if forwarded_for else ""
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            assert chunk, "the server closed the stream before answering"
            head += chunk
        self.status = int(head.split(b" ", 2)[1])
        if self.status != 200:   # an error has a short JSON body: read it whole
            length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length:")))
            while len(head) - head.index(b"\r\n\r\n") - 4 < length:
                head += self.sock.recv(4096)
        self.text = head.decode(errors="replace")

    def close(self):
        self.sock.close()


@pytest.fixture
def streams():
    opened = []
    yield opened
    for stream in opened:
        stream.close()


def test_public_streams_are_capped_per_address_and_the_owner_keeps_agent_streams(start_server, streams):
    server = start_server()
    server.cli("settings", "set", "sse_max_streams", "6")
    token = server.token()

    def open_stream(source, path="/api/activity/stream", **kw):
        stream = RawStream(server, path, source, **kw)
        streams.append(stream)
        return stream

    assert [open_stream("127.0.0.2").status for _ in range(4)] == [200] * 4
    fifth = open_stream("127.0.0.2")
    assert fifth.status == 503 and "4 live streams" in fifth.text and "Retry-After" in fifth.text
    # Another address still gets in, until all sse_max_streams are open.
    assert [open_stream("127.0.0.3").status for _ in range(2)] == [200, 200]
    full = open_stream("127.0.0.4")
    assert full.status == 503 and "Too many live streams" in full.text
    # The owner's agent log stream has its own slots (sse_max_agent_streams).
    assert open_stream("127.0.0.4", "/api/activities/stream", token=token).status == 200

    # A client that leaves gives its slot back within 5 s.
    streams[0].close()
    left = time.monotonic()
    while True:
        retry = open_stream("127.0.0.2")
        if retry.status == 200:
            break
        assert time.monotonic() - left < 5, "the slot was not free 5 s after its client left"
        time.sleep(0.25)


def test_agent_streams_have_their_own_cap(start_server, streams):
    server = start_server()
    server.cli("settings", "set", "sse_max_agent_streams", "2")
    token = server.token()
    for expected in (200, 200, 503):
        stream = RawStream(server, "/api/activities/stream", token=token)
        streams.append(stream)
        assert stream.status == expected
    # Public viewers are not affected by the agent cap.
    public = RawStream(server, "/api/activity/stream")
    streams.append(public)
    assert public.status == 200
    # An agent stream slot also comes back within 5 s.
    streams[0].close()
    left = time.monotonic()
    while (retry := RawStream(server, "/api/activities/stream", token=token)).status != 200:
        streams.append(retry)
        assert time.monotonic() - left < 5
        time.sleep(0.25)
    streams.append(retry)


def test_behind_a_proxy_one_ipv6_64_or_one_mapped_ipv4_holds_four_public_streams(start_server, streams):
    server = start_server(env={"WAKEN_TRUSTED_PROXIES": "1"})

    def open_stream(address):
        stream = RawStream(server, "/api/activity/stream", forwarded_for=address)
        streams.append(stream)
        return stream

    # Everyone arrives from the proxy's address; the forwarded one is the client's.
    rotating = [f"2001:db8:5:6::{n:x}" for n in range(1, 5)]
    assert [open_stream(address).status for address in rotating] == [200] * 4
    fifth = open_stream("2001:db8:5:6:abcd::1")
    assert fifth.status == 503 and "4 live streams" in fifth.text
    assert open_stream("2001:db8:5:7::1").status == 200   # the next /64 is somebody else

    mapped = ["203.0.113.5", "::ffff:203.0.113.5"] * 2
    assert [open_stream(address).status for address in mapped] == [200] * 4
    assert open_stream("::ffff:203.0.113.5").status == 503
    assert open_stream("203.0.113.5").status == 503
