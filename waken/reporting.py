"""The device-report domain: device and token rules, images, merge-or-start, liveness."""
import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import quote

from flask import current_app

from waken import media_quota, settings
from waken.db import raw_connection
from waken.devices import WEB_ADMIN_KEY, WEB_ADMIN_NAME, create_device, usable_name
from waken.errors import ApiError, Invalid
from waken.media import MediaError, is_data_url, store_data_url, stored_path
from waken.payload import stored_json
from waken.timeutil import from_ms, now, to_ms
from waken.tokens import touch_token

ICON_DATA_KEYS = ("appIconDataUrl", "iconDataUrl", "sourceIconDataUrl", "playerIconDataUrl",
                  "programIconDataUrl")
APP_RECORD_INTERVAL = timedelta(seconds=60)   # last_seen_at of an app record, at most this often


@dataclass
class DeviceRef:
    """The reporting device, as the hot path reads it."""

    id: int
    name: str
    hash_key: str
    status: str
    token_id: int = None
    device_type: str = None
    orphaned: bool = False


@dataclass
class Activity:
    """A device activity as read and written by the hot path (same attributes as the model)."""

    id: int
    device: DeviceRef
    process_name: str
    process_title: str
    push_mode: str
    meta: dict
    started_at: datetime
    updated_at: datetime
    ended_at: datetime = None
    expires_at: datetime = None
    report_count: int = 1


@dataclass
class Outcome:
    """What a report did: the stored activity, or the device that waits for approval."""

    device: DeviceRef
    activity: Activity = None
    warnings: list = field(default_factory=list)

    @property
    def pending(self):
        return self.device.status == "pending"


def is_live(activity, at, stale_seconds):
    """Whether an activity counts as current at time `at` (computed on read, not by sweeps)."""
    if activity.ended_at is not None:
        return False
    if activity.push_mode == "active":
        return activity.expires_at is None or at <= activity.expires_at
    return (at - activity.updated_at).total_seconds() <= stale_seconds


def approval_url(device):
    """Where the owner approves a pending device."""
    return f"{settings.public_base()}/admin/devices?key={quote(device.hash_key, safe='')}"


# The device and its open activity in one statement: the report's only read.
_DEVICE_AND_OPEN = """
    SELECT d.id, d.name, d.hash_key, d.status, d.token_id, d.device_type, d.orphaned,
           a.id, a.process_name, a.process_title, a.push_mode, a.metadata,
           a.started_at, a.updated_at, a.expires_at, a.report_count
    FROM device d LEFT JOIN device_activity a ON a.device_id = d.id AND a.ended_at IS NULL
    WHERE d.hash_key = ?"""


def _load_device(key):
    """(device, its open activity or None), or (None, None) for an unknown key."""
    row = raw_connection().execute(_DEVICE_AND_OPEN, (key,)).fetchone()
    if row is None:
        return None, None
    device = DeviceRef(*row[:6], bool(row[6]))
    if row[7] is None:
        return device, None
    return device, Activity(row[7], device, row[8], row[9], row[10], json.loads(row[11]),
                            from_ms(row[12]), from_ms(row[13]), None, _time(row[14]), row[15])


def _time(ms):
    return None if ms is None else from_ms(ms)


def authorise_device(key, token, *, name=None, device_type=None, allow_reserved=False):
    """(device, open activity) a report may write to, registering unknown keys per the setting; else 403."""
    if key == WEB_ADMIN_KEY and not allow_reserved:
        raise ApiError(403, f"The device '{WEB_ADMIN_KEY}' is reserved for the admin panel's Quick Add form.")
    device, current = _load_device(key)
    if device is None:
        device = _register(key, token, name, device_type)
    if device.status == "revoked":
        raise ApiError(403, "This device has been revoked in the admin panel.")
    if token is not None and device.orphaned:
        raise ApiError(403, "This device was bound to an API token that has been deleted; bind it to a "
                            "token or unbind it in the admin panel's Device Management first.")
    if token is not None and device.token_id is not None and device.token_id != token.id:
        raise ApiError(403, "This device is bound to another API token.")
    return device, current


def _register(key, token, name, device_type):
    """A new device for an unknown key, as the device_registration setting allows."""
    if key == WEB_ADMIN_KEY:
        created = create_device(WEB_ADMIN_NAME, key=WEB_ADMIN_KEY)
    else:
        mode = settings.get("device_registration")
        if mode == "off":
            raise ApiError(403, "Unknown device: add this GeneratedHashKey in the admin panel's "
                                "Device Management first.")
        try:
            created = create_device(usable_name(name), key=key, token_id=token.id, device_type=device_type,
                                    status="pending" if mode == "pending" else "active")
        except Invalid as err:
            raise ApiError(400, f"Invalid generatedHashKey: {err.message}",
                           fields={"generatedHashKey": err.message}) from None
    return DeviceRef(created.id, created.name, created.hash_key, created.status, created.token_id,
                     created.device_type)


