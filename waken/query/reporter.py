"""GET /reporter/waken-reporter.py: the desktop reporter, stamped with this server's version."""
import functools
import hashlib
from importlib import metadata, resources

from flask import current_app, request

from waken.query import bp

# The one line of the reporter the server rewrites, so the file it hands out names
# the version it came with.
VERSION_LINE = 'VERSION = "dev"'


@functools.cache
def reporter_source():
    """(bytes, ETag) of the reporter as served: the packaged file with the version filled in."""
    text = resources.files("waken.reporter").joinpath("waken_reporter.py").read_text(encoding="utf-8")
    if text.count(VERSION_LINE) != 1:
        raise RuntimeError(f"waken_reporter.py must hold the line {VERSION_LINE!r} exactly once")
    stamped = text.replace(VERSION_LINE, f'VERSION = "{metadata.version("waken")}"').encode("utf-8")
    return stamped, hashlib.sha256(stamped).hexdigest()[:20]


@bp.get("/reporter/waken-reporter.py")
def reporter_script():
    """The reporter a laptop fetches from its own server (public: it holds no secret)."""
    body, etag = reporter_source()
    response = current_app.response_class(body, mimetype="text/x-python")
    response.headers["Content-Disposition"] = 'inline; filename="waken-reporter.py"'
    response.headers["Cache-Control"] = "public, no-cache"   # kept, but checked: an upgrade shows at once
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.set_etag(etag)
    return response.make_conditional(request)
