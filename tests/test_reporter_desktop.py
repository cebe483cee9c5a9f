"""The reporter the server serves, run with `python3 -I` on a real X desktop against a real server."""
import base64
import json
import os
import shutil
import subprocess
import sys
from importlib import metadata

import pytest
import requests

from tests.desktop_support import TRACK, Desktop, missing_tools, poll

PYTHON = shutil.which("python3", path="/usr/bin:/bin") or sys.executable   # the laptop's own Python
TITLE_BUDGET_SECONDS = 5   # issue 20: the feed shows the new title within 5 s


@pytest.fixture(scope="module")
def desktop(tmp_path_factory):
    missing = missing_tools()
    if missing:
        pytest.skip(f"the desktop tests need {', '.join(missing)} (`make desktop` installs them)")
    desk = Desktop(tmp_path_factory.mktemp("desktop"))
    try:
        yield desk.start()
    finally:
        desk.stop()


def fetch_reporter(server, folder):
    """GET /reporter/waken-reporter.py from the server, saved as a laptop would save it."""
    response = requests.get(server.url + "/reporter/waken-reporter.py", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/x-python; charset=utf-8"
    path = folder / "waken-reporter.py"
    path.write_bytes(response.content)
    return path


class Reporter:
    """The downloaded file run as `python3 -I waken-reporter.py --config … ARGS`, in the desktop's session."""

    def __init__(self, script, folder, desktop=None):
        self.script, self.config = script, folder / "reporter.json"
        self.env = {**(desktop.env if desktop else os.environ), "HOME": str(folder)}
        self.log = folder / "reporter.log"
        self.proc = None

    def args(self, *args):
        return [PYTHON, "-I", str(self.script), "--config", str(self.config), *args]

    def run(self, *args):
        return subprocess.run(self.args(*args), env=self.env, capture_output=True, text=True, timeout=60)

    def start(self, *args):
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(self.args("run", *args), env=self.env, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=15)


def bundle(server, token):
    """The reporter bundle the admin's API Token page shows for a new token."""
    document = {"version": 1, "endpoint": server.url + "/api/activity", "apiKey": token, "tokenName": "laptop"}
    return base64.b64encode(json.dumps(document).encode()).decode()


def current(server):
    """The first live status of the public feed, or None."""
    statuses = requests.get(server.url + "/api/activity", timeout=10).json()["data"]["activeStatuses"]
    return statuses[0] if statuses else None


def test_the_served_file_runs_isolated_and_carries_the_server_version(server, tmp_path):
    script = fetch_reporter(server, tmp_path)
    version = metadata.version("waken")
    assert f'VERSION = "{version}"' in script.read_text()
    reporter = Reporter(script, tmp_path)
    done = reporter.run("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"waken-reporter {version}"
    done = reporter.run("--help")
    assert done.returncode == 0 and "install-service" in done.stdout
    key = server.device("Laptop")
    done = reporter.run("setup", bundle(server, server.token("laptop")), "--key", key)
    assert done.returncode == 0, done.stderr
    assert "The server knows this device" in done.stdout
    assert oct(reporter.config.stat().st_mode & 0o777) == "0o600"


def test_dry_run_once_prints_the_report_it_would_send(server, tmp_path, desktop):
    reporter = Reporter(fetch_reporter(server, tmp_path), tmp_path, desktop)
    assert reporter.run("setup", bundle(server, "wk_not_used"), "--no-verify", "--name", "Dry").returncode == 0
    done = reporter.run("run", "--dry-run", "--once")
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert body["process_name"] == "Xmessage" and body["device"] == "Dry" and body["push_mode"] == "realtime"
    assert body["metadata"]["media"]["title"] == TRACK["title"]
    assert body["metadata"]["media"]["coverDataUrl"].startswith("data:image/png;base64,")


def test_the_feed_shows_the_window_its_new_title_and_the_track(server, tmp_path, desktop):
    key = server.device("Desk")
    reporter = Reporter(fetch_reporter(server, tmp_path), tmp_path, desktop)
    assert reporter.run("setup", bundle(server, server.token("desk")), "--key", key).returncode == 0
    reporter.start()
    try:
        status, _ = poll(lambda: (s := current(server)) and s["processTitle"] == "first title" and s, 20)
        assert status, reporter.log.read_text()
        assert (status["device"], status["processName"]) == ("Desk", "Xmessage")
        playing = status["nowPlaying"]
        assert (playing["title"], playing["singer"], playing["album"]) == (
            TRACK["title"], TRACK["artist"], TRACK["album"])
        assert playing["status"] == "playing" and playing["durationMs"] > 25_000
        assert playing["coverUrl"].startswith(server.url + "/media/")   # the file:// cover, stored by the server
        assert requests.get(playing["coverUrl"], timeout=10).headers["Content-Type"].startswith("image/")

        desktop.set_title("second title — ü")
        status, elapsed = poll(lambda: (s := current(server)) and s["processTitle"] == "second title — ü" and s, 15)
        print(f"new title on the feed after {elapsed:.2f} s")
        assert status and elapsed <= TITLE_BUDGET_SECONDS, (elapsed, reporter.log.read_text())
        assert status["nowPlaying"]["coverUrl"] == playing["coverUrl"]   # the returned URL is sent back
    finally:
        reporter.stop()


def test_a_pending_device_starts_reporting_once_approved_without_restart(start_server, tmp_path, desktop):
    server = start_server(name="review")
    server.cli("settings", "set", "device_registration", "pending")
    reporter = Reporter(fetch_reporter(server, tmp_path), tmp_path, desktop)
    done = reporter.run("setup", bundle(server, server.token("review")), "--name", "Newcomer")
    assert done.returncode == 0 and "waits for approval" in done.stdout, done.stdout
    key = json.loads(reporter.config.read_text())["key"]
    reporter.config.write_text(json.dumps({**json.loads(reporter.config.read_text()), "approvalPollSeconds": 1}))
    reporter.start()
    try:
        waiting, _ = poll(lambda: "/admin/devices?key=" + key in reporter.log.read_text(), 20)
        assert waiting, reporter.log.read_text()
        assert current(server) is None
        server.cli("device", "approve", key)
        status, elapsed = poll(lambda: current(server), 20)
        assert status and status["device"] == "Newcomer", reporter.log.read_text()
        assert reporter.proc.poll() is None   # the same process, never restarted
        print(f"reported {elapsed:.2f} s after approval")
    finally:
        reporter.stop()
