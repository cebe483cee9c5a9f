"""The figures of a run: each issue target with met/MISSED, and the table `make bench` prints."""
import os
import platform
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from waken.bench.load import READS
from waken.bench.traffic import OTLP_BATCH

TARGETS = (  # (label, summary key, comparison, limit)
    ("device ingest / reference ingest", "device_vs_reference", ">=", 0.50),
    ("GET /api/activity (20 devices) / healthz", "feed_ratio", ">=", 0.90),
    ("GET / (20 devices) / healthz", "home_ratio", ">=", 0.90),
    ("conditional GET /api/activity answered 304 / healthz", "not_modified_ratio", ">=", 0.90),
    ("GET /api/activity p99, one client (ms)", "feed_p99_ms", "<=", 20),
    ("GET / p99, one client (ms)", "home_p99_ms", "<=", 20),
    ("agent ingest / healthz", "agent_ratio", ">=", 0.60),
    ("stats p50 on 1M rows (ms)", "stats_p50_ms", "<=", 250),
    ("every list query p50 on 1M rows (ms)", "list_p50_ms", "<=", 20),
    ("every search (q=) p50 on 1M rows (ms)", "search_p50_ms", "<=", 50),
    ("every session list p50 on 1M rows (ms)", "sessions_p50_ms", "<=", 20),
    ("ingest p99 with 32 streams (ms)", "streams_ingest_p99_ms", "<=", 50),
    ("peak RSS per server process (MB)", "rss_max_mb", "<=", 85),
    ("gunicorn master peak RSS (MB)", "master_hwm_mb", "<=", 30),
    ("worker RSS at idle (MB)", "worker_idle_mb", "<=", 64),
    ("worker RSS after the run (MB)", "worker_after_mb", "<=", 85),
    ("agent ingest p99 change, a hanging alert channel vs an answering one (%)", "alert_hang_p99_change_pct", "<=", 5),
)
HEAD = ("measurement", "throughput", "p50 / p99 ms", "server CPU ms/req", "statuses")
# waken's ingest kinds and the reference app's slices of the same requests.
VERSUS = {"device": "reference_device", "agent": "reference_agent"}
THROUGHPUT_ROWS = (
    ("healthz_reads", "GET /healthz (beside the reads)"), ("feed", "GET /api/activity (20 devices)"),
    ("home", "GET / (20 devices)"), ("feed304", "GET /api/activity, If-None-Match: 304"),
    ("healthz", "GET /healthz (beside the ingest)"),
    ("device", "POST /api/activity (reporter mix)"), ("device_unlimited", "the same reports, rate limit off"),
    ("reference_device", "reference: the same reports"),
    ("agent", "POST /api/activities"), ("reference_agent", "reference: the same agent records"),
)


def stored_records_per_s(r):
    """OTLP records stored per second: those of the batches answered 200 (a 503 stored none)."""
    answered = sum(r["statuses"].values())
    return r["rps"] * OTLP_BATCH * r["statuses"].get(200, 0) / answered if answered else 0.0


