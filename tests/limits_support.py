"""Helpers for the limit tests: clients from other loopback addresses, worker pids, commands."""
import subprocess

import requests
from requests.adapters import HTTPAdapter

from waken.bench.proc import children, open_count


class _FromAddress(HTTPAdapter):
    def __init__(self, address):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def client_from(address):
    """A requests session whose connections come from `address` (any of 127.0.0.0/8),
    one connection per request so that both gunicorn workers see them."""
    session = requests.Session()
    session.mount("http://", _FromAddress(address))
    session.mount("https://", _FromAddress(address))
    session.headers["Connection"] = "close"
    session.trust_env = False   # else REQUESTS_CA_BUNDLE overrides session.verify
    return session


def worker_pids(server):
    """The gunicorn worker processes of a LiveServer."""
    return children(server.proc.pid)


def has_open(pid, name):
    """Whether process pid holds a file called `name` open."""
    return open_count(pid, name) > 0


def run(*args, **kwargs):
    return subprocess.run(args, capture_output=True, text=True, timeout=60, **kwargs)
