"""Your day's rollup: device time cut into local days and hours, written as runs grow.

A run's time is [started_at, end), end being ended_at or, while open, its last report.
The report path adds each growth of that interval as it happens (merge_or_start), so
the rollup equals the sum of the runs without any read of history. The cut is done here,
in Python, because a local midnight or hour under DST needs the IANA zone rules, which
SQLite does not have (nor can a trigger loop over the hours a long run spans).
"""
import json
from datetime import datetime, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

QUARTER_MS = 900_000   # every real zone's offset, DST included, is a multiple of 15 minutes

DAY_UPSERT = ("INSERT INTO device_day (day, device_id, process_name, ms, runs) VALUES (?, ?, ?, ?, ?) "
              "ON CONFLICT DO UPDATE SET ms = ms + excluded.ms, runs = runs + excluded.runs")
HOUR_UPSERT = ("INSERT INTO device_hour (day, hour, device_id, ms) VALUES (?, ?, ?, ?) "
               "ON CONFLICT DO UPDATE SET ms = ms + excluded.ms")


@lru_cache(maxsize=8)
def zone_of(name):
    """The ZoneInfo of a time zone name (kept: looking it up is dearer than the rest of a report's share)."""
    return ZoneInfo(name)


def label(ms, zone):
    """(local date 'YYYY-MM-DD', local hour) of an instant in Unix ms."""
    return _quarter_label(ms - ms % QUARTER_MS, zone)


@lru_cache(maxsize=256)
def _quarter_label(quarter_ms, zone):
    # One label per UTC quarter hour (the whole quarter shares it): a report's lookup is then
    # a cache hit instead of a zone conversion, a tenth of its rollup cost.
    local = datetime.fromtimestamp(quarter_ms / 1000, timezone.utc).astimezone(zone)
    return local.strftime("%Y-%m-%d"), local.hour


def pieces(start_ms, end_ms, zone):
    """[(day, hour, ms)] of [start_ms, end_ms) cut at local hours (and so at local midnights).

    Local hours change only on UTC quarter hours, so the interval is walked by quarters,
    merging neighbours with the same label; a report's few seconds take one step.
    """
    out = []
    at = start_ms
    while at < end_ms:
        step = min(end_ms, at - at % QUARTER_MS + QUARTER_MS)
        day, hour = label(at, zone)
        if out and out[-1][0] == day and out[-1][1] == hour:
            out[-1][2] += step - at
        else:
            out.append([day, hour, step - at])
        at = step
    return [tuple(piece) for piece in out]


def add_span(execute, zone, device_id, process_name, start_ms, end_ms):
    """Add [start_ms, end_ms) of a run to the rollup (nothing for an empty or backwards span)."""
    if end_ms <= start_ms:
        return
    cut = pieces(start_ms, end_ms, zone)
    days = {}
    for day, hour, ms in cut:
        days[day] = days.get(day, 0) + ms
        execute(HOUR_UPSERT, (day, hour, device_id, ms))
    for day, ms in days.items():
        execute(DAY_UPSERT, (day, device_id, process_name, ms, 0))


def add_run(execute, zone, device_id, process_name, start_ms):
    """Count a run that starts at start_ms on its local day."""
    execute(DAY_UPSERT, (label(start_ms, zone)[0], device_id, process_name, 0, 1))


def rebuild(conn, zone_name):
    """Recompute the whole rollup from the stored runs (init-db on upgrade, `stats rebuild`)."""
    zone = zone_of(zone_name)
    for table in ("device_day", "device_hour", "day_app", "day_device", "day_hour"):
        conn.execute(f"DELETE FROM {table}")
    rows = conn.execute("SELECT device_id, process_name, started_at, coalesce(ended_at, updated_at) "
                        "FROM device_activity")
    for device_id, process_name, start, end in rows.fetchall():
        add_run(conn.execute, zone, device_id, process_name, start)
        add_span(conn.execute, zone, device_id, process_name, start, end)


def stored_zone(conn):
    """The `timezone` setting as stored (UTC when unset), read over a plain connection."""
    row = conn.execute("SELECT value FROM setting WHERE key = 'timezone'").fetchone()
    return json.loads(row[0]) if row else "UTC"


def prune(execute, before_day):
    """Forget the days before before_day ('YYYY-MM-DD'), as retention forgets their runs."""
    days = execute("DELETE FROM device_day WHERE day < ?", (before_day,)).rowcount
    hours = execute("DELETE FROM device_hour WHERE day < ?", (before_day,)).rowcount
    return days + hours
