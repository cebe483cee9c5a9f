"""A full disk or a read-only instance folder, on a live gunicorn: clear refusals, /healthz says so, recovery."""
import base64
import errno
import io
import json
import os
import random
import signal
import subprocess
import time
from contextlib import contextmanager

import pytest
import requests
from PIL import Image

from tests.admin_support import create_admin, csrf_of, sign_in
from tests.support import LiveServer, wait_for

KEY = "wwd-disk-0000-4000-8000-000000000001"
FULL = "The server's disk is full: nothing was stored. Free some space on the Pi."
READ_ONLY = "read-only"
BUDGET_S = 1.0   # the issue's /healthz budget; a refusal must be as quick


def _run(*args):
    return subprocess.run(args, capture_output=True, text=True, timeout=60)


@contextmanager
def tmpfs(path, size):
    """A small tmpfs mounted at path for the block; the test is skipped where mounting is not possible."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (the tests run as root in CI)")
    path.mkdir(parents=True, exist_ok=True)
    mounted = _run("mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path))
    if mounted.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        if _run("umount", str(path)).returncode:
            _run("umount", "-l", str(path))


def remount(path, mode):
    """Remount; polled, since killed workers may take a moment to let go of their files."""
    results = []
    assert wait_for(lambda: results.append(_run("mount", "-o", f"remount,{mode}", str(path)))
                    or results[-1].returncode == 0, 10), results[-1].stderr


def fill(folder):
    """Write a file until the disk is full; returns its path."""
    path = folder / "filler"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * (1 << 20))   # the last write is partial: the disk ends exactly full
    except OSError as err:
        assert err.errno == errno.ENOSPC, err
    finally:
        os.close(fd)
    return path


def server_on(instance, log_dir, **env):
    """A LiveServer over instance whose log lives elsewhere (the instance disk may be full or read-only)."""
    server = LiveServer(instance, env)
    server.log_path = log_dir / "server.log"
    return server


def report(server, auth, n, pad=2000):
    """A report that starts a new activity (a new app) with a few KB of metadata: it needs new disk pages."""
    body = {"generatedHashKey": KEY, "process_name": f"App {n}", "metadata": {"note": f"{n}-" + "x" * pad}}
    return requests.post(server.url + "/api/activity", json=body, headers=auth, timeout=30)


def agent_record(server, auth, n):
    body = {"type": "tool_call", "description": f"read_file n={n} " + "y" * 2000, "status": "success"}
    return requests.post(server.url + "/api/activities", json=body, headers=auth, timeout=30)


def otlp_export(server, auth, n):
    now = time.time_ns()
    logs = {"resourceLogs": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "disk-agent"}}]},
        "scopeLogs": [{"logRecords": [{
            "timeUnixNano": str(now), "observedTimeUnixNano": str(now), "severityNumber": 9,
            "eventName": "claude_code.api_request",
            "attributes": [{"key": "model", "value": {"stringValue": f"model-{n}-" + "z" * 1500}},
                           {"key": "input_tokens", "value": {"intValue": "10"}}]}]}]}]}
    return requests.post(server.url + "/v1/logs", data=json.dumps(logs), timeout=30,
                         headers={**auth, "Content-Type": "application/json"})


def until_refused(send, limit=300):
    """Send until an answer is not 2xx (a write may still fit in space SQLite already holds);
    returns (the numbers acknowledged, the refusal, the slowest refusal-or-answer in seconds)."""
    acked, slowest = [], 0.0
    for n in range(limit):
        started = time.monotonic()
        response = send(n)
        slowest = max(slowest, time.monotonic() - started)
        if not 200 <= response.status_code < 300:
            return acked, response, slowest
        acked.append(n)
    raise AssertionError(f"{limit} writes were all accepted on a full or read-only disk")


def timed_healthz(server):
    started = time.monotonic()
    response = requests.get(server.url + "/healthz", timeout=10)
    return response, time.monotonic() - started


def stored_apps(server):
    with server.db() as conn:
        return {row[0] for row in conn.execute("SELECT process_name FROM device_activity")}


def start_with_a_report(server):
    """Start the server with a token, the device, an admin and one report stored; the token's header."""
    server.start()
    auth = {"Authorization": f"Bearer {server.token()}"}
    server.device("Desk", KEY)
    create_admin(server)
    assert report(server, auth, "before").status_code == 200
    return auth


