"""What each alert says: what happened, which agent, session or device, and a link to its admin page.

Alerts have no visitor whose Accept-Language could choose: each is written in the site's
`language` setting (`auto` reads as English).
"""
import functools
from urllib.parse import quote, urlencode

from flask_babel import force_locale, gettext

from waken.agent_log.prices import usd
from waken.i18n import site_locale

TEXT_MAX = 200


def base_url():
    # Imported when a message is written: the admin package imports the agent log, which fires alerts.
    from waken.admin.commands import base_url as configured

    return configured()


def _short(text):
    text = " ".join(str(text or "").split())
    return text if len(text) <= TEXT_MAX else text[:TEXT_MAX - 1] + "…"


def dollars(value):
    """$1.20, $0.25, $0.0123: cents, or four places when cents would hide the amount."""
    return f"${value:,.2f}" if round(value, 2) == value or value >= 1 else f"${value:.4f}"


def in_site_language(write):
    """write(...) with the catalog of the site's language."""
    @functools.wraps(write)
    def written(*args):
        with force_locale(site_locale()):
            return write(*args)
    return written


def _who(agent, session):
    parts = [gettext("agent %(agent)s", agent=agent) if agent else gettext("no agent named")]
    if session:
        parts.append(gettext("session %(session)s", session=session))
    return gettext(", ").join(parts)


def session_link(session):
    return f"{base_url()}/admin/sessions/{quote(session, safe='')}"


def agent_log_link(**filters):
    query = urlencode({k: v for k, v in filters.items() if v})
    return f"{base_url()}/admin/agents" + (f"?{query}" if query else "")


def devices_link(device_id):
    return f"{base_url()}/admin/devices#device-{device_id}"


def _record_link(record):
    return session_link(record["session"]) if record.get("session") else agent_log_link(agent=record.get("agent"))


@in_site_language
def needs_you(record):
    who = record.get("agent") or gettext("An agent")
    return (gettext("%(who)s needs you", who=who),
            f"{_short(record['description'])}\n({record['type']}; {_who(record.get('agent'), record.get('session'))})\n"
            f"{_record_link(record)}")


@in_site_language
def errors(agent, count, minutes, record):
    return (gettext("%(agent)s: %(count)s errors in %(minutes)s min", agent=agent or gettext("Agents"), count=count,
                    minutes=minutes),
            gettext("%(count)s error records from %(source)s within %(minutes)s minutes. Latest: %(latest)s",
                    count=count, source=agent or gettext("records without an agent"), minutes=minutes,
                    latest=_short(record["description"]))
            + f"\n{agent_log_link(agent=agent, status='error')}")


@in_site_language
def finished(session, quiet_seconds, row):
    agents = row["agents"] or ""
    cost = gettext(", cost %(cost)s", cost=dollars(usd(row["cost_usd"]))) if row["cost_usd"] else ""
    return (gettext("Session %(session)s finished", session=_short(session)),
            gettext("Session %(session)s has been quiet for %(seconds)s s after %(records)s records "
                    "(%(who)s; %(errors)s errors%(cost)s).", session=session, seconds=quiet_seconds,
                    records=row["records"], who=_who(agents, None), errors=row["error"], cost=cost)
            + f"\n{session_link(session)}")


@in_site_language
def budget_day(cost, limit):
    return (gettext("Agent cost today %(cost)s", cost=dollars(usd(cost))),
            gettext("Agent cost today is %(cost)s, over the daily budget of %(limit)s.", cost=dollars(usd(cost)),
                    limit=dollars(limit)) + f"\n{agent_log_link()}")


@in_site_language
def budget_session(session, agent, cost, limit):
    return (gettext("Session %(session)s over budget", session=_short(session)),
            gettext("Session %(session)s (%(who)s) has cost %(cost)s, over the per-session budget of %(limit)s.",
                    session=session, who=_who(agent, None), cost=dollars(usd(cost)), limit=dollars(limit))
            + f"\n{session_link(session)}")


@in_site_language
def offline(device, minutes):
    return (gettext("%(device)s is offline", device=device["name"]),
            gettext("Device %(device)s has sent no report for %(minutes)s minutes.", device=device["name"],
                    minutes=minutes) + f"\n{devices_link(device['id'])}")


@in_site_language
def back_online(device, away_minutes):
    return (gettext("%(device)s is back online", device=device["name"]),
            gettext("Device %(device)s reports again after %(minutes)s minutes offline.", device=device["name"],
                    minutes=away_minutes) + f"\n{devices_link(device['id'])}")


@in_site_language
def battery(device, percent, limit):
    return (gettext("%(device)s battery at %(percent)s %%", device=device["name"], percent=percent),
            gettext("Device %(device)s battery is at %(percent)s %%, below %(limit)s %%, and not charging.",
                    device=device["name"], percent=percent, limit=limit) + f"\n{devices_link(device['id'])}")


@in_site_language
def test():
    """The test alert a channel is sent from the admin panel."""
    return gettext("waken test"), gettext("A test alert from waken: this channel works.")
