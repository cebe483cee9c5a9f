"""make bench: waken started like `make run`, driven over loopback; prints a table, writes bench-results.json."""
import base64
import io
import json
import multiprocessing
import os
import platform
import random
import select
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench-results.json"
AGENT_ROWS = 1_000_000
AGENT_DAYS = 30
FEED_DEVICES = 20
STREAMS = 32
OTLP_BATCH = 50      # log records per POST /v1/logs, about what Claude Code's batch exporter sends
CLIENTS = 6          # load-generator processes, one keep-alive connection each
ROUNDS = 3           # healthz/device/agent slices are interleaved against a noisy machine
SLICE_SECONDS = 3.0
PACED_SECONDS = 6.0
TYPES = ("tool_call", "file_read", "file_write", "command", "message", "cron_run", "agent_action")
AGENTS = ("planner", "coder", "reviewer", "ops", "scribe")
APPS = ("Code.exe", "chrome.exe", "Spotify.exe", "WindowsTerminal.exe", "Discord.exe", "explorer.exe")
TARGETS = (  # (label, result key, comparison, limit)
    ("device ingest / healthz", "device_ratio", ">=", 0.50),
    ("GET /api/activity (20 devices) / healthz", "feed_ratio", ">=", 0.80),
    ("GET / (20 devices) / healthz", "home_ratio", ">=", 0.70),
    ("conditional GET /api/activity answered 304 / healthz", "not_modified_ratio", ">=", 0.90),
    ("GET /api/activity p99, one client (ms)", "feed_p99_ms", "<=", 20),
    ("GET / p99, one client (ms)", "home_p99_ms", "<=", 20),
    ("agent ingest / healthz", "agent_ratio", ">=", 0.60),
    ("stats p50 on 1M rows (ms)", "stats_p50_ms", "<=", 250),
    ("filtered list p50 (ms)", "list_p50_ms", "<=", 25),
    ("ingest p99 with 32 streams (ms)", "streams_ingest_p99_ms", "<=", 50),
    ("peak RSS per server process (MB)", "rss_max_mb", "<=", 80),
    ("gunicorn master peak RSS (MB)", "master_hwm_mb", "<=", 30),
    ("worker RSS at idle (MB)", "worker_idle_mb", "<=", 45),
    ("worker RSS after the run (MB)", "worker_after_mb", "<=", 80),
)


# --- the load generator: raw HTTP/1.1 over keep-alive sockets, cheap enough to leave the CPU to the server


def get(path, headers=None):
    """The bytes of a GET request."""
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{k}: {v}" for k, v in (headers or {}).items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def post(path, body, headers=None):
    """The bytes of a POST request with a JSON body."""
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json",
             f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v in (headers or {}).items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Conn:
    """One keep-alive connection; request() returns (status, body)."""

    def __init__(self, port):
        self.port, self.sock, self.buf = port, None, b""

    def close(self):
        if self.sock:
            self.sock.close()
        self.sock, self.buf = None, b""

    def request(self, raw):
        for attempt in (0, 1):
            if self.sock is None:
                self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=60)
                self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                self.sock.sendall(raw)
                return self._response()
            except (ConnectionError, EOFError):
                self.close()   # the server closed an idle keep-alive connection: reconnect once
                if attempt:
                    raise

    def _fill(self):
        chunk = self.sock.recv(262144)
        if not chunk:
            raise EOFError("connection closed")
        self.buf += chunk

    def _response(self):
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        self.last_headers = headers
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                while b"\r\n" not in self.buf:
                    self._fill()
                size_line, self.buf = self.buf.split(b"\r\n", 1)
                size = int(size_line.split(b";")[0], 16)
                while len(self.buf) < size + 2:
                    self._fill()
                body, self.buf = body + self.buf[:size], self.buf[size + 2:]
                if size == 0:
                    break
        else:
            length = int(headers.get("content-length", 0))
            while len(self.buf) < length:
                self._fill()
            body, self.buf = self.buf[:length], self.buf[length:]
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, body


def percentile(values, q):
    if not values:
        return 0.0
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * q / 100))], 2)


