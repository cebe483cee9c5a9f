"""The device-report domain: device and token rules, images, merge-or-start, liveness."""
import json
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import quote

from flask import current_app
from sqlalchemy import select
from sqlalchemy.dialects.sqlite import insert

from waken import settings
from waken.auth import touch_token
from waken.db import db
from waken.devices import WEB_ADMIN_KEY, WEB_ADMIN_NAME, create_device, find_device
from waken.errors import ApiError
from waken.media import MediaError, is_data_url, store_data_url
from waken.models import AppRecord, DeviceActivity, MediaAsset
from waken.timeutil import now

ICON_DATA_KEYS = ("appIconDataUrl", "iconDataUrl", "sourceIconDataUrl", "playerIconDataUrl",
                  "programIconDataUrl")
APP_RECORD_INTERVAL = timedelta(seconds=60)   # last_seen_at of an app record, at most this often


@dataclass
class Outcome:
    """What a report did: the stored activity, or the device that waits for approval."""

    device: object
    activity: DeviceActivity = None
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


def authorise_device(key, token, *, name=None, device_type=None, allow_reserved=False):
    """The device a report may write to, registering unknown keys per the setting; else 403."""
    if key == WEB_ADMIN_KEY and not allow_reserved:
        raise ApiError(403, f"The device '{WEB_ADMIN_KEY}' is reserved for the admin panel's Quick Add form.")
    device = find_device(key)
    if device is None:
        if key == WEB_ADMIN_KEY:
            return create_device(WEB_ADMIN_NAME, key=WEB_ADMIN_KEY)
        mode = settings.get("device_registration")
        if mode == "off":
            raise ApiError(403, "Unknown device: add this GeneratedHashKey in the admin panel's "
                                "Device Management first.")
        try:
            device = create_device(name or key, key=key, token_id=token.id, device_type=device_type,
                                   status="pending" if mode == "pending" else "active")
        except ValueError as err:
            raise ApiError(400, f"Invalid generatedHashKey: {err}.",
                           fields={"generatedHashKey": str(err)}) from None
    if device.status == "revoked":
        raise ApiError(403, "This device has been revoked in the admin panel.")
    if token is not None and device.token_id is not None and device.token_id != token.id:
        raise ApiError(403, "This device is bound to another API token.")
    return device


def submit_report(report, token, *, allow_reserved=False):
    """Store a validated report in the open write transaction (see db.begin_write); caller commits."""
    at = now()
    device = authorise_device(report["generatedHashKey"], token, name=report.get("device"),
                              device_type=report.get("device_type"), allow_reserved=allow_reserved)
    if device.status == "pending":
        return Outcome(device)
    incoming, warnings, images = extract_images(report.get("metadata") or {}, at)
    if report.get("battery_level") is not None:
        incoming["deviceBatteryPercent"] = round(report["battery_level"])
    if report.get("is_charging") is not None:
        incoming["deviceBatteryCharging"] = report["is_charging"]

    if report.get("device") and report["device"] != device.name:
        device.name = report["device"]
    if report.get("device_type"):
        device.device_type = report["device_type"]
    activity = merge_or_start(device, report, incoming, at)
    _check_size(activity.meta)

    device.last_seen_at = at
    if token is not None:
        touch_token(token, at)
    if settings.get("save_app_records"):
        record_app(device, activity.process_name, report.get("process_title"), at)
    for image in images:
        _record_asset(image, at)
    return Outcome(device, activity, warnings)


def merge_or_start(device, report, incoming, at):
    """Merge into the device's live activity of the same process, or end it and start anew."""
    stale = settings.get("process_stale_seconds")
    mode = report.get("push_mode") or "realtime"
    minutes = report.get("persist_minutes")
    expires = at + timedelta(minutes=minutes) if mode == "active" and minutes else None
    current = db.session.scalar(select(DeviceActivity).where(
        DeviceActivity.device_id == device.id, DeviceActivity.ended_at.is_(None)))

    if current is not None and current.process_name == report["process_name"] and is_live(current, at, stale):
        current.meta = merge_metadata(current.meta, incoming)
        if report.get("process_title") is not None:
            current.process_title = report["process_title"]
        current.updated_at = at
        current.push_mode = mode
        current.expires_at = expires
        current.report_count += 1
        return current

    if current is not None:
        current.ended_at = at if is_live(current, at, stale) else current.updated_at
        # Battery state belongs to the device: a report that omits it keeps the last one.
        for key in ("deviceBatteryPercent", "deviceBatteryCharging"):
            if key not in incoming and key in current.meta:
                incoming[key] = current.meta[key]
        db.session.flush()   # end it before the insert: one open activity per device
    activity = DeviceActivity(device=device, process_name=report["process_name"],
                              process_title=report.get("process_title"), push_mode=mode,
                              meta=incoming, started_at=at, updated_at=at, expires_at=expires,
                              report_count=1)
    db.session.add(activity)
    db.session.flush()
    return activity


def merge_metadata(old, new):
    """Shallow merge; media merges one level deeper unless a new track title starts afresh."""
    merged = {**old, **new}
    old_media, new_media = old.get("media"), new.get("media")
    if isinstance(old_media, dict) and isinstance(new_media, dict):
        title = new_media.get("title")
        new_track = isinstance(title, str) and title.strip() and title.strip() != str(old_media.get("title") or "").strip()
        merged["media"] = new_media if new_track else {**old_media, **new_media}
    return merged


def extract_images(metadata, at):
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
            try:
                image = store_data_url(value, kind, current_app.config["MEDIA_DIR"],
                                       max_input_bytes=current_app.config["IMAGE_MAX_BYTES"],
                                       max_pixels=current_app.config["IMAGE_MAX_PIXELS"])
            except MediaError as err:
                warnings.append(f"{label} was dropped: {err}")
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
    group = "mobile" if device.device_type in ("mobile", "tablet") else "pc"
    title = (title or "").strip()
    record = db.session.scalar(select(AppRecord).where(
        AppRecord.app_group == group, AppRecord.process_name == process_name))
    if record is None:
        db.session.add(AppRecord(app_group=group, process_name=process_name,
                                 titles=[title] if title else [], last_seen_at=at))
        return
    if title and record.titles[:1] != [title]:
        record.titles = ([title] + [t for t in record.titles if t != title])[:3]
        record.last_seen_at = at
    elif at - record.last_seen_at >= APP_RECORD_INTERVAL:
        record.last_seen_at = at


def _record_asset(image, at):
    db.session.execute(insert(MediaAsset).values(
        kind=image.kind, sha256=image.sha256, filename=image.filename, mime=image.mime,
        size=image.size, width=image.width, height=image.height, created_at=at, last_used_at=at,
    ).on_conflict_do_update(index_elements=["kind", "sha256"], set_={"last_used_at": at}))


def _check_size(metadata):
    limit = current_app.config["METADATA_MAX_BYTES"]
    size = len(json.dumps(metadata, ensure_ascii=False, separators=(",", ":")).encode())
    if size > limit:
        raise ApiError(413, f"metadata is {size // 1024} KiB once merged and without images; "
                            f"the limit is {limit // 1024} KiB.", fields={"metadata": "is too large"})
