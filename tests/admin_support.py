"""Helpers for the admin tests: sign in through the real forms, carry the CSRF token."""
import re

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


def create_admin(app, username=USERNAME, password=PASSWORD):
    with app.app_context():
        checked = credentials(username, password)
        with db.write():
            save_admin(checked)


class Admin:
    """A test client signed in as the admin; post() adds the CSRF token like a browser form."""

    def __init__(self, client):
        self.client = client
        self.csrf = None

    def login(self, username=USERNAME, password=PASSWORD):
        self.csrf = csrf_of(self.client.get("/admin/login").text)
        response = self.client.post("/admin/login", data={
            "csrf_token": self.csrf, "username": username, "password": password})
        assert response.status_code == 302, response.text
        # A new session after sign-in: take the token of a page of that session.
        self.csrf = csrf_of(self.client.get("/admin/tokens").text)
        return self

    def get(self, url, **kwargs):
        return self.client.get(url, **kwargs)

    def post(self, url, data=None, **kwargs):
        return self.client.post(url, data={"csrf_token": self.csrf, **(data or {})}, **kwargs)


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


def signed_in_admin(app, client):
    """Fixture body (use as `pytest.fixture(signed_in_admin, name="admin")`): a signed-in admin."""
    create_admin(app)
    return Admin(client).login()
