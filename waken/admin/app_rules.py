"""App Rules: how an app shows on the public side (renamed, title hidden, or hidden)."""
from flask import flash, redirect, render_template, request, url_for

from waken import app_rules as domain
from waken.admin import bp
from waken.admin.forms import sentence
from waken.admin.login import login_required
from waken.app_records import app_groups
from waken.db import begin_write, orm

CHECKED = ("on", "true", "1")


def _page(error=None, values=None, status=200):
    if values is None:
        # "Change" and App Records link here with ?process=: show that rule's current state.
        process = request.args.get("process", "")
        rule = domain.find(process) if process.strip() else None
        values = {"process_name": process} if rule is None else {
            "process_name": rule.process_name, "label": rule.label or "",
            "hide_title": rule.hide_title, "hide": rule.hide}
    seen = sorted({r.process_name for records in app_groups().values() for r in records}, key=str.casefold)
    return render_template("admin/app_rules.html", rules=domain.list_app_rules(), seen=seen,
                           error=error, values=values, describe=domain.describe), status


@bp.get("/app-rules")
@login_required
def app_rules():
    """Every app rule, and a form for one (`?process=` fills it in, as App Records links do)."""
    return _page()


@bp.post("/app-rules")
@login_required
def save_app_rule():
    """Add the rule for a process, or replace the one it has."""
    form = request.form
    try:
        values = domain.clean(form.get("process_name"), form.get("label"),
                              form.get("hide_title", "") in CHECKED, form.get("hide", "") in CHECKED)
    except ValueError as err:
        return _page(sentence(err), form, 400)
    begin_write()
    rule = domain.save_app_rule(*values)
    orm.session.commit()
    flash(f"App rule for “{rule.process_name}” saved: {domain.describe(rule)}.", "success")
    return redirect(url_for("admin.app_rules"), 303)


@bp.post("/app-rules/delete")
@login_required
def delete_app_rule():
    """Delete the rule of a process."""
    begin_write()
    try:
        rule = domain.delete_app_rule(request.form.get("process_name"))
    except ValueError as err:
        orm.session.rollback()
        flash(f"Nothing changed: {err}.", "error")
        return redirect(url_for("admin.app_rules"), 303)
    orm.session.commit()
    flash(f"App rule for “{rule.process_name}” deleted.", "success")
    return redirect(url_for("admin.app_rules"), 303)
