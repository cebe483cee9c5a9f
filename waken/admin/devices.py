"""Device Management: list, add (custom or random key), approve/revoke, bind, rename, delete."""
from flask import render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import case, select

from waken.admin import bp
from waken.admin.forms import (
    bind_form,
    device_form,
    post_action,
    post_form,
    rename_form,
)
from waken.admin.login import login_required
from waken.db import orm
from waken.devices.registry import (
    DEVICE_TYPES,
    WEB_ADMIN_KEY,
    create_device,
    delete_device,
    device_with_id,
    random_key,
    set_device_name,
    set_device_status,
    set_device_token,
)
from waken.i18n.labels import label
from waken.i18n.mark import N_
from waken.models import ApiToken, Device


@bp.get("/devices")
@login_required
def devices(errors=None, values=None):
    """Every device; `?key=` (the approval link of a pending device) highlights one; also a refused POST's answer."""
    # Pending devices first: they are why the owner came here from an approval link.
    by_status = case({"pending": 0, "active": 1, "revoked": 2}, value=Device.status)
    devices = orm.session.scalars(select(Device).order_by(by_status, Device.name, Device.id)).all()
    tokens = orm.session.scalars(select(ApiToken).order_by(ApiToken.id)).all()
    values = values if values is not None else {"key": request.args.get("new_key", "")}
    return render_template("admin/devices.html", devices=devices, tokens=tokens,
                           token_options=[("", _("any enabled token"))] + [(t.id, t.name) for t in tokens],
                           type_options=[("", _("not set"))] + [(t, label(t)) for t in DEVICE_TYPES],
                           highlight=request.args.get("key"),
                           reserved=WEB_ADMIN_KEY, errors=errors or {}, values=values,
                           suggested_key=random_key())


@bp.post("/devices")
@login_required
def add_device():
    """Add an active device with a custom key, or a random one when the key is left empty."""
    return post_form(
        device_form,
        lambda values: create_device(values["name"], key=values["key"], token_id=values["token_id"],
                                     device_type=values["device_type"]),
        page=devices,
        done=lambda device: _("Device “%(name)s” added. Its GeneratedHashKey is %(key)s", name=device.name, key=device.hash_key),
        back=_back)


@bp.post("/devices/<int:device_id>/approve")
@login_required
def approve_device(device_id):
    """Let a pending or revoked device report."""
    return _on_device(device_id, lambda device: set_device_status(device, "active"), N_("Device “%(name)s” approved."))


@bp.post("/devices/<int:device_id>/revoke")
@login_required
def revoke_device(device_id):
    """Refuse the device's reports (403) until it is approved again."""
    return _on_device(device_id, lambda device: set_device_status(device, "revoked"), N_("Device “%(name)s” revoked."))


@bp.post("/devices/<int:device_id>/rename")
@login_required
def rename_device(device_id):
    """Change the display name."""
    return _on_device(device_id, lambda device, values: set_device_name(device, values["name"]), N_("Device “%(name)s” renamed."),
                      form=rename_form)


@bp.post("/devices/<int:device_id>/token")
@login_required
def bind_device(device_id):
    """Bind the device to one token (only it may report for the device), or unbind it."""
    verb = N_("Device “%(name)s” bound.") if request.form.get("token_id", "").strip() else N_("Device “%(name)s” unbound.")
    return _on_device(device_id, lambda device, values: set_device_token(device, values["token_id"]), verb,
                      form=bind_form)


@bp.post("/devices/<int:device_id>/delete")
@login_required
def remove_device(device_id):
    """Delete a device and its activity history."""
    return post_action(lambda: delete_device(device_with_id(device_id)),
                       done=lambda device: _("Device “%(name)s” deleted.", name=device.name),
                       back=url_for("admin.devices"))


def _on_device(device_id, change, verb, form=None):
    """post_action on one device: change(device[, values]), then “Device … verb.” and back to its row."""
    def run(*values):
        return change(device_with_id(device_id), *values)
    return post_action(run, form=form, done=lambda device: _(verb, name=device.name), back=_back)


def _back(device=None):
    return url_for("admin.devices", _anchor=device and f"device-{device.id}")
