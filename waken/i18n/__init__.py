"""The interface's language: Flask-Babel wired in, the visitor's locale chosen, texts for the page's scripts.

The `language` setting picks it: `zh-CN` or `en` for everyone, or `auto` (the default),
which follows the request's Accept-Language; a request without one gets English. The CLI
runs outside requests and stays English.
"""
import functools
import sqlite3

from babel import Locale
from flask import request
from flask_babel import Babel, get_locale
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

from waken.i18n.labels import label
from waken.i18n.texts import script_texts

# The setting's words, and the locale each one reads. Babel knows zh_CN as zh_Hans_CN (its
# likely script added), so the Simplified Chinese catalog's folder under waken/translations
# has that name.
LOCALES = {"en": Locale.parse("en"), "zh-CN": Locale.parse("zh_CN")}
DEFAULT = "en"
# <html lang> of each locale (English pages are plain "en").
TAGS = {locale: "en" if key == DEFAULT else key for key, locale in LOCALES.items()}
# The Accept-Language headers whose choice is remembered: a browser sends the same one on
# every visit, and parsing it was a tenth of a cached home page's cost. Longer ones are
# parsed each time, so a stranger cannot fill the memo with big headers.
MEMO_SIZE, MEMO_HEADER_MAX = 64, 200


def select_locale():
    """The catalog of this request: the language setting, else the best Accept-Language match, else en."""
    from waken import (
        settings,  # not at the top: waken.settings -> errors -> error_codes -> waken.i18n
    )
    try:
        chosen = settings.get("language")
    except sqlite3.Error:   # the database is failing: its error page still needs a language
        chosen = "auto"
    if chosen in LOCALES:
        return LOCALES[chosen]
    header = request.environ.get("HTTP_ACCEPT_LANGUAGE", "")
    if len(header) > MEMO_HEADER_MAX:
        return LOCALES[_best_match.__wrapped__(header)]
    return LOCALES[_best_match(header)]


@functools.lru_cache(maxsize=MEMO_SIZE)
def _best_match(header):
    """The key of LOCALES an Accept-Language header prefers, else DEFAULT."""
    return parse_accept_header(header, LanguageAccept).best_match(list(LOCALES), default=DEFAULT)


def site_locale():
    """The locale of texts no visitor asks for (alerts, embeds): the language setting, `auto` read as English."""
    from waken import settings
    return LOCALES.get(settings.get("language"), LOCALES[DEFAULT])


def select_timezone():
    """Dates are shown in the site's time zone (the timezone setting)."""
    from waken import settings
    try:
        return settings.get("timezone")
    except sqlite3.Error:
        return "UTC"


def page_lang():
    """The BCP 47 tag of the page's language, for <html lang> and the scripts' Intl formats."""
    return TAGS.get(get_locale(), "en")


def vary_on_language(response):
    """Pages in the visitor's language differ by Accept-Language: say so to caches."""
    # The header as sent, not response.mimetype, which parses it for every answer, reports included.
    if (response.content_type or "").startswith("text/html"):
        vary = response.headers.get("Vary")
        if vary is None:    # most pages: set at once, without parsing and writing back a header set
            response.headers["Vary"] = "Accept-Language"
        else:
            response.vary.add("Accept-Language")
    return response


def init_app(app):
    """Flask-Babel with waken's catalogs, and the page's language in every template."""
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", "translations")
    Babel(app, locale_selector=select_locale, timezone_selector=select_timezone)
    app.jinja_env.policies["ext.i18n.trimmed"] = True   # {% trans %} blocks as one line, as extracted
    app.jinja_env.globals["page_lang"] = page_lang
    app.jinja_env.globals["label"] = label
    app.jinja_env.globals["script_texts"] = script_texts
    app.after_request(vary_on_language)
