"""App Rules: how an app shows on the public side (renamed, title hidden, or hidden)."""
from flask import render_template, request, url_for
from flask_babel import gettext as _

from waken.admin import bp
from waken.admin.forms import app_rule_form, post_action, post_form
from waken.admin.login import login_required
from waken.devices import app_rules
from waken.devices.app_records import app_groups


@bp.get("/app-rules", endpoint="app_rules")   # the function has another name: `app_rules` is the domain module
@login_required
def app_rules_page(errors=None, values=None):
    """Every app rule and a form for one (`?process=` fills it in, as App Records links do); also a refused POST's answer."""
    if values is None:
        # "Change" and App Records link here with ?process=: show that rule's current state.
        process = request.args.get("process", "")
        rule = app_rules.find(process) if process.strip() else None
        values = {"process_name": process} if rule is None else {
            "process_name": rule.process_name, "label": rule.label or "",
            "hide_title": rule.hide_title, "hide": rule.hide}
    seen = sorted({r.process_name for records in app_groups().values() for r in records}, key=str.casefold)
    return render_template("admin/app_rules.html", rules=app_rules.list_app_rules(), seen=seen,
                           errors=errors or {}, values=values, describe=app_rules.describe)


@bp.post("/app-rules")
@login_required
def save_app_rule():
    """Add the rule for a process, or replace the one it has."""
    return post_form(app_rule_form, lambda values: app_rules.save_app_rule(**values), page=app_rules_page,
                     done=lambda rule: _("App rule for “%(name)s” saved: %(rule)s.", name=rule.process_name, rule=app_rules.describe(rule)),
                     back=url_for("admin.app_rules"))


@bp.post("/app-rules/delete")
@login_required
def delete_app_rule():
    """Delete the rule of a process."""
    return post_action(lambda: app_rules.delete_app_rule(request.form.get("process_name")),
                       done=lambda rule: _("App rule for “%(name)s” deleted.", name=rule.process_name), back=url_for("admin.app_rules"))
