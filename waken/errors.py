"""Typed errors and the one error shape per audience: JSON for /api, HTML for people, a line for the shell."""
import click
from flask import current_app, jsonify, render_template_string, request
from flask.cli import AppGroup
from werkzeug.exceptions import HTTPException, InternalServerError

from waken import db, disk

_PAGE = """<!doctype html><html lang="en"><meta charset="utf-8"><title>{{ code }} · waken</title>
<link rel="stylesheet" href="{{ url_for('static', filename='style.css') }}">
<main class="error"><h1>{{ code }}</h1><p>{{ message }}</p><p><a href="/">Home</a></p></main></html>"""

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
    """An error answered to the client with a status, a sentence and optional details."""

    def __init__(self, status, message, fields=None, headers=None, **extra):
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = fields
        self.headers = headers
        self.extra = extra


class DomainError(Exception):
    """A rule of the domain was broken; the message is a sentence for whoever sent the data.

    Domain modules raise the subclasses below and never speak HTTP; each maps to its
    status here, once. `field` names the input the sentence is about, when there is one.
    """

    status = 400

    def __init__(self, message, field=None):
        super().__init__(message)
        self.message = message
        self.field = field


class Invalid(DomainError):
    """The data breaks a rule (400)."""


class Forbidden(DomainError):
    """The caller may not do this (403)."""

    status = 403


class NotFound(DomainError):
    """What the request names does not exist (404)."""

    status = 404


class Conflict(DomainError):
    """The data clashes with what is stored (409)."""

    status = 409


class _ShellRefusals:
    """Commands end with the sentence of a DomainError (exit status 1), not a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except (DomainError, ApiError) as err:   # ApiError: a full or read-only disk, say
            raise click.ClickException(err.message) from None


class ShellGroup(_ShellRefusals, AppGroup):
    """A group of flask commands (in the app context) that refuse cleanly."""


class ShellCommand(_ShellRefusals, click.Command):
    """One flask command that refuses cleanly."""


def error_body(message, fields=None, **extra):
    """The JSON envelope of a failure."""
    body = {"success": False, "error": message}
    if fields:
        body["fields"] = fields
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
    return ApiError(disk.STATUS[kind], disk.refusal_sentence(kind),
                    headers={"Retry-After": str(disk.RETRY_AFTER_S)})


def init_app(app):
    """Answer every error in the audience's shape."""
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)


def _wants_json():
    return request.path.startswith(("/api/", "/v1/")) or request.path in ("/healthz", "/mcp")


def _api_error(err):
    if not _wants_json():
        return render_template_string(_PAGE, code=err.status, message=err.message), err.status, err.headers
    return jsonify(error_body(err.message, err.fields, **err.extra)), err.status, err.headers


def _domain_error(err):
    fields = {err.field: err.message} if err.field else None
    return _api_error(ApiError(err.status, err.message, fields))


def _http_error(err):
    message = _MESSAGES.get(err.code) or err.description
    if err.code == 400 and "CSRF" in (err.description or ""):
        message = "The form expired or was not sent from this site; reload the page and try again."
    # Keep headers such as Allow and Retry-After; the body is ours.
    headers = {k: v for k, v in err.get_headers() if k != "Content-Type"}
    if _wants_json():
        return jsonify(error_body(message)), err.code, headers
    return render_template_string(_PAGE, code=err.code, message=message), err.code, headers


def _unexpected(err):
    # Anything here is our fault: roll back and hand the connection back so it stays
    # usable, log it, and answer without internals.
    db.release()
    refusal = disk_refusal(err)
    if refusal is not None:
        return _api_error(refusal)
    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    return _http_error(InternalServerError())
