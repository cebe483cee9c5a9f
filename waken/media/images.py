"""Pillow only: decode untrusted image bytes, check them, and re-encode them small and metadata-free."""

from __future__ import annotations

import ctypes
import ctypes.util
import io
import struct
import threading
import warnings

from PIL import Image, ImageOps, features

from waken.media.files import ACCEPTED, KINDS, MediaError

# A progressive JPEG from a camera or encoder has about 10 scans; each scan costs a
# pass over the whole image, so thousands of near-empty ones are a cheap CPU attack.
MAX_JPEG_SCANS = 100
# A JPEG of several scans (progressive, or baseline with its colours in separate scans)
# is decoded from a buffer of every DCT coefficient of the whole image, 128 bytes per 8x8
# block of each component, whatever the scale it is drawn at: 128 MiB for a 4096x4096
# CMYK one. This much keeps a decode within the 80 MiB the README promises: it admits
# 4096x4096 in greyscale or usual (4:2:0) colour, about 2900x2900 in full-chroma colour
# and 2048x4096 in CMYK. Single-scan (baseline) JPEGs need no such buffer.
MAX_JPEG_COEFFICIENT_BYTES = 48 * 1024 * 1024

# Formats handed to Image.open, so no other Pillow plugin ever parses untrusted bytes.
# WebP is only listed when this Pillow build can decode it.
_OPEN_FORMATS = tuple(
    fmt for fmt in ("PNG", "JPEG", "WEBP", "GIF", "BMP") if fmt != "WEBP" or features.check("webp")
)
# Leading bytes of accepted formats (WebP is checked apart): bytes that start like one of
# them but do not open are a broken image rather than a foreign one.
_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM")
# Pillow reports multi-picture JPEGs from phone cameras as MPO; they are JPEGs.
_DETECTED_FORMATS = frozenset(_OPEN_FORMATS) | {"MPO"}
# What Pillow raises on hostile or broken input (the list its own fuzz tests accept),
# plus the bomb warning, which the decode block turns into an error.
_DECODE_ERRORS = (
    OSError,
    SyntaxError,
    ValueError,
    TypeError,
    IndexError,
    KeyError,
    EOFError,
    struct.error,
    MemoryError,
    NotImplementedError,
    OverflowError,
    Image.DecompressionBombError,
    Image.DecompressionBombWarning,
)
# One decode at a time: bounds peak memory on a Raspberry Pi, and warnings.catch_warnings
# swaps process-wide state, so two decodes must not interleave inside it.
_DECODE_LOCK = threading.Lock()
# A decoded image is tens of MiB in blocks that glibc's allocator keeps after they are
# freed, so a worker's RSS would stay at its peak; malloc_trim returns them.
try:
    _LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    _LIBC.malloc_trim
except (OSError, AttributeError):
    _LIBC = None


def dimensions(path) -> tuple[int, int] | None:
    """(width, height) of a stored PNG or JPEG file from its header, or None when it is damaged.

    FileNotFoundError passes through; pixels are never loaded.
    """
    try:
        with Image.open(path, formats=("PNG", "JPEG")) as img:
            return img.size
    except FileNotFoundError:
        raise
    except _DECODE_ERRORS:
        return None


def reencode(data: bytes, kind: str, max_pixels: int) -> tuple[bytes, str, int, int]:
    """Decode untrusted image bytes and re-encode them scaled and without metadata."""
    with _DECODE_LOCK, warnings.catch_warnings():
        # Pillow warns instead of failing for moderately large images and for odd EXIF;
        # nothing may leak out, and a bomb warning must stop the decode.
        warnings.simplefilter("ignore")
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = _decode(data, kind, max_pixels)
        except MediaError:
            raise
        except Image.UnidentifiedImageError:
            raise MediaError(_unrecognised(data, kind)) from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise MediaError(f"{kind} image is too large in pixels to decode safely") from None
        except _DECODE_ERRORS:
            raise MediaError(_corrupt(kind)) from None
        finally:
            _release_freed_memory()
        return _encode(img, kind)


