"""GET /media/<kind>/<file>: stored covers and app icons, immutable and never sniffed; none in private mode."""
import os

from flask import abort, current_app, send_from_directory

from waken import settings
from waken.auth.sessions import current_admin_id
from waken.feed.privacy import media_hidden
from waken.media.files import FILENAME_RE, KINDS, mime_for
from waken.query import bp
from waken.timeutil import now

ONE_YEAR = 365 * 24 * 3600


@bp.get("/media/<kind>/<filename>")
def media_file(kind, filename):
    """Serve one stored image; names that are not ours are 404, and so is every image in private mode."""
    if kind not in KINDS or not FILENAME_RE.fullmatch(filename):
        abort(404)
    if media_hidden(settings.load(), now(), current_admin_id()):
        abort(404)
    response = send_from_directory(os.path.join(current_app.config["MEDIA_DIR"], kind), filename,
                                   mimetype=mime_for(filename), max_age=ONE_YEAR)
    # Immutable even though private mode answers 404: a name is content-addressed and only
    # ever published in the feed, so a copy kept is one its holder has already seen.
    response.cache_control.immutable = True
    response.cache_control.public = True
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
