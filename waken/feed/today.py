"""The "Today" charts: your day's statistics drawn as server-rendered SVG (no script, no remote fetch)."""
from waken.admin import svg
from waken.devices.day_stats import day_stats


def _minutes(seconds):
    return round(seconds / 60)


def today_charts(at, public=True, days=1):
    """The statistics of the last `days` local days and their charts: top apps, devices, hours (in minutes)."""
    stats = day_stats(days, at, public=public)
    return {
        "stats": stats,
        "apps": svg.labelled_bars({a["app"]: _minutes(a["seconds"]) for a in stats["apps"]},
                                  "Minutes per app"),
        "devices": svg.labelled_bars({d["device"]: _minutes(d["seconds"]) for d in stats["devices"]},
                                     "Minutes per device"),
        "hours": svg.hourly_bars([{"hour": h["hour"], "count": _minutes(h["seconds"])} for h in stats["hours"]],
                                 "Minutes per hour of day"),
    }
