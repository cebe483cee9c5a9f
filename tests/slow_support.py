"""Helpers for the slow-client tests: a swarm of slow sockets, and what an honest client sees meanwhile."""
import resource
import selectors
import socket
import threading
import time

import requests

from tests.limits_support import client_from, worker_pids
from waken.bench.proc import memory_mb

PROBE_TIMEOUT = 5   # seconds: a probe this late counts as this late, and the next one starts
HONEST_ADDRESS = "127.0.0.1"


def attacker_addresses(count, first=2):
    """`count` loopback addresses other than the honest client's (127.0.0.2, .3, ...)."""
    return [f"127.0.{n // 250}.{n % 250 + 1}" for n in range(first - 1, first - 1 + count)]


def raise_fd_limit(needed):
    """Let this test process hold `needed` sockets (up to the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = needed if hard == resource.RLIM_INFINITY else min(hard, needed)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


class Swarm:
    """`count` sockets, each from one of `addresses` in turn: each sends `opening`, then one byte of
    `drip` every `every` seconds (never, when drip is empty). A socket the server closes is opened
    again at once, so the pressure never lets up. Runs in a thread of its own while in a `with`."""

    def __init__(self, port, addresses, count, opening, drip=b"", every=1.0):
        self.port, self.addresses, self.count = port, addresses, count
        self.opening, self.drip, self.every = opening, drip, every
        self.selector = selectors.DefaultSelector()
        self.stop = threading.Event()
        self.opened = self.closed_by_server = 0
        self.next_address = 0
        raise_fd_limit(count + 512)

    def _open(self):
        address = self.addresses[self.next_address % len(self.addresses)]
        self.next_address += 1
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, 0))
        sock.settimeout(5)
        try:
            sock.connect(("127.0.0.1", self.port))
            sock.sendall(self.opening)
        except OSError:
            sock.close()
            return False
        sock.setblocking(False)
        self.selector.register(sock, selectors.EVENT_READ, {"sent": 0, "next": time.monotonic() + self.every})
        self.opened += 1
        return True

    def _on_readable(self, key):
        try:
            data = key.fileobj.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:   # closed by the server: the attacker comes back at once
            self.selector.unregister(key.fileobj)
            key.fileobj.close()
            self.closed_by_server += 1

    def _drip(self, now):
        for key in list(self.selector.get_map().values()):
            state = key.data
            if state["next"] <= now and state["sent"] < len(self.drip):
                try:
                    key.fileobj.send(self.drip[state["sent"]:state["sent"] + 1])
                    state["sent"] += 1
                except (BlockingIOError, OSError):
                    pass
                state["next"] = now + self.every

    def open_sockets(self):
        return len(self.selector.get_map())

    def _run(self):
        while not self.stop.is_set():
            while self.open_sockets() < self.count and not self.stop.is_set():
                if not self._open():
                    break
            for key, _ in self.selector.select(timeout=0.05):
                self._on_readable(key)
            if self.drip:
                self._drip(time.monotonic())

    def __enter__(self):
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        for key in list(self.selector.get_map().values()):
            key.fileobj.close()
        self.selector.close()


class HonestClients:
    """While in a `with`: /healthz probed, and a device report sent, over and over from
    127.0.0.1, each on a new connection; the worst wait of each, and the workers' peak memory."""

    def __init__(self, server, device_key, token):
        self.server, self.pids, self.device_key = server, worker_pids(server), device_key
        self.auth = {"Authorization": f"Bearer {token}"}
        self.acknowledged = []   # the app of each report answered 200: a new app each time, so a row each
        self.stop = threading.Event()
        self.health_worst = self.write_worst = 0.0
        self.health_count = self.write_count = 0
        self.failures = []

    def _timed(self, session, send):
        started = time.monotonic()
        try:
            response = send(session)
            if response.status_code != 200:
                self.failures.append(f"{response.status_code} {response.text[:200]}")
        except requests.RequestException as err:
            self.failures.append(repr(err))
            response = None
        return time.monotonic() - started, response

    def _probe(self):
        session = client_from(HONEST_ADDRESS)
        while not self.stop.wait(0.2):
            took, _ = self._timed(session, lambda s: s.get(self.server.url + "/healthz", timeout=PROBE_TIMEOUT))
            self.health_worst, self.health_count = max(self.health_worst, took), self.health_count + 1

    def _write(self):
        session = client_from(HONEST_ADDRESS)
        while not self.stop.wait(0.25):
            app = f"Editor {self.write_count}"
            report = {"generatedHashKey": self.device_key, "process_name": app, "process_title": "notes.txt"}
            took, answer = self._timed(session, lambda s: s.post(self.server.url + "/api/activity", json=report,
                                                                 headers=self.auth, timeout=PROBE_TIMEOUT))
            if answer is not None and answer.status_code == 200:
                self.acknowledged.append(app)
            self.write_worst, self.write_count = max(self.write_worst, took), self.write_count + 1

    def __enter__(self):
        for pid in self.pids:   # VmHWM starts afresh at the current RSS: the peak is this test's
            with open(f"/proc/{pid}/clear_refs", "w") as f:
                f.write("5")
        self.threads = [threading.Thread(target=self._probe), threading.Thread(target=self._write)]
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join()
        self.peak_mb = max(memory_mb(pid)["hwm"] for pid in self.pids)

    def __str__(self):
        return (f"/healthz worst {self.health_worst * 1000:.0f} ms of {self.health_count}, "
                f"writer worst {self.write_worst * 1000:.0f} ms of {self.write_count}, "
                f"peak {self.peak_mb:.0f} MB, failures {self.failures[:3]}")

    def assert_within_budgets(self):
        """The issue's budgets: /healthz within 1 s, a writer within 500 ms, ≤ 200 MB a worker,
        and every report answered 200 on disk."""
        assert not self.failures, str(self)
        with self.server.db() as conn:
            stored = {row[0] for row in conn.execute(
                "SELECT process_name FROM device_activity JOIN device ON device.id = device_id "
                "WHERE device.hash_key = ?", (self.device_key,))}
        assert set(self.acknowledged) <= stored, str(self)
        assert self.health_count >= 10 and self.write_count >= 10, str(self)
        assert self.health_worst < 1.0, str(self)
        assert self.write_worst < 0.5, str(self)
        assert self.peak_mb <= 200, str(self)
