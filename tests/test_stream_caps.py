"""Live stream caps: 4 public streams per address, sse_max_streams in all, agent streams apart."""
import time

import pytest

from tests.support import RawStream


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
