"""Template filters of the admin pages (installed by create_app): times in the configured zone, short durations."""
from zoneinfo import ZoneInfo

from flask_babel import format_datetime, gettext

from waken import settings
from waken.i18n.texts import duration


def admin_time(value, empty=None):
    """'2026-01-01 12:00:00' in the configured time zone (Babel's formatting, the same digits in every language)."""
    if value is None:
        return gettext("never") if empty is None else empty
    return format_datetime(value.astimezone(ZoneInfo(settings.get("timezone"))), "yyyy-MM-dd HH:mm:ss", rebase=False)


def admin_duration(seconds):
    """'45 s', '12 min', '3 h 5 min' in the page's language."""
    return duration(seconds)
