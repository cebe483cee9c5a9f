"""Charts as server-rendered SVG: a calendar heatmap, hourly bars and labelled bars."""
from datetime import date

from babel.dates import get_day_names
from flask_babel import get_locale
from markupsafe import Markup, escape

SHADES = ("#ebedf0", "#c6dbf7", "#8db8ef", "#4a8ae0", "#1f5fbf")
CELL, GAP, LEFT = 14, 3, 34


def _svg(width, height, body, label):
    # Drawn at its own size (one unit is one CSS pixel), so the 12 px labels stay 12 px.
    return Markup(f'<svg class="chart" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
                  f'role="img" aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">{body}</svg>')


def shade_steps(counts):
    """Upper bounds of shades 1-3 from the quartiles of the non-zero days (shade 4 is above).

    Quartiles rather than a share of the peak, so one very busy day does not wash every
    other day out to the palest shade.
    """
    busy = sorted(c for c in counts if c)
    if not busy:
        return ()
    return tuple(busy[min(len(busy) - 1, len(busy) * q // 4)] for q in (1, 2, 3))


def _shade(count, steps):
    if not count or not steps:
        return 0
    return 1 + sum(count > step for step in steps)


def heatmap(days, label="Activity per day"):
    """One square per day, a column per week (Monday on top), darker for more activity."""
    if not days:
        return _svg(10, 10, "", label)
    first = date.fromisoformat(days[0]["day"])
    offset = first.weekday()
    steps = shade_steps(d["count"] for d in days)
    top = 18
    parts = []
    for i, entry in enumerate(days):
        slot = i + offset
        x, y = LEFT + (slot // 7) * (CELL + GAP), top + (slot % 7) * (CELL + GAP)
        level = _shade(entry["count"], steps)
        parts.append(f'<rect x="{x}" y="{y}" width="{CELL}" height="{CELL}" rx="2" class="shade{level}" '
                     f'fill="{SHADES[level]}"><title>{escape(entry["day"])}: '
                     f'{entry["count"]}</title></rect>')
    names = get_day_names("abbreviated", locale=get_locale())   # Babel's: Mon, 周一, ...
    for row in (0, 2, 4):
        parts.append(f'<text x="0" y="{top + row * (CELL + GAP) + 11}">{escape(names[row])}</text>')
    weeks = (len(days) + offset + 6) // 7
    for week in range(0, weeks, 4):
        day = days[max(0, week * 7 - offset)]["day"]
        parts.append(f'<text x="{LEFT + week * (CELL + GAP)}" y="12">{escape(day[5:])}</text>')
    # Room on the right for a date label over the last column.
    return _svg(LEFT + weeks * (CELL + GAP) + 26, top + 7 * (CELL + GAP), "".join(parts), label)


def hourly_bars(hours, label="Activity per hour of day"):
    """24 vertical bars, one per hour."""
    width, height, bar = 24 * 16 + 8, 122, 12
    peak = max((h["count"] for h in hours), default=0) or 1
    parts = []
    for i, entry in enumerate(hours):
        h = round(entry["count"] / peak * 90)
        x = 4 + i * 16
        parts.append(f'<rect x="{x}" y="{100 - h}" width="{bar}" height="{max(h, 1)}" fill="#4a8ae0">'
                     f'<title>{escape(entry["hour"])}:00: {entry["count"]}</title></rect>')
        if i % 3 == 0:
            parts.append(f'<text x="{x}" y="118">{escape(entry["hour"])}</text>')
    return _svg(width, height, "".join(parts), label)


def labelled_bars(counts, label, colors=None, shown=str):
    """Horizontal bars for a {name: count} mapping, largest first; shown(name) is the name as displayed."""
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    peak = max((c for _, c in items), default=0) or 1
    row, label_w, bar_w = 22, 130, 220
    parts = []
    for i, (name, count) in enumerate(items):
        y = i * row
        w = max(1, round(count / peak * bar_w))
        fill = (colors or {}).get(name, "#4a8ae0")
        parts.append(f'<text x="0" y="{y + 15}">{escape(shown(name)[:16])}</text>'
                     f'<rect x="{label_w}" y="{y + 4}" width="{w}" height="14" rx="2" fill="{fill}">'
                     f'<title>{escape(shown(name))}: {count}</title></rect>'
                     f'<text x="{label_w + w + 4}" y="{y + 15}">{count}</text>')
    return _svg(label_w + bar_w + 50, max(row, len(items) * row), "".join(parts), label)
