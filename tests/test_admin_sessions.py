"""Admin sessions against a live server: logout, a new password and age end them for good."""
import time

import requests

from tests.admin_support import Admin, create_admin, sign_in

DAY_MS = 86_400_000


def replay(server, cookie, path="/admin/tokens"):
    """A request carrying a copied session cookie, as a thief would send it."""
    return requests.get(server.url + path, headers={"Cookie": cookie}, timeout=10, allow_redirects=False)


def signed_in(server, cookie):
    response = replay(server, cookie)
    if response.status_code == 200:
        return True
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]
    return False


def sessions_of(server, username):
    with server.db() as conn:
        return conn.execute("SELECT s.secret_hash FROM admin_session s JOIN admin_user a ON a.id = s.admin_id "
                            "WHERE a.username = ?", (username,)).fetchall()


def test_logout_ends_that_session_for_good(server):
    create_admin(server, "logout", "logout password")
    laptop = Admin.live(server).login("logout", "logout password")
    phone = Admin.live(server).login("logout", "logout password")
    stolen = laptop.cookie()
    assert signed_in(server, stolen)
    hashes = [row[0] for row in sessions_of(server, "logout")]   # only a hash of the cookie's secret
    assert len(hashes) == 2 and all(len(h) == 64 and h not in stolen for h in hashes)
    assert replay(server, stolen, "/api/activities").status_code == 200

    assert laptop.post("/admin/logout").status_code == 302
    assert not signed_in(server, stolen)
    assert replay(server, stolen, "/api/activities").status_code == 401
    assert replay(server, stolen, "/api/admin/activity/apps-export").status_code == 401
    # The old cookie cannot act either: a form post with it mints nothing.
    form = requests.post(server.url + "/admin/settings/integration", headers={"Cookie": stolen},
                         data={"csrf_token": laptop.csrf, "name": "thief"}, timeout=10, allow_redirects=False)
    assert form.status_code in (302, 400) and "thief" not in server.cli("token", "list")
    # Only that session ended: the phone is still signed in, and signing in again works.
    assert signed_in(server, phone.cookie())
    assert signed_in(server, Admin.live(server).login("logout", "logout password").cookie())


def test_a_new_password_ends_every_session_of_that_admin(server):
    create_admin(server, "reset", "first password")
    create_admin(server, "bystander", "another password")
    sessions = [Admin.live(server).login("reset", "first password").cookie() for _ in range(2)]
    other = Admin.live(server).login("bystander", "another password").cookie()
    assert all(signed_in(server, cookie) for cookie in sessions)

    assert "New password set" in create_admin(server, "reset", "a brand new password")
    assert not any(signed_in(server, cookie) for cookie in sessions)
    assert sessions_of(server, "reset") == []
    assert signed_in(server, other)   # another admin's session is not touched
    assert signed_in(server, Admin.live(server).login("reset", "a brand new password").cookie())
    wrong = sign_in(requests.Session(), server.url, "first password", "reset")
    assert wrong.status_code == 401


def test_sessions_expire_after_admin_session_days(server):
    create_admin(server, "aging", "aging password")
    assert server.cli("settings", "get", "admin_session_days").strip() == "14"
    cookie = Admin.live(server).login("aging", "aging password").cookie()

    def age(days):
        """Back-date this admin's sessions as if they had been opened `days` ago."""
        with server.db() as conn:
            conn.execute("UPDATE admin_session SET created_at = ? WHERE admin_id = "
                         "(SELECT id FROM admin_user WHERE username = 'aging')",
                         (int(time.time() * 1000) - days * DAY_MS,))

    age(13)
    assert signed_in(server, cookie)
    age(15)
    assert not signed_in(server, cookie)
    assert replay(server, cookie, "/api/activities").status_code == 401
    try:
        server.cli("settings", "set", "admin_session_days", "30")
        assert signed_in(server, cookie)   # the limit is read at each request
        server.cli("settings", "set", "admin_session_days", "1")
        assert not signed_in(server, cookie)
        refused = server.cli("settings", "set", "admin_session_days", "0", check=False)
        assert "admin_session_days = 0" not in refused
        assert server.cli("settings", "get", "admin_session_days").strip() == "1"
        # Signing in afresh starts a new period; expired rows of that admin are cleared.
        fresh = Admin.live(server).login("aging", "aging password").cookie()
        assert signed_in(server, fresh)
        assert len(sessions_of(server, "aging")) == 1
    finally:
        server.cli("settings", "set", "admin_session_days", "14")
