"""What a live attack costs the workers, seen from outside: CPU seconds, peak memory, /healthz latency."""
import os
import threading
import time

import requests

from waken.bench.proc import children, memory_mb

TICK = os.sysconf("SC_CLK_TCK")


def workers(server):
    """Pids of the gunicorn workers: the children of the master the test started."""
    pids = children(server.proc.pid)
    assert pids, "no gunicorn worker found"
    return pids


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / TICK


def reset_peaks(pids):
    """Start VmHWM afresh at the current RSS (clear_refs 5), so a peak belongs to this test."""
    for pid in pids:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")


class Cost:
    """CPU seconds and peak memory of the workers over a block of requests."""

    def __init__(self, server):
        self.pids = workers(server)

    def __enter__(self):
        reset_peaks(self.pids)
        self.rss_before = max(memory_mb(pid)["rss"] for pid in self.pids)
        self.cpu_before = cpu_seconds(self.pids)
        self.started = time.monotonic()
        return self

    def __exit__(self, *exc):
        self.seconds = time.monotonic() - self.started
        self.cpu = cpu_seconds(self.pids) - self.cpu_before
        self.peaks = [memory_mb(pid)["hwm"] for pid in self.pids]
        self.peak = max(self.peaks)
        self.extra = self.peak - self.rss_before
        self.rss = max(memory_mb(pid)["rss"] for pid in self.pids)

    def __str__(self):
        return (f"{self.seconds:.2f} s wall, {self.cpu:.2f} s CPU, peak {self.peak:.0f} MiB "
                f"(+{self.extra:.0f}), RSS after {self.rss:.0f} MiB")


class HealthzWatch:
    """Probe /healthz in a loop while the block runs; `worst` is the slowest answer in seconds."""

    def __init__(self, server, pause=0.05):
        self.url, self.pause = server.url + "/healthz", pause
        self.stop, self.latencies, self.failures = threading.Event(), [], []

    def _probe(self):
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                status = requests.get(self.url, timeout=10).status_code
            except requests.RequestException as exc:
                status = repr(exc)
            self.latencies.append(time.monotonic() - started)
            if status != 200:
                self.failures.append(status)
            self.stop.wait(self.pause)

    def __enter__(self):
        self.thread = threading.Thread(target=self._probe)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        self.worst = max(self.latencies, default=0.0)
