"""What a reporter imports: the token bundle and the integration config, as base64 JSON."""
import base64
import json

from sqlalchemy import select

from waken import settings
from waken.db import orm
from waken.models import ApiToken
from waken.timeutil import iso, now

# Settings that make up the "web" part of the integration config, by their exported names.
WEB_KEYS = {
    "name": "site_name",
    "bio": "bio",
    "avatarUrl": "avatar_url",
    "historyWindowMinutes": "history_window_minutes",
    "currentlyText": "currently_text",
    "recentText": "recent_text",
    "timezone": "timezone",
    "publicUrl": "public_url",
}


def encode(document):
    """Standard base64 of the document as UTF-8 JSON."""
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    return base64.b64encode(text.encode()).decode("ascii")


def report_endpoint():
    """Where devices POST their reports."""
    return f"{settings.public_base()}/api/activity"


def token_bundle(token, plaintext):
    """The reporter's one-paste setup for a freshly minted token."""
    return {"version": 1, "endpoint": report_endpoint(), "apiKey": plaintext, "tokenName": token.name}


def integration_config(minted=None):
    """The integration config; `minted` = (token, plaintext) puts a usable token first."""
    values = settings.load()
    tokens = list(orm.session.scalars(select(ApiToken).order_by(ApiToken.id)))
    if minted is not None:
        tokens = [minted[0]] + [t for t in tokens if t.id != minted[0].id]

    def item(token):
        # Only a token minted for this export has a plaintext; stored ones are hashes.
        plaintext = minted[1] if minted is not None and token.id == minted[0].id else None
        return {"id": token.id, "name": token.name, "isActive": token.enabled,
                "createdAt": iso(token.created_at), "lastUsedAt": iso(token.last_used_at),
                "token": plaintext}

    return {
        "version": 1,
        "exportedAt": iso(now()),
        "web": {name: values[key] for name, key in WEB_KEYS.items()},
        "token": {"reportEndpoint": report_endpoint(), "items": [item(t) for t in tokens]},
    }
