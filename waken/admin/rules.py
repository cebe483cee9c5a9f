"""Media Source Rules: block or rename a play source in public output."""
from flask import render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from waken import settings
from waken.admin import bp
from waken.admin.forms import post_action, post_form, rule_form
from waken.admin.login import login_required
from waken.devices import rules

ACTION_OPTIONS = (("block", _l("block: hide its media")), ("rename", _l("rename: show the label instead")))


@bp.get("/rules", endpoint="rules")   # the function has another name: `rules` is the domain module
@login_required
def media_rules(errors=None, values=None):
    """Every rule, and a form for a new one (`?source=` fills it in); also a refused POST's answer."""
    values = values if values is not None else {"source": request.args.get("source", ""), "action": "block"}
    return render_template("admin/rules.html", rules=rules.list_rules(),
                           legacy=settings.get("media_play_source_blocklist") or [],
                           options=ACTION_OPTIONS, errors=errors or {}, values=values)


@bp.post("/rules")
@login_required
def add_rule():
    """Add a rule."""
    return post_form(rule_form, lambda values: rules.add_rule(values["source"], values["action"], values["label"]),
                     page=media_rules, done=lambda rule: _("Rule for “%(source)s” added.", source=rule.source), back=url_for("admin.rules"))


@bp.post("/rules/<int:rule_id>")
@login_required
def update_rule(rule_id):
    """Change a rule's source, action or label."""
    form = request.form
    return post_action(lambda: rules.update_rule(rule_id, form.get("source"), form.get("action"), form.get("label")),
                       done=lambda _rule: _("Rule saved."), back=url_for("admin.rules"))


@bp.post("/rules/<int:rule_id>/delete")
@login_required
def delete_rule(rule_id):
    """Delete a rule."""
    return post_action(lambda: rules.delete_rule(rule_id), done=lambda _rule: _("Rule deleted."), back=url_for("admin.rules"))
