"""The public feed: live statuses and recent activities, with media normalised and rules applied."""
import json
import math
from dataclasses import dataclass
from datetime import timedelta
from types import SimpleNamespace

from waken import db, settings
from waken.app_rules import AppRules, active_app_rules
from waken.reporting import is_live
from waken.rules import active_rules
from waken.timeutil import LATEST, from_ms, now, parse_iso, to_ms

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
POSITION_KEYS = ("positionMs", "elapsedMs", "currentMs", "progressMs")
DURATION_KEYS = ("durationMs", "lengthMs", "totalMs")
STATUSES = ("playing", "paused", "stopped")
# Below this a timestamp is Unix seconds: 1e11 ms is 1973, 1e11 s is the year 5138.
SECONDS_BELOW = 10**11
LATEST_MS = to_ms(LATEST)   # stored numbers past this (year 9998) are no instant or length


# The columns of an activity the feed and the admin overview show, with its device's.
ACTIVITY_SQL = """
    SELECT a.id, a.process_name, a.process_title, a.push_mode, a.metadata, a.started_at, a.updated_at,
           a.ended_at, a.expires_at, a.report_count, d.name AS device_name, d.device_type
    FROM device_activity a JOIN device d ON d.id = a.device_id"""
NEWEST_FIRST = " ORDER BY a.updated_at DESC, a.id DESC"


def _activity(row):
    """A row as the feed reads it: times as aware datetimes, metadata parsed, the device by name."""
    return SimpleNamespace(
        id=row["id"], process_name=row["process_name"], process_title=row["process_title"],
        push_mode=row["push_mode"], meta=json.loads(row["metadata"]) if row["metadata"] else None,
        started_at=from_ms(row["started_at"]), updated_at=from_ms(row["updated_at"]),
        ended_at=_time(row["ended_at"]), expires_at=_time(row["expires_at"]), report_count=row["report_count"],
        device=SimpleNamespace(name=row["device_name"], device_type=row["device_type"]))


def _time(ms):
    return None if ms is None else from_ms(ms)


@dataclass
class FeedItem:
    """One activity as the public sees it; the stored row is only read, never changed."""

    activity: SimpleNamespace
    online: bool
    public_meta: dict
    now_playing: dict | None
    battery: dict
    process_name: str | None
    process_title: str | None

    @property
    def last_report_at(self):
        return self.activity.updated_at

    def __getattr__(self, name):
        return getattr(self.activity, name)


def build_feed(limit=DEFAULT_LIMIT, public=True):
    """The feed at this moment, in five queries whatever the number of devices.

    public=False (the admin panel) leaves app rules out: the real names and titles.
    """
    at = now()
    values = settings.load()
    stale = values["process_stale_seconds"]
    window = values["history_window_minutes"]
    rules = active_rules()
    apps = active_app_rules() if public else AppRules(())
    open_rows = db.query(ACTIVITY_SQL + " WHERE a.ended_at IS NULL" + NEWEST_FIRST)
    cutoff = to_ms(at - timedelta(minutes=window))
    recent, params = " WHERE (a.updated_at >= ? OR a.ended_at >= ?)", [cutoff, cutoff]
    if apps.hidden():
        # Hidden apps leave the history altogether (filtered here, so `limit` rows remain).
        recent += f" AND a.process_name COLLATE NOCASE NOT IN ({', '.join('?' * len(apps.hidden()))})"
        params += apps.hidden()
    recent_rows = db.query(ACTIVITY_SQL + recent + NEWEST_FIRST + " LIMIT ?", (*params, limit))

    def item(activity):
        return public_item(activity, at, stale, rules, values, apps)

    return {
        "activeStatuses": [item(a) for a in map(_activity, open_rows) if is_live(a, at, stale)],
        "recentActivities": [item(a) for a in map(_activity, recent_rows)],
        "historyWindowMinutes": window,
        "processStaleSeconds": stale,
        "generatedAt": at,
    }


def public_item(activity, at, stale, rules, values, apps=None):
    """Wrap one activity with liveness, battery and now-playing; media of blocked sources hidden,
    and the app renamed, its title hidden, or the app hidden as its app rule says."""
    meta = activity.meta if isinstance(activity.meta, dict) else {}
    view = apps.view(activity.process_name) if apps is not None else None
    name, title = activity.process_name, activity.process_title
    if view is not None and view.hide:
        # The device is online with no app: nothing of what it runs is shown.
        battery = battery_of(meta)
        return FeedItem(activity, is_live(activity, at, stale), {}, None, battery, None, None)
    if view is not None:
        name, title = view.label or name, None if view.hide_title else title
    source = meta.get("play_source")
    playing = None
    if rules.is_blocked(source):
        meta = {k: v for k, v in meta.items() if k != "media"}
    else:
        playing = now_playing(meta, activity.updated_at, at, rules.label(source),
                              covers=values["media_cover_display"], icons=values["report_app_icon"])
    online = is_live(activity, at, stale)
    if playing is not None and not online:
        playing = frozen(playing, activity.updated_at)
    return FeedItem(activity, online, meta, playing, battery_of(meta), name, title)


