"""Template filters of the admin pages (installed by create_app): times in the configured zone, short durations."""
from zoneinfo import ZoneInfo

from waken import settings


def admin_time(value, empty="never"):
    """'2026-01-01 12:00' in the configured time zone."""
    if value is None:
        return empty
    return value.astimezone(ZoneInfo(settings.get("timezone"))).strftime("%Y-%m-%d %H:%M:%S")


def admin_duration(seconds):
    """'45 s', '12 min', '3 h 5 min'."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"
