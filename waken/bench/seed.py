"""The database a bench run starts from, written with plain SQLite: feed devices and a million agent rows."""
import json
import os
import random
import sqlite3

from waken.bench.traffic import AGENTS, APPS, TYPES

AGENT_ROWS = 1_000_000
AGENT_DAYS = 30
FEED_DEVICES = 20


def file_mb(path):
    return os.path.getsize(path) / 1e6


def checkpoint(db_path):
    with sqlite3.connect(db_path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def seed_devices(db_path, now_ms, ingest_devices):
    """20 feed devices with a full history window and a week behind it, and `ingest_devices` to report with.

    Returns (the ingest devices' keys, how many activities were written).
    """
    rng = random.Random(20)
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("BEGIN")
    devices = [(f"Feed {i:02d}", f"bench-feed-{i:02d}-{rng.getrandbits(64):016x}",
                "mobile" if i % 3 == 0 else "desktop") for i in range(FEED_DEVICES)]
    devices += [(f"Ingest {i:02d}", f"bench-ingest-{i:02d}-{rng.getrandbits(64):016x}", "desktop")
                for i in range(ingest_devices)]
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
    """AGENT_ROWS agent activities over AGENT_DAYS days in 10,000 sessions, in one transaction."""
    rng, n = random.Random(1), AGENT_ROWS
    span = AGENT_DAYS * 86_400_000 - 3_600_000
    stamps = sorted(now_ms - rng.randrange(span) for _ in range(n))
    kinds = rng.choices(TYPES, k=n)
    # Drawn in bulk: per-row random calls would make seeding slower than the whole benchmark.
    files = [f"src/module_{i}.py" for i in range(500)]
    # Some records in Chinese and Japanese and with an emoji, for the searches (q=) to find.
    words = ("edit", "read", "run", "修复登录错误", "日本語のテキストを読む", "部署完成 🎉")
    rows = zip(kinds, (f"{k} {w} on {f}: {i:x}" for k, w, f, i in
                       zip(kinds, rng.choices(words, k=n), rng.choices(files, k=n), range(n))),
               rng.choices(("success", "error", "pending", "running"), weights=(16, 2, 1, 1), k=n), stamps,
               rng.choices(range(20, 30_000), k=n), rng.choices(range(4000), k=n), rng.choices(AGENTS, k=n),
               ['{"tool":"bench","tries":1}'] * n, stamps,
               # Sessions of 100 consecutive records (the stamps are sorted): 10,000 sessions.
               (f"bench-{i // 100:05d}" for i in range(n)))

    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-262144")   # 256 MiB: the indexes stay in memory while loading
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO agent_activity (type, description, status, timestamp, duration_ms, "
                     "tokens_used, agent, metadata, created_at, session) VALUES (?,?,?,?,?,?,?,?,?,?)", rows)
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()
