"""The overview: devices online, recent reports, agent activity today, what needs attention."""
from flask import render_template
from sqlalchemy import func, select

from waken.admin import bp
from waken.admin.login import login_required
from waken.agent_log import stats, store
from waken.db import orm
from waken.feed.build import build_feed
from waken.feed.today import today_charts
from waken.models import ApiToken, Device
from waken.timeutil import now

RECENT_LIMIT = 15
AGENT_RECENT = 5


@bp.get("/")
@login_required
def overview():
    """What is happening now, at a glance."""
    feed = build_feed(RECENT_LIMIT, public=False)
    counts = dict(orm.session.execute(select(Device.status, func.count()).group_by(Device.status)).all())
    tokens = orm.session.scalar(select(func.count()).select_from(ApiToken))
    at = now()
    agent_today = stats.stats({}, at)["today"]
    agent_recent = store.list_records({"sort": "newest", "limit": AGENT_RECENT, "offset": 0}, at)
    return render_template("admin/overview.html", feed=feed, counts=counts, tokens=tokens,
                           agent_today=agent_today, agent_recent=agent_recent["activities"],
                           today=today_charts(at, public=False))
