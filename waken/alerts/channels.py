"""Alert channels: named Apprise URLs, stored whole, only ever shown masked; and the masking of their secrets."""
import re
from urllib.parse import unquote, urlsplit

from sqlalchemy import select

from waken.alerts.rules import forget_channel
from waken.db import orm
from waken.errors import Conflict, Invalid, NotFound, check_length
from waken.models import AlertChannel

NAME_MAX = 64
URL_MAX = 2048
URL_RE = re.compile(r"[a-z][a-z0-9+.-]{0,31}://\S+", re.IGNORECASE)
# Fragments this short are no secret worth hiding, and hiding them would garble every answer.
SECRET_MIN = 3


def _host_shown(host):
    """A real host name or address is shown; anything else in that place (a bot token) is a secret."""
    return bool(host) and (host == "localhost" or "." in host or ":" in host)


def _split(url):
    """(parts, port) of a URL; port None when what stands there is no number (a bot token)."""
    parts = urlsplit(url)
    try:
        return parts, parts.port
    except ValueError:
        return parts, None


def mask(url):
    """What a page may show of an Apprise URL: its scheme and host, e.g. ntfy://…@ntfy.sh/…."""
    parts, port = _split(url)
    host = parts.hostname or ""
    if not _host_shown(host):
        return f"{parts.scheme.lower()}://…"
    user = "…@" if "@" in parts.netloc else ""
    rest = "/…" if parts.path.strip("/") or parts.query or parts.fragment else ""
    return f"{parts.scheme.lower()}://{user}{host}{f':{port}' if port else ''}{rest}"


def secrets_of(url):
    """Every piece of the URL that may be secret: the whole, user, password, path parts, query values."""
    parts, port = _split(url)   # "tgram://123:ABC/…" parses its token as a bad port: all of the middle is secret
    pieces = {url, url.split("://", 1)[-1], parts.query, parts.fragment}
    userinfo, _, hostport = parts.netloc.rpartition("@")
    if userinfo:
        pieces.update({parts.netloc, userinfo, *userinfo.split(":")})
    if not _host_shown(parts.hostname or ""):
        pieces.add(hostport)
        pieces.update(hostport.split(":"))
    elif port is None and ":" in hostport:
        pieces.add(hostport.split(":", 1)[1])
    pieces.update(parts.path.split("/"))
    for pair in re.split(r"[&;]", parts.query):
        pieces.update(pair.split("=", 1))
    pieces |= {unquote(piece) for piece in pieces}
    host = parts.hostname or ""
    shown = {parts.scheme, str(port or "")} | ({host} if _host_shown(host) else set())
    return sorted((p for p in pieces if len(p) >= SECRET_MIN and p not in shown), key=len, reverse=True)


def redact(text, url):
    """text with every secret piece of url replaced by …, longest first."""
    for piece in secrets_of(url):
        text = text.replace(piece, "…")
    return text


def clean(name, url):
    """The name and URL trimmed and checked; Invalid names the field at fault."""
    name, url = (name or "").strip(), (url or "").strip()
    if not name:
        raise Invalid("A channel needs a name.", field="name", code="alert_channel.name_required")
    check_length(name, NAME_MAX, "name", "alert_channel.name_too_long")
    try:
        urlsplit(url)
    except ValueError:        # an unclosed [ of an IPv6 address
        url = ""
    if not URL_RE.fullmatch(url) or len(url) > URL_MAX:
        # The URL itself is never repeated back: it may hold a secret.
        raise Invalid("The URL must be an Apprise URL such as ntfy://ntfy.sh/topic or tgram://bottoken/chat_id "
                      f"(one line, at most {URL_MAX} characters).", field="url",
                      code="alert_channel.url_invalid", params={"max": URL_MAX})
    return name, url


def add_channel(name, url, at):
    """Add a channel; Conflict if the name is taken."""
    name, url = clean(name, url)
    if orm.session.scalar(select(AlertChannel).where(AlertChannel.name == name)) is not None:
        raise Conflict(f"There is already a channel named “{name}”.", field="name", code="alert_channel.name_taken")
    channel = AlertChannel(name=name, url=url, masked=mask(url), created_at=at)
    orm.session.add(channel)
    orm.session.flush()
    return channel


def list_channels():
    """Every channel, by name."""
    return list(orm.session.scalars(select(AlertChannel).order_by(AlertChannel.name)))


def get_channel(name):
    """The channel of that name; NotFound otherwise."""
    channel = orm.session.scalar(select(AlertChannel).where(AlertChannel.name == (name or "").strip()))
    if channel is None:
        raise NotFound(f"There is no channel named “{(name or '').strip()[:NAME_MAX]}”.", code="alert_channel.not_found")
    return channel


def delete_channel(name):
    """Delete a channel, its waiting and past deliveries, and its place in every rule."""
    channel = get_channel(name)
    forget_channel(channel.id)
    orm.session.delete(channel)
    orm.session.flush()
    return channel
