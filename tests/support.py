"""Plain helpers the tests share: a hand-moved clock, test apps, row reads, request bodies, live servers."""
import functools
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

from waken import create_app
from waken.db import connect_sqlite
from waken.migrate import init_db

ROOT = Path(__file__).resolve().parent.parent
DEVICE_KEY = "wwd-6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f"
CLOCK_START = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)   # the `clock` fixture's start unless marked
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


# agent_activity as a waken made it before sessions, cost and search (idempotency keys per caller).
AGENT_TABLE_BEFORE_SESSIONS = """
    CREATE TABLE agent_activity (id INTEGER PRIMARY KEY AUTOINCREMENT, type TEXT NOT NULL,
        description TEXT NOT NULL, status TEXT NOT NULL, timestamp INTEGER NOT NULL, duration_ms INTEGER,
        tokens_used INTEGER, agent TEXT, metadata TEXT, idempotency_key TEXT, idempotency_caller INTEGER,
        created_at INTEGER NOT NULL);
"""


def older_database(path, script):
    """The database file `path` as an older waken left it: `script` run on it; returns path."""
    conn = sqlite3.connect(path)
    try:
        conn.executescript(script)
    finally:
        conn.close()
    return path


def chromium(playwright):
    """Debian's Chromium, headless, through Playwright with the flags every browser test uses."""
    return playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)


def watch_errors(page, problems):
    """Record the page's console errors and uncaught exceptions in `problems`; returns the page."""
    page.on("console", lambda msg: msg.type == "error" and problems.append(msg.text))
    page.on("pageerror", lambda err: problems.append(str(err)))
    return page


class Clock:
    """A clock a test moves by hand; install it as app.config["CLOCK"]."""

    def __init__(self, at):
        self.now = at

    def __call__(self):
        return self.now

    def advance(self, **delta):
        self.now += timedelta(**delta)
        return self.now


@functools.cache
def _schema_template():
    """A database built by init_db once per test session; every test app starts from a copy."""
    folder = tempfile.TemporaryDirectory(prefix="waken-schema-")
    path = Path(folder.name) / "template.sqlite"
    init_db(str(path))
    return folder, path


def make_app(instance, **config):
    """A test app (no scheduler) over a fresh database in the folder `instance`; config adds to it."""
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(instance), "SECRET_KEY": "test-secret",
                      "SCHEDULER": False, **config})
    # A copy of what init_db builds, private like the file init_db creates.
    _, template = _schema_template()
    with open(template, "rb") as source, \
            open(os.open(app.config["DATABASE"], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as copy:
        shutil.copyfileobj(source, copy)
    return app


def db_rows(app, sql, params=()):
    """Rows of a query on the app's database file, read over a connection of its own."""
    conn = connect_sqlite(app.config["DATABASE"])
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def set_setting(runner, key, value):
    """`flask settings set KEY VALUE`, which must succeed."""
    result = runner.invoke(args=["settings", "set", key, value])
    assert result.exit_code == 0, result.output


def record(**fields):
    """An agent record as POST /api/activities takes it; fields add to it or replace its values."""
    return {"type": "tool_call", "description": "read_file path=src/app/page.tsx", "status": "success", **fields}


def wait_for(check, seconds=5):
    """Poll a condition from Python (the page's CSP forbids the eval that wait_for_function uses)."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


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

    def start(self, init_db=True, ready=200):
        """Start gunicorn (after `flask init-db` unless told not to) and wait until /healthz answers `ready`."""
        if init_db:
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
                if requests.get(self.url + "/healthz", timeout=1).status_code == ready:
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

    def token(self, name="test", *scopes):
        options = [arg for scope in scopes for arg in ("--scope", scope)]
        return self.cli("token", "create", name, *options).strip().splitlines()[-1]

    def device(self, name="Desk", key=None, *extra):
        args = ["device", "create", name, *(["--key", key] if key else []), *extra]
        return self.cli(*args).strip().splitlines()[-1]

    def db(self):
        """A sqlite3 connection to the server's database file."""
        conn = sqlite3.connect(self.instance / "waken.sqlite", timeout=15)
        conn.row_factory = sqlite3.Row
        return conn


class RawStream:
    """An SSE request from a chosen loopback address, over a plain socket the test closes itself."""

    def __init__(self, server, path, source="127.0.0.1", token=None, forwarded_for=None):
        self.sock = socket.create_connection(("127.0.0.1", server.port), timeout=10,
                                             source_address=(source, 0))
        extra = f"Authorization: Bearer {token}\r\n" if token else ""
        extra += f"X-Forwarded-For: {forwarded_for}\r\n" if forwarded_for else ""
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}\r\n".encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            assert chunk, "the server closed the stream before answering"
            head += chunk
        self.status = int(head.split(b" ", 2)[1])
        if self.status != 200:   # an error has a short JSON body: read it whole
            length = int(next(line.split(b":")[1] for line in head.split(b"\r\n")
                              if line.lower().startswith(b"content-length:")))
            while len(head) - head.index(b"\r\n\r\n") - 4 < length:
                head += self.sock.recv(4096)
        self.text = head.decode(errors="replace")

    def close(self):
        self.sock.close()
