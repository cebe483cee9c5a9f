"""Settings stored in the database, with typed defaults and validation in code.

The checks below raise ValueError with the reason; validate() turns it into Invalid
naming the setting.
"""
import json
import re
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask import current_app, g, request

from waken import db
from waken.db import orm
from waken.errors import Invalid
from waken.feed.locks import LOCK_SCREENS, check_lock_screens
from waken.feed.masks import check_patterns, check_presets
from waken.feed.schedule import check_schedule
from waken.models import Setting as SettingRow


def _text(max_len):
    def check(value):
        if not isinstance(value, str):
            raise ValueError("must be text")
        value = value.strip()
        if len(value) > max_len:
            raise ValueError(f"must be at most {max_len} characters")
        return value
    return check


def _int(low, high):
    def check(value):
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise ValueError(f"must be a whole number from {low} to {high}")
        try:
            number = int(str(value).strip())
        except ValueError:
            raise ValueError(f"must be a whole number from {low} to {high}") from None
        if not low <= number <= high:
            raise ValueError(f"must be a whole number from {low} to {high}")
        return number
    return check


def _bool(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "1", "on", "yes"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("false", "0", "off", "no", ""):
        return False
    raise ValueError("must be true or false")


def _choice(*options):
    def check(value):
        if not isinstance(value, str) or value.strip().lower() not in options:
            raise ValueError("must be one of " + ", ".join(options))
        return value.strip().lower()
    return check


LANGUAGES = ("auto", "zh-CN", "en")   # auto: each visitor's Accept-Language (waken.i18n)


def _language(value):
    words = {word.lower(): word for word in LANGUAGES}
    if not isinstance(value, str) or value.strip().lower() not in words:
        raise ValueError("must be one of " + ", ".join(LANGUAGES))
    return words[value.strip().lower()]


def _timezone(value):
    if not isinstance(value, str) or not value.strip():
        raise ValueError("must be an IANA time zone such as Europe/Berlin")
    try:
        ZoneInfo(value.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"'{value}' is not a known IANA time zone (for example Europe/Berlin)") from None
    return value.strip()


def _url(value):
    value = _text(300)(value).rstrip("/")
    if value and not value.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return value


def _source_list(value):
    if isinstance(value, str):
        value = [part for part in value.replace("\n", ",").split(",")]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("must be a list of play source names")
    return sorted({v.strip() for v in value if v.strip()}, key=str.lower)


HOST_RE = re.compile(r"[a-z0-9.-]+|[0-9a-f:.]*:[0-9a-f:.]*")   # a DNS name or IPv4, or an IPv6 address


def _origin(value):
    """One origin as a browser sends it in `Origin`: scheme://host[:port], lower case, no default port."""
    text = value.strip()
    not_one = f"must list origins such as https://me.example or http://192.168.1.20:8080; '{text}' is not one"
    try:
        parts = urlsplit(text[:-1] if text.endswith("/") else text)
        port = parts.port
    except ValueError:
        raise ValueError(not_one) from None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError(not_one)
    if parts.path or parts.query or parts.fragment or "@" in parts.netloc or "#" in text or "?" in text:
        raise ValueError(f"must list origins without a path, query or user name; '{text}' has one "
                         "(an origin is scheme://host[:port], such as https://me.example)")
    if not HOST_RE.fullmatch(parts.hostname):
        raise ValueError(f"must list host names as a browser sends them; '{text}' does not "
                         "(an international name goes in its xn-- form)")
    scheme = parts.scheme.lower()
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    default = {"http": 80, "https": 443}[scheme]
    return f"{scheme}://{host}" + (f":{port}" if port not in (None, default) else "")


def _origin_list(value):
    if isinstance(value, str):
        value = value.replace("\n", ",").split(",")
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("must be a list of origins such as https://me.example")
    origins = sorted({_origin(v) for v in value if v.strip()})
    if len(origins) > 50:
        raise ValueError("may name at most 50 origins")
    return origins


@dataclass(frozen=True)
class Setting:
    default: Any
    check: Callable[[Any], Any]
    label: str


SETTINGS = {
    "site_name": Setting("waken", _text(80), "Site name"),
    "bio": Setting("", _text(500), "Bio"),
    "avatar_url": Setting("", _url, "Avatar URL"),
    "currently_text": Setting("Current Status", _text(80), "Current status heading"),
    "recent_text": Setting("Recent Activity", _text(80), "Recent activity heading"),
    "history_window_minutes": Setting(120, _int(10, 1440), "History window (minutes)"),
    "process_stale_seconds": Setting(180, _int(30, 86400), "Realtime stale timeout (seconds)"),
    "timezone": Setting("UTC", _timezone, "Time zone"),
    "public_url": Setting("", _url, "Public base URL"),
    "device_registration": Setting("off", _choice("off", "pending", "auto"), "Device registration"),
    "device_max": Setting(100, _int(1, 10_000), "Most devices that reports may register"),
    "device_registrations_per_hour": Setting(10, _int(1, 10_000), "New devices per token per hour"),
    "agent_ingest_open": Setting(False, _bool, "Open agent ingest"),
    "agent_ingest_open_per_minute": Setting(60, _int(1, 1_000_000), "Writes without a token per address per minute"),
    "media_cover_display": Setting(True, _bool, "Media cover display"),
    "report_app_icon": Setting(True, _bool, "Report playback app icon"),
    "save_app_records": Setting(True, _bool, "Save app records"),
    "media_play_source_blocklist": Setting([], _source_list, "Blocked play sources (legacy)"),
    "agent_retention_days": Setting(30, _int(1, 3650), "Agent activity retention (days)"),
    "activity_retention_days": Setting(90, _int(1, 3650), "Device activity retention (days)"),
    "sse_max_streams": Setting(32, _int(1, 1000), "Concurrent live streams"),
    "admin_session_days": Setting(14, _int(1, 365), "Admin sessions last (days)"),
    "sse_max_agent_streams": Setting(8, _int(1, 1000), "Concurrent agent log streams"),
    "rate_limit_per_minute": Setting(600, _int(0, 1_000_000), "Writes per token per minute (0 = no limit)"),
    "media_max_mb": Setting(512, _int(1, 1_000_000), "Stored media limit (MB)"),
    "cors_report_origins": Setting([], _origin_list, "Browser report origins"),
    "language": Setting("auto", _language, "Interface language"),
    "public_stats": Setting("off", _choice("off", "on"), "Public day statistics"),
    "public_agents": Setting("off", _choice("off", "summary"), "Agents on the public page"),
    "private_mode": Setting(False, _bool, "Private mode (public side: your status and online dots only)"),
    "private_schedule": Setting("", check_schedule, "Private mode schedule (local time, e.g. 23:00-07:00)"),
    "title_mask_presets": Setting([], check_presets, "Masked in titles (email, url, digits)"),
    "title_masks": Setting([], check_patterns, "Title mask patterns (regular expressions, one a line)"),
    "title_mask_text": Setting("•••", lambda value: _text(40)(value) or "•••", "Masked text shown instead"),
    "lock_screen_processes": Setting(LOCK_SCREENS, check_lock_screens, "Lock-screen processes (shown as locked)"),
}


def validate(key, value):
    """The normalised value, or Invalid with a sentence naming the setting (field=key)."""
    if key not in SETTINGS:
        raise Invalid(f"'{key}' is not a setting; known settings: {', '.join(SETTINGS)}.", field=key, code="setting.unknown")
    setting = SETTINGS[key]
    try:
        return setting.check(value)
    except ValueError as err:
        raise Invalid(f"{setting.label} {err}.", field=key, code="setting.invalid") from None


SELECT_ALL = "SELECT key, value FROM setting"


def _values(rows):
    values = {key: s.default for key, s in SETTINGS.items()}
    for key, value in rows:
        if key in values:
            values[key] = json.loads(value)
    return values


def load():
    """Every setting (stored value or default) as committed when the request first asks; read once.

    A plain statement of its own (or of the transaction open then), so that asking opens none.
    """
    if "settings" not in g:
        g.settings = _values(db.query(SELECT_ALL))
    return g.settings


def adopt(values):
    """Take `values` as the request's copy when it has none yet: the settings a cached feed
    rendering was made with, which its change counter, read by this request, vouches for
    (every setting bumps it). Spares the home page a read."""
    if "settings" not in g:
        g.settings = dict(values)


def reload():
    """Every setting read again through the request's transaction, kept as the request's copy.

    For a reader that must see the settings of the same moment as its other reads
    (the feed's rendering).
    """
    g.settings = _values(db.query(SELECT_ALL))
    return g.settings


def get(key):
    """One setting's value."""
    return load()[key]


def put(key, value):
    """Validate and store one setting (the caller commits); returns the stored value.

    The request's copy shows the new value from now on.
    """
    value = validate(key, value)
    orm.session.merge(SettingRow(key=key, value=value))
    load()[key] = value
    return value


def parse_cli_value(raw):
    """A CLI value: JSON when it parses (true, 30, ["a"]), else the plain string."""
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def public_base():
    """Base for absolute URLs: the public_url setting, WAKEN_PUBLIC_URL, or the request's host."""
    return (get("public_url") or current_app.config["PUBLIC_URL"] or request.host_url).rstrip("/")