def verify_device(probe, token):
    """The device a verify probe names, registered as a report would be; an active one takes the name sent."""
    device, _ = authorise_device(probe["generatedHashKey"], token, name=probe.get("device"),
                                 device_type=probe.get("deviceType"))
    name = usable_name(probe.get("device")) or device.name
    device_type = probe.get("deviceType") or device.device_type
    if device.status == "active" and (name, device_type) != (device.name, device.device_type):
        device.name, device.device_type = name, device_type
        raw_connection().execute("UPDATE device SET name = ?, device_type = ? WHERE id = ?",
                                 (device.name, device.device_type, device.id))
    return device


@dataclass
class Images:
    """A report's metadata with its image data URLs already decoded and stored as files."""

    metadata: dict
    warnings: list
    stored: list


def prepare_images(report):
    """Decode, re-encode and store the report's images: call it before begin_write()."""
    return Images(*extract_images(report.get("metadata") or {}))


def submit_report(report, token, images, *, allow_reserved=False):
    """Store a validated report in the open write transaction (see db.write); caller commits.

    images comes from prepare_images(report), so no image is decoded under the write lock.
    """
    at = now()
    device, current = authorise_device(report["generatedHashKey"], token, name=report.get("device"),
                                       device_type=report.get("device_type"),
                                       allow_reserved=allow_reserved)
    if device.status == "pending":
        return Outcome(device)
    incoming, warnings = dict(images.metadata), list(images.warnings)
    kept = _still_stored(incoming, images.stored, warnings)
    if report.get("battery_level") is not None:
        incoming["deviceBatteryPercent"] = round(report["battery_level"])
    if report.get("is_charging") is not None:
        incoming["deviceBatteryCharging"] = report["is_charging"]

    device.name = usable_name(report.get("device")) or device.name
    device.device_type = report.get("device_type") or device.device_type
    activity = merge_or_start(device, current, report, incoming, at)
    conn = raw_connection()
    conn.execute("UPDATE device SET name = ?, device_type = ?, last_seen_at = ? WHERE id = ?",
                 (device.name, device.device_type, to_ms(at), device.id))
    if token is not None:
        touch_token(token, at)
    if settings.get("save_app_records"):
        record_app(device, activity.process_name, report.get("process_title"), at)
    for image in kept:
        _record_asset(image, at)
    return Outcome(device, activity, warnings)


def _still_stored(metadata, stored, warnings):
    """The stored images whose files are still there, now that the write lock is held.

    The media sweep (which holds the lock) may have removed a reused file between
    decoding and now; its URL is then dropped with a warning rather than kept broken.
    """
    kept = []
    for image in stored:
        if stored_path(current_app.config["MEDIA_DIR"], image).exists():
            kept.append(image)
            continue
        media = metadata["media"] = dict(metadata["media"])
        for key in [k for k, v in media.items() if isinstance(v, str) and v.endswith("/" + image.filename)]:
            del media[key]
            warnings.append(f"{key} was dropped: its stored file was cleaned up meanwhile; send the image again.")
    return kept


def merge_or_start(device, current, report, incoming, at):
    """Merge into the device's live activity of the same process, or end it and start anew."""
    conn = raw_connection()
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
        meta = stored_json(current.meta)
        conn.execute("UPDATE device_activity SET process_title = ?, push_mode = ?, metadata = ?, "
                     "updated_at = ?, expires_at = ?, report_count = report_count + 1 WHERE id = ?",
                     (current.process_title, mode, meta, to_ms(at), _ms(expires), current.id))
        return current

    if current is not None:
        ended = at if is_live(current, at, stale) else current.updated_at
        conn.execute("UPDATE device_activity SET ended_at = ? WHERE id = ?", (to_ms(ended), current.id))
        # Battery state belongs to the device: a report that omits it keeps the last one.
        for key in ("deviceBatteryPercent", "deviceBatteryCharging"):
            if key not in incoming and key in current.meta:
                incoming[key] = current.meta[key]
    title = report.get("process_title")
    cursor = conn.execute(
        "INSERT INTO device_activity (device_id, process_name, process_title, push_mode, metadata, "
        "started_at, updated_at, expires_at, report_count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1)",
        (device.id, report["process_name"], title, mode, stored_json(incoming), to_ms(at), to_ms(at),
         _ms(expires)))
    return Activity(cursor.lastrowid, device, report["process_name"], title, mode, incoming, at, at,
                    None, expires)


