"""Shared fixtures: an in-process app and its clock, a token, a device, a signed-in admin, and real
gunicorn servers."""

import pytest

from tests.admin_support import Admin, create_admin
from tests.support import CLOCK_START, DEVICE_KEY, Clock, LiveServer, make_app, record
from waken import db
from waken.admin import accounts
from waken.auth.tokens import create_token
from waken.devices.registry import create_device


@pytest.fixture(autouse=True)
def quick_password_hashes(monkeypatch):
    """In-process apps store admin passwords with a low work factor: scrypt's, paid at every
    sign-in, was a third of the quick suite. Checks read the method from the stored hash, so
    every path still runs; the servers the live tests start keep the real work factor."""
    monkeypatch.setattr(accounts, "PASSWORD_METHOD", "pbkdf2:sha256:1000")


@pytest.fixture
def clock(request):
    """A hand-moved clock the test app reads, from CLOCK_START, or from the datetime given by
    `pytest.mark.clock(start)` on the test or its module (a callable is called at setup)."""
    marker = request.node.get_closest_marker("clock")
    start = marker.args[0] if marker else CLOCK_START
    return Clock(start() if callable(start) else start)


@pytest.fixture
def app(request, tmp_path):
    """A test app over a fresh database; `pytest.mark.app_config(**settings)` adds to its config,
    and a test that uses `clock` (directly or through a fixture) gets an app that reads it."""
    marker = request.node.get_closest_marker("app_config")
    config = dict(marker.kwargs) if marker else {}
    if "clock" in request.fixturenames:
        config["CLOCK"] = request.getfixturevalue("clock")
    return make_app(tmp_path / "instance", **config)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def token(app):
    """Plaintext of an enabled API token."""
    with app.app_context(), db.write():
        _, plaintext = create_token("test")
    return plaintext


@pytest.fixture
def auth(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def device(app):
    """Key of an active device bound to no token."""
    with app.app_context(), db.write():
        create_device("Desk", key=DEVICE_KEY)
    return DEVICE_KEY


@pytest.fixture
def admin(app, client):
    """The test client signed in as the admin, through the real sign-in form."""
    create_admin(app)
    return Admin(client).login()


@pytest.fixture
def add(client, auth, clock):
    """Post an agent record (at an ISO `timestamp`, when given) with a token; returns the answer."""
    def add(timestamp=None, **fields):
        if timestamp is not None:
            fields["timestamp"] = timestamp
        response = client.post("/api/activities", headers=auth, json=record(**fields))
        assert response.status_code == 201, response.json
        return response.json
    return add


@pytest.fixture
def start_server(tmp_path):
    """Factory: start_server(env=None) -> a running LiveServer, stopped at teardown."""
    servers = []

    def start(env=None, name="server"):
        server = LiveServer(tmp_path / name, env)
        servers.append(server)     # stopped at teardown even when start() fails half-way
        return server.start()

    yield start
    for server in servers:
        server.stop()


# Fixtures that start gunicorn; a test that uses one is marked `live`, so that
# `make test-quick` (-m "not live") runs everything else in well under a minute.
LIVE_FIXTURES = {"server", "start_server", "live"}


def pytest_collection_modifyitems(items):
    for item in items:
        if LIVE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.live)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One running server shared by a test module."""
    live = LiveServer(tmp_path_factory.mktemp("live") / "instance").start()
    yield live
    live.stop()