def frozen(playing, reported_at):
    """A track of an ended or offline activity: stopped where its last report left it."""
    if playing["status"] != "playing":
        return playing
    position = playing["positionMs"]
    if playing["startMs"] is not None:
        position = to_ms(reported_at) - playing["startMs"]
        duration = playing["durationMs"]
        position = max(0, min(position, duration) if duration else position)
    return {**playing, "status": "stopped", "positionMs": position}


def battery_of(meta):
    """{percent, charging} from the stored battery keys; unknown parts are None."""
    percent = meta.get("deviceBatteryPercent")
    charging = meta.get("deviceBatteryCharging")
    return {"percent": round(percent) if _is_number(percent) else None,
            "charging": charging if isinstance(charging, bool) else None}


def now_playing(meta, reported_at, at, label=None, covers=True, icons=True):
    """The track of metadata.media in one shape, whichever aliases the reporter used; else None."""
    media = meta.get("media")
    if not isinstance(media, dict) or not _text(media.get("title")):
        return None
    stamps = media.get("timestamps") if isinstance(media.get("timestamps"), dict) else {}
    start, end = _instant(stamps.get("start")), _instant(stamps.get("end"))
    position = _first(media, POSITION_KEYS)
    duration = _first(media, DURATION_KEYS)
    if duration is None and start is not None and end is not None and end > start:
        duration = end - start
    status = _status(media, start)
    reported_ms, at_ms = to_ms(reported_at), to_ms(at)
    if status == "playing":
        # A playing track advances: anchor it to its start so every reader sees the
        # position of this moment, not of the last report.
        if start is None and position is not None:
            start = reported_ms - position
        if start is not None:
            position = at_ms - start
            if end is None and duration is not None:
                end = start + duration
    elif position is None and start is not None:
        position = reported_ms - start
    if position is not None:
        position = max(0, min(position, duration) if duration else position)
    return {
        "title": _text(media.get("title")),
        "singer": _text(media.get("singer")) or _text(media.get("artist")),
        "album": _text(media.get("album")),
        "status": status,
        "positionMs": position,
        "durationMs": duration,
        "startMs": start,
        "endMs": end,
        "coverUrl": (_url(media.get("coverUrl")) or _url(media.get("coverDataUrl"))) if covers else None,
        "appIconUrl": (_url(media.get("appIconUrl")) or _url(media.get("iconUrl"))) if icons else None,
        "source": label or _text(meta.get("play_source_name")) or _text(meta.get("play_source")),
    }


def _status(media, start):
    status = media.get("status")
    if isinstance(status, str) and status.strip().lower() in STATUSES:
        return status.strip().lower()
    if isinstance(media.get("isPlaying"), bool):
        return "playing" if media["isPlaying"] else "paused"
    if isinstance(media.get("isPaused"), bool):
        return "paused" if media["isPaused"] else "playing"
    # Discord-style timestamps without a state describe a track that is playing.
    return "playing" if start is not None else None


def _first(media, keys):
    for key in keys:
        value = _number(media.get(key))
        if value is not None and value >= 0:
            return round(value)
    return None


def _instant(value):
    """Unix ms from Unix ms, Unix seconds or an ISO 8601 string; None when unreadable."""
    number = _number(value)
    if number is None and isinstance(value, str) and value.strip():
        try:
            return to_ms(parse_iso(value))
        except ValueError:   # also a year or offset past what a datetime holds
            return None
    if number is None or number <= 0:
        return None
    ms = round(number * 1000 if number < SECONDS_BELOW else number)
    return ms if ms <= LATEST_MS else None


def _number(value):
    if _is_number(value):
        return value
    if isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


def _is_number(value):
    # Python ints are always finite (and math.isfinite overflows on huge ones).
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))


def _text(value):
    return value.strip() or None if isinstance(value, str) else None


def _url(value):
    # Only web addresses reach an <img src>: never javascript:, and data URLs are
    # the ingest side's business (it stores them as files).
    if isinstance(value, str) and value.strip().lower().startswith(("http://", "https://")):
        return value.strip()
    return None
