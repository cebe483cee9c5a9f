"""What the public may see: every public output (feed, stream, home page, embeds, media files)
passes through here, after app rules and media rules (waken.feed.build).

- Private mode (the switch, or the schedule in the site's time zone): only the owner's
  status and each live device's online dot; no app, title, track, cover, battery or time.
- Lock-screen processes: the device shows as locked, never the process.
- Title masks: matches in titles, tracks and reported metadata are replaced.
- The owner's status, until its end.

A view is computed for one moment; changes_at says when time alone changes it (a schedule
boundary, a status's end), so the feed cache renders anew then (waken.feed.cache).
"""
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from waken.feed import status
from waken.feed.locks import LockScreens
from waken.feed.masks import Masks
from waken.feed.schedule import in_schedule, next_change, parse_schedule

# Private items carry no times: a time would tell when an app changed.
WITHHELD_TIME = datetime(1970, 1, 1, tzinfo=timezone.utc)
NO_BATTERY = {"percent": None, "charging": None}
ONE_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class PublicView:
    """The privacy in force at one moment."""

    private: bool
    status: dict | None
    masks: Masks
    locks: LockScreens
    changes_at: datetime | None


def is_private(values, at):
    """Whether private mode is on at `at`: the switch, or the schedule."""
    schedule = parse_schedule(values["private_schedule"])
    return values["private_mode"] or (schedule is not None and
                                      in_schedule(schedule, at, ZoneInfo(values["timezone"])))


def view_at(values, at):
    """The view at `at` from the settings and the stored status (read in the caller's transaction)."""
    shown = status.current(at)
    moments = [shown["until"]] if shown and shown["until"] else []
    schedule = parse_schedule(values["private_schedule"])
    if schedule is not None and not values["private_mode"]:
        moments.append(next_change(schedule, at, ZoneInfo(values["timezone"])))
    masks = Masks(values["title_mask_presets"], values["title_masks"], values["title_mask_text"])
    return PublicView(is_private(values, at), shown, masks, LockScreens(values["lock_screen_processes"]),
                      min(moments) if moments else None)


def valid_until(feed_valid_until, view):
    """The last instant a rendering stays right: the feed's, or just before the view changes."""
    if view.changes_at is None:
        return feed_valid_until
    last = view.changes_at - ONE_MICROSECOND
    return last if feed_valid_until is None else min(feed_valid_until, last)


def public_feed(feed, view):
    """The feed (as build_feed made it) as the public may see it, with ownerStatus and private."""
    if view.private:
        # Parts other modules add later (lists of things) are emptied too: private shows nothing else.
        shown = {key: [] if isinstance(value, list) else value for key, value in feed.items()}
        dots = sorted((_dot(item) for item in feed["activeStatuses"]), key=lambda item: item.device.name)
        shown["activeStatuses"] = dots
    else:
        shown = dict(feed, activeStatuses=[_item(item, view) for item in feed["activeStatuses"]],
                     recentActivities=[_item(item, view) for item in feed["recentActivities"]])
    return {**shown, "ownerStatus": view.status, "private": view.private}


def media_hidden(values, at, admin_id):
    """Whether stored covers and icons answer 404: in private mode, to all but a signed-in admin."""
    return admin_id is None and is_private(values, at)


def _dot(item):
    # Only that the device is online: no id, app, title, track, battery or time (ordering by
    # name, not by the last report, for the same reason).
    activity = SimpleNamespace(
        id=0, device=item.activity.device, push_mode=item.activity.push_mode, process_name=None,
        process_title=None, meta={}, started_at=WITHHELD_TIME, updated_at=WITHHELD_TIME,
        ended_at=None, expires_at=None, report_count=0)
    return replace(item, activity=activity, public_meta={}, now_playing=None, battery=NO_BATTERY,
                   process_name=None, process_title=None)


def _item(item, view):
    masks = view.masks
    playing = item.now_playing and {
        **item.now_playing, **{key: masks.apply(item.now_playing[key]) for key in ("title", "singer", "album")}}
    if item.activity.process_name in view.locks:
        activity = SimpleNamespace(**{**vars(item.activity), "locked": True})
        return replace(item, activity=activity, public_meta={}, now_playing=playing,
                       process_name=None, process_title=None)
    if not masks:
        return item
    return replace(item, process_title=masks.apply(item.process_title),
                   public_meta=masks.deep(item.public_meta), now_playing=playing)
