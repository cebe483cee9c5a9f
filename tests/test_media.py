"""Tests for waken.media.files: data URLs in, small metadata-free files out, hostile input refused."""
import base64
import hashlib
import io
import os
import struct
import subprocess
import sys
import warnings
import zlib

import pytest
from PIL import Image, features

from waken.media.files import (
    FILENAME_RE,
    KINDS,
    MediaError,
    StoredImage,
    is_data_url,
    mime_for,
    store_data_url,
)

RED, GREEN, BLUE = (255, 0, 0), (0, 255, 0), (0, 0, 255)


def encode(img, fmt, **params):
    """Bytes of img saved in fmt."""
    buffer = io.BytesIO()
    img.save(buffer, fmt, **params)
    return buffer.getvalue()


def data_url(data, mime="image/png"):
    """A data URL as the reporters send it."""
    return f"data:{mime};base64," + base64.b64encode(data).decode()


def opened(media_dir, stored):
    """The stored file, opened and loaded."""
    img = Image.open(os.path.join(media_dir, stored.kind, stored.filename))
    img.load()
    return img


def assert_sentence(err, kind="cover"):
    """A MediaError message is a readable English sentence about the image."""
    message = str(err.value)
    assert message.startswith(f"{kind} image ")
    assert len(message.split()) >= 4 and "\n" not in message


def close(color, expected, tolerance=8):
    """JPEG is lossy: compare colours channel by channel with some slack."""
    return all(abs(a - b) <= tolerance for a, b in zip(color, expected, strict=True))


