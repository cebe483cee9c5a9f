"""A session's records as a server-rendered SVG timeline: one bar per record, by start and duration."""
from flask_babel import gettext
from markupsafe import Markup, escape

from waken.i18n.labels import label as label_of
from waken.timeutil import to_ms

COLORS = {"success": "#1f8a4c", "error": "#c0392b", "pending": "#d08a00", "running": "#2d6cdf"}
ROW, BAR, LABEL, WIDTH, TOP = 18, 12, 220, 560, 20
MIN_BAR = 2                 # a record without a duration still shows as a sliver
LABEL_CHARS = 34


def timeline(records, label):
    """SVG with one row per record (in time order): its label, and a bar from its start for its duration."""
    if not records:
        return Markup('<p class="empty">{}</p>').format(gettext("No records."))
    starts = [to_ms(r["timestamp"]) for r in records]
    ends = [s + (r["duration_ms"] or 0) for s, r in zip(starts, records)]
    first, span = min(starts), max(max(ends) - min(starts), 1)
    scale = WIDTH / span
    parts = [f'<text x="{LABEL}" y="12">{escape(gettext("%(n)s s", n=0))}</text>',
             f'<text x="{LABEL + WIDTH}" y="12" text-anchor="end">{escape(gettext("%(n)s s", n=f"{span / 1000:.1f}"))}</text>']
    for n, (record, start, end) in enumerate(zip(records, starts, ends)):
        y = TOP + n * ROW
        text = f'{record["type"]}: {record["description"]}'
        short = text if len(text) <= LABEL_CHARS else text[:LABEL_CHARS - 1] + "…"
        x = LABEL + (start - first) * scale
        width = max(MIN_BAR, (end - start) * scale)
        color = COLORS.get(record["status"], "#888")
        took = "" if record["duration_ms"] is None else ", " + gettext("%(n)s ms", n=record["duration_ms"])
        parts.append(f'<text x="0" y="{y + BAR - 2}">{escape(short)}</text>'
                     f'<rect x="{x:.1f}" y="{y}" width="{width:.1f}" height="{BAR}" rx="2" fill="{color}" '
                     f'class="bar {escape(record["status"])}"><title>{escape(text)} ({escape(label_of(record["status"]))}'
                     f'{took})</title></rect>')
    height = TOP + len(records) * ROW
    width = LABEL + WIDTH + 10
    return Markup(f'<svg class="chart timeline" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
                  f'role="img" aria-label="{escape(label)}" xmlns="http://www.w3.org/2000/svg">'
                  f'{"".join(parts)}</svg>')
