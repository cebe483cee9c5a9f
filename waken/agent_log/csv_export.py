"""The agent log as CSV: the list's rows streamed as RFC 4180 text that spreadsheets cannot run."""
import csv
import io
from decimal import Decimal

from waken.agent_log.filters import bounds, local_zone
from waken.agent_log.store import matching_rows
from waken.timeutil import from_ms, iso

# New columns go at the end, so consumers reading by position keep working.
HEADER = ("id", "timestamp", "type", "description", "status", "duration_ms", "tokens_used", "agent", "metadata",
          "session", "cost_usd")
# A spreadsheet runs a cell starting with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BATCH = 500


def csv_chunks(args, at):
    """The filtered records as CSV text, header first, a few hundred rows per chunk."""
    # The range is checked now, not when the download has begun: a bad one is a 400, not a 500.
    return _chunks(args, bounds(args, at))


def _chunks(args, span):
    cursor = matching_rows(args, *span)
    buffer = io.StringIO()
    writer = csv.writer(buffer)     # quotes as needed, doubles quotes, CRLF line ends
    writer.writerow(HEADER)
    while True:
        rows = cursor.fetchmany(BATCH)
        for row in rows:
            writer.writerow([row["id"], iso(from_ms(row["timestamp"])),
                             *map(neutralise, (row["type"], row["description"], row["status"])),
                             row["duration_ms"], row["tokens_used"], neutralise(row["agent"]),
                             neutralise(row["metadata"] or ""), neutralise(row["session"]),
                             _dollars(row["cost_usd"])])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if len(rows) < BATCH:
            return


def _dollars(micro):
    """Micro-dollars as an exact decimal ('0.012345'), empty for none."""
    return "" if micro is None else format(Decimal(micro) / 1_000_000, "f")


def neutralise(cell):
    """A text cell a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(cell, str) and cell.startswith(FORMULA_STARTS):
        return "'" + cell
    return cell


def today_filename(at):
    """activities-YYYY-MM-DD.csv, with today's date in the configured time zone."""
    return f"activities-{at.astimezone(local_zone()).date().isoformat()}.csv"