def _ms(dt):
    return None if dt is None else to_ms(dt)


def merge_metadata(old, new):
    """Shallow merge; media merges one level deeper unless a new track title starts afresh."""
    merged = {**old, **new}
    old_media, new_media = old.get("media"), new.get("media")
    if isinstance(old_media, dict) and isinstance(new_media, dict):
        title = new_media.get("title")
        new_track = isinstance(title, str) and title.strip() and title.strip() != str(old_media.get("title") or "").strip()
        merged["media"] = new_media if new_track else {**old_media, **new_media}
    return merged


def extract_images(metadata):
    """Replace image data URLs in metadata.media by stored-file URLs; returns (metadata, warnings, images)."""
    metadata = dict(metadata)
    media = metadata.get("media")
    if not isinstance(media, dict):
        return metadata, [], []
    media = metadata["media"] = dict(media)
    warnings, images = [], []

    def take(value, kind, label, enabled):
        """The URL to keep for one image value, or None (with a warning) to drop it."""
        if not isinstance(value, str) or not value.strip():
            return None
        value = value.strip()
        if is_data_url(value):
            if not enabled:
                warnings.append(f"{label} was dropped: this server does not store {kind} images.")
                return None
            started = time.time()
            try:
                image = store_data_url(value, kind, current_app.config["MEDIA_DIR"],
                                       max_input_bytes=current_app.config["IMAGE_MAX_BYTES"],
                                       max_pixels=current_app.config["IMAGE_MAX_PIXELS"])
            except MediaError as err:
                warnings.append(f"{label} was dropped: {err}")
                return None
            if not media_quota.admit(image, started):
                warnings.append(f"{label} was dropped: the media store is full "
                                f"(media_max_mb is {settings.get('media_max_mb')}).")
                return None
            images.append(image)
            return f"{settings.public_base()}/media/{kind}/{image.filename}"
        if value.lower().startswith(("http://", "https://")) and len(value) <= 2048:
            return value
        warnings.append(f"{label} was dropped: it is neither an image data URL nor an http(s) URL.")
        return None

    covers_on = settings.get("media_cover_display")
    icons_on = settings.get("report_app_icon")
    cover = take(media.pop("coverDataUrl", None), "cover", "coverDataUrl", covers_on)
    given_cover = take(media.pop("coverUrl", None), "cover", "coverUrl", covers_on)
    if cover or given_cover:
        media["coverUrl"] = cover or given_cover
    icon_values = [media.pop(key) for key in ICON_DATA_KEYS if key in media]
    icon = next(filter(None, (take(v, "icon", "appIconDataUrl", icons_on) for v in icon_values)), None)
    for key in ("appIconUrl", "iconUrl"):
        if key in media:
            kept = take(media.pop(key), "icon", key, icons_on)
            if kept:
                media[key] = kept
    if icon:
        media["appIconUrl"] = icon
    return metadata, warnings, images


def record_app(device, process_name, title, at):
    """Remember an app for rule selection and export: latest 3 titles, newest first."""
    conn = raw_connection()
    group = "mobile" if device.device_type in ("mobile", "tablet") else "pc"
    title = (title or "").strip()
    row = conn.execute("SELECT id, titles, last_seen_at FROM app_record WHERE app_group = ? AND process_name = ?",
                       (group, process_name)).fetchone()
    if row is None:
        conn.execute("INSERT INTO app_record (app_group, process_name, titles, last_seen_at) VALUES (?, ?, ?, ?)",
                     (group, process_name, _dumps([title] if title else []), to_ms(at)))
        return
    record_id, titles, last_seen = row[0], json.loads(row[1]), from_ms(row[2])
    if title and titles[:1] != [title]:
        titles = ([title] + [t for t in titles if t != title])[:3]
        conn.execute("UPDATE app_record SET titles = ?, last_seen_at = ? WHERE id = ?",
                     (_dumps(titles), to_ms(at), record_id))
    elif at - last_seen >= APP_RECORD_INTERVAL:
        conn.execute("UPDATE app_record SET last_seen_at = ? WHERE id = ?", (to_ms(at), record_id))


def _record_asset(image, at):
    raw_connection().execute(
        "INSERT INTO media_asset (kind, sha256, filename, mime, size, width, height, created_at, last_used_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (kind, sha256) DO UPDATE SET last_used_at = excluded.last_used_at",
        (image.kind, image.sha256, image.filename, image.mime, image.size, image.width, image.height,
         to_ms(at), to_ms(at)))


def _dumps(value):
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
