"""API tokens: mint, enable, disable, delete, scopes, and the Bearer check every token-guarded route goes through."""
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import request

from waken import db
from waken.db import orm
from waken.errors import ApiError, Invalid, NotFound
from waken.i18n.mark import N_
from waken.models import ApiToken
from waken.timeutil import from_ms, now

# last_used_at is written at most this often per token, to spare SD cards.
TOUCH_INTERVAL = timedelta(seconds=60)
# What a token may do, and which routes each scope opens (for messages and the docs).
SCOPES = {
    "report": N_("device reports (POST /api/activity and /api/activity/verify) and the owner's status (PUT and DELETE /api/status)"),
    "agents:write": N_("writing the agent log (POST and PATCH /api/activities, MCP log_activity and finish_activity)"),
    "agents:read": N_("reading the agent log (list, one record, CSV, stats, stream, MCP recent_activities)"),
    "history:read": N_("reading device history (GET /api/activity/history and /api/activity/stats)"),
}
ALL_SCOPES = tuple(SCOPES)
# A token made without --scope gets these three (SPEC §10); reading device history is
# asked for by name, so a device's token never reads its owner's history by default.
DEFAULT_SCOPES = ("report", "agents:write", "agents:read")


def check_scopes(scopes):
    """The scopes as a sorted-by-definition tuple (none given = the default three), or Invalid."""
    scopes = set(scopes or DEFAULT_SCOPES)
    unknown = scopes - set(SCOPES)
    if unknown:
        raise Invalid(f"'{sorted(unknown)[0]}' is not a token scope; the scopes are {', '.join(SCOPES)}.",
                      field="scope", code="token.scope_unknown", params={"scope": sorted(unknown)[0]})
    return tuple(s for s in SCOPES if s in scopes)


def hash_token(plaintext):
    """SHA-256 hex of a token; only this is stored."""
    return hashlib.sha256(plaintext.encode()).hexdigest()


def create_token(name, scopes=None):
    """Add a token with these scopes (None = all; the caller commits); returns (row, plaintext).

    The plaintext is not kept. Invalid for a bad name or an unknown scope.
    """
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise Invalid("A token name is required (at most 80 characters).", field="name", code="token.name_required")
    scopes = check_scopes(scopes)
    plaintext = secrets.token_hex(32)
    token = ApiToken(name=name, token_hash=hash_token(plaintext), prefix=plaintext[:8],
                     enabled=True, created_at=now(), scopes=" ".join(scopes))
    orm.session.add(token)
    orm.session.flush()
    return token, plaintext


def find_token(token_id):
    """The token with this id, or NotFound."""
    token = orm.session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"There is no token with id {token_id}.", field="token_id", code="token.not_found", params={"id": token_id})
    return token


def set_token_enabled(token_id, enabled):
    """Enable or disable a token."""
    token = find_token(token_id)
    token.enabled = enabled
    return token


def delete_token(token_id):
    """Delete a token; its devices are marked orphaned (schema.sql) and get 403 until re-bound."""
    orm.session.delete(find_token(token_id))


def bearer_plaintext():
    """The token sent as 'Authorization: Bearer …', or None. Query strings never count."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


@dataclass(frozen=True)
class TokenRef:
    """The caller's token, as the request needs it."""

    id: int
    name: str
    last_used_at: datetime | None
    scopes: tuple = ALL_SCOPES


def require_token(scope):
    """The enabled token of this request if it has `scope`; else a 401 (no or bad token) or 403."""
    return require_scope(authenticate(), scope)


def authenticate():
    """The enabled token of this request, whatever its scopes; else a 401 (no, unknown or disabled token)."""
    plaintext = bearer_plaintext()
    if plaintext is None:
        raise ApiError(401, "Missing API token: send it as 'Authorization: Bearer <token>'.", code="auth.token_missing")
    digest = hash_token(plaintext)
    # A plain statement of its own: no transaction is held while the body is read.
    rows = db.query("SELECT id, name, enabled, last_used_at, token_hash, scopes FROM api_token "
                      "WHERE token_hash = ?", (digest,))
    token_id, name, enabled, last_used_at, token_hash, scopes = rows[0] if rows else (None,) * 6
    # compare_digest keeps the check constant-time even though the lookup is by hash.
    if token_hash is None or not hmac.compare_digest(token_hash, digest):
        raise ApiError(401, "Invalid API token.", code="auth.token_invalid")
    if not enabled:
        raise ApiError(401, "This API token is disabled.", code="auth.token_disabled")
    return TokenRef(token_id, name, None if last_used_at is None else from_ms(last_used_at), tuple(scopes.split()))


def require_scope(token, scope):
    """token itself if it has `scope`; else a 403 that names the scope and the token's own."""
    if scope not in token.scopes:
        raise ApiError(403, f"This API token lacks the '{scope}' scope needed for {SCOPES[scope]}; "
                            f"it has {', '.join(token.scopes) or 'none'}. Use a token with that scope.", code="auth.scope_missing", params={"scope": scope})
    return token


def touch_token(token, when):
    """Record use of a token, at most once per TOUCH_INTERVAL."""
    if token.last_used_at is None or when - token.last_used_at >= TOUCH_INTERVAL:
        # Through the ORM, like every write to api_token: at most once a minute per token.
        stored = orm.session.get(ApiToken, token.id)
        if stored is not None:      # not deleted since the request's check
            stored.last_used_at = when


def require_reader():
    """Reads of the agent log: an admin session, or else a token with the agents:read scope."""
    from waken.auth.sessions import current_admin_id
    if current_admin_id() is not None:
        return None
    return require_token("agents:read")
