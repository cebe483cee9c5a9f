"""GET /: the public home page, server-rendered from the same feed as the API."""
from zoneinfo import ZoneInfo

from flask import render_template
from flask_babel import gettext

from waken import settings
from waken.feed import cache
from waken.feed.today import today_charts
from waken.i18n import page_lang
from waken.i18n.mark import N_
from waken.i18n.texts import clock_time, duration
from waken.query import bp
from waken.timeutil import now, parse_iso

# The page's own script and stylesheet satisfy it; covers are plain remote URLs
# that the visitor's browser loads (the server never fetches them).
PAGE_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; "
            "img-src 'self' https: http: data:; connect-src 'self'; base-uri 'none'; "
            "form-action 'self'; frame-ancestors 'none'")

HOME_LIMIT = 50
# The headings' defaults are shown in the visitor's language; an owner's own words as written.
DEFAULT_HEADINGS = {"currently_text": N_("Current Status"), "recent_text": N_("Recent Activity")}


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
    settings.adopt(rendering.settings)   # the language setting, for page_lang, without a read
    lang = page_lang()
    if cache.not_modified(rendering, lang):
        return cache.answer(rendering, headers=PAGE_HEADERS, variant=lang)
    # Encoded once per rendering and language, not per visitor.
    return cache.answer(rendering, rendering.part(("html", lang), _page_bytes), "text/html", PAGE_HEADERS, lang)


def _page_bytes(rendering):
    return _page(rendering).encode()


def _page(rendering):
    # Settings bump the feed's change counter, so the page is kept with the rendering.
    values = {key: gettext(DEFAULT_HEADINGS[key]) if key in DEFAULT_HEADINGS and value == settings.SETTINGS[key].default
              else value for key, value in rendering.settings.items()}
    zone = ZoneInfo(values["timezone"])
    # Private mode shows the status and the online dots only: no Today charts either.
    public = values["public_stats"] == "on" and not rendering.feed["data"]["private"]
    today = today_charts(now()) if public else None
    return render_template("home.html", s=values, feed=rendering.feed["data"], today=today, **_formatters(zone))


def _formatters(zone):
    """Display helpers for the template: clock times in the site's zone, ages, durations.

    The page is kept until its data changes, so nothing in it may depend on the
    moment it is served: ages and running durations are written as clock times,
    which home.js turns into "N ago" from the visitor's clock.
    """

    def clock(text):
        return clock_time(parse_iso(text), zone) if text else ""

    def ago(text):
        return gettext("updated at %(time)s", time=clock(text))

    def lasted(item):
        if item["online"] and not item["endedAt"]:
            return gettext("since %(time)s", time=clock(item["startedAt"]))
        end = item["endedAt"] or item["updatedAt"]
        return span(parse_iso(end) - parse_iso(item["startedAt"]))

    def mmss(ms):
        seconds = max(0, int(ms or 0) // 1000)
        return f"{seconds // 60}:{seconds % 60:02d}"

    return {"clock": clock, "ago": ago, "lasted": lasted, "mmss": mmss, "zone_name": zone.key}


def span(delta):
    """'just now', '45 s', '12 min', '2 h 5 min', '3 d' — a duration as a person reads it, in the page's language."""
    return duration(delta.total_seconds(), just_now=True)

