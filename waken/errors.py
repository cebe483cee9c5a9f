"""Typed errors and the one error shape per audience: JSON for the API, OTLP's for exporters, HTML for people, a line for the shell."""
import click
from flask import current_app, jsonify, render_template_string, request
from flask.cli import AppGroup
from werkzeug.exceptions import HTTPException, InternalServerError

from waken import db, disk, error_codes
from waken.edge.paths import OTLP_PREFIX, is_api

_PAGE = """<!doctype html><html lang="{{ page_lang() }}"><meta charset="utf-8"><title>{{ code }} · waken</title>
<link rel="stylesheet" href="{{ url_for('static', filename='style.css') }}">
<main class="error"><h1>{{ code }}</h1><p>{{ message }}</p><p><a href="/">{{ _('Home') }}</a></p></main></html>"""

# The code of an answer that names none: HTTP-level refusals, and ApiError without code=.
STATUS_CODES = {400: "bad_request", 401: "auth.required", 403: "forbidden", 404: "not_found",
                405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
                429: "rate_limited", 500: "internal_error", 503: "unavailable"}

_MESSAGES = {
    400: "The request could not be understood.",
    401: "A valid API token is required: send it as 'Authorization: Bearer <token>'.",
    403: "You are not allowed to do that.",
    404: "There is nothing at this address.",
    405: "This address does not accept that method.",
    413: "The request body is larger than this server accepts.",
    429: "Too many requests; wait a little and try again.",
    500: "Something went wrong on the server; the error has been logged.",
}


class ApiError(Exception):
    """An HTTP answer with a status, a sentence and optional details: only at the HTTP edge
    (views, the Bearer check, the rate limits); the domain raises the DomainErrors below."""

    def __init__(self, status, message, fields=None, headers=None, *, code=None, params=None, **extra):
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = fields
        self.headers = headers
        self.code = code or STATUS_CODES.get(status, "http_error")
        self.params = params or {}
        self.extra = extra


class DomainError(Exception):
    """A rule of the domain was broken; the message is a sentence for whoever sent the data.

    Domain modules raise the subclasses below and never speak HTTP; each names its status
    and its default code once, in its class line. `code` is the stable name clients
    translate (listed in waken/error_codes.py; a raise site names its own), `params` the
    values its sentence holds. `field` names the input the sentence is about, when there is
    one (`fields`, a sentence per input, when there are several; `field_codes`, a code per
    input); `retry_after` (seconds) says when trying again makes sense.
    """

    status = 400
    code = "invalid"

    def __init_subclass__(cls, status=None, code=None, **kwargs):
        super().__init_subclass__(**kwargs)
        if status is not None:
            cls.status = status
        if code is not None:
            cls.code = code

    def __init__(self, message, field=None, fields=None, retry_after=None, *, code=None, params=None,
                 field_codes=None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.fields = fields or ({field: message} if field else None)
        self.retry_after = retry_after
        self.code = code or type(self).code
        self.params = {**({"field": field} if field else {}), **(params or {})}
        self.field_codes = field_codes

    @property
    def headers(self):
        return {"Retry-After": str(self.retry_after)} if self.retry_after is not None else None


class Invalid(DomainError, status=400, code="invalid"):
    """The data breaks a rule."""


class Forbidden(DomainError, status=403, code="forbidden"):
    """The caller may not do this."""


class NotFound(DomainError, status=404, code="not_found"):
    """What the request names does not exist."""


class Conflict(DomainError, status=409, code="conflict"):
    """The data clashes with what is stored."""


class PayloadTooLarge(DomainError, status=413, code="payload_too_large"):
    """The data is larger than the server takes or stores."""


class TooManyRequests(DomainError, status=429, code="rate_limited"):
    """The caller did this too often lately (retry_after says when to try again)."""


class Busy(DomainError, status=503, code="busy"):
    """The server is busy with the same kind of work for others; try again soon."""


class DiskRefused(DomainError):
    """The disk refused a write: 507 when full, 503 when read-only or failing (see waken.disk)."""

    def __init__(self, status, message, retry_after, kind):
        super().__init__(message, retry_after=retry_after, code="disk." + kind.replace("-", "_"))
        self.status = status


def check_length(text, most, field, code):
    """text if it has at most `most` characters; else Invalid for field, in the code's own sentence."""
    if len(text) > most:
        raise Invalid(error_codes.CODES[code][1] % {"max": most}, field=field, code=code, params={"max": most})
    return text


class _ShellRefusals:
    """Commands end with the sentence of a DomainError (exit status 1), not a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except DomainError as err:
            raise click.ClickException(err.message) from None


class ShellGroup(_ShellRefusals, AppGroup):
    """A group of flask commands (in the app context) that refuse cleanly."""


class ShellCommand(_ShellRefusals, click.Command):
    """One flask command that refuses cleanly."""


def error_body(message, code, params=None, fields=None, field_codes=None, **extra):
    """The JSON envelope of a failure: the English sentence, its stable code and the code's params."""
    body = {"success": False, "error": message, "code": code, "params": params or {}}
    if fields:
        body["fields"] = fields
        body["fieldCodes"] = field_codes or error_codes.field_codes(fields)
    body.update(extra)
    return body


def disk_refusal(err):
    """The answer to a write the disk refused (507 full, 503 read-only, with Retry-After), or None.

    Called where errors are answered: db.write() for every write, and the catch-all below
    for the rest (the login counters, say); the failure is remembered for /healthz.
    """
    kind = disk.failed(err)
    if kind is None:
        return None
    return DiskRefused(disk.STATUS[kind], disk.refusal_sentence(kind), disk.RETRY_AFTER_S, kind)


def init_app(app):
    """Answer every error in the audience's shape."""
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)


def _answer(status, message, code, params=None, fields=None, headers=None, field_codes=None, **extra):
    """The error in its audience's shape: OTLP's for exporters, JSON for the API, a page for people."""
    if request.path.startswith(OTLP_PREFIX):
        from waken.otlp import wire  # protobuf: loaded only where OTLP is spoken
        media = wire.answer_media(request.mimetype)
        return wire.status_body(status, message, media), status, {**(headers or {}), "Content-Type": media}
    if is_api(request.path):
        body = error_body(message, code, params, fields, field_codes, **extra)
        return jsonify(body), status, headers
    from waken.i18n.messages import (
        error_sentence,  # the page is in the visitor's language
    )
    return render_template_string(_PAGE, code=status, message=error_sentence(code, params, message)), status, headers


def _api_error(err):
    return _answer(err.status, err.message, err.code, err.params, err.fields, err.headers, **err.extra)


def _domain_error(err):
    return _answer(err.status, err.message, err.code, err.params, err.fields, err.headers, err.field_codes)


def _http_error(err):
    message = _MESSAGES.get(err.code) or err.description
    code = STATUS_CODES.get(err.code, "http_error")
    if err.code == 400 and "CSRF" in (err.description or ""):
        message, code = "The form expired or was not sent from this site; reload the page and try again.", "csrf.failed"
    # Keep headers such as Allow and Retry-After; the body is ours.
    headers = {k: v for k, v in err.get_headers() if k != "Content-Type"}
    return _answer(err.code, message, code, headers=headers)


def _unexpected(err):
    # Anything here is our fault: roll back and hand the connection back so it stays
    # usable, log it, and answer without internals.
    db.release()
    refusal = disk_refusal(err)
    if refusal is not None:
        return _domain_error(refusal)
    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    return _http_error(InternalServerError())
