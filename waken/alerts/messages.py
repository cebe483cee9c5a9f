"""What each alert says: what happened, which agent, session or device, and a link to its admin page."""
from urllib.parse import quote, urlencode

from waken.agent_log.prices import usd

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


def _who(agent, session):
    parts = [f"agent {agent}" if agent else "no agent named"]
    if session:
        parts.append(f"session {session}")
    return ", ".join(parts)


def session_link(session):
    return f"{base_url()}/admin/sessions/{quote(session, safe='')}"


def agent_log_link(**filters):
    query = urlencode({k: v for k, v in filters.items() if v})
    return f"{base_url()}/admin/agents" + (f"?{query}" if query else "")


def devices_link(device_id):
    return f"{base_url()}/admin/devices#device-{device_id}"


def _record_link(record):
    return session_link(record["session"]) if record.get("session") else agent_log_link(agent=record.get("agent"))


def needs_you(record):
    who = record.get("agent") or "An agent"
    return (f"{who} needs you",
            f"{_short(record['description'])}\n({record['type']}; {_who(record.get('agent'), record.get('session'))})\n"
            f"{_record_link(record)}")


def errors(agent, count, minutes, record):
    return (f"{agent or 'Agents'}: {count} errors in {minutes} min",
            f"{count} error records from {agent or 'records without an agent'} within {minutes} minutes. "
            f"Latest: {_short(record['description'])}\n"
            f"{agent_log_link(agent=agent, status='error')}")


def finished(session, quiet_seconds, row):
    agents = row["agents"] or ""
    cost = f", cost {dollars(usd(row['cost_usd']))}" if row["cost_usd"] else ""
    return (f"Session {_short(session)} finished",
            f"Session {session} has been quiet for {quiet_seconds} s after {row['records']} records "
            f"({_who(agents, None)}; {row['error']} errors{cost}).\n{session_link(session)}")


def budget_day(cost, limit):
    return (f"Agent cost today {dollars(usd(cost))}",
            f"Agent cost today is {dollars(usd(cost))}, over the daily budget of {dollars(limit)}.\n{agent_log_link()}")


def budget_session(session, agent, cost, limit):
    return (f"Session {_short(session)} over budget",
            f"Session {session} ({_who(agent, None)}) has cost {dollars(usd(cost))}, over the per-session budget "
            f"of {dollars(limit)}.\n{session_link(session)}")


def offline(device, minutes):
    return (f"{device['name']} is offline",
            f"Device {device['name']} has sent no report for {minutes} minutes.\n{devices_link(device['id'])}")


def back_online(device, away_minutes):
    return (f"{device['name']} is back online",
            f"Device {device['name']} reports again after {away_minutes} minutes offline.\n{devices_link(device['id'])}")


def battery(device, percent, limit):
    return (f"{device['name']} battery at {percent} %",
            f"Device {device['name']} battery is at {percent} %, below {limit} %, and not charging.\n"
            f"{devices_link(device['id'])}")
