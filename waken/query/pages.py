"""GET /: the public home page, server-rendered from the same feed as the API."""
from zoneinfo import ZoneInfo

from flask import render_template

from waken.feed import cache
from waken.query import bp
from waken.timeutil import parse_iso

# The page's own script and stylesheet satisfy it; covers are plain remote URLs
# that the visitor's browser loads (the server never fetches them).
PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; "
            "img-src 'self' https: http: data:; connect-src 'self'; base-uri 'none'; "
            "form-action 'self'; frame-ancestors 'none'")

# Under this a duration reads "just now" rather than a count of seconds.
JUST_NOW_SECONDS = 5
JUST_NOW = "just now"
HOME_LIMIT = 50


PAGE_HEADERS = (("Content-Security-Policy", PAGE_CSP), ("X-Content-Type-Options", "nosniff"),
                ("Referrer-Policy", "no-referrer"))


def with_page_headers(response):
    """Attach the public pages' Content-Security-Policy and friends."""
    for name, value in PAGE_HEADERS:
        response.headers[name] = value
    return response


@bp.get("/")
def home():
    """Profile, current status of every device and the recent activity (rendered once per change)."""
    rendering = cache.current(HOME_LIMIT)
    if cache.not_modified(rendering):
        return cache.answer(rendering, headers=PAGE_HEADERS)
    # Encoded once per rendering, not per visitor.
    return cache.answer(rendering, rendering.part("html", _page_bytes), "text/html", PAGE_HEADERS)


def _page_bytes(rendering):
    return _page(rendering).encode()


def _page(rendering):
    # Settings bump the feed's change counter, so the page is kept with the rendering.
    values = rendering.settings
    zone = ZoneInfo(values["timezone"])
    return render_template("home.html", s=values, feed=rendering.feed["data"], **_formatters(zone))


def _formatters(zone):
    """Display helpers for the template: clock times in the site's zone, ages, durations.

    The page is kept until its data changes, so nothing in it may depend on the
    moment it is served: ages and running durations are written as clock times,
    which home.js turns into "N ago" from the visitor's clock.
    """

    def clock(text):
        return parse_iso(text).astimezone(zone).strftime("%H:%M") if text else ""

    def ago(text):
        return "updated at " + clock(text)

    def lasted(item):
        if item["online"] and not item["endedAt"]:
            return "since " + clock(item["startedAt"])
        end = item["endedAt"] or item["updatedAt"]
        return span(parse_iso(end) - parse_iso(item["startedAt"]))

    def mmss(ms):
        seconds = max(0, int(ms or 0) // 1000)
        return f"{seconds // 60}:{seconds % 60:02d}"

    return {"clock": clock, "ago": ago, "lasted": lasted, "mmss": mmss, "zone_name": zone.key}


def span(delta):
    """'just now', '45 s', '12 min', '2 h 5 min', '3 d' — a duration as a person reads it."""
    seconds = max(0, int(delta.total_seconds()))
    if seconds < JUST_NOW_SECONDS:
        return JUST_NOW
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} d"

