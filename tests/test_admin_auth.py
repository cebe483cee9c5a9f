"""Admin sign-in: first-run setup code, login/logout, rate limit, CSRF, headers, cookie."""
import os
import stat
from datetime import timedelta

import pytest

from tests.admin_support import (
    PASSWORD,
    USERNAME,
    Admin,
    create_admin,
    csrf_of,
)
from waken import db, settings

PAGES = ["/admin/", "/admin/tokens", "/admin/devices", "/admin/quick-add", "/admin/settings",
         "/admin/rules", "/admin/apps"]



def code_file(app):
    return os.path.join(app.instance_path, "setup_code")


def setup_form(client):
    page = client.get("/admin/setup")
    assert page.status_code == 200
    return csrf_of(page.text)


def test_new_instance_leads_to_setup_and_needs_the_logged_code(app, client, caplog):
    assert client.get("/admin/").headers["Location"] == "/admin/setup"
    assert client.get("/admin/login").headers["Location"] == "/admin/setup"
    csrf = setup_form(client)
    with open(code_file(app)) as f:
        code = f.read().strip()
    assert stat.S_IMODE(os.stat(code_file(app)).st_mode) == 0o600
    # The first request of the process logged where to go and the code.
    assert any(code in r.getMessage() and "/admin/setup" in r.getMessage() for r in caplog.records)

    form = {"csrf_token": csrf, "username": "me", "password": "long enough", "confirm": "long enough"}
    wrong = client.post("/admin/setup", data={**form, "code": "AAAA-BBBB-CCCC"})
    assert wrong.status_code == 400
    assert "That is not the setup code printed in the server&#39;s log." in wrong.text
    assert client.get("/admin/").headers["Location"] == "/admin/setup"

    done = client.post("/admin/setup", data={**form, "code": code.lower().replace("-", " ")})
    assert done.status_code == 302 and done.headers["Location"] == "/admin/"
    assert not os.path.exists(code_file(app))
    assert "Welcome, me" in client.get("/admin/").text
    # Setup is over: the form is gone, and the code no longer works.
    assert client.get("/admin/setup").headers["Location"] == "/admin/login"


@pytest.mark.parametrize("field, value, message", [
    ("username", "", "The username is required."),
    ("username", "two words", "The username must be 1 to 64 characters without spaces."),
    ("password", "short", "The password must be 8 to 256 characters long."),
    ("confirm", "different password", "The repeated password does not match the password."),
    ("code", "", "The setup code is required."),
])
def test_setup_form_explains_each_problem(app, client, field, value, message):
    csrf = setup_form(client)
    with open(code_file(app)) as f:
        code = f.read().strip()
    form = {"csrf_token": csrf, "code": code, "username": "me", "password": "long enough",
            "confirm": "long enough", field: value}
    response = client.post("/admin/setup", data=form)
    assert response.status_code == 400
    assert message in response.text
    assert os.path.exists(code_file(app))


@pytest.mark.parametrize("page", PAGES)
def test_admin_pages_redirect_to_login_without_a_session(app, client, page):
    create_admin(app)
    response = client.get(page)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/login")


def test_apps_export_answers_401_json_without_a_session(app, client):
    create_admin(app)
    response = client.get("/api/admin/activity/apps-export")
    assert response.status_code == 401
    assert response.json["success"] is False
    assert "admin session" in response.json["error"]


def test_login_returns_to_the_page_asked_for_and_logout_ends_the_session(app, client):
    create_admin(app)
    assert client.get("/admin/devices?key=abc").headers["Location"] == "/admin/login?next=/admin/devices?key%3Dabc"
    csrf = csrf_of(client.get("/admin/login?next=/admin/devices").text)
    response = client.post("/admin/login", data={"csrf_token": csrf, "username": USERNAME,
                                                 "password": PASSWORD, "next": "/admin/devices"})
    assert response.headers["Location"] == "/admin/devices"
    assert client.get("/admin/devices").status_code == 200

    assert client.get("/admin/logout").status_code == 405
    csrf = csrf_of(client.get("/admin/devices").text)
    assert client.post("/admin/logout", data={"csrf_token": csrf}).headers["Location"] == "/admin/login"
    assert client.get("/admin/devices").status_code == 302


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/admin", "/elsewhere"])
def test_login_never_redirects_off_the_admin_panel(app, client, target):
    create_admin(app)
    csrf = csrf_of(client.get("/admin/login").text)
    response = client.post("/admin/login", data={"csrf_token": csrf, "username": USERNAME,
                                                 "password": PASSWORD, "next": target})
    assert response.headers["Location"] == "/admin/"


