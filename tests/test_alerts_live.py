"""Alerts under `make run`'s gunicorn (two workers, the scheduler on): each alert is delivered exactly once, by the
elected worker, and the channel's secret shows in no log line, page or JSON answer."""
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.admin_support import Admin, create_admin
from tests.alert_support import Sink
from tests.support import LiveServer, record, wait_for
from waken.bench.proc import children, memory_mb

SECRET = "hook-5e4d3c2b1a09"
ALERTS = 24


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("alerts") / "instance",
                        {"WAKEN_SCHEDULER": "true", "WAKEN_ALERT_SECONDS": "1"}).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def sink():
    sink = Sink()
    yield sink
    sink.close()


def test_each_alert_is_delivered_once_and_no_secret_shows(live, sink):
    live.cli("alert", "channel", "add", "hook", f"json://owner:{SECRET}@127.0.0.1:{sink.port}/{SECRET}/in")
    live.cli("alert", "rule", "set", "needs_you", "--on", "--channel", "hook", "--param", "types=notification")
    headers = {"Authorization": f"Bearer {live.token()}"}
    before = {pid: memory_mb(pid)["rss"] for pid in children(live.proc.pid)}

    def post(n):
        answer = requests.post(live.url + "/api/activities", headers=headers, timeout=10, json=record(
            type="notification", description=f"needs you #{n}", agent="claude-code", session=f"s-{n}"))
        return answer.status_code

    with ThreadPoolExecutor(4) as pool:      # both workers store records and could send
        assert set(pool.map(post, range(ALERTS))) == {201}
    assert len(sink.wait(ALERTS, seconds=60)) == ALERTS
    db = live.db()
    try:
        assert wait_for(lambda: db.execute("SELECT count(*) FROM alert_outbox WHERE status = 'sent'").fetchone()[0]
                        == ALERTS, seconds=30)
        # A few more rounds (one a second): a second sender, or a claim taken twice, would send again.
        assert not wait_for(lambda: len(sink.received) > ALERTS, seconds=3)
        assert db.execute("SELECT max(tries) FROM alert_outbox").fetchone()[0] == 1
    finally:
        db.close()
    sent = Counter(m["body"]["message"].split("\n")[0] for m in sink.received)
    assert sent == Counter(f"needs you #{n}" for n in range(ALERTS))
    assert {m["path"] for m in sink.received} == {f"/{SECRET}/in"}

    # Only the worker that sends loaded Apprise: the other stays as it was.
    after = {pid: memory_mb(pid)["rss"] for pid in children(live.proc.pid)}
    grown = sorted(after[pid] - before.get(pid, after[pid]) for pid in after)
    assert grown[0] < 10 <= grown[-1], (before, after)

    create_admin(live)
    admin = Admin.live(live).login()
    pages = [admin.get(path).text for path in ("/admin/alerts", "/admin/alerts/deliveries", "/admin", "/admin/sessions",
                                               "/admin/sessions/s-1", "/admin/agents", "/admin/settings")]
    assert "json://…@127.0.0.1" in pages[0] and ">sent</span>" in pages[1]
    answers = [requests.get(live.url + path, headers=headers, timeout=10).text for path in (
        "/api/activities", "/api/agent-sessions", "/api/feed", "/api/openapi.json")]
    listed = live.cli("alert", "channel", "list")
    live.stop()      # every line written
    log = live.log_path.read_text()
    assert "alerts sweep: alert deliveries sent" in log
    for text in [*pages, *answers, listed, log]:
        assert SECRET not in text
