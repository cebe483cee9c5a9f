"""The device-report domain: device and token rules, and merge-or-start of the device's activity."""
import json
import math
from dataclasses import dataclass, field
from datetime import timedelta
from types import SimpleNamespace
from urllib.parse import quote

from waken import db, settings
from waken.alerts import events as alerts
from waken.auth.tokens import touch_token
from waken.devices import day_rollup
from waken.devices.app_records import record_app
from waken.devices.registry import (
    WEB_ADMIN_KEY,
    WEB_ADMIN_NAME,
    add_device,
    usable_name,
)
from waken.errors import Forbidden, Invalid, TooManyRequests
from waken.media.report_images import record_asset, still_stored
from waken.payload import stored_json
from waken.timeutil import from_ms, now, to_ms


@dataclass
class Outcome:
    """What a report did: the stored activity, or the device (a dict) that waits for approval."""

    device: dict
    activity: SimpleNamespace = None
    warnings: list = field(default_factory=list)

    @property
    def pending(self):
        return self.device["status"] == "pending"


def is_live(activity, at, stale_seconds):
    """Whether an activity counts as current at time `at` (computed on read, not by sweeps)."""
    if activity.ended_at is not None:
        return False
    if activity.push_mode == "active":
        return activity.expires_at is None or at <= activity.expires_at
    return (at - activity.updated_at).total_seconds() <= stale_seconds


def approval_url(device):
    """Where the owner approves a pending device."""
    return f"{settings.public_base()}/admin/devices?key={quote(device['hash_key'], safe='')}"


# The device and its open activity in one statement: the report's only read.
_DEVICE_AND_OPEN = """
    SELECT d.id, d.name, d.hash_key, d.status, d.token_id, d.device_type, d.orphaned,
           a.id AS activity_id, a.process_name, a.process_title, a.push_mode, a.metadata,
           a.started_at, a.updated_at, a.expires_at, a.report_count
    FROM device d LEFT JOIN device_activity a ON a.device_id = d.id AND a.ended_at IS NULL
    WHERE d.hash_key = ?"""
_DEVICE_COLUMNS = ("id", "name", "hash_key", "status", "token_id", "device_type", "orphaned")


def _load_device(key):
    """(device as a dict, its open activity or None), or (None, None) for an unknown key."""
    row = db.query_one(_DEVICE_AND_OPEN, (key,))
    if row is None:
        return None, None
    device = {name: row[name] for name in _DEVICE_COLUMNS}
    if row["activity_id"] is None:
        return device, None
    return device, SimpleNamespace(
        id=row["activity_id"], device=device, process_name=row["process_name"],
        process_title=row["process_title"], push_mode=row["push_mode"], meta=json.loads(row["metadata"]),
        started_at=from_ms(row["started_at"]), updated_at=from_ms(row["updated_at"]), ended_at=None,
        expires_at=_time(row["expires_at"]), report_count=row["report_count"])


def authorise_device(key, token, *, name=None, device_type=None, allow_reserved=False):
    """(device, open activity) a report may write to, registering unknown keys per the setting."""
    if key == WEB_ADMIN_KEY and not allow_reserved:
        raise Forbidden(f"The device '{WEB_ADMIN_KEY}' is reserved for the admin panel's Quick Add form.", code="device.reserved")
    device, current = _load_device(key)
    if device is None:
        device = _register(key, token, name, device_type)
    if device["status"] == "revoked":
        raise Forbidden("This device has been revoked in the admin panel.", code="device.revoked")
    if token is not None and device["orphaned"]:
        raise Forbidden("This device was bound to an API token that has been deleted; bind it to a "
                        "token or unbind it in the admin panel's Device Management first.", code="device.orphaned")
    if token is not None and device["token_id"] is not None and device["token_id"] != token.id:
        raise Forbidden("This device is bound to another API token.", code="device.token_mismatch")
    return device, current


def _register(key, token, name, device_type):
    """A new device for an unknown key, as the device_registration setting allows."""
    if key == WEB_ADMIN_KEY:
        return add_device(WEB_ADMIN_NAME, key=WEB_ADMIN_KEY)
    mode = settings.get("device_registration")
    if mode == "off":
        raise Forbidden("Unknown device: add this GeneratedHashKey in the admin panel's "
                        "Device Management first.", code="device.unknown")
    _check_room(token)
    try:
        return add_device(usable_name(name), key=key, token_id=token.id, device_type=device_type,
                          status="pending" if mode == "pending" else "active")
    except Invalid as err:
        raise Invalid(f"Invalid generatedHashKey: {err.message}", field="generatedHashKey", code="device.key_invalid") from None


def _check_room(token):
    """Refuse a registration past device_max devices (403), or past the token's hourly registrations (429)."""
    most = settings.get("device_max")
    count = db.value("SELECT count(*) FROM device")
    if count >= most:
        raise Forbidden(f"This server already has {count} devices and registers no more by report "
                        f"(device_max is {most}); remove unused devices in the admin panel or raise device_max.", code="device.limit_reached", params={"limit": most})
    per_hour = settings.get("device_registrations_per_hour")
    hour_ago = to_ms(now() - timedelta(hours=1))
    recent = [at for (at,) in db.query("SELECT created_at FROM device WHERE token_id = ? AND created_at > ? "
                                       "ORDER BY created_at DESC LIMIT ?", (token.id, hour_ago, per_hour))]
    if len(recent) >= per_hour:
        wait = max(1, math.ceil((recent[-1] - hour_ago) / 1000))
        raise TooManyRequests(f"This token has registered {per_hour} new devices within the last hour, the "
                              f"most device_registrations_per_hour allows. Try again in {wait} s.", retry_after=wait, code="rate_limited", params={"scope": "device_registration", "limit": per_hour, "retryAfter": wait})


