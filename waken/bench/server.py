"""waken as `make run` starts it (init-db, gunicorn with waken.gunicorn_conf) in a scratch instance; the reference alike."""
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from waken.bench.client import Conn, get
from waken.bench.proc import children, memory_mb, open_count
from waken.bench.reference import init_db

ROOT = Path(__file__).resolve().parents[2]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One gunicorn master and its workers on loopback, over the database in `instance`."""

    APP = "wsgi:app"

    def __init__(self, instance):
        self.instance = Path(instance)
        self.port = free_port()
        self.env = {**os.environ, "WAKEN_INSTANCE_PATH": str(self.instance),
                    "WAKEN_HOST": "127.0.0.1", "WAKEN_PORT": str(self.port)}
        self.db_path = self.instance / "waken.sqlite"
        self.proc = None

    def cli(self, *args):
        """Run `flask --app waken ARGS` against this instance; returns stdout."""
        out = subprocess.run([sys.executable, "-m", "flask", "--app", "waken", *args], cwd=ROOT,
                             env=self.env, capture_output=True, text=True, timeout=300, check=False)
        if out.returncode:
            raise SystemExit(f"flask {' '.join(args)} failed:\n{out.stdout}{out.stderr}")
        return out.stdout

    def prepare(self):
        """What `make run` does before gunicorn starts."""
        self.cli("init-db")

    def start(self):
        self.prepare()
        with open(self.instance / "server.log", "ab") as log:   # the child keeps its own copy
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", "python:waken.gunicorn_conf", self.APP],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        conn, deadline = Conn(self.port), time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit("gunicorn exited:\n" + (self.instance / "server.log").read_text())
            try:
                if conn.request(get("/healthz"))[0] == 200:
                    return
            except OSError:
                conn.close()
            time.sleep(0.2)
        raise SystemExit("gunicorn did not answer /healthz")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def pids(self):
        """The gunicorn master and its workers."""
        return [self.proc.pid, *children(self.proc.pid)]

    def memory(self):
        """Each process's memory: {"master": {...}, "workers": [{...}, ...]}, with the workers'
        open SQLite connections (one descriptor on the database file each)."""
        master, *workers = self.pids()
        return {"master": memory_mb(master),
                "workers": [{**memory_mb(pid), "sqlite": open_count(pid, "waken.sqlite")} for pid in workers]}


class ReferenceServer(Server):
    """The reference app (waken.bench.reference) under the same gunicorn config, accepting `token`."""

    APP = "waken.bench.reference:create_app()"

    def __init__(self, instance, token):
        super().__init__(instance)
        self.token = token
        self.db_path = self.instance / "reference.sqlite"
        self.env["WAKEN_REFERENCE_DATABASE"] = str(self.db_path)

    def prepare(self):
        self.instance.mkdir(parents=True, exist_ok=True)
        init_db(self.db_path, self.token)
