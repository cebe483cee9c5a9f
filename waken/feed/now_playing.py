"""What a report's metadata says is playing, and its battery, in one shape whichever aliases the reporter used."""
import math

from waken.timeutil import LATEST, parse_iso, to_ms

POSITION_KEYS = ("positionMs", "elapsedMs", "currentMs", "progressMs")
DURATION_KEYS = ("durationMs", "lengthMs", "totalMs")
STATUSES = ("playing", "paused", "stopped")
# Below this a timestamp is Unix seconds: 1e11 ms is 1973, 1e11 s is the year 5138.
SECONDS_BELOW = 10**11
LATEST_MS = to_ms(LATEST)   # stored numbers past this (year 9998) are no instant or length


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
