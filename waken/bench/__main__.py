"""make bench: seed a scratch instance, start it like `make run` beside the reference app, measure, write the results."""
import json
import tempfile
import time
from pathlib import Path

from waken.bench.alerts import alert_ingest
from waken.bench.client import get, latency
from waken.bench.load import (
    CLIENTS,
    QUICK,
    RATE_LIMIT,
    measure_streams,
    query_latencies,
    throughput,
)
from waken.bench.proc import memory_mb
from waken.bench.report import machine, print_table, summarise
from waken.bench.seed import AGENT_ROWS, checkpoint, file_mb, seed_agents, seed_devices
from waken.bench.server import ROOT, ReferenceServer, Server

RESULTS = ROOT / "bench-results.json"


def seed(server, res):
    """Seed the database before the server starts; returns the ingest devices' keys and now (ms)."""
    checkpoint(server.db_path)
    empty = file_mb(server.db_path)
    now_ms = int(time.time() * 1000)
    t0 = time.monotonic()
    keys, device_rows = seed_devices(server.db_path, now_ms, ingest_devices=CLIENTS * 2)
    checkpoint(server.db_path)
    with_devices = file_mb(server.db_path)
    seed_agents(server.db_path, now_ms)
    checkpoint(server.db_path)
    res["seed"] = {"seconds": round(time.monotonic() - t0, 1), "agent_rows": AGENT_ROWS,
                   "device_activity_rows": device_rows,
                   "agent_mb_per_million": round((file_mb(server.db_path) - with_devices) * 1e6 / AGENT_ROWS, 1),
                   "device_activity_mb_per_million": round((with_devices - empty) * 1e6 / device_rows, 1)}
    print(f"seeded {AGENT_ROWS:,} agent and {device_rows:,} device activities in {res['seed']['seconds']} s",
          flush=True)
    return keys, now_ms


def measure(server, reference, token, keys, now_ms, res):
    """Every figure, the reads first while the feed shows only the seeded devices."""
    port, auth = server.port, {"Authorization": f"Bearer {token}"}
    time.sleep(2)    # let both workers finish booting before "idle" is measured
    res["memory_idle"] = server.memory()
    res["feed"] = {"limit50": latency(port, get("/api/activity"), 200),
                   "limit200": latency(port, get("/api/activity?limit=200"), 100),
                   "home": latency(port, get("/"), 200)}
    print("measured the public feed", flush=True)
    res["agents_query"] = query_latencies(port, auth, now_ms)
    print("measured agent list and stats", flush=True)
    res["throughput"] = throughput(server, reference, token, keys)
    print("measured throughput", flush=True)
    res["streams"] = measure_streams(port, token, keys, max(20, round(res["throughput"]["device"]["rps"] * 0.4)))
    time.sleep(2)    # a worker notices a closed stream within a poll (1 s): the run ends there
    res["memory_after"] = server.memory()
    res["rss_mb"] = {str(pid): memory_mb(pid)["hwm"] for pid in server.pids()}
    # Last: the worker that sends alerts loads Apprise here, after the memory figures above.
    res["alerts"] = alert_ingest(server, token, keys)
    res["memory_alerts"] = server.memory()
    print("measured ingest with a hanging alert channel", flush=True)


def main():
    started = time.monotonic()
    res = {"machine": machine(), "quick": QUICK}
    with tempfile.TemporaryDirectory(prefix="waken-bench-") as tmp:
        server = Server(Path(tmp) / "instance")
        server.cli("init-db")
        token = server.cli("token", "create", "bench").strip().splitlines()[-1]
        # Every write still passes the rate limiter (its cost is measured), which never refuses here.
        server.cli("settings", "set", "rate_limit_per_minute", RATE_LIMIT)
        keys, now_ms = seed(server, res)
        reference = ReferenceServer(Path(tmp) / "reference", token)
        try:
            server.start()
            reference.start()
            measure(server, reference, token, keys, now_ms, res)
        finally:
            reference.stop()
            server.stop()
    res["summary"] = summarise(res)
    res["seconds"] = round(time.monotonic() - started, 1)
    RESULTS.write_text(json.dumps(res, indent=2) + "\n")
    print_table(res)
    print(f"\nwhole run {res['seconds']} s; results in {RESULTS.name}")


if __name__ == "__main__":
    main()
