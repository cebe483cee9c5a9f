"""Every hostile burst of the concurrency issue sent at once, against a server started like `make run`.

Each burst has a test of its own beside the code that bounds it; this one sends them
together, as an attacker would, and holds the server to the budgets that matter on a
public Pi: /healthz within a second, no worker past 200 MB, an honest reporter never
waiting 500 ms, and every acknowledged report on disk.
"""
import base64
import gzip
import io
import json
import multiprocessing
import os
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import pytest
import requests
from PIL import Image

from tests.admin_support import create_admin, sign_in
from tests.cost_support import Cost
from tests.limits_support import client_from
from tests.slow_support import HonestClients, Swarm, attacker_addresses
from tests.support import LiveServer
from waken import config

pytestmark = [pytest.mark.live, pytest.mark.slow]

HONEST_KEY = "wwd-honest-reporter-01"
ATTACK_KEY = "wwd-image-attacker-01"
LOGINS, SLOW_SOCKETS, IMAGE_REPORTS, EXPORTS = 60, 200, 60, 6   # requests sent at once, each kind
WAVES = 3
IDLE_BODY = (b"POST /admin/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
             b"Content-Length: 100000\r\n\r\nusername=")


def status_or_closed(send):
    """The answer's status, or "closed" when the server closed the connection unanswered (an
    address past its connection cap is closed at once, by design)."""
    try:
        return send().status_code
    except requests.ConnectionError:
        return "closed"


def noisy_cover():
    """A ~6.6 MB data URL: a PNG of noise, the costliest cover a token may send."""
    buffer = io.BytesIO()
    Image.effect_noise((2048, 1100), 90).convert("RGB").save(buffer, "PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def claude_code_export(records):
    """A gzipped OTLP/JSON logs export of `records` Claude Code tool results, the most one may hold."""
    now = time.time_ns()
    logs = [{"timeUnixNano": str(now - i * 1000), "eventName": "claude_code.tool_result",
             "attributes": [{"key": "tool_name", "value": {"stringValue": "Bash"}},
                            {"key": "success", "value": {"stringValue": "true"}},
                            {"key": "session.id", "value": {"stringValue": f"burst-{i}"}}]}
            for i in range(records)]
    body = {"resourceLogs": [{"resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "claude-code"}}]},
        "scopeLogs": [{"logRecords": logs}]}]}
    return gzip.compress(json.dumps(body).encode())


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    live = LiveServer(tmp_path_factory.mktemp("attacks") / "instance").start()
    create_admin(live)
    # The worst case: no per-token rate limit, so covers and big exports reach the costly steps.
    live.cli("settings", "set", "rate_limit_per_minute", "0")
    yield live
    live.stop()


def attack(url, token, kind, at_once, waves):
    """Run in a process of its own: `at_once` requests of one kind sent together, `waves` times
    over; the status of each answer. Apart from the test's process, so that the attackers'
    work never holds up the honest client that measures the server."""
    # A real attacker's own work runs on its own machines; here it shares the server's cores,
    # so it runs at a lower priority and mostly takes what the server leaves idle.
    os.nice(10)
    auth = {"Authorization": f"Bearer {token}"}
    if kind == "image":   # encoded once: the body is ~9 MB
        body = json.dumps({"generatedHashKey": ATTACK_KEY, "process_name": "Music", "metadata": {
            "media": {"title": "Track", "coverDataUrl": noisy_cover()}}}).encode()
    elif kind == "export":
        body = claude_code_export(config.OTLP_MAX_RECORDS)

    def send(_):
        if kind == "login":
            session = client_from("127.0.0.9")
            return status_or_closed(lambda: sign_in(session, url, "not the password"))
        if kind == "image":
            return status_or_closed(lambda: client_from("127.0.0.10").post(
                url + "/api/activity", data=body, timeout=60, headers={**auth, "Content-Type": "application/json"}))
        return status_or_closed(lambda: client_from("127.0.0.11").post(
            url + "/v1/logs", data=body, timeout=60, headers={
                **auth, "Content-Type": "application/json", "Content-Encoding": "gzip"}))

    with ThreadPoolExecutor(at_once) as pool:
        return [status for _ in range(waves) for status in pool.map(send, range(at_once))]


def test_every_burst_at_once_stays_within_the_budgets(server):
    honest_token, attack_token = server.token("honest"), server.token("attacker")
    server.device("Honest", HONEST_KEY)
    server.device("Attacker", ATTACK_KEY)
    bursts = {"login": LOGINS, "image": IMAGE_REPORTS, "export": EXPORTS}
    with Cost(server) as cost, HonestClients(server, HONEST_KEY, honest_token) as honest, \
            Swarm(server.port, attacker_addresses(20, first=20), SLOW_SOCKETS, IDLE_BODY), \
            ProcessPoolExecutor(len(bursts), mp_context=multiprocessing.get_context("spawn")) as pool:
        answers = {kind: pool.submit(attack, server.url, attack_token, kind, at_once, WAVES)
                   for kind, at_once in bursts.items()}
        answers = {kind: Counter(future.result()) for kind, future in answers.items()}
    print(f"\nevery burst at once, {WAVES} waves: {cost}; {honest}; answers {answers}")
    honest.assert_within_budgets()
    assert cost.peak <= 200
    assert set(answers["login"]) <= {401, 429, "closed"} and answers["login"][401] <= 10   # ≤ 10 hashes
    assert set(answers["image"]) <= {200, 503, "closed"} and answers["image"][200] > 0
    assert set(answers["export"]) <= {200, 503, "closed"} and answers["export"][200] > 0
