"""Devices: keys, names, status and token binding, for the CLI, the admin pages and reports (the caller commits)."""
import secrets

from waken.errors import Conflict, Invalid, NotFound
from waken.timeutil import now
from waken.tokens import find_token

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
    from waken.models import Device
    from waken.orm import orm, select
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
    """A valid GeneratedHashKey (trimmed), or Invalid with a sentence."""
    key = (key or "").strip()
    if not 8 <= len(key) <= 128:
        raise Invalid("A GeneratedHashKey must be 8 to 128 characters long.", field="key")
    if any(ch.isspace() or not ch.isprintable() for ch in key):
        raise Invalid("A GeneratedHashKey may not contain spaces or control characters.", field="key")
    return key


def find_device(key):
    """The device with exactly this key, or None."""
    from waken.models import Device
    from waken.orm import orm, select
    return orm.session.scalar(select(Device).where(Device.hash_key == key))


def get_device(key):
    """The device with this key, or NotFound."""
    device = find_device(key)
    if device is None:
        raise NotFound(f"There is no device with the key '{key}'.", field="key")
    return device


def device_with_id(device_id):
    """The device with this id, or NotFound."""
    from waken.models import Device
    from waken.orm import orm
    device = orm.session.get(Device, device_id)
    if device is None:
        raise NotFound(f"There is no device with id {device_id}.")
    return device


def create_device(name, key=None, token_id=None, status="active", device_type=None):
    """Add a device; a missing key is generated. Invalid for a bad key, Conflict for a taken one."""
    from waken.models import Device
    from waken.orm import orm
    key = check_key(key) if key else random_key()
    name = (name or "").strip()[:128] or neutral_name(device_type)
    if find_device(key) is not None:
        raise Conflict(f"A device with the key '{key}' already exists.", field="key")
    if token_id is not None:
        find_token(token_id)
    device = Device(name=name, hash_key=key, status=status, token_id=token_id,
                    device_type=device_type, created_at=now())
    orm.session.add(device)
    orm.session.flush()
    return device


def set_device_status(device, status):
    """Approve (active) or revoke a device."""
    device.status = status
    return device


def set_device_name(device, name):
    """Change a device's display name."""
    device.name = name
    return device


def set_device_token(device, token_id):
    """Bind a device to a token, or unbind it with None; either way it may report again."""
    device.token_id = find_token(token_id).id if token_id is not None else None
    device.orphaned = False
    return device


def delete_device(device):
    """Delete a device and its activity history."""
    from waken.orm import orm
    orm.session.delete(device)
    return device
