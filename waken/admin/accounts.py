"""Admin accounts: the one-time setup code, creating admins, checking passwords."""
import hmac
import os
import secrets
from typing import NamedTuple

from flask import current_app
from sqlalchemy import func, select
from werkzeug.security import check_password_hash, generate_password_hash

from waken import db
from waken.admission import Gate
from waken.auth.sessions import end_all_sessions
from waken.config import stored_secret
from waken.db import orm
from waken.errors import Invalid, TooManyRequests
from waken.models import AdminUser
from waken.timeutil import now

# Easy to read aloud and to type from a log: no 0/O, 1/I/L.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
PASSWORD_MIN = 8

# scrypt with N=2^15, r=8, p=1 (werkzeug's default, pinned so that an upgrade cannot change
# it unseen): 32 MiB and ~0.1 s a hash on a PC core, a few tenths of a second on a Pi 4.
# Kept rather than halved, as admission below bounds the memory instead: one hash at a time
# per worker is 32 MiB above resting, 64 MiB for both. Hashes stored with another method
# keep verifying (werkzeug reads the method from the hash).
PASSWORD_METHOD = "scrypt:32768:8:1"
# One hash at a time per process: a second one only halves each one's speed on a Pi's cores
# that also serve the site, and doubles the memory. Beyond it: 429 at once.
HASHES_AT_ONCE = 1
HASH_RETRY_AFTER_SECONDS = 1
_hashing = Gate(HASHES_AT_ONCE, lambda: TooManyRequests(
    "The server is checking other passwords right now; try again in a moment.",
    retry_after=HASH_RETRY_AFTER_SECONDS, code="busy.password_check"))


def _code_path():
    return os.path.join(current_app.instance_path, "setup_code")


def _normalise(code):
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())


def setup_code():
    """The setup code in force, creating it once for every worker to share."""
    return stored_secret(_code_path(), _new_code)


def _new_code():
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))
    return "-".join(raw[i:i + 4] for i in range(0, 12, 4))


def setup_code_matches(given):
    """Whether `given` is the current setup code (case, spaces and dashes ignored)."""
    if not os.path.exists(_code_path()):
        return False
    return hmac.compare_digest(_normalise(given).encode(), _normalise(setup_code()).encode())


def discard_setup_code():
    """Remove the setup code once an admin exists."""
    try:
        os.unlink(_code_path())
    except FileNotFoundError:
        pass


def admin_exists(admin_id=None):
    """Whether any admin (or the admin with this id) exists."""
    if admin_id is None:
        return db.value("SELECT EXISTS (SELECT 1 FROM admin_user)") == 1
    return db.value("SELECT EXISTS (SELECT 1 FROM admin_user WHERE id = ?)", (admin_id,)) == 1


def check_username(username):
    """A valid username (trimmed), or Invalid."""
    username = (username or "").strip()
    if not 1 <= len(username) <= 64 or any(ch.isspace() or not ch.isprintable() for ch in username):
        raise Invalid("The username must be 1 to 64 characters without spaces.", field="username", code="account.username_invalid")
    return username


def check_password(password):
    """A password long enough, or Invalid."""
    if not isinstance(password, str) or not PASSWORD_MIN <= len(password) <= 256:
        raise Invalid(f"The password must be {PASSWORD_MIN} to 256 characters long.", field="password", code="account.password_length", params={"min": PASSWORD_MIN, "max": 256})
    return password


class Credentials(NamedTuple):
    """A checked username and the hash of its password, ready for save_admin."""

    username: str
    password_hash: str


def hashing_slot():
    """One of this process's HASHES_AT_ONCE password hashes, or 429 at once with Retry-After."""
    # Taken before any hashing starts, so a burst of sign-ins costs neither memory nor waiting threads.
    return _hashing.turn()


def credentials(username, password):
    """Check and hash what an admin typed, before the write lock (hashing is slow on purpose)."""
    username, password = check_username(username), check_password(password)
    with hashing_slot():
        return Credentials(username, generate_password_hash(password, method=PASSWORD_METHOD))


def find_admin(username):
    """The admin with this username, or None."""
    return orm.session.scalar(select(AdminUser).where(AdminUser.username == username))


def save_admin(checked, *, first=False):
    """Create an admin, or set a new password for an existing one (the caller commits).

    `checked` comes from credentials(). Returns (admin, created); with first=True,
    (None, False) when an admin exists already (setup was finished meanwhile).
    A new password ends every session of that admin.
    """
    if first and orm.session.scalar(select(func.count()).select_from(AdminUser)):
        return None, False
    admin = find_admin(checked.username)
    created = admin is None
    if created:
        admin = AdminUser(username=checked.username, created_at=now())
        orm.session.add(admin)
    admin.password_hash = checked.password_hash
    orm.session.flush()
    if not created:
        end_all_sessions(admin.id)
    return admin, created


def authenticate(username, password):
    """The admin with these credentials, or None (429 while this process hashes others)."""
    admin = find_admin((username or "").strip())
    with hashing_slot():
        if admin is None:
            # Same work for unknown names, so timing does not tell which names exist.
            check_password_hash(_dummy_hash(), password or "")
            return None
        return admin if check_password_hash(admin.password_hash, password or "") else None


def _dummy_hash():
    ext = current_app.extensions
    if "waken_dummy_hash" not in ext:
        ext["waken_dummy_hash"] = generate_password_hash(secrets.token_hex(8), method=PASSWORD_METHOD)
    return ext["waken_dummy_hash"]
