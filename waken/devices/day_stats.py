"""Your day's statistics: top apps, per-device totals and an hourly histogram, read from the rollup."""
from datetime import timedelta

from waken import db, settings
from waken.devices.app_rules import AppRules, active_app_rules, key
from waken.devices.day_rollup import zone_of

DAYS = (1, 7, 30)
TOP_APPS = 10
HIDDEN = "hidden"   # what the public sees for an app an app rule hides

# The summed tables (schema.sql): a few hundred rows for 30 days, whatever the devices.
APPS_SQL = ("SELECT process_name, sum(ms) AS ms, sum(runs) AS runs FROM day_app "
            "WHERE day BETWEEN ? AND ? GROUP BY process_name")
DEVICES_SQL = ("SELECT d.name, r.ms, r.runs FROM (SELECT device_id, sum(ms) AS ms, sum(runs) AS runs "
               "FROM day_device WHERE day BETWEEN ? AND ? GROUP BY device_id) r "
               "JOIN device d ON d.id = r.device_id ORDER BY r.ms DESC, d.name")
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


def day_stats(days, at, public=True):
    """The statistics of the last `days` local days at `at`; public=True applies the app rules."""
    first, last = day_range(days, at)
    rules = active_app_rules() if public else AppRules(())
    with db.snapshot():
        app_rows = db.query(APPS_SQL, (first, last))
        device_rows = db.query(DEVICES_SQL, (first, last))
        hour_rows = {row["hour"]: row["ms"] for row in db.query(HOURS_SQL, (first, last))}
    return {
        "days": days, "from": first, "to": last, "timezone": settings.get("timezone"),
        "totalSeconds": _seconds(sum(row["ms"] or 0 for row in device_rows)),
        "apps": _apps(app_rows, rules),
        "devices": [{"device": row["name"], "seconds": _seconds(row["ms"]), "runs": row["runs"]}
                    for row in device_rows],
        "hours": [{"hour": hour, "seconds": _seconds(hour_rows.get(hour))} for hour in range(24)],
    }
