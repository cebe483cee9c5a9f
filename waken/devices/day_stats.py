"""Your day's statistics: top apps, per-device totals and an hourly histogram, from the rollup and the open runs."""
from datetime import datetime, timedelta

from waken import db, settings
from waken.devices.app_rules import AppRules, active_app_rules, key
from waken.devices.day_rollup import label, pieces, zone_of

DAYS = (1, 7, 30)
TOP_APPS = 10
HIDDEN = "hidden"   # what the public sees for an app an app rule hides

# The summed tables (schema.sql): a few hundred rows for 30 days, whatever the devices.
APPS_SQL = ("SELECT process_name, sum(ms) AS ms, sum(runs) AS runs FROM day_app "
            "WHERE day BETWEEN ? AND ? GROUP BY process_name")
DEVICES_SQL = ("SELECT d.id, d.name, r.ms, r.runs FROM (SELECT device_id, sum(ms) AS ms, sum(runs) AS runs "
               "FROM day_device WHERE day BETWEEN ? AND ? GROUP BY device_id) r "
               "JOIN device d ON d.id = r.device_id")
# The runs still open (at most one per device, through the partial index device_activity_open):
# the rollup has them once they end.
OPEN_SQL = ("SELECT a.device_id, d.name, a.process_name, a.started_at, a.updated_at FROM device_activity a "
            "JOIN device d ON d.id = a.device_id WHERE a.ended_at IS NULL")
HOURS_SQL = "SELECT hour, sum(ms) AS ms FROM day_hour WHERE day BETWEEN ? AND ? GROUP BY hour"


def day_range(days, at):
    """(first, last) local dates 'YYYY-MM-DD' of the last `days` days, today included."""
    today = at.astimezone(zone_of(settings.get("timezone"))).date()
    return (today - timedelta(days=days - 1)).isoformat(), today.isoformat()


def _seconds(ms):
    return int(round((ms or 0) / 1000))


def _apps(rows, rules):
    """Rows per process name → apps as shown: renamed by label, hidden ones as one "hidden"."""
    merged = {}
    for row in rows:
        name = row["process_name"]
        view = rules.view(name)
        if view is not None and view.hide:
            shown, group = HIDDEN, ("hidden",)
        else:
            shown = (view.label if view is not None and view.label else name)
            group = ("app", key(shown))
        entry = merged.setdefault(group, {"app": shown, "ms": 0, "runs": 0})
        entry["ms"] += row["ms"] or 0
        entry["runs"] += row["runs"] or 0
    ranked = sorted(merged.values(), key=lambda e: (-e["ms"], -e["runs"], e["app"]))
    return [{"app": e["app"], "seconds": _seconds(e["ms"]), "runs": e["runs"]} for e in ranked[:TOP_APPS]]


def _open_runs(first, last, apps, devices, hours):
    """Add the open runs' time within [first, last] to the rows read from the rollup."""
    zone = zone_of(settings.get("timezone"))
    start_ms = int(datetime.combine(datetime.fromisoformat(first).date(), datetime.min.time(), zone).timestamp() * 1000)
    for run in db.query(OPEN_SQL):
        runs = 1 if first <= label(run["started_at"], zone)[0] <= last else 0
        ms = 0
        for day, hour, part in pieces(max(run["started_at"], start_ms), run["updated_at"], zone):
            if first <= day <= last:
                ms += part
                hours[hour] = hours.get(hour, 0) + part
        if ms or runs:
            apps.append({"process_name": run["process_name"], "ms": ms, "runs": runs})
            entry = devices.setdefault(run["device_id"], {"name": run["name"], "ms": 0, "runs": 0})
            entry["ms"] += ms
            entry["runs"] += runs


def day_stats(days, at, public=True):
    """The statistics of the last `days` local days at `at`; public=True applies the app rules."""
    first, last = day_range(days, at)
    rules = active_app_rules() if public else AppRules(())
    with db.snapshot():
        apps = [dict(row) for row in db.query(APPS_SQL, (first, last))]
        devices = {row["id"]: {"name": row["name"], "ms": row["ms"] or 0, "runs": row["runs"] or 0}
                   for row in db.query(DEVICES_SQL, (first, last))}
        hours = {row["hour"]: row["ms"] or 0 for row in db.query(HOURS_SQL, (first, last))}
        _open_runs(first, last, apps, devices, hours)
    ranked = sorted(devices.values(), key=lambda d: (-d["ms"], d["name"]))
    return {
        "days": days, "from": first, "to": last, "timezone": settings.get("timezone"),
        "totalSeconds": _seconds(sum(d["ms"] for d in ranked)),
        "apps": _apps(apps, rules),
        "devices": [{"device": d["name"], "seconds": _seconds(d["ms"]), "runs": d["runs"]} for d in ranked],
        "hours": [{"hour": hour, "seconds": _seconds(hours.get(hour))} for hour in range(24)],
    }
