"""Sign in to a live server's admin panel over HTTP, like a browser: cookies and CSRF tokens."""
import re

import requests

USERNAME = "owner"
PASSWORD = "correct horse battery"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def create_admin(server, username=USERNAME, password=PASSWORD):
    """Create (or reset the password of) an admin with the CLI, as on a Pi over SSH."""
    return server.cli("create-admin", username, "--password-stdin", input=password + "\n")


class LiveAdmin:
    """A requests session signed in to the admin panel of a LiveServer."""

    def __init__(self, server):
        self.server = server
        self.http = requests.Session()
        self.csrf = None

    def login(self, username=USERNAME, password=PASSWORD):
        page = self.http.get(self.server.url + "/admin/login", timeout=10)
        response = self.http.post(self.server.url + "/admin/login", timeout=10, allow_redirects=False,
                                  data={"csrf_token": CSRF_RE.search(page.text).group(1),
                                        "username": username, "password": password})
        assert response.status_code == 302, response.text
        self.csrf = CSRF_RE.search(self.get("/admin/tokens").text).group(1)
        return self

    def get(self, path, **kwargs):
        return self.http.get(self.server.url + path, timeout=10, **kwargs)

    def post(self, path, data=None, **kwargs):
        kwargs.setdefault("allow_redirects", False)
        return self.http.post(self.server.url + path, timeout=10,
                              data={"csrf_token": self.csrf, **(data or {})}, **kwargs)

    def cookie(self):
        """The session cookie as a header value, to replay it from another client."""
        return "; ".join(f"{c.name}={c.value}" for c in self.http.cookies)
