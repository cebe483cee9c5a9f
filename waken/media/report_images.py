"""A report's images: data URLs in metadata.media become stored files before the write lock is taken."""
import time
from contextlib import contextmanager
from dataclasses import dataclass

from flask import current_app, request

from waken import db, disk, settings
from waken.admission import app_gate, machine_turn
from waken.errors import Busy
from waken.media import quota
from waken.media.files import MediaError, is_data_url, store_data_url, stored_path
from waken.timeutil import to_ms

ICON_DATA_KEYS = ("appIconDataUrl", "iconDataUrl", "sourceIconDataUrl", "playerIconDataUrl",
                  "programIconDataUrl")


@dataclass
class Images:
    """A report's metadata with its image data URLs already decoded and stored as files."""

    metadata: dict
    warnings: list
    stored: list


@contextmanager
def image_report_slot():
    """Hold one of this process's slots for a report large enough to carry images, from
    before its body is read until its images are decoded; 503 at once when none is free.

    Images decode one at a time (waken.media.images), so without this every report waiting
    for its turn would hold its parsed body, megabytes each, in memory meanwhile.
    """
    config = current_app.config
    length = request.content_length
    if length is not None and length <= config["IMAGE_REPORT_BYTES"]:
        yield   # too small to hold a costly image: never waits, never refused
        return
    # One image report at a time on the whole machine, not one per worker: two decodes at once
    # take both cores of a small Pi, and every other request then waits for a core.
    with app_gate(current_app, "waken.image_gate", config["IMAGE_REPORTS_AT_ONCE"], _busy).turn(), \
            machine_turn(current_app, "image-turn").turn(refusal=_busy):
        yield


def _busy():
    return Busy("The server is busy storing other reports with images; send this one again in a moment.",
                retry_after=1, code="busy.images")


def prepare_images(report):
    """Decode, re-encode and store the report's images: call it before db.write()."""
    metadata = dict(report.get("metadata") or {})
    media = metadata.get("media")
    if not isinstance(media, dict):
        return Images(metadata, [], [])
    metadata["media"], warnings, stored = extract_images(media)
    return Images(metadata, warnings, stored)


def extract_images(media):
    """(media with image data URLs replaced by stored-file URLs, warnings, stored images)."""
    media, warnings, stored = dict(media), [], []
    covers_on = settings.get("media_cover_display")
    icons_on = settings.get("report_app_icon")
    cover = _take(media.pop("coverDataUrl", None), "cover", "coverDataUrl", covers_on, warnings, stored)
    given_cover = _take(media.pop("coverUrl", None), "cover", "coverUrl", covers_on, warnings, stored)
    if cover or given_cover:
        media["coverUrl"] = cover or given_cover
    icon_values = [media.pop(key) for key in ICON_DATA_KEYS if key in media]
    icon = next(filter(None, (_take(v, "icon", "appIconDataUrl", icons_on, warnings, stored)
                              for v in icon_values)), None)
    for key in ("appIconUrl", "iconUrl"):
        if key in media:
            kept = _take(media.pop(key), "icon", key, icons_on, warnings, stored)
            if kept:
                media[key] = kept
    if icon:
        media["appIconUrl"] = icon
    return media, warnings, stored


def _take(value, kind, label, enabled, warnings, stored):
    """The URL to keep for one image value, or None (with a warning added) to drop it."""
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip()
    if not is_data_url(value):
        if value.lower().startswith(("http://", "https://")) and len(value) <= 2048:
            return value
        warnings.append(f"{label} was dropped: it is neither an image data URL nor an http(s) URL.")
        return None
    if not enabled:
        warnings.append(f"{label} was dropped: this server does not store {kind} images.")
        return None
    started = time.time()
    config = current_app.config
    try:
        image = store_data_url(value, kind, config["MEDIA_DIR"], max_input_bytes=config["IMAGE_MAX_BYTES"],
                               max_pixels=config["IMAGE_MAX_PIXELS"])
    except MediaError as err:
        warnings.append(f"{label} was dropped: {err}")
        return None
    except OSError as err:
        # The file could not be written (media on a full or read-only disk): the report is
        # still stored, without the image. Not a failure for /healthz: the database may write.
        trouble = disk.kind_of(err)
        if trouble is None:
            current_app.logger.exception("storing a %s image failed", kind)
            warnings.append(f"{label} was dropped: the server could not store it.")
        else:
            problem = disk.PROBLEM[trouble]
            warnings.append(f"{label} was dropped: {problem[0].lower()}{problem[1:]}, so it could not be stored.")
        return None
    if not quota.admit(image, started):
        warnings.append(f"{label} was dropped: the media store is full "
                        f"(media_max_mb is {settings.get('media_max_mb')}).")
        return None
    stored.append(image)
    return f"{settings.public_base()}/media/{kind}/{image.filename}"


def still_stored(metadata, stored, warnings):
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


def record_asset(image, at):
    """Remember a stored image file (or refresh its last use) in media_asset."""
    db.execute(
        "INSERT INTO media_asset (kind, sha256, filename, mime, size, width, height, created_at, last_used_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (kind, sha256) DO UPDATE SET last_used_at = excluded.last_used_at",
        (image.kind, image.sha256, image.filename, image.mime, image.size, image.width, image.height,
         to_ms(at), to_ms(at)))
