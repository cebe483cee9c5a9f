"""Load from separate processes: closed-loop or paced slices of one kind of request, and held SSE streams."""
import multiprocessing
import os
import random
import select
import socket
import time
from datetime import UTC, datetime, timedelta

from waken.bench.client import Conn, get, latency, percentile, tally
from waken.bench.proc import cpu_seconds
from waken.bench.traffic import Reporter, agent_request, otlp_request

# WAKEN_BENCH_QUICK=1: one round of shorter slices, to try a change out; rougher figures.
QUICK = os.environ.get("WAKEN_BENCH_QUICK") == "1"
CLIENTS = 6          # load-generator processes, one keep-alive connection each
ROUNDS = 1 if QUICK else 3   # healthz/read/ingest slices are interleaved against a noisy machine
SLICE_SECONDS = 2.0 if QUICK else 3.0
PACED_SECONDS = 3.0 if QUICK else 6.0
STREAMS = 32
# The rate limit the bench runs with: every write is charged (its cost is measured), none refused.
RATE_LIMIT = "1000000"
# Slices run with a setting changed for their length: the same reports with the rate limit off,
# so the limit's own cost per report shows as the difference.
SLICE_SETTINGS = {"device_unlimited": ("rate_limit_per_minute", "0", RATE_LIMIT)}   # (key, during, after)


def _next_request(kind, rng, auth, n, reporter):
    """(request bytes, whether a device report carries a new cover)."""
    if kind == "healthz":
        return get("/healthz"), False
    if kind == "device":
        return reporter.next()
    if kind == "otlp":
        return otlp_request(rng, auth, n), False
    return agent_request(rng, auth, n), False


def _load_worker(kind, port, token, keys, start_at, warmup, seconds, interval, out, raw_get=None):
    rng = random.Random(os.urandom(8))
    auth = {"Authorization": f"Bearer {token}"}
    reporter = Reporter(keys, auth, rng) if kind == "device" else None
    conn, times, statuses, n = Conn(port), [], {}, 0
    begin, end = start_at + warmup, start_at + warmup + seconds
    next_at = start_at + rng.random() * (interval or 0)
    while time.time() < start_at:
        time.sleep(0.005)
    while True:
        if interval:
            # Paced: latency counts from the scheduled send time, so a stall is not hidden.
            next_at += interval
            delay = next_at - time.time()
            if delay > 0:
                time.sleep(delay)
            t0 = time.perf_counter() - max(0.0, -delay)
        else:
            t0 = time.perf_counter()
        now = time.time()
        if now >= end:
            break
        n += 1
        raw, cover = (raw_get, False) if raw_get is not None else _next_request(kind, rng, auth, n, reporter)
        status, body = conn.request(raw)
        if reporter:
            reporter.answered(status, body, cover)
        if now >= begin:
            times.append((time.perf_counter() - t0) * 1000)
            statuses[status] = statuses.get(status, 0) + 1
    conn.close()
    out.put((times, statuses))


def _sleep_until(moment):
    time.sleep(max(0.0, moment - time.time()))


def _server_cpu(pids, begin, end):
    """CPU seconds the server processes `pids` use from `begin` to `end` (wall-clock times)."""
    _sleep_until(begin)
    before = cpu_seconds(pids)
    _sleep_until(end)
    return cpu_seconds(pids) - before


def run_load(kind, port, token, keys, seconds, clients=4, rate=None, warmup=0.5, raw_get=None, pids=None):
    """Drive one kind of request from `clients` processes: closed loop, or paced at `rate` req/s in all.

    With `pids` (a server's master and workers), also their CPU seconds over the measured slice.
    """
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    start_at = time.time() + 1.0   # after the workers have drawn their covers
    procs = [ctx.Process(target=_load_worker, args=(
        kind, port, token, keys[i::clients], start_at, warmup, seconds,
        clients / rate if rate else None, out, raw_get)) for i in range(clients)]
    for p in procs:
        p.start()
    cpu = _server_cpu(pids, start_at + warmup, start_at + warmup + seconds) if pids else None
    parts = [out.get(timeout=seconds + 120) for _ in procs]
    for p in procs:
        p.join()
    times = [t for part_times, _ in parts for t in part_times]
    statuses = {}
    for _, part in parts:
        tally(statuses, part)
    return {"rps": round(len(times) / seconds, 1), "p50_ms": percentile(times, 50),
            "p99_ms": percentile(times, 99), "statuses": statuses, "latencies": times, "cpu_s": cpu}


def _conditional_feed(port):
    """GET /api/activity with the ETag the server gives right now (ingest slices change it)."""
    conn = Conn(port)
    conn.request(get("/api/activity"))
    etag = conn.last_headers["etag"]
    conn.close()
    return get("/api/activity", {"If-None-Match": etag})


READS = {"feed": lambda port: get("/api/activity"), "home": lambda port: get("/"),
         "feed304": _conditional_feed}


