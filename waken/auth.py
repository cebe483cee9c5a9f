"""API tokens: minting, hashing, and the Bearer check every /api write goes through."""
import hashlib
import hmac
import secrets
from datetime import timedelta

from flask import request
from sqlalchemy import select

from waken.db import db
from waken.errors import ApiError
from waken.models import ApiToken
from waken.timeutil import now

# last_used_at is written at most this often per token, to spare SD cards.
TOUCH_INTERVAL = timedelta(seconds=60)


def hash_token(plaintext):
    """SHA-256 hex of a token; only this is stored."""
    return hashlib.sha256(plaintext.encode()).hexdigest()


def create_token(name):
    """Add a token (the caller commits); returns (row, plaintext). The plaintext is not kept."""
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise ValueError("a token name is required (at most 80 characters)")
    plaintext = secrets.token_hex(32)
    token = ApiToken(name=name, token_hash=hash_token(plaintext), prefix=plaintext[:8],
                     enabled=True, created_at=now())
    db.session.add(token)
    db.session.flush()
    return token, plaintext


def bearer_plaintext():
    """The token sent as 'Authorization: Bearer …', or None. Query strings never count."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def require_token():
    """The enabled token of this request, or a 401 ApiError."""
    plaintext = bearer_plaintext()
    if plaintext is None:
        raise ApiError(401, "Missing API token: send it as 'Authorization: Bearer <token>'.")
    digest = hash_token(plaintext)
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == digest))
    # compare_digest keeps the check constant-time even though the lookup is by hash.
    if token is None or not hmac.compare_digest(token.token_hash, digest):
        raise ApiError(401, "Invalid API token.")
    if not token.enabled:
        raise ApiError(401, "This API token is disabled.")
    return token


def touch_token(token, when):
    """Record use of a token, at most once per TOUCH_INTERVAL."""
    if token.last_used_at is None or when - token.last_used_at >= TOUCH_INTERVAL:
        token.last_used_at = when