def png_bomb(width, height, idat=None):
    """A 1-bit PNG header of any size, built by hand because Pillow cannot create it cheaply."""
    def chunk(kind, body):
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    if idat is None:
        # All-zero rows compress about a thousandfold: a few dozen KiB for 400 megapixels.
        packer = zlib.compressobj(9)
        rows = b"\x00" * ((width + 7) // 8 + 1) * 1000
        idat = b"".join(packer.compress(rows) for _ in range(height // 1000)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    chunks = chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    return b"\x89PNG\r\n\x1a\n" + chunks


def test_png_cover_is_stored_scaled_and_content_addressed(tmp_path):
    data = encode(Image.new("RGB", (1000, 500), RED), "PNG")
    stored = store_data_url(data_url(data), "cover", tmp_path)
    assert isinstance(stored, StoredImage)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.filename == stored.sha256[:32] + ".jpg"  # opaque covers become JPEG
    assert FILENAME_RE.fullmatch(stored.filename)
    assert (stored.kind, stored.mime) == ("cover", "image/jpeg")
    assert (stored.width, stored.height) == (512, 256)
    path = tmp_path / "cover" / stored.filename
    assert stored.size == path.stat().st_size
    img = opened(tmp_path, stored)
    assert (img.format, img.size) == ("JPEG", (512, 256))
    assert close(img.getpixel((10, 10)), RED)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_jpeg_is_scaled_to_fit_the_kind(tmp_path, kind):
    data = encode(Image.new("RGB", (800, 1200), BLUE), "JPEG")
    stored = store_data_url(data_url(data, "image/jpeg"), kind, tmp_path)
    box = KINDS[kind]
    assert (stored.width, stored.height) == (box * 2 // 3, box)
    assert opened(tmp_path, stored).size == (stored.width, stored.height)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_small_images_are_never_upscaled(tmp_path, kind):
    data = encode(Image.new("RGB", (40, 30), GREEN), "PNG")
    stored = store_data_url(data_url(data), kind, tmp_path)
    assert (stored.width, stored.height) == (40, 30)


def test_icons_are_always_png(tmp_path):
    data = encode(Image.new("RGB", (256, 256), RED), "JPEG")
    stored = store_data_url(data_url(data, "image/jpeg"), "icon", tmp_path)
    assert stored.filename.endswith(".png") and stored.mime == "image/png"
    assert opened(tmp_path, stored).format == "PNG"


def test_transparency_is_kept_as_png(tmp_path):
    img = Image.new("RGBA", (600, 600), (0, 0, 0, 0))
    img.paste((*RED, 255), (0, 0, 300, 600))
    stored = store_data_url(data_url(encode(img, "PNG")), "cover", tmp_path)
    out = opened(tmp_path, stored)
    assert (out.format, out.mode, out.size) == ("PNG", "RGBA", (512, 512))
    assert out.getpixel((10, 10)) == (*RED, 255)
    assert out.getpixel((500, 10))[3] == 0


def test_palette_transparency_is_kept(tmp_path):
    img = Image.new("P", (64, 64), 0)
    img.putpalette([*RED, *BLUE])
    img.paste(1, (32, 0, 64, 64))
    stored = store_data_url(data_url(encode(img, "PNG", transparency=1)), "icon", tmp_path)
    out = opened(tmp_path, stored)
    assert out.mode == "RGBA"
    assert out.getpixel((0, 0)) == (*RED, 255) and out.getpixel((63, 0))[3] == 0


def test_an_unused_alpha_channel_still_gives_a_jpeg_cover(tmp_path):
    data = encode(Image.new("RGBA", (100, 100), (*GREEN, 255)), "PNG")
    assert store_data_url(data_url(data), "cover", tmp_path).mime == "image/jpeg"


def test_cmyk_jpeg_is_converted(tmp_path):
    data = encode(Image.new("CMYK", (50, 50), (0, 255, 255, 0)), "JPEG")
    stored = store_data_url(data_url(data, "image/jpeg"), "cover", tmp_path)
    out = opened(tmp_path, stored)
    assert out.mode == "RGB" and close(out.getpixel((25, 25)), RED, tolerance=16)


@pytest.mark.parametrize("mode, side, subsampling, stored", [
    ("RGB", 4096, 2, True),      # usual colour (4:2:0): 48 MiB of coefficients, just allowed
    ("L", 4096, -1, True),       # greyscale: 32 MiB
    ("RGB", 4096, 0, False),     # full-chroma colour (4:4:4): 96 MiB
    ("CMYK", 4096, -1, False),   # 128 MiB
    ("CMYK", 2048, -1, True),    # 32 MiB
])
def test_progressive_jpegs_are_held_to_their_coefficient_buffer(tmp_path, mode, side, subsampling, stored):
    data = encode(Image.new(mode, (side, side)), "JPEG", progressive=True, subsampling=subsampling)
    url = data_url(data, "image/jpeg")
    if stored:
        assert store_data_url(url, "cover", tmp_path).width == 512
        return
    with pytest.raises(MediaError, match=f"progressive .*{mode} JPEG of {side}x{side} pixels") as err:
        store_data_url(url, "cover", tmp_path)
    assert_sentence(err)
    # The same picture as a baseline (single-scan) JPEG needs no such buffer.
    baseline = encode(Image.new(mode, (side, side)), "JPEG", subsampling=subsampling)
    assert store_data_url(data_url(baseline, "image/jpeg"), "cover", tmp_path).width == 512


def test_exif_orientation_is_applied_and_metadata_dropped(tmp_path):
    img = Image.new("RGB", (600, 300), BLUE)
    img.paste(RED, (0, 0, 300, 300))  # left half red
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to display
    exif[0x010F] = "Camera maker"
    data = encode(img, "JPEG", exif=exif.tobytes(), comment=b"secret")
    stored = store_data_url(data_url(data, "image/jpeg"), "cover", tmp_path)
    assert (stored.width, stored.height) == (256, 512)
    out = opened(tmp_path, stored)
    assert out.size == (256, 512)
    assert close(out.getpixel((128, 10)), RED)  # what was left is now on top
    assert close(out.getpixel((128, 500)), BLUE)
    assert not out.getexif()
    assert not {"exif", "comment", "icc_profile"} & set(out.info)
    raw = (tmp_path / "cover" / stored.filename).read_bytes()
    assert b"Exif" not in raw and b"Camera maker" not in raw and b"secret" not in raw


def test_png_text_and_icc_are_dropped(tmp_path):
    from PIL import PngImagePlugin

    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "where I live")
    img = Image.new("RGBA", (64, 64), (*RED, 128))
    data = encode(img, "PNG", pnginfo=text, icc_profile=b"\x00" * 128)
    stored = store_data_url(data_url(data), "icon", tmp_path)
    out = opened(tmp_path, stored)
    assert not {"Comment", "icc_profile", "exif"} & set(out.info)
    assert b"where I live" not in (tmp_path / "icon" / stored.filename).read_bytes()


def test_same_data_url_twice_reuses_the_file_without_decoding(tmp_path):
    url = data_url(encode(Image.new("RGB", (700, 700), RED), "PNG"))
    first = store_data_url(url, "cover", tmp_path)
    path = tmp_path / "cover" / first.filename
    before, content = path.stat(), path.read_bytes()
    os.utime(path, (before.st_atime - 7200, before.st_mtime - 7200))
    # max_pixels=1 would refuse the image if it were decoded again.
    second = store_data_url(url, "cover", str(tmp_path), max_pixels=1)
    assert second == first
    after = path.stat()
    # The same file, not rewritten; its mtime is refreshed so the media sweep's grace
    # period protects it while the report that reuses it is stored.
    assert after.st_ino == before.st_ino and path.read_bytes() == content
    assert after.st_mtime >= before.st_mtime - 1
    assert os.listdir(tmp_path / "cover") == [first.filename]


def test_a_damaged_stored_file_is_rebuilt(tmp_path):
    url = data_url(encode(Image.new("RGB", (64, 64), RED), "PNG"))
    stored = store_data_url(url, "icon", tmp_path)
    path = tmp_path / "icon" / stored.filename
    path.write_bytes(b"not an image")
    assert store_data_url(url, "icon", tmp_path) == stored
    assert opened(tmp_path, stored).size == (64, 64)


def test_media_dir_is_created_and_no_temporary_files_remain(tmp_path):
    media_dir = tmp_path / "instance" / "media"
    url = data_url(encode(Image.new("RGB", (10, 10), RED), "BMP"), "image/bmp")
    for kind in KINDS:
        store_data_url(url, kind, str(media_dir))
    for kind in KINDS:
        names = os.listdir(media_dir / kind)
        assert len(names) == 1 and all(FILENAME_RE.fullmatch(name) for name in names)


def test_animated_gif_keeps_the_first_frame(tmp_path):
    frames = [Image.new("RGB", (300, 200), color) for color in (RED, GREEN, BLUE)]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    assert Image.open(io.BytesIO(data)).n_frames == 3
    stored = store_data_url(data_url(data, "image/gif"), "cover", tmp_path)
    out = opened(tmp_path, stored)
    assert out.size == (300, 200) and getattr(out, "n_frames", 1) == 1
    assert close(out.getpixel((150, 100)), RED)


@pytest.mark.skipif(not features.check("webp"), reason="Pillow built without WebP")
def test_webp_is_accepted_and_animation_keeps_the_first_frame(tmp_path):
    still = encode(Image.new("RGB", (1024, 512), GREEN), "WEBP")
    stored = store_data_url(data_url(still, "image/webp"), "cover", tmp_path)
    assert (stored.width, stored.height) == (512, 256)
    frames = [Image.new("RGB", (100, 100), color) for color in (BLUE, RED)]
    animated = encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=100)
    out = opened(tmp_path, store_data_url(data_url(animated, "image/webp"), "cover", tmp_path))
    assert close(out.getpixel((50, 50)), BLUE, tolerance=24)


def test_bmp_is_accepted(tmp_path):
    data = encode(Image.new("RGB", (130, 65), BLUE), "BMP")
    stored = store_data_url(data_url(data, "image/bmp"), "icon", tmp_path)
    assert (stored.width, stored.height, stored.mime) == (128, 64, "image/png")


@pytest.mark.parametrize(
    "template",
    [
        "DATA:IMAGE/PNG;BASE64,{b64}",
        "  data:image/png;base64,{b64}\n",
        "data:image/png;name=cover.png;base64,{b64}",
        "data:image/jpg;base64,{b64}",  # the declared type is not trusted, the bytes are
        "data:image/png;base64,{wrapped}",
    ],
)
def test_data_url_variants_are_tolerated(tmp_path, template):
    b64 = base64.b64encode(encode(Image.new("RGB", (90, 90), RED), "PNG")).decode()
    wrapped = "\n".join(b64[i:i + 76] for i in range(0, len(b64), 76)) + " \r\n"
    stored = store_data_url(template.format(b64=b64, wrapped=wrapped), "icon", tmp_path)
    assert (stored.width, stored.height) == (90, 90)


SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>'
PNG = encode(Image.new("RGB", (64, 64), RED), "PNG")
NOISE_PNG = encode(Image.frombytes("L", (256, 256), bytes(range(256)) * 256), "PNG")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (data_url(SVG, "image/svg+xml"), "is an SVG"),
        (data_url(b"! XPM2", "image/x-xpixmap"), "image/x-xpixmap"),
        (data_url(PNG, "image/tiff"), "image/tiff"),
        (data_url(PNG, "image/x\u2028" + "y" * 100), "image/x?yyy"),
        (data_url(b"hello", "text/plain"), "not an image"),
        (data_url(PNG, ""), "no media type"),
        (data_url(SVG, "image/png"), "SVG"),
        (data_url(b"just some text, not pixels", "image/png"), "not a PNG, JPEG"),
        (data_url(encode(Image.new("RGB", (8, 8)), "TIFF"), "image/png"), "not a PNG, JPEG"),
        (data_url(encode(Image.new("RGB", (8, 8)), "ICO"), "image/png"), "not a PNG, JPEG"),
        (data_url(PNG[: len(PNG) // 2]), "truncated or corrupt"),
        (data_url(PNG[:40]), "truncated or corrupt"),
        ("data:image/png;base64,!!!not base64$$$", "valid base64"),
        ("data:image/png;base64,iVBORw0KGgo", "valid base64"),  # bad padding
        ("data:image/png;base64,iVBO-w0K_go=", "valid base64"),  # URL-safe alphabet
        ("data:image/png;base64,", "empty"),
        ("data:image/png;base64,  \n ", "empty"),
        ("data:image/png," + PNG.hex(), "not base64-encoded"),
        ("data:image/png;base64", "not a valid data URL"),
        ("https://example.com/cover.png", "not a data URL"),
        ("", "not a data URL"),
    ],
    ids=lambda value: value[:30] if isinstance(value, str) else None,
)
def test_refused_images(tmp_path, url, expected):
    with pytest.raises(MediaError) as err:
        store_data_url(url, "cover", tmp_path)
    assert_sentence(err)
    assert expected in str(err.value)
    assert not (tmp_path / "cover").exists() or not os.listdir(tmp_path / "cover")


@pytest.mark.parametrize("value", [None, 42, b"data:image/png;base64,AAAA"])
def test_non_strings_are_refused(tmp_path, value):
    with pytest.raises(MediaError) as err:
        store_data_url(value, "icon", tmp_path)
    assert_sentence(err, "icon")


def test_oversized_input_is_refused(tmp_path):
    limit = len(NOISE_PNG) - 1
    with pytest.raises(MediaError) as err:
        store_data_url(data_url(NOISE_PNG), "cover", tmp_path, max_input_bytes=limit)
    assert_sentence(err)
    assert "limit" in str(err.value)
    stored = store_data_url(data_url(NOISE_PNG), "cover", tmp_path, max_input_bytes=limit + 1)
    assert stored.sha256 == hashlib.sha256(NOISE_PNG).hexdigest()


def test_default_input_limit_is_four_mib(tmp_path):
    url = "data:image/png;base64," + "A" * (4 * 1024 * 1024 // 3 * 4 + 8)
    with pytest.raises(MediaError, match="4 MiB limit") as err:
        store_data_url(url, "cover", tmp_path)
    assert_sentence(err)


def test_pixel_limit_is_checked(tmp_path):
    with pytest.raises(MediaError, match="64x64 pixels") as err:
        store_data_url(data_url(PNG), "cover", tmp_path, max_pixels=64 * 63)
    assert_sentence(err)
    assert store_data_url(data_url(PNG), "cover", tmp_path, max_pixels=64 * 64).width == 64


@pytest.mark.parametrize(
    ("width", "height", "max_pixels"),
    [
        (20000, 20000, 40_000_000),  # beyond twice Pillow's own limit: Pillow raises
        (10000, 10000, 40_000_000),  # between Pillow's limits: Pillow would only warn
        (10000, 10000, 200_000_000),  # allowed by our cap, so Pillow's warning must not leak
        (8000, 8000, 40_000_000),  # under Pillow's limits: only our cap stops it
    ],
)
def test_decompression_bombs_are_refused_without_warnings(tmp_path, width, height, max_pixels):
    limit_before = Image.MAX_IMAGE_PIXELS
    url = data_url(png_bomb(width, height))
    assert len(url) < 200_000
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(MediaError, match="pixel") as err:
            store_data_url(url, "cover", tmp_path, max_pixels=max_pixels)
    assert caught == []
    assert_sentence(err)
    assert Image.MAX_IMAGE_PIXELS == limit_before


def test_gif_frame_larger_than_its_screen_is_refused_without_warnings(tmp_path):
    # A 1x1 logical screen whose first frame claims 10000x10000: Pillow grows the image
    # while opening it, and would warn there.
    screen = b"GIF89a" + struct.pack("<HHBBB", 1, 1, 0, 0, 0)
    frame = b"," + struct.pack("<HHHHB", 0, 0, 10000, 10000, 0) + b"\x02\x02\x44\x01\x00;"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(MediaError, match="pixels") as err:
            store_data_url(data_url(screen + frame, "image/gif"), "cover", tmp_path)
    assert caught == []
    assert_sentence(err)


def test_corrupt_exif_is_ignored_quietly(tmp_path):
    broken = b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x05\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06"
    data = encode(Image.new("RGB", (50, 40), RED), "JPEG", exif=broken)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        stored = store_data_url(data_url(data, "image/jpeg"), "cover", tmp_path)
    assert caught == []
    assert (stored.width, stored.height) == (50, 40)


def test_pixel_limit_is_checked_before_any_pixel_is_decoded(tmp_path):
    # The image data is garbage: decoding it would fail as corrupt, not as too large.
    url = data_url(png_bomb(8000, 8000, idat=b"garbage"))
    with pytest.raises(MediaError, match="8000x8000 pixels"):
        store_data_url(url, "cover", tmp_path)


def test_unknown_kind_is_a_programming_error(tmp_path):
    with pytest.raises(ValueError) as err:
        store_data_url(data_url(PNG), "avatar", tmp_path)
    assert not isinstance(err.value, MediaError)


@pytest.mark.parametrize(
    "name",
    [
        "../x",
        "a.png/..",
        "../" + "a" * 32 + ".png",
        "a" * 32 + ".png/..",
        "A" * 32 + ".png",
        "a" * 32 + ".PNG",
        "a" * 31 + ".png",
        "a" * 33 + ".png",
        "g" * 32 + ".png",
        "a" * 32 + ".gif",
        "a" * 32 + ".svg",
        "a" * 32 + ".png\n",
        "a" * 32,
        ".png",
        "." + "a" * 32 + ".png.tmp",
        "",
    ],
)
def test_filename_re_refuses_foreign_names(name):
    assert not FILENAME_RE.fullmatch(name)
    assert not FILENAME_RE.match(name)


@pytest.mark.parametrize("name", ["0123456789abcdef" * 2 + ".png", "f" * 32 + ".jpg"])
def test_filename_re_accepts_stored_names(name):
    assert FILENAME_RE.fullmatch(name)


@pytest.mark.parametrize(
    ("name", "mime"),
    [
        ("a" * 32 + ".png", "image/png"),
        ("a" * 32 + ".jpg", "image/jpeg"),
        ("a" * 32 + ".svg", "application/octet-stream"),
        ("noextension", "application/octet-stream"),
    ],
)
def test_mime_for(name, mime):
    assert mime_for(name) == mime


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("data:image/png;base64,AAAA", True),
        ("  DATA:text/plain,hi", True),
        ("https://example.com/a.png", False),
        ("", False),
        (None, False),
        (b"data:image/png;base64,AAAA", False),
        (12, False),
    ],
)
def test_is_data_url(value, expected):
    assert is_data_url(value) is expected


def test_pillow_loads_with_the_first_image_not_with_the_app(tmp_path):
    script = (
        "import sys\n"
        "from waken import create_app\n"
        f"create_app({{'INSTANCE_PATH': {str(tmp_path)!r}, 'SECRET_KEY': 'x', 'SCHEDULER': False}})\n"
        "import waken.media.report_images, waken.media.quota, waken.query.media_files\n"
        "print('PIL' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