def _release_freed_memory() -> None:
    """Give the pages of a freed full-size image back to the system (glibc keeps them otherwise)."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _decode(data: bytes, kind: str, max_pixels: int) -> Image.Image:
    """Open, check, scale, orient and convert an image; the result is RGB or RGBA.

    The cost is bounded: the pixel cap is checked on the header, JPEGs decode at a
    reduced scale, and a full-size image is shrunk in its own mode before any copy
    is made, so one image never holds more than about twice its decoded size.
    """
    box = KINDS[kind]
    with Image.open(io.BytesIO(data), formats=_OPEN_FORMATS) as img:
        if img.format not in _DETECTED_FORMATS:
            raise MediaError(f"{kind} image is {img.format}; {ACCEPTED}")
        width, height = img.size
        # libwebp hands Pillow the whole picture, which is copied twice more on the way in.
        max_pixels = max_pixels // 4 if img.format == "WEBP" else max_pixels
        # Checked on the header, before a single pixel is decoded.
        if width * height > max_pixels:
            raise MediaError(
                f"{kind} image is {width}x{height} pixels, more than the "
                f"{max_pixels:,} pixel limit" + (" for WebP" if img.format == "WEBP" else "")
            )
        if img.format in ("JPEG", "MPO"):
            _check_jpeg(data, img, kind)
        # JPEGs can decode at 1/2..1/8 scale; a square box stays right after rotation.
        img.draft(None, (box * 2, box * 2))
        # Animated GIF/WebP: Image.open leaves the first frame current, and only it loads.
        img.load()
        out = _to_rgb_or_rgba(ImageOps.exif_transpose(_shrink(img, box * 2)))
    out.thumbnail((box, box), Image.Resampling.LANCZOS)
    if out.mode == "RGBA" and out.getchannel("A").getextrema()[0] == 255:
        out = out.convert("RGB")  # An alpha channel with nothing transparent in it.
    return out


def _shrink(img: Image.Image, longest: int) -> Image.Image:
    """The decoded image reduced by a whole factor so its long side is about `longest`.

    Worked in strips of rows: reduce() premultiplies alpha in a full-size copy, and
    palette, 1-bit and 16-bit images must be converted before they can be averaged;
    a strip's copies are a sliver of the image, so only the decoded image is ever
    held at full size.
    """
    factor = max(1, max(img.size) // longest)
    if factor == 1:
        return _averageable(img)
    width, height = img.size
    out, step = None, factor * 64
    for top in range(0, height, step):
        part = _averageable(img.crop((0, top, width, min(height, top + step)))).reduce(factor)
        if out is None:
            out = Image.new(part.mode, (-(-width // factor), -(-height // factor)))
        out.paste(part, (0, top // factor))
    out.info = dict(img.info)
    return out


def _averageable(img: Image.Image) -> Image.Image:
    """img in a mode whose pixels can be averaged: palette to RGB(A), 1-bit to L, 16-bit to I."""
    if img.mode == "1":
        return img.convert("L")
    if img.mode in ("P", "PA"):
        return _to_rgb_or_rgba(img)
    if img.mode.startswith("I;16"):
        return img.convert("I")
    return img


def _check_jpeg(data: bytes, img: Image.Image, kind: str) -> None:
    """Refuse a JPEG whose scans would re-walk the image too often or need too large a coefficient buffer."""
    scans = _scans(data)
    if scans > MAX_JPEG_SCANS:
        raise MediaError(f"{kind} image is a JPEG of {scans} scans, more than the {MAX_JPEG_SCANS} "
                         "any camera or encoder writes")
    if scans <= 1 and not img.info.get("progressive"):
        return
    needed = _coefficient_bytes(img)
    if needed > MAX_JPEG_COEFFICIENT_BYTES:
        raise MediaError(
            f"{kind} image is a progressive (multi-scan) {img.mode} JPEG of {img.width}x{img.height} pixels, "
            f"which needs {needed // 2**20} MiB to decode, more than the {MAX_JPEG_COEFFICIENT_BYTES // 2**20} "
            "MiB allowed; send it smaller or as a baseline JPEG")


def _scans(data: bytes) -> int:
    """How many scans the main image of a JPEG has (those of an embedded thumbnail not counted)."""
    # The segments before the first scan (an EXIF thumbnail lives inside one) are skipped
    # by their lengths. Inside entropy-coded data every 0xFF byte is followed by 0x00 or a
    # restart marker, so from there on each FF DA is a start-of-scan marker.
    at = 2
    while at + 4 <= len(data) and data[at] == 0xFF:
        marker = data[at + 1]
        if marker == 0xFF:   # fill byte before a marker
            at += 1
        elif marker == 0xDA:
            return data.count(b"\xff\xda", at)
        else:
            at += 2 + int.from_bytes(data[at + 2:at + 4], "big")
    return 0


def _coefficient_bytes(img: Image.Image) -> int:
    """The size of libjpeg's whole-image coefficient buffer for this JPEG's frame header."""
    # Pillow keeps the frame's components as (id, horizontal, vertical sampling, table).
    components = [(h or 1, v or 1) for _id, h, v, _table in img.layer]
    most_h = max(h for h, _ in components)
    most_v = max(v for _, v in components)
    total = 0
    for h, v in components:
        across = -(-(-(-img.width * h // most_h)) // 8)
        down = -(-(-(-img.height * v // most_v)) // 8)
        total += (-(-across // h) * h) * (-(-down // v) * v) * 128
    return total


def _encode(img: Image.Image, kind: str) -> tuple[bytes, str, int, int]:
    """Encode an RGB/RGBA image with no metadata; return bytes, extension and size."""
    # Nothing from the input's metadata (EXIF, ICC, text chunks, comments) is written.
    img.info = {}
    buffer = io.BytesIO()
    # Opaque covers become JPEG: photos and album art are a fraction of the PNG size.
    # Icons stay PNG: at 128 px the saving is small and JPEG rings around their flat
    # colours and sharp edges; transparent images need PNG anyway.
    if kind == "cover" and img.mode == "RGB":
        img.save(buffer, "JPEG", quality=85)
        ext = ".jpg"
    else:
        img.save(buffer, "PNG", optimize=False)
        ext = ".png"
    return buffer.getvalue(), ext, img.width, img.height


def _to_rgb_or_rgba(img: Image.Image) -> Image.Image:
    """Convert any decoded mode (palette, CMYK, 1-bit, 16-bit, LA...) to RGB or RGBA."""
    if img.mode.startswith("I"):
        # 16-bit greyscale: scale to 8 bits instead of letting convert() clip to white.
        img = img.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    transparent = (
        img.mode in ("LA", "La", "PA", "RGBA", "RGBa")
        or "transparency" in img.info
        or (img.mode == "P" and img.palette is not None and img.palette.mode.endswith("A"))
    )
    return img.convert("RGBA" if transparent else "RGB")


def _unrecognised(data: bytes, kind: str) -> str:
    """Explain why bytes were not recognised as an accepted raster image."""
    if data.startswith(_SIGNATURES) or (data[:4] == b"RIFF" and data[8:12] == b"WEBP"):
        return _corrupt(kind)
    if data.lstrip()[:1] == b"<":
        return f"{kind} image content is markup such as SVG, not a raster image; {ACCEPTED}"
    return f"{kind} image content is not a PNG, JPEG, WebP, GIF or BMP image"


def _corrupt(kind: str) -> str:
    """The message for an image in an accepted format that does not decode."""
    return f"{kind} image is truncated or corrupt and cannot be decoded"


