"""When the worker's event loop considers a buffered request whole (the parser judges it after)."""
import pytest

from waken.server.framing import chunked_end, framing


def head(*fields):
    return b"\r\n".join([b"POST /x HTTP/1.1", b"Host: a", *fields]) + b"\r\n"


@pytest.mark.parametrize("fields, length, chunked, expects", [
    ((), 0, False, False),
    ((b"Content-Length: 12",), 12, False, False),
    ((b"content-length:7", b"Expect: 100-Continue"), 7, False, True),
    ((b"Transfer-Encoding: gzip, chunked",), 0, True, False),
    ((b"X-Content-Length: 5",), 0, False, False),
])
def test_framing_of_a_header(fields, length, chunked, expects):
    found = framing(head(*fields))
    assert (found.length, found.chunked, found.expects_continue) == (length, chunked, expects)


@pytest.mark.parametrize("fields", [
    (b"Content-Length: 1", b"Content-Length: 2"),
    (b"Content-Length: 1", b"Transfer-Encoding: chunked"),
    (b"Transfer-Encoding: chunked, gzip",),
    (b"Content-Length: -1",),
])
def test_ambiguous_framing_is_left_to_the_parser(fields):
    with pytest.raises(ValueError):
        framing(head(*fields))


def test_a_chunked_body_is_whole_after_its_last_chunk_and_trailers():
    body = b"5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-T: 1\r\n\r\nGET /next"
    whole = len(body) - len(b"GET /next")
    assert chunked_end(body, 0)[0] == whole
    # Arriving a byte at a time, it is whole exactly once all of it is there; each scan resumes.
    pos, ends = 0, []
    for n in range(1, len(body) + 1):
        end, pos = chunked_end(body[:n], pos)
        ends.append(end)
    assert ends.index(whole) == whole - 1 and ends[:whole - 1] == [None] * (whole - 1)


@pytest.mark.parametrize("body", [b"x\r\n", b"5\r\nhelloXX", b"+5\r\nhello\r\n0\r\n\r\n", b"1" * 9000])
def test_malformed_chunks_are_left_to_the_parser(body):
    with pytest.raises(ValueError):
        chunked_end(body, 0)