def cover_data_urls(count, rng):
    """Distinct album covers as a reporter sends them: ~300 px JPEG data URLs."""
    from PIL import Image  # only the load processes draw covers
    urls = []
    for _ in range(count):
        small = Image.frombytes("RGB", (12, 12), rng.randbytes(12 * 12 * 3))
        buf = io.BytesIO()
        small.resize((300, 300), Image.BICUBIC).save(buf, "JPEG", quality=85)
        urls.append("data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode())
    return urls


class Reporter:
    """Reports of one worker's devices: heartbeats that merge, app switches, a new cover every 50."""

    def __init__(self, keys, auth, rng):
        self.keys, self.auth, self.rng = keys, auth, rng
        self.state = {key: {"app": rng.choice(APPS), "battery": rng.randint(40, 100), "doc": 0} for key in keys}
        self.covers = cover_data_urls(12, rng)
        self.n, self.track, self.cover_url = 0, 0, None

    def next(self):
        self.n += 1
        key = self.keys[self.n % len(self.keys)]
        st = self.state[key]
        if self.rng.random() < 0.1:    # ~1 in 10 reports is an app switch: end and start
            st["app"] = self.rng.choice([a for a in APPS if a != st["app"]])
        if self.rng.random() < 0.2:    # a new tab or document now and then
            st["doc"] = self.rng.randrange(7)
        if self.rng.random() < 0.05:
            st["battery"] = max(1, st["battery"] - 1)
        media = {"title": f"Track {self.track}", "singer": "Bench Band", "album": "Loopback",
                 "positionMs": (self.n * 1000) % 215_000, "durationMs": 215_000, "status": "playing"}
        cover = self.n % 50 == 0
        if cover:
            self.track += 1
            media["title"] = f"Track {self.track}"
            media["coverDataUrl"] = self.covers[self.track % len(self.covers)]
        elif self.cover_url:
            media["coverUrl"] = self.cover_url   # the reporter sends the returned URL back
        body = {"generatedHashKey": key, "process_name": st["app"], "device": "BENCH-PC",
                "process_title": f"{st['app']} - document {st['doc']}", "persist_minutes": None,
                "battery_level": st["battery"], "is_charging": False, "device_type": "desktop",
                "push_mode": "realtime", "metadata": {"media": media, "play_source": "spotify"}}
        return post("/api/activity", json.dumps(body).encode(), self.auth), cover

    def answered(self, status, body, cover):
        if cover and status == 200:
            self.cover_url = json.loads(body)["data"]["metadata"]["media"].get("coverUrl")


def agent_request(rng, auth, n):
    kind = rng.choice(TYPES)
    body = {"type": kind, "description": f"{kind} on src/module_{rng.randrange(500)}.py (#{n})",
            "status": "error" if rng.random() < 0.1 else "success", "duration_ms": rng.randrange(20, 5000),
            "tokens_used": rng.randrange(0, 3000), "agent": rng.choice(AGENTS),
            "metadata": {"tool": "Edit", "file": f"src/module_{rng.randrange(500)}.py"}}
    return post("/api/activities", json.dumps(body).encode(), auth)


def otlp_request(rng, auth, n):
    """POST /v1/logs: OTLP_BATCH Claude Code tool_result records as protobuf, each distinct."""
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
        ExportLogsServiceRequest,
    )
    message = ExportLogsServiceRequest()
    part = message.resource_logs.add()
    part.resource.attributes.add(key="service.name").value.string_value = "claude-code"
    records, now_ns = part.scope_logs.add().log_records, time.time_ns()
    for i in range(OTLP_BATCH):
        record = records.add(time_unix_nano=now_ns - i * 1000, observed_time_unix_nano=now_ns)
        record.body.string_value = "claude_code.tool_result"
        for key, value in (("event.name", "tool_result"), ("session.id", f"bench-{os.getpid()}"),
                           ("prompt.id", f"p{n}"), ("tool_name", rng.choice(("Bash", "Read", "Edit", "Grep"))),
                           ("success", "true" if rng.random() < 0.9 else "false"),
                           ("duration_ms", str(rng.randrange(5, 3000))), ("decision_source", "config"),
                           ("tool_parameters", json.dumps({"bash_command": f"pytest tests/test_{n}_{i}.py"}))):
            record.attributes.add(key=key).value.string_value = value
    body = message.SerializeToString()
    lines = ["POST /v1/logs HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/x-protobuf",
             f"Content-Length: {len(body)}", *(f"{k}: {v}" for k, v in auth.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


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
        cover = False
        if raw_get is not None:
            raw = raw_get
        elif kind == "healthz":
            raw = get("/healthz")
        elif kind == "device":
            raw, cover = reporter.next()
        elif kind == "otlp":
            raw = otlp_request(rng, auth, n)
        else:
            raw = agent_request(rng, auth, n)
        status, body = conn.request(raw)
        if reporter:
            reporter.answered(status, body, cover)
        if now >= begin:
            times.append((time.perf_counter() - t0) * 1000)
            statuses[status] = statuses.get(status, 0) + 1
    conn.close()
    out.put((times, statuses))


def run_load(kind, port, token, keys, seconds, clients=4, rate=None, warmup=0.5, raw_get=None):
    """Drive one kind of request from `clients` processes: closed loop, or paced at `rate` req/s in all."""
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    start_at = time.time() + 1.0   # after the workers have drawn their covers
    procs = [ctx.Process(target=_load_worker, args=(
        kind, port, token, keys[i::clients], start_at, warmup, seconds,
        clients / rate if rate else None, out, raw_get)) for i in range(clients)]
    for p in procs:
        p.start()
    parts = [out.get(timeout=seconds + 120) for _ in procs]
    for p in procs:
        p.join()
    times = [t for part_times, _ in parts for t in part_times]
    statuses = {}
    for _, part in parts:
        for status, count in part.items():
            statuses[status] = statuses.get(status, 0) + count
    return {"rps": round(len(times) / seconds, 1), "p50_ms": percentile(times, 50),
            "p99_ms": percentile(times, 99), "statuses": statuses, "latencies": times}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """waken as `make run` starts it: init-db, then gunicorn with waken.gunicorn_conf."""

    def __init__(self, instance):
        self.instance = Path(instance)
        self.port = free_port()
        self.env = {**os.environ, "WAKEN_INSTANCE_PATH": str(self.instance),
                    "WAKEN_HOST": "127.0.0.1", "WAKEN_PORT": str(self.port)}
        self.db_path = self.instance / "waken.sqlite"
        self.proc = None

    def cli(self, *args):
        out = subprocess.run([sys.executable, "-m", "flask", "--app", "waken", *args], cwd=ROOT,
                             env=self.env, capture_output=True, text=True, timeout=300, check=False)
        if out.returncode:
            raise SystemExit(f"flask {' '.join(args)} failed:\n{out.stdout}{out.stderr}")
        return out.stdout

    def start(self):
        self.cli("init-db")
        with open(self.instance / "server.log", "ab") as log:   # the child keeps its own copy
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", "python:waken.gunicorn_conf", "wsgi:app"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        conn, deadline = Conn(self.port), time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit("gunicorn exited:\n" + (self.instance / "server.log").read_text())
            try:
                if conn.request(get("/healthz"))[0] == 200:
                    return
            except OSError:
                conn.close()
            time.sleep(0.2)
        raise SystemExit("gunicorn did not answer /healthz")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()

    def pids(self):
        """The gunicorn master and its workers."""
        children = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) == self.proc.pid:
                    children.append(int(entry.name))
        return [self.proc.pid, *children]


def memory_mb(pid):
    """{"rss", "hwm", "threads", "sqlite"}: VmRSS and VmHWM in MB, threads, open SQLite connections."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            fields[line[2:5].lower()] = round(int(line.split()[1]) / 1024, 1)
        elif line.startswith("Threads:"):
            fields["threads"] = int(line.split()[1])
    links = []
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            links.append(os.readlink(fd))
        except OSError:
            continue
    fields["sqlite"] = sum(link.endswith("waken.sqlite") for link in links)   # one per connection
    return fields


def memory(server):
    """Each gunicorn process's memory: {"master": {...}, "workers": [{...}, ...]}."""
    master, *workers = server.pids()
    return {"master": memory_mb(master), "workers": [memory_mb(pid) for pid in workers]}


def file_mb(path):
    return os.path.getsize(path) / 1e6


def checkpoint(db_path):
    with sqlite3.connect(db_path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def seed_devices(db_path, now_ms):
    """20 feed devices with a full history window and a week behind it; the ingest devices."""
    rng = random.Random(20)
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("BEGIN")
    devices = [(f"Feed {i:02d}", f"bench-feed-{i:02d}-{rng.getrandbits(64):016x}",
                "mobile" if i % 3 == 0 else "desktop") for i in range(FEED_DEVICES)]
    devices += [(f"Ingest {i:02d}", f"bench-ingest-{i:02d}-{rng.getrandbits(64):016x}", "desktop")
                for i in range(CLIENTS * 2)]
    conn.executemany("INSERT INTO device (name, hash_key, status, device_type, created_at, last_seen_at) "
                     "VALUES (?, ?, 'active', ?, ?, ?)",
                     [(n, k, t, now_ms - 8 * 86_400_000, now_ms) for n, k, t in devices])
    ids = {key: row_id for row_id, key in conn.execute("SELECT id, hash_key FROM device")}
    rows = []
    for _name, key, _type in devices[:FEED_DEVICES]:
        step = rng.randint(150, 210) * 1000    # an app switch every ~3 minutes
        start = now_ms - 7 * 86_400_000
        while start < now_ms - step:
            end = start + step
            live = end + step >= now_ms
            meta = {"deviceBatteryPercent": rng.randint(5, 100), "deviceBatteryCharging": rng.random() < 0.3}
            if rng.random() < 0.5:
                meta["media"] = {"title": f"Track {rng.randint(1, 999)}", "singer": "Bench Band",
                                 "album": "Loopback", "positionMs": 42_000, "durationMs": 215_000,
                                 "status": "playing", "coverUrl": "https://example.com/cover.jpg"}
                meta["play_source"] = "spotify"
            rows.append((ids[key], rng.choice(APPS), f"window {rng.randint(1, 10**6)}", "realtime",
                         json.dumps(meta), start, now_ms - 5000 if live else end, None if live else end,
                         rng.randint(1, 4)))
            start = end
    conn.executemany("INSERT INTO device_activity (device_id, process_name, process_title, push_mode, "
                     "metadata, started_at, updated_at, ended_at, report_count) VALUES (?,?,?,?,?,?,?,?,?)", rows)
    conn.execute("COMMIT")
    conn.close()
    return [key for _n, key, _t in devices[FEED_DEVICES:]], len(rows)


def seed_agents(db_path, now_ms):
    """AGENT_ROWS agent activities over AGENT_DAYS days, in one transaction."""
    rng, n = random.Random(1), AGENT_ROWS
    span = AGENT_DAYS * 86_400_000 - 3_600_000
    stamps = sorted(now_ms - rng.randrange(span) for _ in range(n))
    kinds = rng.choices(TYPES, k=n)
    # Drawn in bulk: per-row random calls would make seeding slower than the whole benchmark.
    files = [f"src/module_{i}.py" for i in range(500)]
    rows = zip(kinds, (f"{k} on {f}: {i:x}" for k, f, i in zip(kinds, rng.choices(files, k=n), range(n))),
               rng.choices(("success", "error", "pending", "running"), weights=(16, 2, 1, 1), k=n), stamps,
               rng.choices(range(20, 30_000), k=n), rng.choices(range(4000), k=n), rng.choices(AGENTS, k=n),
               ['{"tool":"bench","tries":1}'] * n, stamps)

    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-262144")   # 256 MiB: the indexes stay in memory while loading
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO agent_activity (type, description, status, timestamp, duration_ms, "
                     "tokens_used, agent, metadata, created_at) VALUES (?,?,?,?,?,?,?,?,?)", rows)
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()


def latency(port, raw, count, max_seconds=10.0):
    """Sequential requests on one keep-alive connection: (p50, p99, statuses)."""
    conn, times, statuses = Conn(port), [], {}
    for _ in range(3):
        conn.request(raw)
    deadline = time.monotonic() + max_seconds
    for i in range(count):
        t0 = time.perf_counter()
        status, _ = conn.request(raw)
        times.append((time.perf_counter() - t0) * 1000)
        statuses[status] = statuses.get(status, 0) + 1
        if time.monotonic() > deadline and i >= 10:
            break
    conn.close()
    return {"p50_ms": percentile(times, 50), "p99_ms": percentile(times, 99), "n": len(times),
            "statuses": statuses}


def exists(port, raw):
    """Whether a route is built yet (anything but 404/405); reads the status line only (streams never end)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(raw)
        return int(s.recv(64).split()[1]) not in (404, 405)


def hold_streams(port, count, ready, stop):
    """Child process: keep `count` SSE streams open and read them until told to stop."""
    socks, events = [], 0
    for _ in range(count):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(get("/api/activity/stream"))
        socks.append(s)
    buffers, opened_set = {s: b"" for s in socks}, set()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(opened_set) < count:
        for s in select.select(socks, [], [], 0.5)[0]:
            buffers[s] += s.recv(65536)
            if buffers[s].startswith(b"HTTP/1.1 200") and b"event: activity" in buffers[s]:
                opened_set.add(s)
    opened = len(opened_set)
    extra = socket.create_connection(("127.0.0.1", port), timeout=10)
    extra.sendall(get("/api/activity/stream"))
    over_cap = int(extra.recv(64).split()[1])
    extra.close()
    ready.put((opened, over_cap))
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


def machine():
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    return {"nproc": os.cpu_count(), "cpu": model, "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version, "date": datetime.now(UTC).isoformat(timespec="seconds")}


def main():
    started = time.monotonic()
    res, notes = {"machine": machine()}, []
    with tempfile.TemporaryDirectory(prefix="waken-bench-") as tmp:
        server = Server(Path(tmp) / "instance")
        server.cli("init-db")
        token = server.cli("token", "create", "bench").strip().splitlines()[-1]
        # Every write still passes the rate limiter (its cost is measured), which never refuses here.
        server.cli("settings", "set", "rate_limit_per_minute", "1000000")
        checkpoint(server.db_path)
        empty = file_mb(server.db_path)
        now_ms = int(time.time() * 1000)
        t0 = time.monotonic()
        keys, device_rows = seed_devices(server.db_path, now_ms)
        checkpoint(server.db_path)
        with_devices = file_mb(server.db_path)
        seed_agents(server.db_path, now_ms)
        checkpoint(server.db_path)
        res["seed"] = {"seconds": round(time.monotonic() - t0, 1), "agent_rows": AGENT_ROWS,
                       "device_activity_rows": device_rows,
                       "agent_mb_per_million": round((file_mb(server.db_path) - with_devices) * 1e6 / AGENT_ROWS, 1),
                       "device_activity_mb_per_million": round((with_devices - empty) * 1e6 / device_rows, 1)}
        print(f"seeded {AGENT_ROWS:,} agent and {device_rows:,} device activities "
              f"in {res['seed']['seconds']} s", flush=True)
        server.start()
        try:
            port, auth = server.port, {"Authorization": f"Bearer {token}"}
            time.sleep(2)    # let both workers finish booting before "idle" is measured
            res["memory_idle"] = memory(server)
            res["feed"] = {"limit50": latency(port, get("/api/activity"), 200),
                           "limit200": latency(port, get("/api/activity?limit=200"), 100),
                           "home": latency(port, get("/"), 200)}
            print("measured the public feed", flush=True)
            res["agents_query"] = query_latencies(port, auth, now_ms, notes)
            print("measured agent list and stats", flush=True)
            res["throughput"] = throughput(port, token, keys, notes)
            print("measured throughput", flush=True)
            device_rps = res["throughput"]["device"]["rps"]
            if exists(port, get("/api/activity/stream")):
                res["streams"] = measure_streams(port, token, keys, max(20, round(device_rps * 0.4)))
            else:
                notes.append("GET /api/activity/stream is not built yet: streams not measured.")
            res["memory_after"] = memory(server)
            res["rss_mb"] = {str(pid): memory_mb(pid)["hwm"] for pid in server.pids()}
        finally:
            server.stop()
    res["notes"] = notes
    res["summary"] = summarise(res)
    res["seconds"] = round(time.monotonic() - started, 1)
    RESULTS.write_text(json.dumps(res, indent=2) + "\n")
    print_table(res)
    print(f"\nwhole run {res['seconds']} s; results in {RESULTS.name}")


def query_latencies(port, auth, now_ms, notes):
    """GET /api/activities with filters and /api/activities/stats on the seeded million rows."""
    if not exists(port, get("/api/activities?limit=1", auth)):
        notes.append("GET /api/activities is not built yet: list and stats not measured.")
        return {}
    today = datetime.fromtimestamp(now_ms / 1000, UTC).date()
    week_ago = today - timedelta(days=7)
    lists = {
        "newest page": "/api/activities?limit=50",
        "type+status": "/api/activities?type=tool_call&status=error&limit=50",
        "agent+dates": f"/api/activities?agent=planner&startDate={week_ago}&endDate={today}&limit=50",
        "types, oldest, offset": "/api/activities?type=file_read,file_write&sort=oldest&offset=1000&limit=50",
    }
    out = {"list": {name: latency(port, get(path, auth), 60) for name, path in lists.items()}}
    out["stats"] = {"all": latency(port, get("/api/activities/stats", auth), 20, max_seconds=15),
                    "agent": latency(port, get("/api/activities/stats?agent=coder", auth), 10, max_seconds=10)}
    return out


def throughput(port, token, keys, notes):
    """Interleaved slices of /healthz, the public reads, device and agent ingest, summed per kind.

    The reads go first, while the feed still shows the 20 seeded devices (ingest adds its own).
    """
    write_kinds = ["healthz", "device"]
    if exists(port, post("/api/activities", b"{}", {"Authorization": f"Bearer {token}"})):
        write_kinds.append("agent")
    else:
        notes.append("POST /api/activities is not built yet: agent ingest not measured.")
    if exists(port, post("/v1/logs", b"{}", {"Authorization": f"Bearer {token}"})):
        write_kinds.append("otlp")
    else:
        notes.append("POST /v1/logs is not built yet: OTLP ingest not measured.")
    # Each block has its own /healthz slices, and its ratios are taken against them.
    slices = {kind: [] for kind in ["healthz_reads", *READS, "healthz", *write_kinds[1:]]}
    for block in (["healthz_reads", *READS], write_kinds):
        for _ in range(ROUNDS):
            for name in block:
                kind = "healthz" if name.startswith("healthz") else name
                raw = READS[kind](port) if kind in READS else None
                slices[name].append(run_load(kind, port, token, keys, SLICE_SECONDS, clients=CLIENTS, raw_get=raw))
    out = {}
    for kind, parts in slices.items():
        times = [t for part in parts for t in part["latencies"]]
        statuses = {}
        for part in parts:
            for status, n in part["statuses"].items():
                statuses[status] = statuses.get(status, 0) + n
        out[kind] = {"rps": round(len(times) / (SLICE_SECONDS * ROUNDS), 1),
                     "p50_ms": percentile(times, 50), "p99_ms": percentile(times, 99), "statuses": statuses}
    return out


def _conditional_feed(port):
    """GET /api/activity with the ETag the server gives right now (ingest slices change it)."""
    conn = Conn(port)
    conn.request(get("/api/activity"))
    etag = conn.last_headers["etag"]
    conn.close()
    return get("/api/activity", {"If-None-Match": etag})


READS = {"feed": lambda port: get("/api/activity"), "home": lambda port: get("/"),
         "feed304": _conditional_feed}


def summarise(res):
    t, q, s = res["throughput"], res.get("agents_query") or {}, res.get("streams")
    h, hr = t["healthz"]["rps"], t["healthz_reads"]["rps"]
    summary = {"device_ratio": round(t["device"]["rps"] / h, 2),
               "feed_ratio": round(t["feed"]["rps"] / hr, 2), "home_ratio": round(t["home"]["rps"] / hr, 2),
               "not_modified_ratio": round(t["feed304"]["rps"] / hr, 2),
               "feed_p99_ms": res["feed"]["limit50"]["p99_ms"], "home_p99_ms": res["feed"]["home"]["p99_ms"],
               "rss_max_mb": max(res["rss_mb"].values()),
               "master_hwm_mb": res["memory_after"]["master"]["hwm"],
               "worker_idle_mb": max(w["rss"] for w in res["memory_idle"]["workers"]),
               "worker_after_mb": max(w["rss"] for w in res["memory_after"]["workers"])}
    if "agent" in t:
        summary["agent_ratio"] = round(t["agent"]["rps"] / t["healthz"]["rps"], 2)
    if "otlp" in t:
        summary["otlp_records_per_s"] = round(t["otlp"]["rps"] * OTLP_BATCH)
        if "agent" in t:
            summary["otlp_vs_agent_records"] = round(t["otlp"]["rps"] * OTLP_BATCH / t["agent"]["rps"], 1)
    if q:
        summary["stats_p50_ms"] = q["stats"]["all"]["p50_ms"]
        summary["list_p50_ms"] = max(v["p50_ms"] for v in q["list"].values())
    if s:
        summary["streams_ingest_p99_ms"] = s["with"]["p99_ms"]
    checks = []
    for label, key, op, limit in TARGETS:
        value = summary.get(key)
        met = None if value is None else (value >= limit if op == ">=" else value <= limit)
        checks.append({"target": f"{label} {op} {limit}", "value": value,
                       "met": {True: "met", False: "MISSED", None: "not measured"}[met]})
    summary["targets"] = checks
    return summary


def print_table(res):
    t, rows = res["throughput"], []
    for kind, label in (("healthz_reads", "GET /healthz (beside the reads)"), ("feed", "GET /api/activity (20 devices)"),
                        ("home", "GET / (20 devices)"), ("feed304", "GET /api/activity, If-None-Match: 304"),
                        ("healthz", "GET /healthz (beside the ingest)"),
                        ("device", "POST /api/activity (reporter mix)"), ("agent", "POST /api/activities")):
        if kind in t:
            r = t[kind]
            h = t["healthz_reads" if kind in ("healthz_reads", *READS) else "healthz"]["rps"]
            rows.append((label, f"{r['rps']:.0f} req/s ({r['rps'] / h:.0%} of healthz)",
                         f"{r['p50_ms']:.1f} / {r['p99_ms']:.1f}", _codes(r["statuses"])))
    if "otlp" in t:
        r, versus = t["otlp"], ""
        if "agent" in t:
            versus = f", {r['rps'] * OTLP_BATCH / t['agent']['rps']:.1f}x the records of POST /api/activities"
        rows.append((f"POST /v1/logs ({OTLP_BATCH} records per request)",
                     f"{r['rps'] * OTLP_BATCH:.0f} records/s ({r['rps']:.0f} req/s{versus})",
                     f"{r['p50_ms']:.1f} / {r['p99_ms']:.1f}", _codes(r["statuses"])))
    for name, r in res["feed"].items():
        path = "GET /" if name == "home" else f"GET /api/activity {name}"
        rows.append((f"{path} (20 devices, one client)", "", f"{r['p50_ms']:.1f} / {r['p99_ms']:.1f}",
                     _codes(r["statuses"])))
    q = res.get("agents_query") or {}
    for group, label in (("list", "GET /api/activities"), ("stats", "GET /api/activities/stats")):
        for name, r in q.get(group, {}).items():
            rows.append((f"{label} [{name}] on 1M", "", f"{r['p50_ms']:.1f} / {r['p99_ms']:.1f}",
                         _codes(r["statuses"])))
    if s := res.get("streams"):
        for key, label in (("without", "no streams"), ("with", f"{s['opened']} SSE streams open")):
            r = s[key]
            rows.append((f"device ingest at {s['rate_per_s']}/s, {label}", f"{r['rps']:.0f} req/s",
                         f"{r['p50_ms']:.1f} / {r['p99_ms']:.1f}", _codes(r["statuses"])))
        rows.append(("stream 33 (over the cap)", f"HTTP {s['over_cap_status']}", "",
                     f"{s['events_received']} events read"))
    for moment, label in (("memory_idle", "at idle"), ("memory_after", "after the run")):
        m = res[moment]
        rows.append((f"VmRSS / VmHWM {label} (MB)", "master " + _mem(m["master"]),
                     "workers " + ", ".join(_mem(w) for w in m["workers"]),
                     "threads / SQLite connections " + ", ".join(f"{w['threads']} / {w['sqlite']}" for w in m["workers"])))
    seed = res["seed"]
    rows.append(("database size per million rows (MB)",
                 f"agent {seed['agent_mb_per_million']:.0f}, device {seed['device_activity_mb_per_million']:.0f}",
                 "", ""))
    m = res["machine"]
    print(f"\nwaken bench: {m['nproc']} x {m['cpu']}, Python {m['python']}, SQLite {m['sqlite']}\n")
    widths = [max(len(str(r[i])) for r in rows + [_HEAD]) for i in range(4)]
    for r in [_HEAD, tuple("-" * w for w in widths), *rows]:
        print(" | ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())
    print()
    for check in res["summary"]["targets"]:
        print(f"{check['met']:>12}  {check['target']}: {check['value']}")
    for note in res["notes"]:
        print("note:", note)


_HEAD = ("measurement", "throughput", "p50 / p99 ms", "statuses")


def _mem(m):
    return f"{m['rss']:.0f} / {m['hwm']:.0f}"


def _codes(statuses):
    return " ".join(f"{code}x{n}" for code, n in sorted(statuses.items()))


if __name__ == "__main__":
    main()