def assert_no_traceback(server):
    log = server.log_path.read_text()
    assert "Traceback" not in log, log[-4000:]


@pytest.mark.live
def test_a_full_disk_answers_507_and_recovers_without_a_restart(tmp_path):
    with tmpfs(tmp_path / "instance", "24m") as instance:
        server = server_on(instance, tmp_path)
        try:
            auth = start_with_a_report(server)
            admin = requests.Session()
            assert sign_in(admin, server.url).status_code == 302
            csrf = csrf_of(admin.get(server.url + "/admin/tokens", timeout=10).text)

            filler = fill(instance)
            health, took = timed_healthz(server)
            assert health.status_code == 503 and took < BUDGET_S, (health.text, took)
            assert health.json()["writes"] == "failing" and "disk is full" in health.json()["error"]
            assert requests.get(server.url + "/api/activity", timeout=10).status_code == 200   # reads work

            acked, refused, slowest = until_refused(lambda n: report(server, auth, n))
            assert refused.status_code == 507, refused.text
            assert refused.json()["error"] == FULL and slowest < BUDGET_S
            for send in (lambda n: agent_record(server, auth, n), lambda n: otlp_export(server, auth, n)):
                _, refused, slowest = until_refused(send)
                assert refused.status_code == 507 and FULL in refused.text and slowest < BUDGET_S, refused.text
            assert refused.headers["Content-Type"] == "application/json"   # OTLP's own status body
            assert refused.json()["message"] == FULL
            form = admin.post(server.url + "/admin/tokens", timeout=10, headers={"Referer": server.url},
                              data={"csrf_token": csrf, "name": "full", "scope": "report"})
            assert form.status_code == 507 and "text/html" in form.headers["Content-Type"], form.text
            assert "The server&#39;s disk is full" in form.text or "The server's disk is full" in form.text

            filler.unlink()
            after = report(server, auth, "after")
            assert after.status_code == 200, after.text
            assert {"App before", "App after", *(f"App {n}" for n in acked)} <= stored_apps(server)
            assert wait_for(lambda: requests.get(server.url + "/healthz", timeout=10).status_code == 200, 20)
            assert agent_record(server, auth, "after").status_code == 201
            assert otlp_export(server, auth, "after").status_code == 200
        finally:
            server.stop()
        assert_no_traceback(server)


@pytest.mark.live
def test_a_read_only_instance_answers_503_with_retry_after_and_recovers(tmp_path):
    with tmpfs(tmp_path / "instance", "24m") as instance:
        first = server_on(instance, tmp_path)
        try:
            auth = start_with_a_report(first)
        finally:
            # Killed, as a Pi loses power: its WAL files stay, as they are when a disk turns read-only
            # under a running server (which cannot be staged: Linux refuses to remount a tmpfs
            # read-only while files on it are open for writing).
            first.stop(signal.SIGKILL)
        remount(instance, "ro")
        # With the sweep scheduler, whose lock file is opened at start, as on a Pi.
        server = server_on(instance, tmp_path, WAKEN_SCHEDULER="true")
        try:
            server.start(init_db=False, ready=503)
            health, took = timed_healthz(server)
            assert health.status_code == 503 and took < BUDGET_S, health.text
            assert health.json()["writes"] == "failing" and READ_ONLY in health.json()["error"]
            feed = requests.get(server.url + "/api/activity", timeout=10)
            assert feed.status_code == 200 and "App before" in feed.text   # reads work

            for send in (lambda n: report(server, auth, n), lambda n: agent_record(server, auth, n),
                         lambda n: otlp_export(server, auth, n)):
                acked, refused, slowest = until_refused(send, limit=1)
                assert refused.status_code == 503 and READ_ONLY in refused.text, refused.text
                assert int(refused.headers["Retry-After"]) > 0 and slowest < BUDGET_S
            # A sign-in cannot be counted (the login counters): refused, as a page for people.
            form = sign_in(requests.Session(), server.url)
            assert form.status_code == 503 and "text/html" in form.headers["Content-Type"], form.text
            assert READ_ONLY in form.text and form.headers["Retry-After"]

            remount(instance, "rw")
            after = report(server, auth, "after")
            assert after.status_code == 200, after.text
            assert "App after" in stored_apps(server)
            assert wait_for(lambda: requests.get(server.url + "/healthz", timeout=10).status_code == 200, 20)
            assert agent_record(server, auth, "after").status_code == 201
        finally:
            server.stop()
        assert_no_traceback(server)


