"""Every hostile burst of the concurrency issue sent at once, against a server started like `make run`.

Each burst has a test of its own beside the code it bounds; this one sends them together,
as an attacker would, and holds the server to the budgets that matter on a public Pi:
/healthz answers within a second, no worker passes 200 MB, an honest reporter never waits
500 ms, and everything acknowledged is on disk.
"""
import base64
import gzip
import io
import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from PIL import Image

from tests.cost_support import Cost
from tests.limits_support import USERNAME, client_from, create_admin
from tests.support import LiveServer

pytestmark = [pytest.mark.live, pytest.mark.slow]

HEALTHZ_BUDGET = 1.0      # seconds
WRITER_BUDGET = 0.5       # seconds
WORKER_BUDGET_MB = 200
HONEST_KEY = "wwd-honest-reporter-01"
ATTACK_KEY = "wwd-image-attacker-01"
MIB = 1024 * 1024


def noisy_cover():
    """A 6.6 MB report body: a large PNG of noise, the costliest cover a token may send."""
    image = Image.effect_noise((2048, 1100), 90).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def otlp_batch(records):
    """An OTLP/JSON logs export of `records` Claude Code tool results, gzipped."""
    now = time.time_ns()
    body = {"resourceLogs": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "claude-code"}}]},
        "scopeLogs": [{"logRecords": [{
            "timeUnixNano": str(now - i * 1000), "eventName": "claude_code.tool_result",
            "attributes": [{"key": "tool_name", "value": {"stringValue": "Bash"}},
                           {"key": "success", "value": {"stringValue": "true"}},
                           {"key": "session.id", "value": {"stringValue": f"attack-{i}"}}]}
            for i in range(records)]}]}]}
    return gzip.compress(json.dumps(body).encode())


class Watch:
    """A loop in a thread that times one call again and again until stopped."""

    def __init__(self, call):
        self.call, self.times, self.failures = call, [], []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run)

    def _run(self):
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                self.call()
            except Exception as err:   # a timeout or refused connection is the finding itself
                self.failures.append(repr(err))
            self.times.append(time.monotonic() - started)
            time.sleep(0.05)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()

    @property
    def worst(self):
        return max(self.times, default=0.0)


def slow_sockets(port, count):
    """Idle sockets that announced a body and never send it, from many loopback addresses."""
    sockets = []
    for i in range(count):
        sock = socket.socket()
        sock.bind((f"127.0.{10 + i // 50}.{1 + i % 50}", 0))
        sock.settimeout(5)
        sock.connect(("127.0.0.1", port))
        sock.sendall(b"POST /admin/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded"
                     b"\r\nContent-Length: 100000\r\n\r\nusername=")
        sockets.append(sock)
    return sockets


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("attacks") / "instance").start()
    create_admin(live)
    # The worst case: no per-token rate limit, so big exports and covers reach the costly steps.
    live.cli("settings", "set", "rate_limit_per_minute", "0")
    yield live
    live.stop()


def test_every_burst_at_once_stays_within_the_budgets(server):
    reporter = server.token("honest")
    attacker = server.token("attacker")
    server.device("Honest", HONEST_KEY)
    server.device("Attacker", ATTACK_KEY)
    cover = noisy_cover()
    batch = otlp_batch(2000)
    honest_auth = {"Authorization": f"Bearer {reporter}"}
    attack_auth = {"Authorization": f"Bearer {attacker}"}
    acknowledged = []

    def honest_report():
        app = f"Editor {len(acknowledged)}"   # a new app each time: one row per acknowledged report
        answer = requests.post(server.url + "/api/activity", headers=honest_auth, timeout=10, json={
            "generatedHashKey": HONEST_KEY, "process_name": app})
        assert answer.status_code == 200, answer.text[:200]
        acknowledged.append(app)

    def healthz():
        assert requests.get(server.url + "/healthz", timeout=5).status_code == 200

    def wrong_login(_):
        session = client_from("127.0.0.9")
        page = session.get(server.url + "/admin/login", timeout=30)
        csrf = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        return session.post(server.url + "/admin/login", timeout=30, allow_redirects=False, data={
            "csrf_token": csrf, "username": USERNAME, "password": "not the password"}).status_code

    def image_report(i):
        return requests.post(server.url + "/api/activity", headers=attack_auth, timeout=60, json={
            "generatedHashKey": ATTACK_KEY, "process_name": "Music",
            "metadata": {"media": {"title": f"Track {i}", "coverDataUrl": cover}}}).status_code

    def otlp_export(_):
        return requests.post(server.url + "/v1/logs", data=batch, timeout=60, headers={
            **attack_auth, "Content-Type": "application/json", "Content-Encoding": "gzip"}).status_code

    held = []
    try:
        with Cost(server) as cost, Watch(healthz) as probe, Watch(honest_report) as writer, \
                ThreadPoolExecutor(130) as pool:
            held = slow_sockets(server.port, 200)
            logins = pool.map(wrong_login, range(60))
            images = pool.map(image_report, range(60))
            exports = pool.map(otlp_export, range(6))
            logins, images, exports = list(logins), list(images), list(exports)
    finally:
        for sock in held:
            sock.close()
    print(f"\nall bursts at once: {cost}; slowest /healthz {probe.worst:.3f} s, slowest honest report "
          f"{writer.worst:.3f} s ({len(writer.times)} reports); logins {sorted(set(logins))}, "
          f"images {sorted(set(images))}, exports {sorted(set(exports))}")
    assert not probe.failures and not writer.failures, (probe.failures[:3], writer.failures[:3])
    assert probe.worst < HEALTHZ_BUDGET
    assert writer.worst < WRITER_BUDGET
    assert cost.peak <= WORKER_BUDGET_MB
    assert set(logins) <= {401, 429} and 429 in logins
    assert set(images) <= {200, 429, 503}
    assert set(exports) <= {200, 429, 503}
    with server.db() as conn:
        stored = {row[0] for row in conn.execute("SELECT process_name FROM device_activity d JOIN device "
                                                 "ON device.id = d.device_id WHERE device.hash_key = ?",
                                                 (HONEST_KEY,))}
    assert acknowledged and set(acknowledged) <= stored
