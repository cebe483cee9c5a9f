"""The gunicorn master started like `make run` stays small: it never imports the app; an idle worker
(the app, SQLAlchemy included) stays within its budget, and gives back what a burst of streams took."""
import time
from pathlib import Path

import requests

from tests.support import RawStream, wait_for
from waken.bench.proc import children, memory_mb

MASTER_MAX_MB = 30
IDLE_WORKER_MAX_MB = 64


def mapped_files(pid):
    return {line.split()[-1] for line in Path(f"/proc/{pid}/maps").read_text().splitlines()
            if len(line.split()) >= 6}


def test_the_master_stays_small_and_leaves_the_app_to_the_workers(start_server):
    server = start_server()
    master = server.proc.pid
    workers = children(master)
    assert len(workers) == 2
    # The app's C extensions (MarkupSafe's) show in a process's memory map once it has
    # imported them: the workers have, the master must not.
    def loads_app(pid):
        return any("/markupsafe/" in f for f in mapped_files(pid))
    assert all(loads_app(w) for w in workers)
    assert not loads_app(master)
    peak_mb = memory_mb(master)["hwm"]
    assert peak_mb <= MASTER_MAX_MB, f"master peak RSS {peak_mb} MB"


def test_an_idle_worker_stays_within_its_budget(start_server):
    server = start_server({"WAKEN_SCHEDULER": "true"})   # as `make run`: one worker also sweeps
    with requests.Session() as http:
        for _ in range(10):     # both workers have answered, built their app and opened a connection
            assert http.get(server.url + "/healthz", timeout=10).ok
    time.sleep(1)   # the sweeps' first round has run
    for worker in children(server.proc.pid):
        rss = memory_mb(worker)["rss"]
        assert rss <= IDLE_WORKER_MAX_MB, f"worker {worker} rests at {rss} MB"


def test_a_worker_hands_back_what_a_burst_of_streams_took(start_server):
    server = start_server({"WAKEN_WORKERS": "1"})
    (worker,) = children(server.proc.pid)
    auth = {"Authorization": f"Bearer {server.token()}"}
    server.cli("settings", "set", "device_registration", "auto")
    with requests.Session() as http:
        def report(i):
            body = {"generatedHashKey": f"memory-device-{i % 8}", "device": f"Device {i % 8}",
                    "process_name": f"App {i}", "process_title": "x" * 200}
            assert http.post(server.url + "/api/activity", json=body, headers=auth, timeout=10).ok
        for i in range(50):
            report(i)
        # 28 public streams, four per loopback address (the cap per address), each sent
        # a few changes of the feed.
        opened = [RawStream(server, "/api/activity/stream", source=f"127.0.0.{2 + i // 4}") for i in range(28)]
        assert {stream.status for stream in opened} == {200}
        for i in range(50, 80):
            report(i)
            time.sleep(0.03)
        time.sleep(1.2)     # every stream has polled since the last report
        with_streams = memory_mb(worker)["rss"]
        for stream in opened:
            stream.close()
    # The worker notices a closed stream within a poll (1 s).
    assert wait_for(lambda: memory_mb(worker)["rss"] <= with_streams - 0.5, 5), \
        f"{with_streams} MB with the streams open, {memory_mb(worker)['rss']} MB after"
