"""The public feed: live statuses and recent activities, with media normalised and rules applied."""
import json
from dataclasses import dataclass
from datetime import timedelta
from itertools import islice
from types import SimpleNamespace

from waken import db, settings
from waken.devices.app_rules import AppRules, active_app_rules
from waken.devices.reports import is_live
from waken.devices.rules import active_rules
from waken.feed.agents import agent_states
from waken.feed.now_playing import battery_of, frozen, now_playing
from waken.timeutil import from_ms, now, to_ms

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
# The public feed shows at most this many live statuses, newest report first, so that
# many devices cannot make every page and stream event large and slow to render.
ACTIVE_LIMIT = 50

# The columns of an activity the feed and the admin overview show, with its device's.
ACTIVITY_SQL = """
    SELECT a.id, a.process_name, a.process_title, a.push_mode, a.metadata, a.started_at, a.updated_at,
           a.ended_at, a.expires_at, a.report_count, d.name AS device_name, d.device_type
    FROM device_activity a JOIN device d ON d.id = a.device_id"""
NEWEST_FIRST = " ORDER BY a.updated_at DESC, a.id DESC"


def _activity(row):
    """A row as the feed reads it: times as aware datetimes, metadata parsed, the device by name."""
    return SimpleNamespace(
        id=row["id"], process_name=row["process_name"], process_title=row["process_title"],
        push_mode=row["push_mode"], meta=json.loads(row["metadata"]) if row["metadata"] else None,
        started_at=from_ms(row["started_at"]), updated_at=from_ms(row["updated_at"]),
        ended_at=_time(row["ended_at"]), expires_at=_time(row["expires_at"]), report_count=row["report_count"],
        device=SimpleNamespace(name=row["device_name"], device_type=row["device_type"]))


def _time(ms):
    return None if ms is None else from_ms(ms)


@dataclass
class FeedItem:
    """One activity as the public sees it; the stored row is only read, never changed."""

    activity: SimpleNamespace
    online: bool
    public_meta: dict
    now_playing: dict | None
    battery: dict
    process_name: str | None
    process_title: str | None

    @property
    def last_report_at(self):
        return self.activity.updated_at

    def __getattr__(self, name):
        return getattr(self.activity, name)


def build_feed(limit=DEFAULT_LIMIT, public=True):
    """The feed at this moment, in five queries whatever the number of devices.

    public=False (the admin panel) leaves app rules out: the real names and titles, and
    lists every live status rather than the newest ACTIVE_LIMIT.
    """
    at = now()
    values = settings.load()
    stale = values["process_stale_seconds"]
    window = values["history_window_minutes"]
    rules = active_rules()
    apps = active_app_rules() if public else AppRules(())
    open_rows = db.query(ACTIVITY_SQL + " WHERE a.ended_at IS NULL" + NEWEST_FIRST)
    cutoff = to_ms(at - timedelta(minutes=window))
    recent, params = " WHERE (a.updated_at >= ? OR a.ended_at >= ?)", [cutoff, cutoff]
    if apps.hidden():
        # Hidden apps leave the history altogether (filtered here, so `limit` rows remain).
        recent += f" AND a.process_name COLLATE NOCASE NOT IN ({', '.join('?' * len(apps.hidden()))})"
        params += apps.hidden()
    recent_rows = db.query(ACTIVITY_SQL + recent + NEWEST_FIRST + " LIMIT ?", (*params, limit))

    def item(activity):
        return public_item(activity, at, stale, rules, values, apps)

    live = (a for a in map(_activity, open_rows) if is_live(a, at, stale))
    agents, agents_until = agent_states(at) if values.get("public_agents") == "summary" else ([], None)
    return {
        "agents": agents,
        "agents_valid_until": agents_until,
        "activeStatuses": [item(a) for a in islice(live, ACTIVE_LIMIT if public else None)],
        "recentActivities": [item(a) for a in map(_activity, recent_rows)],
        "historyWindowMinutes": window,
        "processStaleSeconds": stale,
        "generatedAt": at,
    }


def public_item(activity, at, stale, rules, values, apps=None):
    """Wrap one activity with liveness, battery and now-playing; media of blocked sources hidden,
    and the app renamed, its title hidden, or the app hidden as its app rule says."""
    meta = activity.meta if isinstance(activity.meta, dict) else {}
    view = apps.view(activity.process_name) if apps is not None else None
    name, title = activity.process_name, activity.process_title
    if view is not None and view.hide:
        # The device is online with no app: nothing of what it runs is shown.
        battery = battery_of(meta)
        return FeedItem(activity, is_live(activity, at, stale), {}, None, battery, None, None)
    if view is not None:
        name, title = view.label or name, None if view.hide_title else title
    source = meta.get("play_source")
    playing = None
    if rules.is_blocked(source):
        meta = {k: v for k, v in meta.items() if k != "media"}
    else:
        playing = now_playing(meta, activity.updated_at, at, rules.label(source),
                              covers=values["media_cover_display"], icons=values["report_app_icon"])
    online = is_live(activity, at, stale)
    if playing is not None and not online:
        playing = frozen(playing, activity.updated_at)
    return FeedItem(activity, online, meta, playing, battery_of(meta), name, title)
