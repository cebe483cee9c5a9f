"""Agent Activities: the filtered, paged log with a CSV link and its statistics as SVG charts."""
from flask import render_template, request, url_for
from flask_babel import gettext as _
from marshmallow import ValidationError

from waken.admin import bp, svg
from waken.admin.forms import field_errors
from waken.admin.login import login_required
from waken.agent_log import stats
from waken.agent_log.filters import STATUSES
from waken.agent_log.store import latest_id, list_records
from waken.errors import Invalid
from waken.i18n.labels import label
from waken.i18n.mark import N_
from waken.i18n.messages import error_sentence
from waken.schemas.agent_log_queries import SORTS, log_query_schema
from waken.schemas.fields import flat_fields
from waken.timeutil import now

LISTS = ("type", "status")      # parameters that may repeat; their values join with commas
FILTERS = ("q", "type", "status", "agent", "startDate", "endDate", "sort")
LABELS = {"q": N_("Search"), "type": N_("Type"), "status": N_("Status"), "agent": N_("Agent"),
          "startDate": N_("The start date"), "endDate": N_("The end date"), "sort": N_("Sort"),
          "limit": N_("Limit"), "offset": N_("Offset"),
          "format": "format"}
STATUS_COLORS = {"success": "#1f8a4c", "error": "#c0392b", "pending": "#d08a00", "running": "#2d6cdf"}


def _query():
    """The page's query as plain strings, blanks dropped, and per-field errors."""
    query, errors = {}, {}
    for key, values in request.args.lists():
        values = [v.strip() for v in values if v.strip()]
        if not values:
            continue        # an empty field of the filter form means "any"
        if len(values) > 1 and key not in LISTS:
            errors[key] = "is given more than once"
        query[key] = ",".join(values)
    if "format" in query:
        errors["format"] = "is not used by this page: the Download CSV link gives the CSV"
    return query, errors


def _sentences(fields):
    return field_errors(fields, LABELS)


def _load(query, errors):
    """Validated args with the API's own schema, or (None, sentences)."""
    if errors:
        return None, _sentences(errors)
    try:
        return log_query_schema.load(query), {}
    except ValidationError as err:
        return None, _sentences(flat_fields(err.messages))


def _charts(stats):
    return {
        "heatmap": svg.heatmap(stats["heatmap"], _("Agent activity per day")),
        "hourly": svg.hourly_bars(stats["hourly"], _("Agent activity per hour of day, last 30 days")),
        "by_type": svg.labelled_bars(stats["byType"], _("Agent activity by type")),
        "by_status": svg.labelled_bars(stats["byStatus"], _("Agent activity by status"), STATUS_COLORS, label),
    }


@bp.get("/agents")
@login_required
def agent_log():
    """The agent log: filters and search, a page of records, CSV download and charts."""
    query, errors = _query()
    args, errors = _load(query, errors)
    at = now()
    page = None
    if args is not None:
        try:
            page = list_records(args, at)
        except Invalid as err:
            errors = {"form": error_sentence(err.code, err.params, err.message)}
    if page is None:
        return render_template("admin/agent_log.html", errors=errors, values=query,
                               statuses=STATUSES, sorts=SORTS), 400
    # The charts cover the whole retention window; they follow every filter but the dates.
    figures = stats.stats({k: args[k] for k in ("type", "status", "agent") if args.get(k)}, at)
    filters = {k: query[k] for k in FILTERS if k in query}
    limit, offset = args["limit"], args["offset"]
    keep = {**filters, **({"limit": limit} if "limit" in query else {})}
    links = {
        "first": url_for("admin.agent_log", **keep),
        "previous": url_for("admin.agent_log", **keep, offset=max(0, offset - limit)) if offset else None,
        "next": url_for("admin.agent_log", **keep, offset=offset + limit) if page["hasMore"] else None,
        # The whole filtered log, not just this page.
        "csv": url_for("query.export_agent_activities", **filters),
    }
    return render_template("admin/agent_log.html", errors={}, values=query, statuses=STATUSES, sorts=SORTS,
                           page=page, stats=figures, charts=_charts(figures), links=links,
                           latest_id=latest_id())