def verify_device(probe, token):
    """The device a verify probe names, registered as a report would be; an active one takes the name sent."""
    device, _ = authorise_device(probe["generatedHashKey"], token, name=probe.get("device"),
                                 device_type=probe.get("deviceType"))
    name = usable_name(probe.get("device")) or device["name"]
    device_type = probe.get("deviceType") or device["device_type"]
    if device["status"] == "active" and (name, device_type) != (device["name"], device["device_type"]):
        device.update(name=name, device_type=device_type)
        db.execute("UPDATE device SET name = ?, device_type = ? WHERE id = ?", (name, device_type, device["id"]))
    return device


def submit_report(report, token, images, *, allow_reserved=False):
    """Store a validated report inside `with db.write():`; the view commits.

    images comes from report_images.prepare_images(report), so no image is decoded
    under the write lock.
    """
    at = now()
    device, current = authorise_device(report["generatedHashKey"], token, name=report.get("device"),
                                       device_type=report.get("device_type"),
                                       allow_reserved=allow_reserved)
    if device["status"] == "pending":
        return Outcome(device)
    incoming, warnings = dict(images.metadata), list(images.warnings)
    kept = still_stored(incoming, images.stored, warnings)
    if report.get("battery_level") is not None:
        incoming["deviceBatteryPercent"] = round(report["battery_level"])
    if report.get("is_charging") is not None:
        incoming["deviceBatteryCharging"] = report["is_charging"]

    device["name"] = usable_name(report.get("device")) or device["name"]
    device["device_type"] = report.get("device_type") or device["device_type"]
    activity = merge_or_start(device, current, report, incoming, at)
    alerts.device_report(device, activity.meta, at)     # battery, in this transaction
    db.execute("UPDATE device SET name = ?, device_type = ?, last_seen_at = ? WHERE id = ?",
               (device["name"], device["device_type"], to_ms(at), device["id"]))
    if token is not None:
        touch_token(token, at)
    if settings.get("save_app_records"):
        record_app(device["device_type"], activity.process_name, report.get("process_title"), at)
    for image in kept:
        record_asset(image, at)
    return Outcome(device, activity, warnings)


def merge_or_start(device, current, report, incoming, at):
    """Merge into the device's live activity of the same process, or end it and start anew."""
    stale = settings.get("process_stale_seconds")
    mode = report.get("push_mode") or "realtime"
    minutes = report.get("persist_minutes")
    expires = at + timedelta(minutes=minutes) if mode == "active" and minutes else None

    if current is not None and current.process_name == report["process_name"] and is_live(current, at, stale):
        current.meta = merge_metadata(current.meta, incoming)
        if report.get("process_title") is not None:
            current.process_title = report["process_title"]
        current.updated_at, current.push_mode, current.expires_at = at, mode, expires
        current.report_count += 1
        db.execute("UPDATE device_activity SET process_title = ?, push_mode = ?, metadata = ?, "
                   "updated_at = ?, expires_at = ?, report_count = report_count + 1 WHERE id = ?",
                   (current.process_title, mode, stored_json(current.meta), to_ms(at), _ms(expires), current.id))
        return current

    if current is not None:
        zone = day_rollup.zone_of(settings.get("timezone"))
        ended = at if is_live(current, at, stale) else current.updated_at
        db.execute("UPDATE device_activity SET ended_at = ? WHERE id = ?", (to_ms(ended), current.id))
        # The run enters your day's rollup as it ends (an open run is added on read: merges cost nothing).
        day_rollup.add_ended(db.execute, zone, device["id"], current.process_name,
                             to_ms(current.started_at), to_ms(ended))
        # Battery state belongs to the device: a report that omits it keeps the last one.
        for key in ("deviceBatteryPercent", "deviceBatteryCharging"):
            if key not in incoming and key in current.meta:
                incoming[key] = current.meta[key]
    title = report.get("process_title")
    cursor = db.execute(
        "INSERT INTO device_activity (device_id, process_name, process_title, push_mode, metadata, "
        "started_at, updated_at, expires_at, report_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)",
        (device["id"], report["process_name"], title, mode, stored_json(incoming), to_ms(at), to_ms(at),
         _ms(expires)))
    return SimpleNamespace(id=cursor.lastrowid, device=device, process_name=report["process_name"],
                           process_title=title, push_mode=mode, meta=incoming, started_at=at, updated_at=at,
                           ended_at=None, expires_at=expires, report_count=1)


def merge_metadata(old, new):
    """Shallow merge; media merges one level deeper unless a new track title starts afresh."""
    merged = {**old, **new}
    old_media, new_media = old.get("media"), new.get("media")
    if isinstance(old_media, dict) and isinstance(new_media, dict):
        title = new_media.get("title")
        new_track = isinstance(title, str) and title.strip() and title.strip() != str(old_media.get("title") or "").strip()
        merged["media"] = new_media if new_track else {**old_media, **new_media}
    return merged


def _time(ms):
    return None if ms is None else from_ms(ms)


def _ms(dt):
    return None if dt is None else to_ms(dt)
