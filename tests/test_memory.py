"""The gunicorn master started like `make run` stays small: it never imports the app; workers load
the ORM only for the pages and commands that edit rows."""
from pathlib import Path

import requests

from tests.support import DEVICE_KEY
from waken.bench.proc import children, memory_mb

MASTER_MAX_MB = 30


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


def test_reports_the_feed_and_the_agent_log_never_load_sqlalchemy(start_server):
    server = start_server()
    auth = {"Authorization": f"Bearer {server.token()}"}
    server.device("Desk", DEVICE_KEY)
    with requests.Session() as http:
        for n in range(20):   # both workers take some of each
            assert http.post(server.url + "/api/activity", headers=auth, timeout=10, json={
                "generatedHashKey": DEVICE_KEY, "process_name": f"App {n % 3}", "battery_level": 50}).ok
            assert http.post(server.url + "/api/activities", headers=auth, timeout=10, json={
                "type": "tool_call", "description": f"step {n}", "status": "success"}).ok
            for path in ("/api/activity", "/", "/api/activities", "/api/activities/stats", "/healthz"):
                assert http.get(server.url + path, headers=auth, timeout=10).ok
    # SQLAlchemy (~20 MB of a worker) shows in the memory map only once imported.
    for worker in children(server.proc.pid):
        assert not any("/sqlalchemy/" in f for f in mapped_files(worker)), f"worker {worker} loaded SQLAlchemy"
