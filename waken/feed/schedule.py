"""Clock times and the private-mode schedule, read in the site's time zone against the injected clock."""
import re
from datetime import datetime, time, timedelta, timezone

CLOCK_RE = re.compile(r"\A([01]?\d|2[0-3]):([0-5]\d)\Z")
SCHEDULE_RE = re.compile(r"\A\s*(\S+)\s*(?:-|–|—|to)\s*(\S+)\s*\Z")
ONE_MICROSECOND = timedelta(microseconds=1)


def parse_clock(text):
    """'7:30' or '07:30' as a time, or ValueError saying what is expected."""
    found = CLOCK_RE.fullmatch(text.strip()) if isinstance(text, str) else None
    if found is None:
        raise ValueError(f"'{text}' is not a clock time such as 07:30")
    return time(int(found[1]), int(found[2]))


def check_schedule(value):
    """The setting's check: '' (no schedule) or 'HH:MM-HH:MM', normalised; ValueError otherwise."""
    if not isinstance(value, str):
        raise ValueError("must be two clock times such as 23:00-07:00, or empty")
    if not value.strip():
        return ""
    found = SCHEDULE_RE.fullmatch(value)
    if found is None:
        raise ValueError(f"must be two clock times such as 23:00-07:00, or empty; '{value}' is not")
    start, end = parse_clock(found[1]), parse_clock(found[2])
    if start == end:
        raise ValueError("must start and end at different times")
    return f"{start:%H:%M}-{end:%H:%M}"


def parse_schedule(value):
    """(start, end) times of a stored schedule, or None when there is none."""
    if not value:
        return None
    start, end = value.split("-")
    return parse_clock(start), parse_clock(end)


def in_schedule(schedule, at, zone):
    """Whether the local wall time of `at` falls in [start, end), which may cross midnight."""
    start, end = schedule
    local = at.astimezone(zone).time()
    return start <= local < end if start < end else local >= start or local < end


def next_clock(clock, at, zone, folds=(0,)):
    """The first instant after `at` whose local wall time is `clock` (folds=(0, 1) also counts
    the second pass of a time repeated when clocks go back)."""
    day = at.astimezone(zone).date()
    # Through UTC: arithmetic and comparisons between datetimes of one zone ignore its offsets.
    return min(candidate for offset in range(-1, 3) for fold in folds
               if (candidate := datetime.combine(day + timedelta(days=offset), clock.replace(fold=fold), tzinfo=zone)
                   .astimezone(timezone.utc)) > at)


def next_change(schedule, at, zone):
    """The first instant after `at` at which in_schedule() answers otherwise.

    The answer can only change when the wall time reaches the start or the end, or jumps
    (daylight saving): step through those moments until one changes it.
    """
    was = in_schedule(schedule, at, zone)
    moment = at
    while True:
        reached = min(next_clock(clock, moment, zone, folds=(0, 1)) for clock in schedule)
        moment = _offset_change(moment, reached, zone) or reached
        if in_schedule(schedule, moment, zone) != was:
            return moment


def _offset_change(low, high, zone):
    """The first instant in (low, high] with another UTC offset than `low`, to the microsecond; or None."""
    offset = low.astimezone(zone).utcoffset()
    if high.astimezone(zone).utcoffset() == offset:
        return None
    while high - low > ONE_MICROSECOND:
        middle = low + (high - low) / 2
        if middle.astimezone(zone).utcoffset() == offset:
            low = middle
        else:
            high = middle
    return high
