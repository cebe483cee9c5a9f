"""Your day's rollup: device time cut into local days and hours, written as runs end.

A run's time is [started_at, end), end being ended_at or, while open, its last report.
A run enters the rollup when it ends: in merge_or_start, when a report starts another
app, or in the expiry sweep. Reads add the open runs (at most one per device) on top, so
the rollup plus the open runs equals the sum of the runs without any read of history,
and the merge of a report into its open run (most reports) writes nothing here. The cut
is done in Python because a local midnight or hour under DST needs the IANA zone rules,
which SQLite does not have (nor can a trigger loop over the hours a long run spans).
"""
import json
from datetime import datetime, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

QUARTER_MS = 900_000   # every real zone's offset, DST included, is a multiple of 15 minutes

DAY_UPSERT = ("INSERT INTO device_day (day, device_id, process_name, ms, runs) VALUES (?, ?, ?, ?, ?) "
              "ON CONFLICT DO UPDATE SET ms = ms + excluded.ms, runs = runs + excluded.runs")
HOUR_UPSERT = "INSERT INTO day_hour (day, hour, ms) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET ms = ms + excluded.ms"


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


def add_ended(execute, zone, device_id, process_name, start_ms, end_ms):
    """Add a run that just ended: one run on its first local day, and its time [start_ms, end_ms)
    on each local day and hour it covers (one statement per day and per hour: mostly two)."""
    first = label(start_ms, zone)[0]
    days = {first: 0}
    for day, hour, ms in pieces(start_ms, end_ms, zone):
        days[day] = days.get(day, 0) + ms
        execute(HOUR_UPSERT, (day, hour, ms))
    for day, ms in days.items():
        execute(DAY_UPSERT, (day, device_id, process_name, ms, 1 if day == first else 0))


def rebuild(conn, zone_name):
    """Recompute the whole rollup from the stored runs (init-db on upgrade, `stats rebuild`)."""
    zone = zone_of(zone_name)
    for table in ("device_day", "day_app", "day_device", "day_hour"):
        conn.execute(f"DELETE FROM {table}")
    rows = conn.execute("SELECT device_id, process_name, started_at, ended_at FROM device_activity "
                        "WHERE ended_at IS NOT NULL")
    for device_id, process_name, start, end in rows.fetchall():
        add_ended(conn.execute, zone, device_id, process_name, start, end)


def stored_zone(conn):
    """The `timezone` setting as stored (UTC when unset), read over a plain connection."""
    row = conn.execute("SELECT value FROM setting WHERE key = 'timezone'").fetchone()
    return json.loads(row[0]) if row else "UTC"


def prune(execute, before_day):
    """Forget the days before before_day ('YYYY-MM-DD'), as retention forgets their runs."""
    days = execute("DELETE FROM device_day WHERE day < ?", (before_day,)).rowcount
    hours = execute("DELETE FROM day_hour WHERE day < ?", (before_day,)).rowcount
    return days + hours
