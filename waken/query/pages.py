"""GET /: the public home page, server-rendered from the same feed as the API."""
from zoneinfo import ZoneInfo

from flask import make_response, render_template

from waken import settings
from waken.query import bp
from waken.query.feed import feed_payload
from waken.timeutil import parse_iso

# The page's own script and stylesheet satisfy it; covers are plain remote URLs
# that the visitor's browser loads (the server never fetches them).
PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; "
            "img-src 'self' https: http: data:; connect-src 'self'; base-uri 'none'; "
            "form-action 'self'; frame-ancestors 'none'")

# Under this a duration reads "just now" rather than a count of seconds.
JUST_NOW_SECONDS = 5
JUST_NOW = "just now"


def with_page_headers(response):
    """Attach the public pages' Content-Security-Policy and friends."""
    response.headers["Content-Security-Policy"] = PAGE_CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.get("/")
def home():
    """Profile, current status of every device and the recent activity."""
    values = settings.load()
    data = feed_payload(50)["data"]
    at = parse_iso(data["generatedAt"])
    zone = ZoneInfo(values["timezone"])
    html = render_template("home.html", s=values, feed=data, **_formatters(at, zone))
    return with_page_headers(make_response(html))


def _formatters(at, zone):
    """Display helpers for the template: clock times in the site's zone, ages, durations."""

    def clock(text):
        return parse_iso(text).astimezone(zone).strftime("%H:%M") if text else ""

    def ago(text):
        age = span(at - parse_iso(text))
        return "updated " + (age if age == JUST_NOW else age + " ago")

    def lasted(item):
        end = item["endedAt"] or (at.isoformat() if item["online"] else item["updatedAt"])
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

