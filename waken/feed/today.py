"""The "Today" charts: your day's statistics drawn as server-rendered SVG (no script, no remote fetch)."""
from flask_babel import gettext

from waken.admin import svg
from waken.devices.day_stats import HIDDEN, day_stats


def _app(name):
    """The public's one "hidden" entry in the page's language; an app's name as it is."""
    return gettext("hidden") if name == HIDDEN else name


def _minutes(seconds):
    return round(seconds / 60)


def today_charts(at, public=True, days=1):
    """The statistics of the last `days` local days and their charts: top apps, devices, hours (in minutes)."""
    stats = day_stats(days, at, public=public)
    return {
        "stats": stats,
        "apps": svg.labelled_bars({a["app"]: _minutes(a["seconds"]) for a in stats["apps"]},
                                  gettext("Minutes per app"), shown=_app if public else str),
        "devices": svg.labelled_bars({d["device"]: _minutes(d["seconds"]) for d in stats["devices"]},
                                     gettext("Minutes per device")),
        "hours": svg.hourly_bars([{"hour": h["hour"], "count": _minutes(h["seconds"])} for h in stats["hours"]],
                                 gettext("Minutes per hour of day")),
    }
