"""Cross-origin rules (Flask-CORS): public reads for any page, device reports for listed origins only.

Two kinds of rule, because Flask-CORS takes its origins once, when it is set up:
- The public reads never change: Flask-CORS's own `resources` answer them with `*`.
- The report routes (`POST /api/activity`, `/api/activity/verify`) allow the origins in the
  `cors_report_origins` setting, which the owner changes while the server runs. Flask-CORS 6
  compiles `origins` at set-up and accepts no callable, and `cross_origin` fixes them per view
  and skips error answers (a 401 must reach the page too). So an after_request hook of ours
  picks the options by method and asks Flask-CORS to apply them (`set_cors_headers`, what its
  extension and decorator call; flask_cors.core is not in its __all__, so the version is pinned
  and tests/test_cors.py checks every header); the options are built once per value of the setting.
  `GET /api/activity` shares its path with the report, so that path is decided here too.
Everything else — admin pages, /api/admin, the agent log, OTLP — matches no rule and never
carries a CORS header.
"""
import re

from flask import current_app, request
from flask_cors import CORS
from flask_cors.core import (
    ACL_REQUEST_HEADER_PRIVATE_NETWORK,
    get_cors_headers,
    get_cors_options,
    set_cors_headers,
)
from werkzeug.datastructures import Headers

from waken import settings

# Anyone may read what the home page shows; no cookie is ever involved (no credentials).
PUBLIC = {"origins": "*", "send_wildcard": True, "always_send": True, "methods": ["GET", "HEAD", "OPTIONS"],
          "vary_header": False, "supports_credentials": False}
PUBLIC_PATHS = (r"/api/activity/stream", r"/media/.*", r"/api/openapi.json", r"/reporter/.*")
# Only the listed pages, only POST with these two headers. A page the owner listed may reach a
# waken on a private network (Chromium's Private Network Access preflight): listing it says so.
REPORT = {"methods": ["POST"], "allow_headers": ["Authorization", "Content-Type"], "max_age": 600,
          "always_send": False, "vary_header": True, "supports_credentials": False,
          "allow_private_network": True}
REPORT_PATHS = frozenset({"/api/activity", "/api/activity/verify"})

cors = CORS()


class ReportRules:
    """The Flask-CORS options of the report routes, rebuilt when the setting's value changes."""

    def __init__(self, app):
        self.app = app
        self.public = get_cors_options(app, PUBLIC)
        # What Flask-CORS adds to a GET of the feed that sends no Origin (most of them: the
        # home page's own fetches, readers that are not browsers): the same every time, so
        # worked out once. Requests with an Origin, a private-network ask or a preflight go
        # through Flask-CORS each time.
        self.public_plain = tuple(get_cors_headers(self.public, Headers(), "GET").items(multi=True))
        self._built = ((), None)   # (origins, options), replaced as one value: threads share it

    def options(self, origins):
        built_for, options = self._built
        if origins != built_for:
            # Escaped and anchored, so that an IPv6 origin's brackets are not read as a regex.
            patterns = [re.compile(re.escape(origin) + r"\Z", re.IGNORECASE) for origin in origins]
            options = get_cors_options(self.app, REPORT, {"origins": patterns})
            self._built = (origins, options)
        return options


def _report_paths(response):
    if request.path not in REPORT_PATHS:
        return response
    method, rules = request.method, current_app.extensions["waken.edge.cors"]
    if method == "POST" or (method == "OPTIONS" and
                            request.headers.get("Access-Control-Request-Method", "").upper() == "POST"):
        # Reporters that are not browsers send no Origin: they skip even the settings.
        origins = tuple(settings.get("cors_report_origins")) if "Origin" in request.headers else ()
        if origins:
            set_cors_headers(response, rules.options(origins))
    elif request.path == "/api/activity":   # the feed shares the report's path: `*` like the other reads
        headers = request.headers
        if method == "OPTIONS" or "Origin" in headers or ACL_REQUEST_HEADER_PRIVATE_NETWORK in headers:
            set_cors_headers(response, rules.public)
        else:
            for name, value in rules.public_plain:
                response.headers.add(name, value)
    return response


def init_app(app):
    """Answer public reads to every origin, and reports to the origins the owner listed."""
    cors.init_app(app, resources={path: PUBLIC for path in PUBLIC_PATHS},
                  intercept_exceptions=False)   # error answers pass through after_request anyway
    app.extensions["waken.edge.cors"] = ReportRules(app)
    app.after_request(_report_paths)
