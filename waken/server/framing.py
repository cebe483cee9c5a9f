"""Where a buffered HTTP/1.1 request ends: its header's framing fields, and the end of a chunked body.

The worker only uses these to decide when to hand a request to a thread; gunicorn's parser
still parses every request and answers the malformed ones. gunicorn's own readers pull from a
blocking socket, so they cannot say "not yet" about bytes that arrive piece by piece.
"""
import re

_FRAMING_FIELD = re.compile(rb"\r\n(content-length|transfer-encoding|expect):[ \t]*([^\r\n]*)", re.I)
_HEX = frozenset(b"0123456789abcdefABCDEF")
LINE_MAX_BYTES = 8 * 1024   # a chunk-size line or trailer line longer than this is left to the parser


class Framing:
    """How the body of a request is framed: `length` bytes, or chunked, or none."""

    def __init__(self, length=0, chunked=False, expects_continue=False):
        self.length, self.chunked, self.expects_continue = length, chunked, expects_continue


def framing(header):
    """The framing of a complete header (request line and fields, up to its blank line).

    Raises ValueError for what only the parser should judge (two lengths, a length and a
    transfer coding, a coding other than chunked last, a length that is not a number).
    """
    lengths, codings, expects_continue = [], [], False
    for name, value in _FRAMING_FIELD.findall(header):
        name, value = name.lower(), value.strip(b" \t")
        if name == b"content-length":
            lengths.append(value)
        elif name == b"transfer-encoding":
            codings += [c.strip(b" \t").lower() for c in value.split(b",")]
        elif value.lower() == b"100-continue":
            expects_continue = True
    if codings:
        if lengths or codings[-1] != b"chunked":
            raise ValueError("framing for the parser to judge")
        return Framing(chunked=True, expects_continue=expects_continue)
    if len(lengths) > 1 or (lengths and not lengths[0].isdigit()):
        raise ValueError("framing for the parser to judge")
    return Framing(int(lengths[0]) if lengths else 0, expects_continue=expects_continue)


def chunked_end(buf, pos):
    """Scan a chunked body in buf from the chunk-size line at pos.

    Returns (end, pos): end is the index just past the body's last CRLF, or None while the
    body is incomplete; pos is where the next scan resumes (the first chunk not yet whole),
    so a body that trickles in is scanned once, not once per arrival. Raises ValueError on
    malformed framing.
    """
    while True:
        eol = buf.find(b"\r\n", pos, pos + LINE_MAX_BYTES)
        if eol < 0:
            if len(buf) - pos > LINE_MAX_BYTES:
                raise ValueError("chunk-size line too long")
            return None, pos
        size = bytes(buf[pos:eol]).split(b";", 1)[0].rstrip(b" \t")
        if not size or not _HEX.issuperset(size):
            raise ValueError("bad chunk size")
        size = int(size, 16)
        if size == 0:
            return _trailers_end(buf, eol + 2), pos
        data_end = eol + 2 + size
        if len(buf) < data_end + 2:
            return None, pos
        if buf[data_end:data_end + 2] != b"\r\n":
            raise ValueError("chunk not followed by CRLF")
        pos = data_end + 2


def _trailers_end(buf, pos):
    """The index past the blank line that ends the trailer section starting at pos, or None."""
    while True:
        eol = buf.find(b"\r\n", pos, pos + LINE_MAX_BYTES)
        if eol < 0:
            if len(buf) - pos > LINE_MAX_BYTES:
                raise ValueError("trailer line too long")
            return None
        if eol == pos:
            return eol + 2
        pos = eol + 2