def test_wrong_password_is_refused_and_ten_in_a_row_are_rate_limited(app, client):
    create_admin(app)
    csrf = csrf_of(client.get("/admin/login").text)
    for _ in range(10):
        response = client.post("/admin/login", data={"csrf_token": csrf, "username": USERNAME,
                                                     "password": "guess"})
        assert response.status_code == 401
        assert "Wrong username or password." in response.text
    limited = client.post("/admin/login", data={"csrf_token": csrf, "username": USERNAME,
                                                "password": PASSWORD})
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0
    assert client.get("/admin/tokens").status_code == 302


def test_rate_limit_lifts_after_the_lockout(app, client):
    create_admin(app)
    clock = app.config["CLOCK"]
    offset = {"minutes": 0}
    app.config["CLOCK"] = lambda: clock() + timedelta(minutes=offset["minutes"])
    csrf = csrf_of(client.get("/admin/login").text)
    for _ in range(10):
        client.post("/admin/login", data={"csrf_token": csrf, "username": "nobody", "password": "x"})
    form = {"csrf_token": csrf, "username": USERNAME, "password": PASSWORD}
    assert client.post("/admin/login", data=form).status_code == 429
    offset["minutes"] = 16
    assert client.post("/admin/login", data=form).status_code == 302


@pytest.mark.parametrize("url, data", [
    ("/admin/login", {"username": USERNAME, "password": PASSWORD}),
    ("/admin/tokens", {"name": "sneaky"}),
    ("/admin/devices", {"name": "Sneaky", "key": "sneaky-device-key"}),
    ("/admin/settings", {"site_name": "pwned"}),
    ("/admin/logout", {}),
])
def test_form_posts_without_the_csrf_token_are_refused(admin, url, data):
    response = admin.client.post(url, data=data)
    assert response.status_code == 400
    assert "The form expired or was not sent from this site" in response.text
    bad = admin.client.post(url, data={**data, "csrf_token": "forged"})
    assert bad.status_code == 400
    tokens = admin.get("/admin/tokens").text
    assert "sneaky" not in tokens
    assert "Sneaky" not in admin.get("/admin/devices").text


def test_pages_carry_security_headers_and_no_store(admin):
    response = admin.get("/admin/tokens")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "script-src" not in response.headers["Content-Security-Policy"]  # default-src 'self' covers it
    assert response.headers["Cache-Control"] == "no-store"
    api = admin.get("/api/admin/activity/apps-export")
    assert api.headers["X-Content-Type-Options"] == "nosniff"


def test_session_cookie_is_httponly_lax_and_secure_behind_https(app):
    create_admin(app)
    plain = app.test_client().get("/admin/login").headers["Set-Cookie"]
    assert "HttpOnly" in plain and "SameSite=Lax" in plain and "Secure" not in plain
    over_https = app.test_client().get("/admin/login", base_url="https://localhost")
    assert "Secure" in over_https.headers["Set-Cookie"]
    with app.app_context(), db.write():
        settings.put("public_url", "https://status.example")
    behind_proxy = app.test_client().get("/admin/login").headers["Set-Cookie"]
    assert "Secure" in behind_proxy


def test_create_admin_command_reads_the_password_from_stdin(app, runner):
    result = runner.invoke(args=["setup-info"])
    assert "/admin/setup" in result.output and "setup code" in result.output
    with open(code_file(app)) as f:
        assert f.read().strip() in result.output
    result = runner.invoke(args=["create-admin", "pi", "--password-stdin"], input="raspberry pie\n")
    assert result.exit_code == 0, result.output
    assert "Created admin 'pi'" in result.output
    assert not os.path.exists(code_file(app))
    assert "admin already set up" in runner.invoke(args=["setup-info"]).output
    short = runner.invoke(args=["create-admin", "pi", "--password-stdin"], input="short\n")
    assert short.exit_code != 0 and "password must be 8 to 256 characters" in short.output
    client = app.test_client()
    Admin(client).login("pi", "raspberry pie")
    reset = runner.invoke(args=["create-admin", "pi", "--password-stdin"], input="a new password\n")
    assert "New password set for admin 'pi'" in reset.output
    Admin(app.test_client()).login("pi", "a new password")
