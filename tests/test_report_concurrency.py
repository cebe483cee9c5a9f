"""Many reporters at once through real gunicorn workers: no 5xx, one open activity, no lost merge."""
import json
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

pytestmark = pytest.mark.slow

DEVICES = [f"wwd-c0c0c0c0-0000-4000-8000-00000000000{i}" for i in range(4)]
THREADS_PER_DEVICE = 8
PHASE_SECONDS = 1.5
MAX_REPORTS_PER_PHASE = 60   # per thread: keeps merged metadata far below 64 KiB


@pytest.fixture(scope="module")
def env(server):
    """A token and four devices."""
    with ThreadPoolExecutor(3) as pool:
        token = pool.submit(server.token, "load")
        for job in [pool.submit(server.device, f"Box {i}", key) for i, key in enumerate(DEVICES)]:
            job.result()
        # A load test: more reports in a moment than the default per-token rate limit allows.
        pool.submit(server.cli, "settings", "set", "rate_limit_per_minute", "0").result()
        return {"token": token.result()}


def report(session, url, token, key, process, t, n):
    """One reporter body; every report adds its own top-level and media key."""
    body = {"generatedHashKey": key, "process_name": process, "device": None, "process_title": None,
            "persist_minutes": None, "battery_level": None, "is_charging": None,
            "device_type": "desktop", "push_mode": "realtime",
            "metadata": {f"k{t}_{n}": n, "media": {"title": "Track", f"m{t}_{n}": n}}}
    response = session.post(url, data=json.dumps(body), timeout=15,
                            headers={"Authorization": f"Bearer {token}",
                                     "Content-Type": "application/json",
                                     "User-Agent": "waken-wa-tauri-reporter/0.1.0"})
    activity_id = response.json()["data"]["id"] if response.status_code == 200 else None
    return response.status_code, activity_id, f"k{t}_{n}", f"m{t}_{n}"


def worker(url, token, key, t, barrier, results):
    """Phase 1: heartbeats with process switches; phase 2: heartbeats of one process only."""
    with requests.Session() as session:
        n = 0
        for phase in (1, 2):
            barrier.wait(timeout=30)
            deadline = time.monotonic() + PHASE_SECONDS
            for _ in range(MAX_REPORTS_PER_PHASE):
                if time.monotonic() >= deadline:
                    break
                n += 1
                if phase == 2:
                    process = "Final.exe"
                elif t % 2 == 0 and n % 4 == 0:
                    process = f"Switch-{t}-{n}.exe"
                else:
                    process = "Shared.exe"
                results.append((key, phase, *report(session, url, token, key, process, t, n)))


def test_concurrent_reports_serialise(server, env):
    results = []
    total = len(DEVICES) * THREADS_PER_DEVICE
    barrier = threading.Barrier(total)
    threads = [threading.Thread(target=worker, args=(server.url + "/api/activity", env["token"], key,
                                                     t, barrier, results))
               for key in DEVICES for t in range(THREADS_PER_DEVICE)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads)

    statuses = Counter(status for _, _, status, *_ in results)
    assert sum(n for status, n in statuses.items() if status >= 500) == 0, statuses
    assert set(statuses) == {200}, statuses
    assert len(results) >= total * 4, f"only {len(results)} reports got through"

    with server.db() as conn:
        activities = {row["id"]: dict(row) for row in conn.execute(
            "SELECT a.*, d.hash_key FROM device_activity a JOIN device d ON d.id = a.device_id "
            "WHERE d.hash_key LIKE 'wwd-c0c0c0c0-%'")}
    merged_into = defaultdict(list)
    for key, _, _, activity_id, top_key, media_key in results:
        merged_into[activity_id].append((key, top_key, media_key))

    # No lost merge anywhere: each activity holds every key of every 200 that named it.
    for activity_id, sent in merged_into.items():
        row = activities[activity_id]
        meta = json.loads(row["metadata"])
        assert row["report_count"] == len(sent)
        assert {key for key, _, _ in sent} == {row["hash_key"]}
        assert {top for _, top, _ in sent} <= meta.keys()
        assert {media for _, _, media in sent} <= meta["media"].keys()
        assert len(json.dumps(meta)) < 64 * 1024

    for key in DEVICES:
        rows = sorted((a for a in activities.values() if a["hash_key"] == key), key=lambda a: a["started_at"])
        open_rows = [a for a in rows if a["ended_at"] is None]
        assert len(open_rows) == 1
        final = open_rows[0]
        assert final is rows[-1] and final["process_name"] == "Final.exe"
        # Every phase-2 report merged into that one final activity, and none is missing.
        phase2 = [r for r in results if r[0] == key and r[1] == 2]
        assert phase2 and {r[3] for r in phase2} == {final["id"]}
        meta = json.loads(final["metadata"])
        assert {r[4] for r in phase2} <= meta.keys()
        assert {r[5] for r in phase2} <= meta["media"].keys()
        # The device's history never overlaps: each run ends before the next one starts.
        for earlier, later in zip(rows, rows[1:]):
            assert earlier["started_at"] <= earlier["updated_at"] <= earlier["ended_at"] <= later["started_at"]


def test_cli_writes_run_concurrently(server, env):
    """`device create` over SSH while devices report (and beside another CLI call) must succeed."""
    stop = threading.Event()
    statuses = Counter()

    def keep_reporting():
        with requests.Session() as session:
            n = 0
            while not stop.is_set():
                n += 1
                statuses[report(session, server.url + "/api/activity", env["token"], DEVICES[0],
                                "Busy.exe", 99, n)[0]] += 1

    background = [threading.Thread(target=keep_reporting) for _ in range(2)]
    for thread in background:
        thread.start()
    def create(i):
        try:
            server.cli("device", "create", f"Extra {i}", "--key", f"wwd-e0e0e0e0-0000-4000-8000-00000000000{i}")
        except AssertionError as err:
            return [line for line in str(err).splitlines() if "Error" in line][-1]
        return None

    try:
        with ThreadPoolExecutor(3) as pool:
            failures = [f for f in pool.map(create, range(3)) if f]
    finally:
        stop.set()
        for thread in background:
            thread.join(timeout=30)
    assert set(statuses) == {200}, statuses
    assert failures == []
    with server.db() as conn:
        created = conn.execute("SELECT count(*) FROM device WHERE hash_key LIKE 'wwd-e0e0e0e0-%'").fetchone()[0]
    assert created == 3
