"""Durations, clock times and the scripts' texts in the page's language (Babel and the catalogs)."""
from flask_babel import format_datetime, get_translations, gettext

from waken.i18n.labels import label

# Under this a duration reads "just now" rather than a count of seconds.
JUST_NOW_SECONDS = 5


def duration(seconds, just_now=False):
    """'45 s', '12 min', '2 h 5 min', '3 d' (or 'just now' under 5 s with just_now), in the page's language."""
    seconds = max(0, int(seconds))
    if just_now and seconds < JUST_NOW_SECONDS:
        return gettext("just now")
    if seconds < 60:
        return gettext("%(n)s s", n=seconds)
    minutes = seconds // 60
    if minutes < 60:
        return gettext("%(n)s min", n=minutes)
    hours, minutes = divmod(minutes, 60)
    if not just_now or hours < 48:
        return gettext("%(h)s h %(m)s min", h=hours, m=minutes) if minutes else gettext("%(n)s h", n=hours)
    return gettext("%(n)s d", n=hours // 24)


def clock_time(moment, zone):
    """'14:05' in zone (Babel's formatting; the pattern is the same in every language)."""
    return format_datetime(moment.astimezone(zone), "HH:mm", rebase=False)


def _tool_calls(n):
    """The catalog's form for n tool calls, its %(num)s left for the script (ngettext would fill it)."""
    return get_translations().ungettext("%(num)s tool call in 5 min", "%(num)s tool calls in 5 min", n)


def script_texts():
    """The texts home.js, live.js, admin.js and agent-log-live.js show, with %(name)s placeholders."""
    return {
        "justNow": gettext("just now"), "s": gettext("%(n)s s"), "min": gettext("%(n)s min"),
        "h": gettext("%(n)s h"), "hMin": gettext("%(h)s h %(m)s min"), "d": gettext("%(n)s d"),
        "updatedAgo": gettext("updated %(age)s ago"), "updatedJustNow": gettext("updated just now"),
        "nowPrefix": gettext("now · "), "onDevice": gettext("on %(device)s"),
        "album": gettext("Album: %(album)s"), "source": gettext("Source: %(source)s"),
        "charging": gettext("⚡ charging"), "battery": gettext("Battery"), "online": gettext("online"),
        "device": gettext("device"), "desktop": label("desktop"), "mobile": label("mobile"), "tablet": label("tablet"),
        "noDevice": gettext("No device is reporting right now."),
        "nothingRecent": gettext("Nothing in the last %(n)s minutes."),
        "live": gettext("live"), "reconnecting": gettext("reconnecting…"),
        "liveTitle": gettext("Updates arrive as they happen."),
        "reconnectingTitle": gettext("The live connection is down; the page refreshes every 30 s until it is back."),
        "copied": gettext("Copied"), "copyFailed": gettext("Copy failed: select the text"),
        "newRecord": gettext("1 new record since this page was drawn."),
        "newRecords": gettext("%(n)s new records since this page was drawn."),
        "hiddenPrivate": gettext("Hidden in private mode."), "statusUntil": gettext("until %(time)s"),
        "agentWaiting": gettext("waiting for you"), "agentWorking": gettext("working"),
        "agentIdleSince": gettext("idle since %(time)s"), "agentErrorSince": gettext("error since %(time)s"),
        # home.js picks the first for 1 and the second for more; %(num)s stays for the script to fill.
        "toolCallsOne": _tool_calls(1), "toolCallsMany": _tool_calls(2),
    }