def noisy_png(side=256):
    """A PNG that does not compress to nothing, so that storing it needs disk space."""
    rng = random.Random(7)
    img = Image.frombytes("RGB", (side, side), bytes(rng.randrange(256) for _ in range(side * side * 3)))
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


@pytest.mark.live
def test_a_cover_that_cannot_be_stored_is_dropped_and_the_report_kept(tmp_path):
    instance = tmp_path / "instance"
    with tmpfs(instance / "media", "1m") as media:
        server = server_on(instance, tmp_path)
        try:
            server.start()
            auth = {"Authorization": f"Bearer {server.token()}"}
            server.device("Desk", KEY)
            fill(media)
            url = "data:image/png;base64," + base64.b64encode(noisy_png()).decode()
            body = {"generatedHashKey": KEY, "process_name": "Music",
                    "metadata": {"media": {"title": "Full", "coverDataUrl": url}}}
            response = requests.post(server.url + "/api/activity", json=body, headers=auth, timeout=30)
            assert response.status_code == 200, response.text
            assert any("coverDataUrl was dropped" in w and "disk is full" in w
                       for w in response.json()["warnings"]), response.text
            with server.db() as conn:
                (metadata,) = conn.execute("SELECT metadata FROM device_activity WHERE process_name = 'Music'").fetchone()
            assert json.loads(metadata)["media"] == {"title": "Full"}   # stored, without the cover
            assert not list(media.glob("cover/*"))
            assert requests.get(server.url + "/healthz", timeout=10).status_code == 200   # the database writes
        finally:
            server.stop()
        assert_no_traceback(server)


def test_the_disk_failures_are_told_apart_from_other_errors():
    import sqlite3

    from sqlalchemy.exc import OperationalError

    from waken import disk

    def sqlite_error(code):
        err = sqlite3.OperationalError("x")
        err.sqlite_errorcode = code
        return err

    assert disk.kind_of(sqlite_error(sqlite3.SQLITE_FULL)) == disk.FULL
    assert disk.kind_of(sqlite_error(sqlite3.SQLITE_READONLY | (4 << 8))) == disk.READ_ONLY   # extended codes
    assert disk.kind_of(sqlite_error(sqlite3.SQLITE_IOERR | (3 << 8))) == disk.IO_ERROR
    assert disk.kind_of(sqlite_error(sqlite3.SQLITE_IOERR | (12 << 8))) is None   # out of memory
    assert disk.kind_of(sqlite_error(sqlite3.SQLITE_BUSY)) is None
    # The ORM wraps the driver's error; our own re-raises chain it.
    assert disk.kind_of(OperationalError("INSERT", (), sqlite_error(sqlite3.SQLITE_FULL))) == disk.FULL
    try:
        raise ValueError("wrapped") from OSError(errno.EDQUOT, "quota")
    except ValueError as err:
        assert disk.kind_of(err) == disk.FULL
    assert disk.kind_of(OSError(errno.EROFS, "ro")) == disk.READ_ONLY
    assert disk.kind_of(OSError(errno.ENOENT, "gone")) is None
