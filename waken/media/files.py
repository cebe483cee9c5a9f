"""Content-addressed image files: data URLs in, small files under media_dir/<kind>/ out.

Decoding and re-encoding (Pillow) live in waken.media.images, imported only when a report
carries an image.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path


class MediaError(ValueError):
    """An image that cannot be accepted; str(err) is a clear English sentence for a human."""


KINDS = {"cover": 512, "icon": 128}   # kind → longest side in pixels once stored

FILENAME_RE = re.compile(r"\A[0-9a-f]{32}\.(?:png|jpg)\Z")
ACCEPTED = "only PNG, JPEG, WebP, GIF and BMP are accepted"

_MIMES = {".png": "image/png", ".jpg": "image/jpeg"}
_DECLARED_TYPES = {"png", "jpeg", "jpg", "webp", "gif", "bmp"}


@dataclass(frozen=True)
class StoredImage:
    """A stored image file and what is known about it."""

    filename: str
    kind: str
    sha256: str
    mime: str
    size: int
    width: int
    height: int


def is_data_url(value) -> bool:
    """Tell whether value is a string that looks like a data: URL."""
    return isinstance(value, str) and value.strip()[:5].lower() == "data:"


def stored_path(media_dir, image: StoredImage) -> Path:
    """Where a stored image lives under media_dir."""
    return Path(media_dir) / image.kind / image.filename


def mime_for(filename: str) -> str:
    """Return the mime type to serve a stored file with."""
    return _MIMES.get(os.path.splitext(filename)[1].lower(), "application/octet-stream")


def store_data_url(
    data_url: str,
    kind: str,
    media_dir,
    *,
    max_input_bytes: int = 4 * 1024 * 1024,
    max_pixels: int = 4096 * 4096,
) -> StoredImage:
    """Decode, sanitise, scale and store an image data URL under media_dir/<kind>/."""
    if kind not in KINDS:
        raise ValueError(f"unknown media kind {kind!r}; expected one of {sorted(KINDS)}")
    data = _decode_data_url(data_url, kind, max_input_bytes)
    sha256 = hashlib.sha256(data).hexdigest()
    directory = Path(media_dir) / kind
    # Reporters resend the same cover on every heartbeat: a stored file means no decode.
    existing = _existing(directory, sha256, kind)
    if existing is not None:
        return existing
    # Imported here, so that Pillow loads with the first image and not at worker start.
    from waken.media.images import reencode
    encoded, ext, width, height = reencode(data, kind, max_pixels)
    filename = sha256[:32] + ext
    directory.mkdir(parents=True, exist_ok=True)
    _write_atomically(directory, filename, encoded)
    return StoredImage(filename, kind, sha256, _MIMES[ext], len(encoded), width, height)


def _decode_data_url(data_url, kind: str, max_input_bytes: int) -> bytes:
    """Check a data URL's shape and media type and return its decoded bytes."""
    if not is_data_url(data_url):
        raise MediaError(f"{kind} image is not a data URL")
    header, comma, payload = data_url.strip()[5:].partition(",")
    if not comma:
        raise MediaError(f"{kind} image is not a valid data URL (it has no comma)")
    params = [part.strip().lower() for part in header.split(";")]
    mime = params[0]
    major, _, minor = mime.partition("/")
    if not mime:
        raise MediaError(f"{kind} image data URL has no media type; {ACCEPTED}")
    if major != "image":
        raise MediaError(f"{kind} image is {_clip(mime)}, not an image; {ACCEPTED}")
    if minor == "svg+xml":
        raise MediaError(f"{kind} image is an SVG; {ACCEPTED}")
    if minor not in _DECLARED_TYPES:
        raise MediaError(f"{kind} image is {_clip(mime)}; {ACCEPTED}")
    if len(params) < 2 or params[-1] != "base64":
        raise MediaError(f"{kind} image data URL is not base64-encoded")
    compact = "".join(payload.split())
    if not compact:
        raise MediaError(f"{kind} image data URL is empty")
    # Refuse before decoding when even the shortest possible decoding is too long.
    if len(compact) > (max_input_bytes + 2) // 3 * 4:
        raise MediaError(f"{kind} image is larger than the {_human(max_input_bytes)} limit")
    try:
        data = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise MediaError(f"{kind} image data URL does not contain valid base64") from None
    if len(data) > max_input_bytes:
        raise MediaError(f"{kind} image is larger than the {_human(max_input_bytes)} limit")
    return data


def _existing(directory: Path, sha256: str, kind: str) -> StoredImage | None:
    """Return the already stored file for this content address, if it is readable."""
    from waken.media.images import dimensions  # imported here: see store_data_url
    for ext, mime in _MIMES.items():
        path = directory / (sha256[:32] + ext)
        try:
            size = path.stat().st_size
            width_height = dimensions(path)
        except FileNotFoundError:
            continue
        if width_height is None:
            return None  # A damaged file is rebuilt and replaced.
        # Reused now: a fresh mtime keeps the media sweep's grace period off this file
        # until the report that reuses it is stored.
        with contextlib.suppress(OSError):
            os.utime(path)
        return StoredImage(path.name, kind, sha256, mime, size, *width_height)
    return None


def _write_atomically(directory: Path, filename: str, data: bytes) -> None:
    """Write data so readers see either no file or the whole file."""
    # The temp name starts with a dot and never matches FILENAME_RE, so it is never served.
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            # A power cut must not leave an empty file under a name that is then trusted.
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; media is public.
        os.replace(tmp, directory / filename)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _clip(text: str, limit: int = 60) -> str:
    """Make client-supplied text short and printable before quoting it in a message."""
    text = "".join(char if char.isprintable() else "?" for char in text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _human(size: int) -> str:
    """Format a byte count the way people read it."""
    for unit, scale in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if size >= scale:
            return f"{size / scale:g} {unit}"
    return f"{size} bytes"
