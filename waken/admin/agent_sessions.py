"""Sessions: agent sessions newest first, one session's timeline, and the model price table."""
from datetime import timedelta

from flask import render_template, request, url_for
from flask_babel import gettext as _
from marshmallow import ValidationError, fields

from waken.admin import bp
from waken.admin.forms import FormSchema, post_action, post_form
from waken.admin.login import login_required
from waken.admin.timeline import timeline
from waken.agent_log import prices
from waken.agent_log.sessions import get_session, list_sessions
from waken.schemas.agent_sessions import session_query_schema, sessions_query_schema
from waken.timeutil import now

PER_PAGE = 20
TIMELINE_RECORDS = 500
LIVE_MINUTES = 10           # a session with a record this recent refreshes itself
REFRESH_SECONDS = 10


class PriceForm(FormSchema):
    # Parsing and bounds are prices.set_price's to check, with its own sentences.
    model = fields.String(load_default=None)
    input_per_mtok = fields.String(load_default=None)
    output_per_mtok = fields.String(load_default=None)


price_form = PriceForm()


def _page(errors=None, values=None):
    try:
        offset = max(0, int(request.args.get("offset", 0)))
    except ValueError:
        offset = 0
    try:
        page = list_sessions(sessions_query_schema.load({"limit": PER_PAGE, "offset": offset}), now())
    except ValidationError:
        page = list_sessions(sessions_query_schema.load({"limit": PER_PAGE}), now())
    return render_template("admin/agent_sessions.html", page=page, prices=prices.list_prices(),
                           describe=prices.describe, errors=errors or {}, values=values or {},
                           per_page=PER_PAGE)


@bp.get("/sessions")
@login_required
def agent_sessions():
    """A page of sessions, newest first, and the price table."""
    return _page()


@bp.get("/sessions/<path:key>")
@login_required
def agent_session(key):
    """One session: its summary and a timeline of its records; a live one refreshes itself."""
    at = now()
    found = get_session(key, session_query_schema.load({"limit": TIMELINE_RECORDS}), at)
    summary = found["session"]
    live = (summary["byStatus"]["running"] or summary["byStatus"]["pending"]
            or at - summary["end"] < timedelta(minutes=LIVE_MINUTES))
    return render_template("admin/agent_session.html", found=found, summary=summary,
                           chart=timeline(found["activities"], _("Timeline of session %(key)s", key=key[:64])),
                           refresh=REFRESH_SECONDS if live else None)


@bp.post("/sessions/prices")
@login_required
def save_price():
    """Add or change a model's price."""
    return post_form(price_form, lambda v: prices.set_price(v["model"], v["input_per_mtok"], v["output_per_mtok"]),
                     page=_page, done=lambda row: _("Price of %(model)s saved.", model=row.model),
                     back=url_for("admin.agent_sessions") + "#prices")


@bp.post("/sessions/prices/delete")
@login_required
def delete_price():
    """Delete a model's price."""
    return post_action(lambda: prices.delete_price(request.form.get("model")),
                       done=lambda row: _("Price of %(model)s deleted.", model=row.model),
                       back=url_for("admin.agent_sessions") + "#prices")
