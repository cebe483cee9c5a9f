"""Devices: keys, names, status and token binding, for the CLI, the admin pages and reports (the caller commits)."""
import secrets

from sqlalchemy import select

from waken import db
from waken.auth.tokens import find_token
from waken.db import orm
from waken.errors import Conflict, Invalid, NotFound
from waken.models import Device
from waken.timeutil import now, to_ms

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
    taken = {name for (name,) in db.query("SELECT name FROM device WHERE name LIKE ?", (f"{label} %",))}
    number = 1
    while f"{label} {number}" in taken:
        number += 1
    return f"{label} {number}"


def random_key():
    """A new GeneratedHashKey in the reporter's own format."""
    return f"wwd-{secrets.token_hex(16)}"


def check_key(key):
    """A valid GeneratedHashKey (trimmed), or Invalid with a sentence."""
    key = (key or "").strip()
    if not 8 <= len(key) <= 128:
        raise Invalid("A GeneratedHashKey must be 8 to 128 characters long.", field="key", code="device.key_invalid")
    if any(ch.isspace() or not ch.isprintable() for ch in key):
        raise Invalid("A GeneratedHashKey may not contain spaces or control characters.", field="key", code="device.key_invalid")
    return key


def find_device(key):
    """The device with exactly this key, or None."""
    return orm.session.scalar(select(Device).where(Device.hash_key == key))


def get_device(key):
    """The device with this key, or NotFound."""
    device = find_device(key)
    if device is None:
        raise NotFound(f"There is no device with the key '{key}'.", field="key", code="device.not_found")
    return device


def device_with_id(device_id):
    """The device with this id, or NotFound."""
    device = orm.session.get(Device, device_id)
    if device is None:
        raise NotFound(f"There is no device with id {device_id}.", code="device.not_found", params={"id": device_id})
    return device


def add_device(name, key=None, token_id=None, status="active", device_type=None):
    """Insert a device (a missing key is generated) and return its columns as a dict; no ORM, for reports too.

    Invalid for a bad key, Conflict for a taken one, NotFound for an unknown token.
    """
    key = check_key(key) if key else random_key()
    name = (name or "").strip()[:128] or neutral_name(device_type)
    if db.value("SELECT 1 FROM device WHERE hash_key = ?", (key,)) is not None:
        raise Conflict(f"A device with the key '{key}' already exists.", field="key", code="device.key_taken")
    if token_id is not None and db.value("SELECT 1 FROM api_token WHERE id = ?", (token_id,)) is None:
        raise NotFound(f"There is no token with id {token_id}.", field="token_id", code="token.not_found", params={"id": token_id})
    cursor = db.execute("INSERT INTO device (name, hash_key, status, token_id, device_type, created_at) "
                        "VALUES (?, ?, ?, ?, ?, ?)", (name, key, status, token_id, device_type, to_ms(now())))
    return {"id": cursor.lastrowid, "name": name, "hash_key": key, "status": status, "token_id": token_id,
            "device_type": device_type, "orphaned": False}


def create_device(name, key=None, token_id=None, status="active", device_type=None):
    """add_device() for the admin pages and commands: the new Device."""
    return device_with_id(add_device(name, key, token_id, status, device_type)["id"])


def _update(device, **columns):
    """Write columns of a device (in SQL, like every write to device) and show them on the Device."""
    assignments = ", ".join(f"{column} = ?" for column in columns)
    db.execute(f"UPDATE device SET {assignments} WHERE id = ?", (*columns.values(), device.id))
    orm.session.refresh(device)
    return device


def set_device_status(device, status):
    """Approve (active) or revoke a device."""
    return _update(device, status=status)


def set_device_name(device, name):
    """Change a device's display name."""
    return _update(device, name=name)


def set_device_token(device, token_id):
    """Bind a device to a token, or unbind it with None; either way it may report again."""
    return _update(device, token_id=find_token(token_id).id if token_id is not None else None, orphaned=0)


def delete_device(device):
    """Delete a device and its activity history."""
    db.execute("DELETE FROM device WHERE id = ?", (device.id,))
    orm.session.expunge(device)
    return device
