"""Charts as server-rendered SVG: a calendar heatmap, hourly bars and labelled bars."""
from datetime import date

from markupsafe import Markup, escape

SHADES = ("#ebedf0", "#c6dbf7", "#8db8ef", "#4a8ae0", "#1f5fbf")
CELL, GAP = 12, 2


def _svg(width, height, body, label):
    return Markup(f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
                  f'aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">{body}</svg>')


def _shade(count, peak):
    if not count or not peak:
        return SHADES[0]
    return SHADES[min(len(SHADES) - 1, 1 + (count - 1) * (len(SHADES) - 1) // peak)]


def heatmap(days, label="Activity per day"):
    """One square per day, a column per week (Monday on top), darker for more activity."""
    if not days:
        return _svg(10, 10, "", label)
    first = date.fromisoformat(days[0]["day"])
    offset = first.weekday()
    peak = max(d["count"] for d in days)
    parts = []
    for i, entry in enumerate(days):
        slot = i + offset
        x, y = 28 + (slot // 7) * (CELL + GAP), 14 + (slot % 7) * (CELL + GAP)
        parts.append(f'<rect x="{x}" y="{y}" width="{CELL}" height="{CELL}" rx="2" '
                     f'fill="{_shade(entry["count"], peak)}"><title>{escape(entry["day"])}: '
                     f'{entry["count"]}</title></rect>')
    for row, name in ((0, "Mon"), (2, "Wed"), (4, "Fri")):
        parts.append(f'<text x="0" y="{14 + row * (CELL + GAP) + 10}">{name}</text>')
    weeks = (len(days) + offset + 6) // 7
    for week in range(0, weeks, 4):
        day = days[max(0, week * 7 - offset)]["day"]
        parts.append(f'<text x="{28 + week * (CELL + GAP)}" y="10">{escape(day[5:])}</text>')
    # Room on the right for a date label over the last column.
    return _svg(28 + weeks * (CELL + GAP) + 20, 14 + 7 * (CELL + GAP), "".join(parts), label)


def hourly_bars(hours, label="Activity per hour of day"):
    """24 vertical bars, one per hour."""
    width, height, bar = 24 * 16 + 8, 120, 12
    peak = max((h["count"] for h in hours), default=0) or 1
    parts = []
    for i, entry in enumerate(hours):
        h = round(entry["count"] / peak * 90)
        x = 4 + i * 16
        parts.append(f'<rect x="{x}" y="{100 - h}" width="{bar}" height="{max(h, 1)}" fill="#4a8ae0">'
                     f'<title>{escape(entry["hour"])}:00: {entry["count"]}</title></rect>')
        if i % 3 == 0:
            parts.append(f'<text x="{x}" y="114">{escape(entry["hour"])}</text>')
    return _svg(width, height, "".join(parts), label)


def labelled_bars(counts, label, colors=None):
    """Horizontal bars for a {name: count} mapping, largest first."""
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    peak = max((c for _, c in items), default=0) or 1
    row, label_w, bar_w = 20, 110, 220
    parts = []
    for i, (name, count) in enumerate(items):
        y = i * row
        w = max(1, round(count / peak * bar_w))
        fill = (colors or {}).get(name, "#4a8ae0")
        parts.append(f'<text x="0" y="{y + 13}">{escape(str(name)[:18])}</text>'
                     f'<rect x="{label_w}" y="{y + 3}" width="{w}" height="13" rx="2" fill="{fill}">'
                     f'<title>{escape(name)}: {count}</title></rect>'
                     f'<text x="{label_w + w + 4}" y="{y + 13}">{count}</text>')
    return _svg(label_w + bar_w + 50, max(row, len(items) * row), "".join(parts), label)
