"""Device and token management shared by the CLI and the admin pages (the caller commits)."""
import secrets

from sqlalchemy import select

from waken.db import orm
from waken.models import ApiToken, Device
from waken.timeutil import now

# The quick-add form of the admin panel reports as this device; the API may not.
WEB_ADMIN_KEY = "waken-web-admin"
WEB_ADMIN_NAME = "Web Admin Quick Add"
DEVICE_TYPES = ("desktop", "tablet", "mobile")
# waken-wa-reporter sends this when it knows no name (no setting, no hostname): never a rename.
PLACEHOLDER_NAMES = frozenset({"waken-wa client"})


def usable_name(name):
    """A name sent by a reporter, trimmed; None when empty or the reporter's placeholder."""
    name = (name or "").strip()[:128]
    return None if not name or name.casefold() in PLACEHOLDER_NAMES else name


def neutral_name(device_type):
    """A name for a device that sent none, from its type ("Desktop 2"): never its key."""
    label = {"desktop": "Desktop", "tablet": "Tablet", "mobile": "Mobile"}.get(device_type, "Device")
    taken = set(orm.session.scalars(select(Device.name).where(Device.name.like(f"{label} %"))))
    number = 1
    while f"{label} {number}" in taken:
        number += 1
    return f"{label} {number}"


def random_key():
    """A new GeneratedHashKey in the reporter's own format."""
    return f"wwd-{secrets.token_hex(16)}"


def check_key(key):
    """A valid GeneratedHashKey (trimmed), or ValueError with a sentence."""
    key = (key or "").strip()
    if not 8 <= len(key) <= 128:
        raise ValueError("a GeneratedHashKey must be 8 to 128 characters long")
    if any(ch.isspace() or not ch.isprintable() for ch in key):
        raise ValueError("a GeneratedHashKey may not contain spaces or control characters")
    return key


def find_device(key):
    """The device with exactly this key, or None."""
    return orm.session.scalar(select(Device).where(Device.hash_key == key))


def find_token(token_id):
    """The token with this id, or ValueError."""
    token = orm.session.get(ApiToken, token_id)
    if token is None:
        raise ValueError(f"there is no token with id {token_id}")
    return token


def create_device(name, key=None, token_id=None, status="active", device_type=None):
    """Add a device; a missing key is generated. ValueError when the key is taken or invalid."""
    key = check_key(key) if key else random_key()
    name = (name or "").strip()[:128] or neutral_name(device_type)
    if find_device(key) is not None:
        raise ValueError(f"a device with the key '{key}' already exists")
    if token_id is not None:
        find_token(token_id)
    device = Device(name=name, hash_key=key, status=status, token_id=token_id,
                    device_type=device_type, created_at=now())
    orm.session.add(device)
    orm.session.flush()
    return device


def get_device(key):
    """The device with this key, or ValueError."""
    device = find_device(key)
    if device is None:
        raise ValueError(f"there is no device with the key '{key}'")
    return device


def set_device_status(key, status):
    """Approve (active) or revoke a device."""
    device = get_device(key)
    device.status = status
    return device


def delete_device(key):
    """Delete a device and its activity history."""
    orm.session.delete(get_device(key))


def set_token_enabled(token_id, enabled):
    """Enable or disable a token."""
    token = find_token(token_id)
    token.enabled = enabled
    return token


def bind_device(key, token_id):
    """Bind a device to a token, or unbind it with None; either way it may report again."""
    device = get_device(key)
    device.token_id = find_token(token_id).id if token_id is not None else None
    device.orphaned = False
    return device


def delete_token(token_id):
    """Delete a token; its devices are marked orphaned (schema.sql) and get 403 until re-bound."""
    orm.session.delete(find_token(token_id))
