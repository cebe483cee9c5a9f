"""The embeds: the public feed drawn as a small SVG card, and as a shields.io endpoint badge.

Both are made from the public payload (waken.feed.cache, so private mode, app rules, masks
and lock screens have applied). The SVG references nothing: no script, no remote image,
no font; a stored cover is inlined as a small JPEG data URI, a remote one left out.
"""
import base64
import functools
import io
import os
import re

from flask_babel import gettext
from markupsafe import escape

from waken.media.files import FILENAME_RE

HIDE = ("title", "music", "battery")
THEMES = {"light": {"bg": "#ffffff", "line": "#d0d7de", "fg": "#1f2328", "muted": "#59636e", "dot": "#1a7f37"},
          "dark": {"bg": "#0d1117", "line": "#30363d", "fg": "#e6edf3", "muted": "#9198a1", "dot": "#3fb950"}}
WIDTH, MIN_WIDTH, MAX_WIDTH = 420, 240, 800
MAX_BYTES = 16 * 1024
COVER_SIDE = 64
COVER_MAX_BYTES = 8 * 1024
# Characters XML 1.0 does not allow, whatever the escaping.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
LOCAL_COVER = re.compile(r"/media/cover/([^/?#]+)\Z")


def pick(data, device=None):
    """The live status to show: the named device's (case-insensitive), else the newest; or None."""
    statuses = data["activeStatuses"]
    if device:
        return next((item for item in statuses if item["device"].casefold() == device.casefold()), None)
    return statuses[0] if statuses else None


def doing(item):
    """'Code', 'locked' or 'online' (in the current language): what the public may see a device run."""
    if item is None:
        return gettext("offline")
    if item.get("locked"):
        return gettext("locked")
    return item["processName"] or gettext("online")


def badge(data, site_name, device=None, hide=()):
    """The shields.io endpoint answer (schemaVersion 1)."""
    item = pick(data, device)
    status = data["ownerStatus"]
    if status:
        message = f"{status['emoji']} {status['text']}".strip()
    elif item is None:
        message = gettext("offline")
    else:
        message = gettext("%(app)s on %(device)s", app=doing(item), device=item["device"])
        playing = item["nowPlaying"]
        if playing and "music" not in hide and not item.get("locked"):
            message += f" · ♪ {playing['title']}"
    color = "lightgrey" if item is None else "blue" if status else "brightgreen"
    return {"schemaVersion": 1, "label": _clip(site_name, 40) or gettext("now"), "message": _clip(message, 120),
            "color": color, "cacheSeconds": 300}


def card(data, site_name, media_dir, theme="light", device=None, hide=(), width=WIDTH):
    """The SVG card (text, at most MAX_BYTES: a cover that does not fit is left out)."""
    svg = _card(data, site_name, media_dir, theme, device, hide, width, with_cover=True)
    if len(svg.encode()) > MAX_BYTES:
        svg = _card(data, site_name, media_dir, theme, device, hide, width, with_cover=False)
    return svg


def _card(data, site_name, media_dir, theme, device, hide, width, with_cover):
    colors = THEMES[theme]
    item = pick(data, device)
    status = data["ownerStatus"]
    playing = item and not item.get("locked") and "music" not in hide and item["nowPlaying"]
    cover = _cover(playing.get("coverUrl"), media_dir) if playing and with_cover else None
    left = 16 + (COVER_SIDE + 12 if cover else 0)
    chars = max(10, (width - left - 16) // 7)   # about 7 px a character at 13 px

    lines = [(_clip(site_name, chars), 15, "bold", colors["fg"])]
    if status:
        lines.append((_clip(f"{status['emoji']} {status['text']}".strip(), chars), 13, "normal", colors["fg"]))
    if item is None:
        lines.append((gettext("offline") if device is None else _clip(gettext("%(device)s: offline", device=device), chars),
                      13, "normal",
                      colors["muted"]))
    else:
        line = gettext("%(app)s on %(device)s", app=doing(item), device=item["device"])
        battery = item["battery"]
        if "battery" not in hide and battery["percent"] is not None:
            line += f" · {battery['percent']}%" + (" ⚡" if battery["charging"] else "")
        lines.append((_clip(line, chars), 13, "normal", colors["fg"]))
        if "title" not in hide and item["processTitle"]:
            lines.append((_clip(item["processTitle"], chars), 12, "normal", colors["muted"]))
        if playing:
            track = "♪ " + playing["title"] + (f" — {playing['singer']}" if playing["singer"] else "")
            lines.append((_clip(track, chars), 12, "normal", colors["muted"]))
    height = max(24 + 20 * len(lines), (COVER_SIDE + 32) if cover else 0)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" role="img" aria-label="{_text(site_name)}: {_text(lines[-1][0])}">',
           f'<rect x="0.5" y="0.5" width="{width - 1}" height="{height - 1}" rx="8" fill="{colors["bg"]}" '
           f'stroke="{colors["line"]}"/>']
    if cover:
        out.append(f'<image x="16" y="16" width="{COVER_SIDE}" height="{COVER_SIDE}" href="{cover}"/>')
    if item is not None:
        out.append(f'<circle cx="{width - 18}" cy="20" r="5" fill="{colors["dot"]}"/>')
    y = 12
    for text, size, weight, color in lines:
        y += size + 7
        out.append(f'<text x="{left}" y="{y}" font-family="system-ui,-apple-system,Segoe UI,sans-serif" '
                   f'font-size="{size}" font-weight="{weight}" fill="{color}">{_text(text)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def _text(value):
    return str(escape(NOT_XML.sub("", value)))


def _clip(value, chars):
    value = NOT_XML.sub("", " ".join(str(value).split()))
    return value if len(value) <= chars else value[:chars - 1] + "…"


def _cover(url, media_dir):
    """A stored cover as a data URI of a small JPEG, or None (remote covers are never fetched)."""
    found = LOCAL_COVER.search(url or "")
    if found is None or not FILENAME_RE.fullmatch(found[1]):
        return None
    return _thumbnail(os.path.join(media_dir, "cover", found[1]))


@functools.lru_cache(maxsize=32)   # per file name: content-addressed, so never stale
def _thumbnail(path):
    from PIL import Image  # Pillow is loaded only when a card shows a cover

    try:
        with Image.open(path) as image:
            image = image.convert("RGB")
            image.thumbnail((COVER_SIDE, COVER_SIDE))
            buffer = io.BytesIO()
            image.save(buffer, "JPEG", quality=70)
    except OSError:
        return None
    data = buffer.getvalue()
    return None if len(data) > COVER_MAX_BYTES else "data:image/jpeg;base64," + base64.b64encode(data).decode()