def machine():
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    return {"nproc": os.cpu_count(), "cpu": model, "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version, "date": datetime.now(UTC).isoformat(timespec="seconds")}


def versus_reference(t):
    """waken's device and agent ingest as shares of the reference's, and each side's CPU ms per request."""
    out = {}
    for kind, ref in VERSUS.items():
        out[f"{kind}_vs_reference"] = round(t[kind]["rps"] / t[ref]["rps"], 2)
        out[f"{kind}_cpu_ms"], out[f"{ref}_cpu_ms"] = t[kind]["cpu_ms"], t[ref]["cpu_ms"]
        # As a share too: the reference's CPU per request over waken's, what CPU-bound throughput would give.
        out[f"{kind}_cpu_vs_reference"] = round(t[ref]["cpu_ms"] / t[kind]["cpu_ms"], 2)
    return out


def judge(summary, targets=TARGETS):
    """Each target with its value and "met" or "MISSED"."""
    checks = []
    for label, key, op, limit in targets:
        value = summary[key]
        met = value >= limit if op == ">=" else value <= limit
        checks.append({"target": f"{label} {op} {limit}", "value": value, "met": "met" if met else "MISSED"})
    return checks


def summarise(res):
    """The figures the targets judge, and each target's verdict."""
    t, q, s = res["throughput"], res["agents_query"], res["streams"]
    h, hr = t["healthz"]["rps"], t["healthz_reads"]["rps"]
    summary = {**versus_reference(t), "device_ratio": round(t["device"]["rps"] / h, 2),
               "feed_ratio": round(t["feed"]["rps"] / hr, 2), "home_ratio": round(t["home"]["rps"] / hr, 2),
               "not_modified_ratio": round(t["feed304"]["rps"] / hr, 2),
               "feed_p99_ms": res["feed"]["limit50"]["p99_ms"], "home_p99_ms": res["feed"]["home"]["p99_ms"],
               "rss_max_mb": max(res["rss_mb"].values()),
               "master_hwm_mb": res["memory_after"]["master"]["hwm"],
               "worker_idle_mb": max(w["rss"] for w in res["memory_idle"]["workers"]),
               "worker_after_mb": max(w["rss"] for w in res["memory_after"]["workers"]),
               "agent_ratio": round(t["agent"]["rps"] / h, 2),
               # What charging the token's rate limit adds to a report, in server CPU.
               "rate_limit_cpu_ms": round(t["device"]["cpu_ms"] - t["device_unlimited"]["cpu_ms"], 3),
               "otlp_records_per_s": round(stored_records_per_s(t["otlp"])),
               "otlp_vs_agent_records": round(stored_records_per_s(t["otlp"]) / t["agent"]["rps"], 1),
               "stats_p50_ms": q["stats"]["all"]["p50_ms"],
               "list_p50_ms": max(v["p50_ms"] for v in q["list"].values()),
               "search_p50_ms": max(v["p50_ms"] for v in q["search"].values()),
               "sessions_p50_ms": max(v["p50_ms"] for v in q["sessions"].values()),
               "streams_ingest_p99_ms": s["with"]["p99_ms"],
               "alert_hang_p99_change_pct": res["alerts"]["p99_change_pct"],
               "alert_rules_p99_change_pct": res["alerts"]["rules_p99_change_pct"],
               "alert_sender_rss_mb": max(w["rss"] for w in res["memory_alerts"]["workers"])}
    summary["targets"] = judge(summary)
    return summary


def _mem(m):
    return f"{m['rss']:.0f} / {m['hwm']:.0f}"


def _codes(statuses):
    return " ".join(f"{code}x{n}" for code, n in sorted(statuses.items()))


def _timing(r):
    return f"{r['p50_ms']:.1f} / {r['p99_ms']:.1f}"


def rows(res):
    """The table's rows: (measurement, throughput, p50 / p99 ms, server CPU ms/req, statuses)."""
    t, out = res["throughput"], []
    for kind, label in THROUGHPUT_ROWS:
        r = t[kind]
        h = t["healthz_reads" if kind in ("healthz_reads", *READS) else "healthz"]["rps"]
        versus = f", {r['rps'] / t[VERSUS[kind]]['rps']:.2f}x the reference" if kind in VERSUS else ""
        out.append((label, f"{r['rps']:.0f} req/s ({r['rps'] / h:.0%} of healthz{versus})", _timing(r),
                    f"{r['cpu_ms']:.2f}", _codes(r["statuses"])))
    r = t["otlp"]
    stored = stored_records_per_s(r)
    versus = f", {stored / t['agent']['rps']:.1f}x the records of POST /api/activities"
    out.append((f"POST /v1/logs ({OTLP_BATCH} records per request)",
                f"{stored:.0f} records/s stored ({r['rps']:.0f} req/s{versus})", _timing(r),
                f"{r['cpu_ms']:.2f}", _codes(r["statuses"])))
    for name, r in res["feed"].items():
        path = "GET /" if name == "home" else f"GET /api/activity {name}"
        out.append((f"{path} (20 devices, one client)", "", _timing(r), "", _codes(r["statuses"])))
    for group, label in (("list", "GET /api/activities"), ("search", "GET /api/activities"),
                         ("sessions", "GET /api/agent-sessions"), ("stats", "GET /api/activities/stats")):
        for name, r in res["agents_query"][group].items():
            out.append((f"{label} [{name}] on 1M", "", _timing(r), "", _codes(r["statuses"])))
    s = res["streams"]
    for key, label in (("without", "no streams"), ("with", f"{s['opened']} SSE streams open")):
        r = s[key]
        out.append((f"device ingest at {s['rate_per_s']}/s, {label}", f"{r['rps']:.0f} req/s", _timing(r), "",
                    _codes(r["statuses"])))
    out.append(("stream 33 (over the cap)", f"HTTP {s['over_cap_status']}", "", "", f"{s['events_received']} events read"))
    for moment, label in (("memory_idle", "at idle"), ("memory_after", "after the run")):
        m = res[moment]
        out.append((f"VmRSS / VmHWM {label} (MB)", "master " + _mem(m["master"]),
                    "workers " + ", ".join(_mem(w) for w in m["workers"]), "",
                    "threads / SQLite connections " + ", ".join(f"{w['threads']} / {w['sqlite']}" for w in m["workers"])))
    a = res["alerts"]
    for key, label in (("none", "no alert channel"), ("answering", f"every rule on, channel answers ({a['answered']} alerts)"),
                       ("hanging", f"every rule on, channel hangs ({a['tries_hung']} tries)")):
        r = a[key]
        out.append((f"POST /api/activities, {label}", f"{r['rps']:.0f} req/s", _timing(r), "", ""))
    out.append(("VmRSS workers after alerts (MB), Apprise in the sender", "",
                ", ".join(_mem(w) for w in res["memory_alerts"]["workers"]), "", ""))
    seed = res["seed"]
    out.append(("database size per million rows (MB)",
                f"agent {seed['agent_mb_per_million']:.0f}, device {seed['device_activity_mb_per_million']:.0f}", "", "", ""))
    return out


def print_table(res):
    """The table, every target with its value and met/MISSED, then ingest against the reference."""
    table, m = rows(res), res["machine"]
    quick = " (WAKEN_BENCH_QUICK: one round of short slices)" if res.get("quick") else ""
    print(f"\nwaken bench: {m['nproc']} x {m['cpu']}, Python {m['python']}, SQLite {m['sqlite']}{quick}\n")
    widths = [max(len(str(r[i])) for r in [HEAD, *table]) for i in range(len(HEAD))]
    for r in [HEAD, tuple("-" * w for w in widths), *table]:
        print(" | ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip())
    print()
    for check in res["summary"]["targets"]:
        print(f"{check['met']:>12}  {check['target']}: {check['value']}")
    print()
    summary = res["summary"]
    for kind, noun in (("device", "report"), ("agent", "agent record")):
        print(f"{kind} ingest: {summary[f'{kind}_vs_reference']}x the reference's requests/s, "
              f"{summary[f'{kind}_cpu_vs_reference']}x by server CPU ({summary[f'{kind}_cpu_ms']:.2f} ms per {noun}, "
              f"the reference {summary[f'reference_{kind}_cpu_ms']:.2f} ms)")
    print(f"the token rate limit: {summary['rate_limit_cpu_ms']:.2f} ms of server CPU per report "
          "(reports with it on, less the same reports with it off)")
    print(f"alert rules: agent ingest p99 {summary['alert_rules_p99_change_pct']:+.1f} % with every rule on and a channel "
          f"that answers, against no channel; {summary['alert_hang_p99_change_pct']:+.1f} % more when the channel hangs")
