"""Device history export: the stored runs of device activity, a page as JSON or all of a range as CSV."""
import csv
import io
from datetime import timedelta

from waken import db
from waken.agent_log.csv_export import neutralise
from waken.timeutil import from_ms, iso, to_ms

HEADER = ("id", "device", "process_name", "process_title", "started_at", "ended_at", "last_report_at",
          "seconds", "reports")
BATCH = 1000
RUNS_SQL = """
    SELECT a.id, d.name AS device, a.process_name, a.process_title, a.started_at, a.ended_at,
           a.updated_at, a.report_count
    FROM device_activity a JOIN device d ON d.id = a.device_id
    WHERE a.updated_at >= :since AND (:device IS NULL OR d.name = :device)"""


def _params(args, at):
    return {"since": to_ms(at - timedelta(days=args["days"])), "device": args.get("device")}


def _run(row):
    end = row["ended_at"] if row["ended_at"] is not None else row["updated_at"]
    return {"id": row["id"], "device": row["device"], "processName": row["process_name"],
            "processTitle": row["process_title"], "startedAt": from_ms(row["started_at"]),
            "endedAt": None if row["ended_at"] is None else from_ms(row["ended_at"]),
            "lastReportAt": from_ms(row["updated_at"]), "seconds": round((end - row["started_at"]) / 1000),
            "reports": row["report_count"]}


def history_page(args, at):
    """Up to args['limit'] runs newest first, before the id args['before'] when given."""
    params = {**_params(args, at), "before": args.get("before"), "limit": args["limit"]}
    rows = db.query(RUNS_SQL + " AND (:before IS NULL OR a.id < :before) ORDER BY a.id DESC LIMIT :limit", params)
    items = [_run(row) for row in rows]
    more = len(items) == args["limit"]
    return {"items": items, "nextBefore": items[-1]["id"] if more else None}


def csv_chunks(args, at):
    """Every run of the range as CSV, oldest first, BATCH rows per chunk, each batch read on its own
    (keyset by id), so a slow download holds no read transaction open."""
    params = {**_params(args, at), "after": 0, "limit": BATCH}
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(HEADER)
    while True:
        rows = db.query(RUNS_SQL + " AND a.id > :after ORDER BY a.id LIMIT :limit", params)
        for row in rows:
            run = _run(row)
            writer.writerow([run["id"], neutralise(run["device"]), neutralise(run["processName"]),
                             neutralise(run["processTitle"] or ""), iso(run["startedAt"]), iso(run["endedAt"]) or "",
                             iso(run["lastReportAt"]), run["seconds"], run["reports"]])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        if len(rows) < BATCH:
            return
        params["after"] = rows[-1]["id"]


def filename(at, zone):
    """device-history-YYYY-MM-DD.csv, today's local date."""
    return f"device-history-{at.astimezone(zone).date().isoformat()}.csv"
