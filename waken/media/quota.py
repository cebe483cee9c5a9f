"""The media_max_mb quota: when a new image would pass it, unreferenced images go first."""
import os
import time

from flask import current_app

from waken import settings
from waken.media.files import FILENAME_RE, KINDS
from waken.sweeps import referenced_media


def admit(image, written_since):
    """Whether a just-stored image may stay; False means it was removed (the store is full).

    written_since is the time.time() before the store: an older file was already
    there (a resent cover) and takes no new room, so it always stays.
    """
    media_dir = current_app.config["MEDIA_DIR"]
    path = os.path.join(media_dir, image.kind, image.filename)
    try:
        # File times come from a coarse kernel clock; a second of margin covers it.
        if os.stat(path).st_mtime < written_since - 1:
            return True
    except FileNotFoundError:
        return False
    limit = settings.get("media_max_mb") * 1024 * 1024
    files = _stored_files(media_dir)
    used = sum(size for _, _, size, _ in files)
    if used <= limit:
        return True
    used -= _evict_unreferenced(files, used - limit, keep=(image.kind, image.filename))
    if used <= limit:
        return True
    os.unlink(path)
    return False


def _stored_files(media_dir):
    """(kind, filename, size, mtime) of every stored image."""
    files = []
    for kind in KINDS:
        directory = os.path.join(media_dir, kind)
        for entry in os.scandir(directory) if os.path.isdir(directory) else ():
            if FILENAME_RE.fullmatch(entry.name):
                try:
                    info = entry.stat()
                except FileNotFoundError:
                    continue
                files.append((kind, entry.name, info.st_size, info.st_mtime))
    return files


def _evict_unreferenced(files, needed, keep):
    """Delete the oldest images no activity points to until `needed` bytes are free; returns bytes freed."""
    referenced = referenced_media()
    # A report may have stored or reused an image a moment ago and not committed the
    # row that points to it yet; images that young are never taken.
    young = time.time() - current_app.config["MEDIA_QUOTA_GRACE_SECONDS"]
    freed = 0
    for kind, filename, size, mtime in sorted(files, key=lambda f: f[3]):
        if freed >= needed:
            break
        if (kind, filename) in referenced or (kind, filename) == keep or mtime > young:
            continue
        try:
            os.unlink(os.path.join(current_app.config["MEDIA_DIR"], kind, filename))
        except FileNotFoundError:
            continue
        # The sweep later deletes the media_asset rows of files that are gone.
        freed += size
    return freed
