"""A request body read in a worker thread gives up at its deadline, with a clean 408 for the app."""
import socket
import time

from gunicorn.http.unreader import SocketUnreader
from werkzeug.exceptions import RequestTimeout


class BodyTimeout(RequestTimeout):
    """The body did not arrive in full by its deadline (answered 408 by the app's error handlers)."""

    def __init__(self, seconds):
        super().__init__(f"The request body did not arrive within {seconds:g} seconds; send it again.")


class WouldWait(TimeoutError):
    """Reading on would have to wait for the client (gunicorn's finish_body stops on TimeoutError)."""


class DeadlineUnreader(SocketUnreader):
    """gunicorn's socket reader, but each read waits only until the request's deadline, or not
    at all while `waits` is False. The header is already buffered when a thread gets the
    request, so the reads that reach the socket are body reads."""

    def __init__(self, sock, seconds):
        super().__init__(sock)
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.waits = True

    def chunk(self, size_hint=None):
        if not self.waits:
            try:
                return self.sock.recv(self.mxchunk, socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                raise WouldWait() from None
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise BodyTimeout(self.seconds)
        self.sock.settimeout(remaining)
        try:
            return super().chunk(size_hint)
        except TimeoutError:
            raise BodyTimeout(self.seconds) from None
        finally:
            self.sock.settimeout(None)   # the response is written without this deadline
