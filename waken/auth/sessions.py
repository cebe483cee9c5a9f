"""Admin sessions kept on the server, so that logout, a new password and age end them for good."""
import hashlib
import secrets
from datetime import timedelta

from flask import g, session

from waken import db, settings
from waken.errors import Invalid
from waken.timeutil import from_ms, now, to_ms


def _digest(secret):
    return hashlib.sha256(secret.encode()).hexdigest()


def _max_age():
    """admin_session_days as a timedelta; a hand-edited value out of range counts as the default."""
    try:
        days = settings.validate("admin_session_days", settings.get("admin_session_days"))
    except Invalid:
        days = settings.SETTINGS["admin_session_days"].default
    return timedelta(days=days)


def current_admin_id():
    """The admin id of this request's session if it is still valid, else None (cached per request)."""
    if "admin_session" in g:
        return g.admin_session
    admin_id = None
    secret = session.get("sid")
    if isinstance(secret, str) and secret:
        row = db.query_one("SELECT admin_id, created_at FROM admin_session WHERE secret_hash = ?",
                           (_digest(secret),))
        if row is not None and now() - from_ms(row["created_at"]) < _max_age():
            admin_id = row["admin_id"]
    g.admin_session = admin_id
    return admin_id


def start_session(admin_id):
    """Sign this browser in as the admin, in the open write transaction (the caller commits)."""
    at = now()
    # Expired rows of this admin go as a new one arrives: the table stays as small as its use.
    cutoff = at - timedelta(days=settings.get("admin_session_days"))
    db.execute("DELETE FROM admin_session WHERE admin_id = ? AND created_at <= ?", (admin_id, to_ms(cutoff)))
    secret = secrets.token_urlsafe(32)
    db.execute("INSERT INTO admin_session (admin_id, secret_hash, created_at) VALUES (?, ?, ?)",
               (admin_id, _digest(secret), to_ms(at)))
    # A fresh cookie on every sign-in, so nothing set before it survives.
    session.clear()
    session["sid"] = secret
    session["admin_id"] = admin_id
    g.admin_session = admin_id


def end_session():
    """Sign this browser out, in the open write transaction (the caller commits)."""
    secret = session.get("sid")
    if isinstance(secret, str) and secret:
        db.execute("DELETE FROM admin_session WHERE secret_hash = ?", (_digest(secret),))
    session.clear()
    g.admin_session = None


def end_all_sessions(admin_id):
    """End every session of an admin, in the open write transaction (the caller commits)."""
    db.execute("DELETE FROM admin_session WHERE admin_id = ?", (admin_id,))
