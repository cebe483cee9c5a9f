"""The gunicorn master started like `make run` stays small: it never imports the app; an idle worker
(the app, SQLAlchemy included) stays within its budget."""
from pathlib import Path

import requests

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
    server = start_server()
    with requests.Session() as http:
        for _ in range(10):     # both workers have answered, built their app and opened a connection
            assert http.get(server.url + "/healthz", timeout=10).ok
    for worker in children(server.proc.pid):
        rss = memory_mb(worker)["rss"]
        assert rss <= IDLE_WORKER_MAX_MB, f"worker {worker} rests at {rss} MB"
