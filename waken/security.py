"""App-wide protections: CSRF on forms, security headers, the session cookie, the login limiter."""
import threading
from collections import deque
from datetime import timedelta

from flask import current_app, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import TooManyRequests

from waken.timeutil import now

csrf = CSRFProtect()

# Pages get this unless a view set its own (the home page does).
DEFAULT_CSP = ("default-src 'self'; img-src 'self' data:; object-src 'none'; "
               "base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class SessionInterface(SecureCookieSessionInterface):
    """The signed-cookie session, marked Secure whenever the site is reached over https."""

    def get_cookie_secure(self, app):
        if app.config["SESSION_COOKIE_SECURE"] or request.is_secure:
            return True
        if not session:
            return False   # nothing will be written, so spare the settings lookup
        from waken.settings import public_base
        return public_base().startswith("https://")


class FailureLimiter:
    """Failed attempts per client in this process; `limit` failures within `window` block it."""

    def __init__(self, limit, window, max_clients=10_000):
        self.limit = limit
        self.window = window
        self.max_clients = max_clients
        self._failures = {}
        self._lock = threading.Lock()

    def retry_after(self, client, at):
        """Seconds until `client` may try again; 0 when it may try now."""
        with self._lock:
            times = self._recent(client, at)
            if len(times) < self.limit:
                return 0
            return max(1, int((times[0] + self.window - at).total_seconds()) + 1)

    def fail(self, client, at):
        """Count one failed attempt."""
        with self._lock:
            if client not in self._failures and len(self._failures) >= self.max_clients:
                self._forget_stale(at)
            self._recent(client, at).append(at)

    def reset(self, client):
        """Forget a client's failures (after a success)."""
        with self._lock:
            self._failures.pop(client, None)

    def _recent(self, client, at):
        times = self._failures.setdefault(client, deque(maxlen=self.limit))
        while times and at - times[0] >= self.window:
            times.popleft()
        return times

    def _forget_stale(self, at):
        for client in [c for c, t in self._failures.items() if not t or at - t[-1] >= self.window]:
            del self._failures[client]
        if len(self._failures) >= self.max_clients:
            self._failures.pop(next(iter(self._failures)))


def _limiter():
    from flask import current_app
    return current_app.extensions["waken_login_limiter"]


def check_login_allowed():
    """Refuse with 429 (and Retry-After) while this client has too many recent failures."""
    wait = _limiter().retry_after(request.remote_addr, now())
    if wait:
        raise TooManyRequests("Too many wrong attempts; wait a few minutes and try again.",
                              retry_after=wait)


def record_login_failure():
    """Count a wrong password or setup code from this client."""
    _limiter().fail(request.remote_addr, now())


def record_login_success():
    """A correct password clears this client's count."""
    _limiter().reset(request.remote_addr)


def _protect_forms():
    # Forms are checked everywhere; /api routes authenticate with Bearer tokens
    # (or read-only with the SameSite session), so a CSRF token means nothing there.
    if request.method in UNSAFE_METHODS and not request.path.startswith("/api/"):
        if request.path.startswith("/admin/"):
            # Admin forms are small, and this check parses the form before anyone signed in.
            request.max_content_length = current_app.config["SMALL_BODY_MAX_BYTES"]
        csrf.protect(apply_exemptions=True)


def _add_headers(response):
    response.headers.setdefault("Content-Security-Policy", DEFAULT_CSP)
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def init_app(app):
    """Install CSRF checks, headers, the session cookie rules and the login limiter."""
    cfg = app.config
    cfg["WTF_CSRF_CHECK_DEFAULT"] = False      # _protect_forms decides instead
    cfg.setdefault("WTF_CSRF_TIME_LIMIT", None)  # valid as long as the session that holds it
    cfg["SESSION_COOKIE_HTTPONLY"] = True
    cfg["SESSION_COOKIE_SAMESITE"] = cfg.get("SESSION_COOKIE_SAMESITE") or "Lax"
    app.extensions["waken_login_limiter"] = FailureLimiter(
        cfg["LOGIN_MAX_FAILURES"], timedelta(minutes=cfg["LOGIN_LOCKOUT_MINUTES"]))
    app.session_interface = SessionInterface()
    csrf.init_app(app)
    app.before_request(_protect_forms)
    app.after_request(_add_headers)
