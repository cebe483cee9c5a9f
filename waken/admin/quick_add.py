"""Quick Add Activity: report by hand through the same code path as POST /api/activity."""
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from marshmallow import ValidationError

from waken import db
from waken.admin import bp
from waken.admin.forms import field_errors, quick_add_form, read_form
from waken.admin.login import login_required
from waken.devices import reports
from waken.devices.registry import (
    WEB_ADMIN_KEY,
    WEB_ADMIN_NAME,
    find_device,
    random_key,
)
from waken.errors import DomainError, Invalid
from waken.i18n.messages import error_sentence
from waken.media.report_images import prepare_images
from waken.schemas.reports import report_schema

# Form field → report field, so the API's messages land next to the right input.
FORM_FIELDS = {"generatedHashKey": "key", "device": "device", "process_name": "process_name",
               "process_title": "process_title", "push_mode": "push_mode",
               "persist_minutes": "persist_minutes", "metadata": "media_title"}


@bp.get("/quick-add")
@login_required
def quick_add(errors=None, values=None, status=200):
    """The form; `?generate=1` shows a fresh random key to paste into Device Management; also a refused POST's answer."""
    generated = random_key() if request.args.get("generate") else None
    return render_template("admin/quick_add.html", errors=errors or {}, values=values or {},
                           generated=generated, reserved=WEB_ADMIN_KEY,
                           reserved_name=WEB_ADMIN_NAME), status


@bp.post("/quick-add")
@login_required
def submit_quick_add():
    """Store one report as if a device had sent it."""
    values, errors = read_form(quick_add_form)
    if errors:
        return quick_add(errors, request.form, 400)
    try:
        report = report_schema.load(_as_report(values))
    except ValidationError as err:
        messages = {FORM_FIELDS.get(k, k): v for k, v in err.messages.items()}
        return quick_add(field_errors(messages), request.form, 400)
    images = prepare_images(report)
    try:
        with db.write():
            _check_key(report["generatedHashKey"])
            outcome = reports.submit_report(report, None, images, allow_reserved=True)
    except DomainError as err:
        field = "key" if getattr(err, "field", None) == "key" else "form"
        return quick_add({field: error_sentence(err.code, err.params, err.message)}, request.form, err.status if err.status < 500 else 400)
    flash(_("Stored: %(device)s is now in %(app)s.", device=outcome.device["name"], app=outcome.activity.process_name),
          "success")
    return redirect(url_for("admin.quick_add"), 303)


def _check_key(key):
    """Quick Add writes to the reserved device or to an active one, never registers a device."""
    if key == WEB_ADMIN_KEY:
        return
    device = find_device(key)
    if device is None or device.status != "active":
        problem = "is not a device" if device is None else f"belongs to a {device.status} device"
        raise Invalid(f"This key {problem}: use the key of an active device from Device Management, "
                      "or leave it empty.", field="key", code="device.key_unusable")


def _as_report(values):
    """The form's values in the shape of an API report body."""
    report = {"generatedHashKey": values["key"] or WEB_ADMIN_KEY, "process_name": values["process_name"],
              "process_title": values["process_title"], "device": values["device"],
              "push_mode": values["push_mode"], "persist_minutes": values["persist_minutes"]}
    media = {k: v for k, v in (("title", values["media_title"]), ("singer", values["media_singer"])) if v}
    if media:
        report["metadata"] = {"media": media}
    return report
