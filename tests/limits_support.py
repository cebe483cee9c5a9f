"""Helpers for the limit tests: clients from other loopback addresses, worker pids, admin forms."""
import subprocess

import requests
from requests.adapters import HTTPAdapter

from tests.admin_support import csrf_of
from waken.bench.proc import children, open_count

USERNAME, PASSWORD = "owner", "correct horse battery"


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


def create_admin(server):
    server.cli("create-admin", USERNAME, "--password-stdin", input=PASSWORD + "\n")


def login_csrf(session, url, headers=None):
    """Open the login form as a browser does: its CSRF token (the session keeps the cookie)."""
    return csrf_of(session.get(url + "/admin/login", headers=headers, timeout=10).text)


def post_login(session, url, csrf, password, headers=None):
    """POST the login form with this CSRF token; the response, redirects not followed."""
    # As a browser does; over https the CSRF check wants a Referer from this site.
    headers = {"Referer": url + "/admin/login", **(headers or {})}
    return session.post(url + "/admin/login", data={"csrf_token": csrf, "username": USERNAME,
                                                    "password": password},
                        headers=headers, allow_redirects=False, timeout=60)


def login(session, url, password, headers=None):
    """GET the login form, then POST it (with its CSRF token); the response, redirects not followed."""
    return post_login(session, url, login_csrf(session, url, headers), password, headers)


def run(*args, **kwargs):
    return subprocess.run(args, capture_output=True, text=True, timeout=60, **kwargs)
