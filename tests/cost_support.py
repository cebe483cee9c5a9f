"""Cost of a live server seen from outside: worker CPU and peak memory, write-lock holds, /healthz latency."""
import io
import os
import sqlite3
import threading
import time

import requests
from PIL import Image

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


def write_lock_spans(server, stop, spans):
    """Poll the database's write lock from outside; record how long each taken stretch lasted."""
    conn = sqlite3.connect(server.instance / "waken.sqlite", timeout=0, isolation_level=None)
    taken_since = None
    while not stop.is_set():
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("ROLLBACK")
            if taken_since is not None:
                spans.append(time.monotonic() - taken_since)
                taken_since = None
        except sqlite3.OperationalError:
            taken_since = taken_since or time.monotonic()
        time.sleep(0.002)
    if taken_since is not None:
        spans.append(time.monotonic() - taken_since)
    conn.close()


class LockWatch:
    """The longest stretch any process held the write lock while the block ran."""

    def __init__(self, server):
        self.server, self.stop, self.spans = server, threading.Event(), []

    def __enter__(self):
        self.thread = threading.Thread(target=write_lock_spans, args=(self.server, self.stop, self.spans))
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        self.longest = max(self.spans, default=0.0)


class HealthzProbe:
    """Polls /healthz while the block runs; `worst` is the slowest answer (a failure counts as 60 s)."""

    def __init__(self, server, every=0.05):
        self.server, self.every, self.stop, self.times = server, every, threading.Event(), []

    def _poll(self):
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                ok = requests.get(self.server.url + "/healthz", timeout=10).status_code == 200
            except requests.RequestException:
                ok = False
            self.times.append(time.monotonic() - started if ok else 60.0)
            self.stop.wait(self.every)

    def __enter__(self):
        self.thread = threading.Thread(target=self._poll)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()
        self.worst = max(self.times, default=0.0)


def png(img, **options):
    """The image encoded as PNG."""
    buffer = io.BytesIO()
    img.save(buffer, "PNG", **options)
    return buffer.getvalue()


def gradients(mode, side=4096):
    """A side x side image of smooth gradients: compresses well, decodes at full cost."""
    radial = Image.radial_gradient("L").resize((side, side))
    linear = Image.linear_gradient("L").resize((side, side))
    bands = [radial, linear, linear.transpose(Image.Transpose.ROTATE_90), radial.transpose(Image.Transpose.ROTATE_90)]
    return Image.merge(mode, bands[:len(mode)])
