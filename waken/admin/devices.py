"""Device Management: list, add (custom or random key), approve/revoke, bind, rename, delete."""
from flask import flash, redirect, render_template, request, url_for
from sqlalchemy import case, select

from waken.admin import bp
from waken.admin.forms import bind_form, device_form, read_form, rename_form, sentence
from waken.admin.login import login_required
from waken.db import begin_write, orm
from waken.devices import (
    DEVICE_TYPES,
    WEB_ADMIN_KEY,
    create_device,
    delete_device,
    find_token,
    random_key,
    set_device_status,
)
from waken.models import ApiToken, Device

# Pending devices first: they are why the owner came here from an approval link.
STATUS_ORDER = case({"pending": 0, "active": 1, "revoked": 2}, value=Device.status)


def _page(errors=None, values=None, status=200):
    devices = orm.session.scalars(select(Device).order_by(STATUS_ORDER, Device.name, Device.id)).all()
    tokens = orm.session.scalars(select(ApiToken).order_by(ApiToken.id)).all()
    values = values if values is not None else {"key": request.args.get("new_key", "")}
    return render_template("admin/devices.html", devices=devices, tokens=tokens,
                           token_options=[("", "any enabled token")] + [(t.id, t.name) for t in tokens],
                           type_options=[("", "not set")] + [(t, t) for t in DEVICE_TYPES],
                           highlight=request.args.get("key"),
                           reserved=WEB_ADMIN_KEY, errors=errors or {}, values=values,
                           suggested_key=random_key()), status


@bp.get("/devices")
@login_required
def devices():
    """Every device; `?key=` (the approval link of a pending device) highlights one."""
    return _page()


@bp.post("/devices")
@login_required
def add_device():
    """Add an active device with a custom key, or a random one when the key is left empty."""
    values, errors = read_form(device_form)
    if errors:
        return _page(errors, request.form, 400)
    begin_write()
    try:
        device = create_device(values["name"], key=values["key"], token_id=values["token_id"],
                               device_type=values["device_type"])
    except ValueError as err:
        orm.session.rollback()
        field = "token_id" if "token" in str(err) else "key"
        return _page({field: sentence(err)}, request.form, 400)
    orm.session.commit()
    flash(f"Device “{device.name}” added. Its GeneratedHashKey is {device.hash_key}", "success")
    return redirect(url_for("admin.devices", _anchor=f"device-{device.id}"), 303)


@bp.post("/devices/<int:device_id>/approve")
@login_required
def approve_device(device_id):
    """Let a pending or revoked device report."""
    return _change(device_id, lambda d: set_device_status(d.hash_key, "active"), "approved")


@bp.post("/devices/<int:device_id>/revoke")
@login_required
def revoke_device(device_id):
    """Refuse the device's reports (403) until it is approved again."""
    return _change(device_id, lambda d: set_device_status(d.hash_key, "revoked"), "revoked")


@bp.post("/devices/<int:device_id>/rename")
@login_required
def rename_device(device_id):
    """Change the display name."""
    values, errors = read_form(rename_form)
    if errors:
        flash(f"Nothing changed. {errors['name']}", "error")
        return redirect(url_for("admin.devices"), 303)

    def rename(device):
        device.name = values["name"]
    return _change(device_id, rename, "renamed")


@bp.post("/devices/<int:device_id>/token")
@login_required
def bind_device(device_id):
    """Bind the device to one token (only it may report for the device), or unbind it."""
    values, errors = read_form(bind_form)
    if errors:
        flash(f"Nothing changed. {errors['token_id']}", "error")
        return redirect(url_for("admin.devices"), 303)

    def bind(device):
        device.token_id = find_token(values["token_id"]).id if values["token_id"] else None
        device.orphaned = False   # bound or unbound on purpose: it may report again
    return _change(device_id, bind, "bound" if values["token_id"] else "unbound")


@bp.post("/devices/<int:device_id>/delete")
@login_required
def remove_device(device_id):
    """Delete a device and its activity history."""
    return _change(device_id, lambda d: delete_device(d.hash_key), "deleted")


def _change(device_id, action, verb):
    begin_write()
    device = orm.session.get(Device, device_id)
    try:
        if device is None:
            raise ValueError(f"there is no device with id {device_id}")
        action(device)
        orm.session.flush()
    except ValueError as err:
        orm.session.rollback()
        flash(f"Nothing changed: {err}.", "error")
        return redirect(url_for("admin.devices"), 303)
    orm.session.commit()
    flash(f"Device “{device.name}” {verb}.", "success")
    anchor = None if verb == "deleted" else f"device-{device.id}"
    return redirect(url_for("admin.devices", _anchor=anchor), 303)
