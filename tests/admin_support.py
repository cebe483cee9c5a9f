"""The admin panel as a browser uses it: an admin account, the sign-in form with its CSRF token,
forms posted with it. In process (Flask's test client) or on a live server (a requests session)."""
import re

import requests

from tests.support import LiveServer
from waken import db
from waken.admin.accounts import credentials, save_admin

USERNAME = "owner"
PASSWORD = "correct horse battery"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html):
    """The CSRF token of the first form in a page."""
    match = CSRF_RE.search(html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


def create_admin(target, username=USERNAME, password=PASSWORD):
    """An admin account, or a new password for it: with the CLI on a LiveServer (as on a Pi over
    SSH; its output is returned), or straight into an in-process app's database."""
    if isinstance(target, LiveServer):
        return target.cli("create-admin", username, "--password-stdin", input=password + "\n")
    with target.app_context():
        checked = credentials(username, password)
        with db.write():
            save_admin(checked)
    return None


def _live(http):
    return isinstance(http, requests.Session)


def _options(http, kwargs):
    """A live request never hangs a test; Flask's test client has no timeout to set."""
    if _live(http):
        kwargs.setdefault("timeout", 60)
    return kwargs


def form_csrf(http, url="", headers=None):
    """Open the sign-in form as a browser does: its CSRF token (the client keeps the form's cookie).
    `http` is a Flask test client (url "") or a requests session (url: the server's)."""
    return csrf_of(http.get(url + "/admin/login", headers=headers, **_options(http, {})).text)


def sign_in(http, url="", password=PASSWORD, username=USERNAME, csrf=None, headers=None):
    """POST the sign-in form, with the CSRF token of a form opened first unless one is given;
    the answer, redirects not followed."""
    csrf = csrf or form_csrf(http, url, headers)
    if _live(http):   # as a browser does; over https the CSRF check wants a Referer from this site
        headers = {"Referer": url + "/admin/login", **(headers or {})}
    options = _options(http, {"allow_redirects": False} if _live(http) else {})
    return http.post(url + "/admin/login", headers=headers, **options,
                     data={"csrf_token": csrf, "username": username, "password": password})


class Admin:
    """A client signed in as the admin; post() adds the CSRF token like a browser form.
    `Admin(client)` in process, `Admin.live(server)` on a LiveServer."""

    def __init__(self, http, url=""):
        self.client, self.url, self.csrf = http, url, None

    @classmethod
    def live(cls, server):
        return cls(requests.Session(), server.url)

    def login(self, username=USERNAME, password=PASSWORD):
        """Sign in, which must succeed; then take the CSRF token of the new session."""
        response = sign_in(self.client, self.url, password, username)
        assert response.status_code == 302, response.text
        self.csrf = csrf_of(self.get("/admin/tokens").text)
        return self

    def get(self, path, **kwargs):
        return self.client.get(self.url + path, **_options(self.client, kwargs))

    def post(self, path, data=None, **kwargs):
        if _live(self.client):
            kwargs.setdefault("allow_redirects", False)
        return self.client.post(self.url + path, data={"csrf_token": self.csrf, **(data or {})},
                              **_options(self.client, kwargs))

    def cookie(self):
        """The session cookie of a live admin as a header value, to replay it from another client."""
        return "; ".join(f"{c.name}={c.value}" for c in self.client.cookies)


def form_values(page):
    """The settings form as a browser would submit it."""
    form = page[:page.index('id="integration"')]
    values = {}
    for name, value in re.findall(r'<input type="(?:text|number)" name="(\w+)" value="([^"]*)"', form):
        values[name] = value
    for name, body in re.findall(r'<textarea name="(\w+)"[^>]*>([^<]*)</textarea>', form):
        values[name] = body
    for name, body in re.findall(r'<select name="(\w+)">(.*?)</select>', form, re.DOTALL):
        values[name] = re.search(r'<option value="([^"]*)" selected>', body).group(1)
    for name in re.findall(r'<input type="checkbox" name="(\w+)" value="true" checked>', form):
        values[name] = "true"
    return values
