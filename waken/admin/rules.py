"""Media Source Rules: block or rename a play source in public output."""
from flask import flash, redirect, render_template, request, url_for

from waken import rules as rules_domain
from waken import settings
from waken.admin import bp
from waken.admin.forms import read_form, rule_form, sentence
from waken.admin.login import login_required
from waken.db import begin_write, orm

ACTION_OPTIONS = (("block", "block: hide its media"), ("rename", "rename: show the label instead"))


def _page(errors=None, values=None, status=200):
    values = values if values is not None else {"source": request.args.get("source", ""), "action": "block"}
    return render_template("admin/rules.html", rules=rules_domain.list_rules(),
                           legacy=settings.get("media_play_source_blocklist") or [],
                           options=ACTION_OPTIONS, errors=errors or {}, values=values), status


@bp.get("/rules")
@login_required
def rules():
    """Every rule, and a form for a new one (`?source=` fills it in)."""
    return _page()


@bp.post("/rules")
@login_required
def add_rule():
    """Add a rule."""
    values, errors = read_form(rule_form)
    if errors:
        return _page(errors, request.form, 400)
    begin_write()
    try:
        rule = rules_domain.add_rule(values["source"], values["action"], values["label"])
    except ValueError as err:
        orm.session.rollback()
        return _page({"form": sentence(err)}, request.form, 400)
    orm.session.commit()
    flash(f"Rule for “{rule.source}” added.", "success")
    return redirect(url_for("admin.rules"), 303)


@bp.post("/rules/<int:rule_id>")
@login_required
def update_rule(rule_id):
    """Change a rule's source, action or label."""
    values, errors = read_form(rule_form)
    if errors:
        flash("Nothing changed. " + " ".join(errors.values()), "error")
        return redirect(url_for("admin.rules"), 303)
    return _change(rules_domain.update_rule, rule_id, values["source"], values["action"], values["label"],
                   message="Rule saved.")


@bp.post("/rules/<int:rule_id>/delete")
@login_required
def delete_rule(rule_id):
    """Delete a rule."""
    return _change(rules_domain.delete_rule, rule_id, message="Rule deleted.")


def _change(action, *args, message):
    begin_write()
    try:
        action(*args)
    except ValueError as err:
        orm.session.rollback()
        flash(f"Nothing changed: {err}.", "error")
        return redirect(url_for("admin.rules"), 303)
    orm.session.commit()
    flash(message, "success")
    return redirect(url_for("admin.rules"), 303)