def throughput(server, reference, token, keys):
    """Interleaved slices of /healthz, the public reads, waken's ingest and the reference's, summed per kind.

    The reads go first, while the feed still shows the 20 seeded devices (ingest adds its own).
    Each block has its own /healthz slices, and its ratios are taken against them. Each kind
    also has its server's CPU milliseconds per request (master and workers, measured slices only).
    """
    # (name, server, kind): the reference's slices follow waken's of the same kind, from the same clients.
    blocks = ([("healthz_reads", server, "healthz"), *((kind, server, kind) for kind in READS)],
              [("healthz", server, "healthz"), ("device", server, "device"),
               ("device_unlimited", server, "device"),
               ("reference_device", reference, "device"), ("agent", server, "agent"),
               ("reference_agent", reference, "agent"), ("otlp", server, "otlp")])
    slices = {name: [] for block in blocks for name, _, _ in block}
    for block in blocks:
        for _ in range(ROUNDS):
            for name, target, kind in block:
                raw = READS[kind](target.port) if kind in READS else None
                setting = SLICE_SETTINGS.get(name)
                if setting:
                    target.cli("settings", "set", setting[0], setting[1])
                try:
                    slices[name].append(run_load(kind, target.port, token, keys, SLICE_SECONDS, clients=CLIENTS,
                                                 raw_get=raw, pids=target.pids()))
                finally:
                    if setting:
                        target.cli("settings", "set", setting[0], setting[2])
    out = {}
    for name, parts in slices.items():
        times = [t for part in parts for t in part["latencies"]]
        statuses = {}
        for part in parts:
            tally(statuses, part["statuses"])
        out[name] = {"rps": round(len(times) / (SLICE_SECONDS * ROUNDS), 1),
                     "p50_ms": percentile(times, 50), "p99_ms": percentile(times, 99), "statuses": statuses,
                     "cpu_ms": round(sum(part["cpu_s"] for part in parts) * 1000 / max(1, len(times)), 3)}
    return out


def query_latencies(port, auth, now_ms):
    """GET /api/activities with filters and searches, /api/agent-sessions and /stats on the seeded million rows."""
    today = datetime.fromtimestamp(now_ms / 1000, UTC).date()
    week_ago = today - timedelta(days=7)
    lists = {
        "newest page": "/api/activities?limit=50",
        "type+status": "/api/activities?type=tool_call&status=error&limit=50",
        "agent+dates": f"/api/activities?agent=planner&startDate={week_ago}&endDate={today}&limit=50",
        "types, oldest, offset": "/api/activities?type=file_read,file_write&sort=oldest&offset=1000&limit=50",
    }
    searches = {
        "q=日本語": "/api/activities?q=%E6%97%A5%E6%9C%AC%E8%AA%9E",
        "q=错误 (short: scan)": "/api/activities?q=%E9%94%99%E8%AF%AF",
        "q=🎉 (short: scan)": "/api/activities?q=%F0%9F%8E%89",
        "q=module_42.py (common trigrams)": "/api/activities?q=module_42.py",
        "q=登录+agent+type": "/api/activities?q=%E7%99%BB%E5%BD%95&agent=coder&type=tool_call",
    }
    sessions = {
        "newest": "/api/agent-sessions",
        "agent+type": "/api/agent-sessions?agent=coder&type=tool_call",
        "type": "/api/agent-sessions?type=tool_call",
        "status": "/api/agent-sessions?status=error",
        "q=日本語": "/api/agent-sessions?q=%E6%97%A5%E6%9C%AC%E8%AA%9E",
    }
    out = {group: {name: latency(port, get(path, auth), 60) for name, path in paths.items()}
           for group, paths in (("list", lists), ("search", searches), ("sessions", sessions))}
    out["stats"] = {"all": latency(port, get("/api/activities/stats", auth), 20, max_seconds=15),
                    "agent": latency(port, get("/api/activities/stats?agent=coder", auth), 10, max_seconds=10)}
    return out


def _from(n):
    """A loopback source address of its own for stream n: the server caps streams per address."""
    return (f"127.0.{n // 250}.{n % 250 + 2}", 0)


def hold_streams(port, count, ready, stop):
    """Child process: keep `count` SSE streams open, as many visitors, and read them until told to stop."""
    socks, events = [], 0
    for n in range(count):
        s = socket.create_connection(("127.0.0.1", port), source_address=_from(n))
        s.sendall(get("/api/activity/stream"))
        socks.append(s)
    buffers, opened_set = {s: b"" for s in socks}, set()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(opened_set) < count:
        for s in select.select(socks, [], [], 0.5)[0]:
            buffers[s] += s.recv(65536)
            if buffers[s].startswith(b"HTTP/1.1 200") and b"event: activity" in buffers[s]:
                opened_set.add(s)
    extra = socket.create_connection(("127.0.0.1", port), timeout=10, source_address=_from(count))
    extra.sendall(get("/api/activity/stream"))
    over_cap = int(extra.recv(64).split()[1])
    extra.close()
    ready.put((len(opened_set), over_cap))
    while not stop.is_set():
        for s in select.select(socks, [], [], 0.2)[0]:
            events += s.recv(65536).count(b"event: activity")
    for s in socks:
        s.close()
    ready.put(events)


def measure_streams(port, token, keys, rate):
    """Paced device ingest without streams, then with STREAMS open."""
    base = run_load("device", port, token, keys, PACED_SECONDS, rate=rate)
    ctx = multiprocessing.get_context("fork")
    ready, stop = ctx.Queue(), ctx.Event()
    holder = ctx.Process(target=hold_streams, args=(port, STREAMS, ready, stop))
    holder.start()
    opened, over_cap = ready.get(timeout=60)
    loaded = run_load("device", port, token, keys, PACED_SECONDS, rate=rate)
    stop.set()
    events = ready.get(timeout=30)
    holder.join(timeout=30)
    base.pop("latencies")
    loaded.pop("latencies")
    return {"rate_per_s": rate, "without": base, "with": loaded, "opened": opened,
            "over_cap_status": over_cap, "events_received": events}
