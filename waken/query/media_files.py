"""GET /media/<kind>/<file>: stored covers and app icons, immutable and never sniffed."""
import os

from flask import abort, current_app, send_from_directory

from waken.media.files import FILENAME_RE, KINDS, mime_for
from waken.query import bp

ONE_YEAR = 365 * 24 * 3600


@bp.get("/media/<kind>/<filename>")
def media_file(kind, filename):
    """Serve one stored image; names that are not ours are 404."""
    if kind not in KINDS or not FILENAME_RE.fullmatch(filename):
        abort(404)
    response = send_from_directory(os.path.join(current_app.config["MEDIA_DIR"], kind), filename,
                                   mimetype=mime_for(filename), max_age=ONE_YEAR)
    response.cache_control.immutable = True
    response.cache_control.public = True
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
