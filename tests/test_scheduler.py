"""Exactly one sweep scheduler across gunicorn workers, a takeover when it dies, none elsewhere."""
import os
import re
import signal
import subprocess
import sys
import time

import pytest
import requests

from waken import create_app
from waken.migrate import init_db

STARTED = re.compile(r"scheduler started in pid (\d+)")
BOOTED = re.compile(r"Booting worker with pid: (\d+)")
KEY = "sweeper-test-device-0001"
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def wait_for(predicate, seconds):
    deadline = time.monotonic() + seconds
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def report_and_backdate(server, token, process_name):
    """A realtime activity whose last report the database says was 10 minutes ago."""
    response = requests.post(server.url + "/api/activity", timeout=10, headers={"Authorization": f"Bearer {token}"},
                             json={"generatedHashKey": KEY, "process_name": process_name})
    assert response.status_code == 200, response.text
    activity_id = response.json()["data"]["id"]
    conn = server.db()
    with conn:
        conn.execute("UPDATE device_activity SET updated_at = updated_at - 600000 WHERE id = ?", (activity_id,))
    conn.close()
    return activity_id


def ended(server, activity_id):
    conn = server.db()
    try:
        return conn.execute("SELECT ended_at IS NOT NULL AND ended_at = updated_at FROM device_activity "
                            "WHERE id = ?", (activity_id,)).fetchone()[0]
    finally:
        conn.close()


@pytest.mark.slow
def test_one_gunicorn_worker_sweeps_and_another_takes_over_when_it_dies(start_server):
    server = start_server(env={"WAKEN_SCHEDULER": "true", "WAKEN_SWEEP_EXPIRY_SECONDS": "1"})
    log = server.log_path.read_text
    token = server.token()
    server.device("Desk", KEY)
    workers = wait_for(lambda: {int(pid) for pid in BOOTED.findall(log())} if len(BOOTED.findall(log())) == 2
                       else None, 5)
    assert workers, log()
    started = wait_for(lambda: STARTED.findall(log()), 5)
    assert started, log()
    holder, since = int(started[0]), time.monotonic()
    assert holder in workers
    assert (server.instance / "scheduler.lock").read_text().strip() == str(holder)

    # No request reaches the server after this: the scheduler alone ends the activity.
    first = report_and_backdate(server, token, "Code.exe")
    assert wait_for(lambda: ended(server, first), 5), log()
    # The loser retries the lock every second; give it a few chances to (wrongly) win.
    time.sleep(max(0, 2.5 - (time.monotonic() - since)))
    assert STARTED.findall(log()) == [str(holder)]

    os.kill(holder, signal.SIGKILL)
    successors = wait_for(lambda: STARTED.findall(log())[1:], 8)
    assert successors, log()
    assert len(successors) == 1 and int(successors[0]) != holder
    second = report_and_backdate(server, token, "Terminal")
    assert wait_for(lambda: ended(server, second), 5), log()
    assert (server.instance / "scheduler.lock").read_text().strip() == successors[0]


def test_create_app_and_cli_commands_never_start_a_scheduler(tmp_path):
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance"), "SECRET_KEY": "x",
                      "SCHEDULER": True})
    init_db(app.config["DATABASE"])
    assert app.test_client().get("/healthz").status_code == 200
    result = app.test_cli_runner().invoke(args=["sweep"])
    assert result.exit_code == 0 and "device activities ended: 0" in result.output
    assert not (tmp_path / "instance" / "scheduler.lock").exists()
    assert "waken.sweeper" not in app.extensions


def test_a_worker_without_the_scheduler_never_imports_apscheduler(tmp_path):
    # A fresh interpreter: this test process may have imported it already.
    script = ("import sys; from tests.support import make_app; app = make_app(sys.argv[1], SCHEDULER=True);"
              "client = app.test_client(); assert client.get('/').status_code == 200;"
              "assert client.get('/api/activity').status_code == 200;"
              "assert app.test_cli_runner().invoke(args=['sweep']).exit_code == 0;"
              "print(sorted(name for name in sys.modules if name.startswith('apscheduler')))")
    result = subprocess.run([sys.executable, "-c", script, str(tmp_path / "instance")],
                            capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
