"""Shared fixtures: an in-process app, and real gunicorn servers started like `make run`."""
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from waken import create_app
from waken.db import init_db, orm
from waken.devices import create_device
from waken.tokens import create_token

ROOT = Path(__file__).resolve().parent.parent
DEVICE_KEY = "wwd-6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f"


class Clock:
    """A clock a test moves by hand; install it as app.config["CLOCK"]."""

    def __init__(self, at):
        self.now = at

    def __call__(self):
        return self.now

    def advance(self, **delta):
        self.now += timedelta(**delta)
        return self.now


def make_app(instance, **config):
    """A test app (no scheduler) over a fresh database in the folder `instance`; config adds to it."""
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(instance), "SECRET_KEY": "test-secret",
                      "SCHEDULER": False, **config})
    init_db(app.config["DATABASE"])
    return app


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path / "instance")


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def token(app):
    """Plaintext of an enabled API token."""
    with app.app_context():
        _, plaintext = create_token("test")
        orm.session.commit()
    return plaintext


@pytest.fixture
def auth(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def device(app):
    """Key of an active device bound to no token."""
    with app.app_context():
        create_device("Desk", key=DEVICE_KEY)
        orm.session.commit()
    return DEVICE_KEY


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """waken served by gunicorn in a subprocess, on loopback, over a real SQLite file."""

    def __init__(self, instance, env=None):
        self.instance = Path(instance)
        self.instance.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = self.instance / "server.log"
        self.env = {**os.environ, "WAKEN_INSTANCE_PATH": str(self.instance),
                    "WAKEN_HOST": "127.0.0.1", "WAKEN_PORT": str(self.port),
                    "WAKEN_WORKERS": "2", "WAKEN_SCHEDULER": "false", **(env or {})}
        self.proc = None

    def cli(self, *args, input=None, check=True):
        """Run `flask --app waken ARGS` against this server's instance; returns stdout."""
        result = subprocess.run([sys.executable, "-m", "flask", "--app", "waken", *args],
                                cwd=ROOT, env=self.env, input=input, capture_output=True,
                                text=True, timeout=60)
        if check and result.returncode != 0:
            raise AssertionError(f"flask {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout

    def start(self):
        self.cli("init-db")
        with open(self.log_path, "ab") as log:   # the child keeps its own descriptor
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", "python:waken.gunicorn_conf", "wsgi:app"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("gunicorn exited:\n" + self.log_path.read_text())
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except (requests.ConnectionError, requests.Timeout):   # not up yet, or a busy machine
                pass
            time.sleep(0.1)
        raise AssertionError("gunicorn did not answer /healthz:\n" + self.log_path.read_text())

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def token(self, name="test"):
        return self.cli("token", "create", name).strip().splitlines()[-1]

    def device(self, name="Desk", key=None, *extra):
        args = ["device", "create", name, *(["--key", key] if key else []), *extra]
        return self.cli(*args).strip().splitlines()[-1]

    def db(self):
        """A sqlite3 connection to the server's database file."""
        conn = sqlite3.connect(self.instance / "waken.sqlite", timeout=15)
        conn.row_factory = sqlite3.Row
        return conn


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
