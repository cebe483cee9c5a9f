"""The API Token page: list, create (the plaintext shown once), enable/disable, delete."""
from flask import render_template, request, url_for
from flask_babel import gettext
from sqlalchemy import func, select

from waken import db
from waken.admin import bp
from waken.admin.forms import post_action, read_form, sentence, token_form
from waken.admin.integration import encode, token_bundle
from waken.admin.login import login_required
from waken.auth.tokens import SCOPES, create_token, delete_token, set_token_enabled
from waken.db import orm
from waken.errors import Invalid
from waken.i18n.mark import N_
from waken.i18n.messages import error_sentence
from waken.models import ApiToken, Device


@bp.get("/tokens")
@login_required
def tokens(errors=None, values=None, status=200):
    """Every token, never its secret; also a refused POST's answer."""
    rows = orm.session.execute(
        select(ApiToken, func.count(Device.id)).outerjoin(Device, Device.token_id == ApiToken.id)
        .group_by(ApiToken.id).order_by(ApiToken.id)).all()
    return render_template("admin/tokens.html", rows=rows, errors=errors or {}, values=values or {},
                           scopes=SCOPES, ticked=_ticked() if values else ("report",)), status


def _ticked():
    """The scopes ticked in the posted form."""
    return tuple(request.form.getlist("scope"))


@bp.post("/tokens")
@login_required
def create_api_token():
    """Mint a token with the ticked scopes and show its plaintext this one time."""
    values, errors = read_form(token_form)
    scopes = _ticked()
    if not scopes:
        errors = {**errors, "scope": "Tick at least one scope: what may this token do?"}
    elif not set(scopes) <= set(SCOPES):
        errors = {**errors, "scope": "That is not a token scope."}
    if errors:
        return tokens(errors, request.form, 400)
    try:
        with db.write():
            token, plaintext = create_token(values["name"], scopes)
    except Invalid as err:
        return tokens({err.field: sentence(error_sentence(err.code, err.params, err.message))}, values, 400)
    # The reporter bundle goes to devices: only a report-only token belongs in it.
    bundle = encode(token_bundle(token, plaintext)) if token.scopes == "report" else None
    return render_template("admin/token_created.html", token=token, plaintext=plaintext, bundle=bundle)


@bp.post("/tokens/<int:token_id>/enable")
@login_required
def enable_token(token_id):
    """Accept reports with this token again."""
    return _on_token(lambda: set_token_enabled(token_id, True), N_("Token enabled."))


@bp.post("/tokens/<int:token_id>/disable")
@login_required
def disable_token(token_id):
    """Refuse reports with this token (401) until it is enabled again."""
    return _on_token(lambda: set_token_enabled(token_id, False), N_("Token disabled: its reports now get 401."))


@bp.post("/tokens/<int:token_id>/delete")
@login_required
def remove_token(token_id):
    """Delete a token; devices bound to it get 403 until they are bound again or unbound."""
    return _on_token(lambda: delete_token(token_id), N_("Token deleted. Devices bound to it now get 403 "
                                                        "until you bind them to another token or unbind them."))


def _on_token(change, done):
    return post_action(change, done=lambda _result: gettext(done), back=url_for("admin.tokens"))
