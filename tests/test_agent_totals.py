"""GET /api/activities: `total` stays exact however the filters and dates cut the rollups."""
import itertools
import random
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

# Not on any bucket or day boundary, so the retention cutoff falls inside a bucket.
NOW = datetime(2026, 5, 10, 13, 37, 12, 345000, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)
pytestmark = pytest.mark.clock(NOW)
TYPES = ("tool_call", "file_read", "command")
STATUSES = ("success", "error", "pending", "running")
AGENTS = ("planner", "coder", None)


@pytest.fixture
def rows(app, clock, runner, client, auth):
    """2,500 records over five days (three within retention), then edits and deletes through every path."""
    assert runner.invoke(args=["settings", "set", "agent_retention_days", "3"]).exit_code == 0
    rng = random.Random(12)
    stamps = [NOW_MS - rng.randrange(5 * 86_400_000) for _ in range(2500)]
    # Some rows exactly on bucket and day boundaries, and a few within the allowed clock skew.
    stamps += [NOW_MS - NOW_MS % 86_400_000 - n * 900_000 for n in range(-2, 6)] + [NOW_MS + 2000]
    with sqlite3.connect(app.config["DATABASE"]) as conn:
        conn.executemany(
            "INSERT INTO agent_activity (type, description, status, timestamp, agent, created_at) "
            "VALUES (?, 'seeded', ?, ?, ?, ?)",
            [(rng.choice(TYPES), rng.choice(STATUSES), ts, rng.choice(AGENTS), NOW_MS) for ts in stamps])
    for n in range(20):     # records arrive and finish over HTTP too
        posted = client.post("/api/activities", headers=auth, json={
            "type": TYPES[n % 3], "description": f"live {n}", "status": "running", "agent": AGENTS[n % 3],
            "timestamp": (NOW - timedelta(hours=n * 3, minutes=7)).isoformat()})
        assert posted.status_code == 201, posted.json
        if n % 2:
            done = client.patch(f"/api/activities/{posted.json['id']}", headers=auth,
                                json={"status": "error"})
            assert done.status_code == 200, done.json
    with sqlite3.connect(app.config["DATABASE"]) as conn:
        conn.execute("DELETE FROM agent_activity WHERE id % 17 = 0")
        conn.execute("UPDATE agent_activity SET type = 'command', timestamp = timestamp - 3600000 "
                     "WHERE id % 13 = 0")
        return conn.execute("SELECT type, status, agent, timestamp FROM agent_activity").fetchall()


def expected(rows, lower, upper, types=None, statuses=None, agent=None):
    return sum(1 for t, s, a, ts in rows if lower <= ts and (upper is None or ts < upper)
               and (types is None or t in types) and (statuses is None or s in statuses)
               and (agent is None or a == agent))


def iso(ms):
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_totals_equal_count_for_every_filter_and_date_edge(client, auth, rows):
    cutoff = NOW_MS - 3 * 86_400_000
    day = 86_400_000
    midnight = NOW_MS - NOW_MS % day
    # (startDate, endDate) as sent, and the [lower, upper) they mean: date-times are inclusive.
    ranges = [(None, None, cutoff, None),
              (iso(midnight - day + 123_457), None, midnight - day + 123_457, None),
              (None, iso(midnight - 2 * day + 900_000 * 7 + 1), cutoff, midnight - 2 * day + 900_000 * 7 + 2),
              (iso(midnight - 2 * day + 61_000), iso(midnight - 5), midnight - 2 * day + 61_000, midnight - 4),
              (iso(midnight - 900_000), iso(midnight + 900_000 - 1), midnight - 900_000, midnight + 900_000),
              (iso(midnight + 100), iso(midnight + 200), midnight + 100, midnight + 201),
              (iso(cutoff - day), iso(NOW_MS + 5000), cutoff, NOW_MS + 5001),
              ("2026-05-08", "2026-05-09", max(cutoff, midnight - 2 * day), midnight)]
    filters = [{}, {"type": ("tool_call",)}, {"type": ("file_read", "command")}, {"status": ("error",)},
               {"type": ("tool_call",), "status": ("running", "error")}, {"agent": "planner"},
               {"agent": "coder", "type": ("command",)}, {"agent": "planner", "status": ("success",)},
               {"agent": "coder", "type": ("tool_call", "file_read"), "status": ("pending", "error")}]
    checked = 0
    for (start, end, lower, upper), f in itertools.product(ranges, filters):
        query = {"limit": 1}
        if start:
            query["startDate"] = start
        if end:
            query["endDate"] = end
        if "type" in f:
            query["type"] = ",".join(f["type"])
        if "status" in f:
            query["status"] = ",".join(f["status"])
        if "agent" in f:
            query["agent"] = f["agent"]
        response = client.get("/api/activities", headers=auth, query_string=query)
        assert response.status_code == 200, response.json
        want = expected(rows, lower, upper, f.get("type"), f.get("status"), f.get("agent"))
        assert response.json["total"] == want, (query, response.json["total"], want)
        checked += want > 0
    assert checked > 50     # the ranges and filters are not mostly empty
