"""Status & privacy: the owner's status, and the private-mode switch (masks and lock screens are settings)."""
from zoneinfo import ZoneInfo

from flask import render_template, url_for
from flask_babel import gettext
from marshmallow import fields

from waken import settings
from waken.admin import bp
from waken.admin.forms import FormSchema, post_action, post_form
from waken.admin.login import login_required
from waken.feed import privacy, status
from waken.timeutil import now


class StatusForm(FormSchema):
    emoji = fields.String(load_default="")
    text = fields.String(load_default="")
    until = fields.String(load_default=None)


status_form = StatusForm()


@bp.get("/status")
@login_required
def status_page(errors=None, values=None):
    """The status in force and its form, and whether private mode is on (switch or schedule)."""
    current = settings.load()
    zone = ZoneInfo(current["timezone"])
    at = now()
    shown = status.current(at)
    until = shown["until"].astimezone(zone).strftime("%Y-%m-%d %H:%M") if shown and shown["until"] else ""
    return render_template("admin/status.html", shown=shown, until=until, errors=errors or {},
                           values=values or {}, private=privacy.is_private(current, at),
                           switch=current["private_mode"], schedule=current["private_schedule"],
                           zone=zone.key)


@bp.post("/status")
@login_required
def set_status():
    """Set the status from the form."""
    zone = ZoneInfo(settings.get("timezone"))
    return post_form(status_form, lambda v: status.set_status(v["emoji"], v["text"], v["until"], now(), zone),
                     page=status_page, done=gettext("Status set."), back=url_for("admin.status_page"))


@bp.post("/status/clear")
@login_required
def clear_status():
    """Clear the status."""
    return post_action(status.clear_status, done=gettext("Status cleared."), back=url_for("admin.status_page"))


@bp.post("/status/private")
@login_required
def switch_private_mode():
    """Turn the private-mode switch on or off (the schedule is a setting)."""
    turn_on = not settings.get("private_mode")
    return post_action(lambda: settings.put("private_mode", turn_on),
                       done=gettext("Private mode is on.") if turn_on else gettext("Private mode switch is off."),
                       back=url_for("admin.status_page"))
