"""App-wide protections: CSRF on forms, security headers, the session cookie, trusted proxies."""
from flask import current_app, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from waken.edge.paths import is_api

csrf = CSRFProtect()

# Pages get this unless a view set its own (the home page does).
DEFAULT_CSP = ("default-src 'self'; img-src 'self' data:; object-src 'none'; "
               "base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
_DEFAULT_HEADERS = tuple((name, name.lower(), value) for name, value in
                         {"Content-Security-Policy": DEFAULT_CSP, **HEADERS}.items())
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class SessionInterface(SecureCookieSessionInterface):
    """The signed-cookie session, marked Secure whenever the site is reached over https."""

    def open_session(self, app, request):
        # Reports, the feed and health checks carry no cookie: spare them building the signer.
        # A request without any Cookie header skips parsing one, too.
        if app.secret_key and ("HTTP_COOKIE" not in request.environ
                               or not request.cookies.get(self.get_cookie_name(app))):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app, session, response):
        # Untouched and empty (every report): Flask would work out the cookie's attributes to do nothing.
        if session or session.accessed or session.modified:
            super().save_session(app, session, response)

    def get_cookie_secure(self, app):
        if app.config["SESSION_COOKIE_SECURE"] or request.is_secure:
            return True
        if not session:
            return False   # nothing will be written, so spare the settings lookup
        from waken.settings import public_base
        return public_base().startswith("https://")


def _protect_forms():
    # Forms are checked everywhere but on the API paths (see waken.edge.paths).
    if request.method in UNSAFE_METHODS and not is_api(request.path):
        if request.path.startswith("/admin/"):
            # Admin forms are small, and this check parses the form before anyone signed in.
            request.max_content_length = current_app.config["SMALL_BODY_MAX_BYTES"]
        csrf.protect(apply_exemptions=True)


def _add_headers(response):
    # What setdefault would do per header, with the answer's header names looked at once.
    headers = response.headers
    present = set(headers.keys(lower=True))
    for name, lower, value in _DEFAULT_HEADERS:
        if lower not in present:
            headers.add(name, value)
    return response


def init_app(app):
    """Install CSRF checks, headers, the session cookie rules and the trusted proxy hops."""
    cfg = app.config
    cfg["WTF_CSRF_CHECK_DEFAULT"] = False      # _protect_forms decides instead
    cfg["SESSION_COOKIE_HTTPONLY"] = True
    cfg["SESSION_COOKIE_SAMESITE"] = cfg.get("SESSION_COOKIE_SAMESITE") or "Lax"
    hops = cfg["TRUSTED_PROXIES"]
    if isinstance(hops, bool) or not isinstance(hops, int) or hops < 0:
        raise ValueError("WAKEN_TRUSTED_PROXIES must be a whole number of proxy hops (0 or more)")
    if hops:
        # Only then do X-Forwarded-For/-Proto/-Host count, and only the last `hops` entries.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    app.session_interface = SessionInterface()
    csrf.init_app(app)
    app.before_request(_protect_forms)
    app.after_request(_add_headers)
