"""GET /embed/now.svg and /embed/now.json: the public status as a card and as a shields.io badge."""
import hashlib
import json

from flask import current_app, request
from flask_babel import force_locale

from waken.errors import Invalid
from waken.feed import cache, embed
from waken.i18n import site_locale
from waken.query import bp

EMBED_LIMIT = 1   # embeds show live statuses only: the history is not rendered
EMBED_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
MAX_AGE = 60


def _options():
    args = request.args
    theme = args.get("theme", "light")
    if theme not in embed.THEMES:
        raise Invalid(f"theme must be one of {', '.join(embed.THEMES)}.", field="theme",
                      code="embed.theme_invalid", params={"allowed": list(embed.THEMES)})
    hide = tuple(part.strip() for part in args.get("hide", "").split(",") if part.strip())
    unknown = [part for part in hide if part not in embed.HIDE]
    if unknown:
        raise Invalid(f"hide may list {', '.join(embed.HIDE)}; '{unknown[0][:40]}' is not one.", field="hide",
                      code="embed.hide_invalid", params={"allowed": list(embed.HIDE)})
    try:
        width = int(args.get("width", embed.WIDTH))
    except ValueError:
        width = -1
    if not embed.MIN_WIDTH <= width <= embed.MAX_WIDTH:
        raise Invalid(f"width must be a whole number from {embed.MIN_WIDTH} to {embed.MAX_WIDTH}.", field="width",
                      code="embed.width_invalid", params={"min": embed.MIN_WIDTH, "max": embed.MAX_WIDTH})
    device = args.get("device", "").strip()[:128] or None
    return {"theme": theme, "hide": hide, "width": width, "device": device}


def _answer(body, mimetype):
    """The body with a 60-second cache and its own ETag (304 when the client has it)."""
    tag = hashlib.sha256(body).hexdigest()[:20]
    response = current_app.response_class(status=304) if request.if_none_match.contains(tag) \
        else current_app.response_class(body, mimetype=mimetype)
    response.set_etag(tag)
    response.headers["Cache-Control"] = f"max-age={MAX_AGE}"
    response.headers["Content-Security-Policy"] = EMBED_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/embed/now.svg")
def embed_card():
    """The card: name, status, device, app, title and track, the cover inlined (options: theme,
    device, hide=title,music,battery, width)."""
    options = _options()
    rendering = cache.current(EMBED_LIMIT)
    with force_locale(site_locale()):   # shown on other sites, to anyone: the site's language
        svg = embed.card(rendering.feed["data"], rendering.settings["site_name"], current_app.config["MEDIA_DIR"],
                         **options)
    return _answer(svg.encode(), "image/svg+xml")


@bp.get("/embed/now.json")
def embed_badge():
    """A shields.io endpoint: https://img.shields.io/endpoint?url=<this URL>."""
    options = _options()
    rendering = cache.current(EMBED_LIMIT)
    with force_locale(site_locale()):
        body = embed.badge(rendering.feed["data"], rendering.settings["site_name"], options["device"], options["hide"])
    return _answer(json.dumps(body, ensure_ascii=False).encode(), "application/json")
