"""Slow clients against a server started like `make run`: half-sent headers never hold a worker thread."""
import socket
import time

import pytest
import requests

from tests.limits_support import worker_pids
from tests.support import DEVICE_KEY
from waken.bench.proc import memory_mb

SLOW_SOCKETS = 500
HEADER_TIMEOUT_LIMIT = 30   # seconds: the bound on how long a stalled header may stay open


def _open_half_headers(port, count):
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(b"POST /api/activity HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: appl")
        sockets.append(sock)
    return sockets


def _rss_mb(pids):
    """Summed VmRSS of the processes, in MB."""
    return sum(memory_mb(pid)["rss"] for pid in pids)


def _closed_by_server(sock, deadline):
    """True when the server closes the socket before deadline (monotonic)."""
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            return sock.recv(4096) == b"" or _closed_by_server(sock, deadline)
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False
    return False


@pytest.mark.slow
def test_500_half_header_sockets_do_not_stop_a_normal_client(start_server):
    server = start_server()
    token = server.token()
    server.device("Desk", DEVICE_KEY)
    report = {"generatedHashKey": DEVICE_KEY, "process_name": "Editor", "process_title": "notes.txt"}
    headers = {"Authorization": f"Bearer {token}"}
    slow = []
    workers = worker_pids(server)
    requests.get(server.url + "/healthz", timeout=10)
    rss_before = _rss_mb(workers)
    try:
        opened_at = time.monotonic()
        slow = _open_half_headers(server.port, SLOW_SOCKETS)
        time.sleep(1.0)   # every worker has seen them by now
        # Served, not queued behind them: a held thread would leave these waiting past the timeout.
        health = requests.get(server.url + "/healthz", timeout=10)
        stored = requests.post(server.url + "/api/activity", json=report, headers=headers, timeout=10)
        assert health.status_code == 200
        assert stored.status_code == 200
        assert stored.json()["data"]["processName"] == "Editor"
        # Each stalled socket costs a descriptor and a buffer, not a thread's stack.
        assert _rss_mb(workers) - rss_before < 20
        # The stalled sockets are closed by the server after the header timeout.
        deadline = opened_at + HEADER_TIMEOUT_LIMIT
        assert all(_closed_by_server(sock, deadline) for sock in slow)
    finally:
        for sock in slow:
            sock.close()
    # A client that sends its header in pieces, quickly enough, is still served.
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        for piece in (b"GET /heal", b"thz HTTP/1.1\r\nHo", b"st: 127.0.0.1\r\nConnection: close\r\n\r\n"):
            sock.sendall(piece)
            time.sleep(0.2)
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 200")


def test_an_endless_header_is_refused_at_once(server):
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        answer = b""
        try:
            for n in range(100):   # at most 800 KiB, far past the 64 KiB a header may take
                sock.sendall(f"X-Filler-{n}: ".encode() + b"a" * 8000 + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        try:
            while chunk := sock.recv(4096):
                answer += chunk
        except ConnectionResetError:
            pass
    # Answered and closed while the client still sends: the 5 s socket timeout never fires.
    assert answer.startswith(b"HTTP/1.1 431")
    assert requests.get(server.url + "/healthz", timeout=5).status_code == 200
