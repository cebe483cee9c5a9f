"""Each alert rule, end to end in process: the change through HTTP (REST, MCP, OTLP, device reports), the outbox,
then real Apprise delivering to a local sink; the time rules driven by the injected clock; cool-downs."""
from datetime import UTC, datetime

import pytest
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs

from tests.alert_support import Sink, rule_form
from tests.otlp_support import PROTOBUF, claude_code_logs
from tests.support import DEVICE_KEY, db_rows, record
from waken.alerts.jobs import run_alerts


@pytest.fixture
def sink():
    sink = Sink()
    yield sink
    sink.close()


@pytest.fixture
def alerts(app, admin, sink, clock):
    """rule(kind, **params) turns a rule on for a json:// channel to the sink; tick() runs a scheduler round."""
    class Alerts:
        def __init__(self):
            answer = admin.post("/admin/alerts/channels", {"name": "hook", "url": sink.json_url("s3cret-hook")})
            assert answer.status_code == 303
            self.channel = db_rows(app, "SELECT id FROM alert_channel WHERE name = 'hook'")[0][0]

        def rule(self, kind, cooldown=0, **params):
            answer = admin.post(f"/admin/alerts/rules/{kind}", rule_form(kind, [self.channel], cooldown, **params))
            assert answer.status_code == 303
            assert db_rows(app, "SELECT enabled FROM alert_rule WHERE kind = ?", (kind,)) == [(1,)]

        def tick(self):
            """One scheduler round at the clock's time; every message the sink has so far."""
            with app.app_context():
                run_alerts(clock())
            return sink.texts()
    return Alerts()


def test_agent_needs_you_from_rest_and_mcp_once_per_session_within_the_cool_down(alerts, client, auth, app):
    alerts.rule("needs_you", cooldown=300, types="notification, permission_request")
    post = client.post("/api/activities", headers=auth, json=record(
        type="permission_request", description="Allow Bash(rm -rf build)?", status="pending",
        agent="claude-code", session="s-42"))
    assert post.status_code == 201
    assert db_rows(app, "SELECT count(*) FROM alert_outbox")[0][0] == 1    # in the record's own transaction
    client.post("/api/activities", headers=auth, json=record(type="notification", agent="claude-code",
                                                              session="s-42", description="Waiting for input"))
    client.post("/api/activities", headers=auth, json=record(type="tool_call", agent="claude-code", session="s-43"))
    mcp = client.post("/mcp", headers={**auth, "Accept": "application/json, text/event-stream"}, json={
        "jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "log_activity", "arguments": {
            "type": "notification", "description": "Needs your review", "status": "pending", "agent": "codex",
            "session": "s-mcp"}}})
    assert mcp.status_code == 200 and not mcp.json["result"].get("isError"), mcp.json
    texts = alerts.tick()
    assert len(texts) == 2, texts      # s-42 once (the cool-down held), s-43 none, s-mcp once
    assert texts[0].startswith("claude-code needs you\nAllow Bash(rm -rf build)?")
    assert "(permission_request; agent claude-code, session s-42)" in texts[0]
    assert "http://localhost:8000/admin/sessions/s-42" in texts[0]
    assert texts[1].startswith("codex needs you\nNeeds your review") and "/admin/sessions/s-mcp" in texts[1]
    assert alerts.tick() == texts      # nothing sent twice


@pytest.mark.clock(lambda: datetime.now(UTC))     # the SDK stamps records with the real time
def test_otlp_records_fire_needs_you_and_the_session_budget(alerts, client, auth):
    alerts.rule("needs_you", cooldown=60, types="tool_call")
    alerts.rule("budget", day_usd=0, session_usd=0.01)
    logs = encode_logs(claude_code_logs("claude-code", session="cc-9"))
    answer = client.post("/v1/logs", data=logs.SerializeToString(), headers={**auth, "Content-Type": PROTOBUF})
    assert answer.status_code == 200
    texts = alerts.tick()
    assert len(texts) == 2, texts
    assert texts[0].startswith("claude-code needs you\nBash")
    assert texts[1].startswith("Session cc-9 over budget\nSession cc-9 (agent claude-code) has cost $0.0123, "
                               "over the per-session budget of $0.01.")


def test_daily_budget_alerts_once_a_day(alerts, add, clock):
    alerts.rule("budget", day_usd=1, session_usd=0)
    add(cost_usd=0.6, agent="a")
    assert alerts.tick() == []
    add(cost_usd=0.6, agent="a")
    add(cost_usd=0.6, agent="a")
    texts = alerts.tick()
    assert texts == ["Agent cost today $1.20\nAgent cost today is $1.20, over the daily budget of $1.00.\n"
                     "http://localhost:8000/admin/agents"]
    clock.advance(days=1)
    add(cost_usd=1.5, agent="a")
    assert len(alerts.tick()) == 2


def test_agent_errors_n_within_m_minutes_per_agent(alerts, add, clock, client, auth):
    alerts.rule("errors", cooldown=600, count=3, minutes=10)
    for _ in range(2):
        add(status="error", agent="bot", description="tests failed")
    add(status="error", agent="other")
    assert alerts.tick() == []
    add(status="error", agent="bot", description="build broke")
    add(status="error", agent="bot", description="build broke again")   # within the cool-down
    texts = alerts.tick()
    assert texts == ["bot: 3 errors in 10 min\n3 error records from bot within 10 minutes. Latest: build broke\n"
                     "http://localhost:8000/admin/agents?agent=bot&status=error"]
    clock.advance(minutes=11)
    add(status="error", agent="bot")
    assert len(alerts.tick()) == 1      # past the window: one error, below the count
    for _ in range(2):                  # finished as errors (PATCH) count too
        running = add(status="running", agent="bot")["id"]
        assert client.patch(f"/api/activities/{running}", headers=auth, json={"status": "error"}).status_code == 200
    assert alerts.tick()[1].startswith("bot: 3 errors in 10 min\n")


def test_agent_finished_when_the_session_is_quiet_driven_by_the_clock(alerts, add, clock):
    alerts.rule("finished", quiet_seconds=60)
    add(session="work-1", agent="claude-code", cost_usd=0.25)
    add(session="work-1", agent="claude-code", status="error")
    clock.advance(seconds=59)
    assert alerts.tick() == []
    clock.advance(seconds=2)
    texts = alerts.tick()
    assert texts == ["Session work-1 finished\nSession work-1 has been quiet for 60 s after 2 records "
                     "(agent claude-code; 1 errors, cost $0.25).\nhttp://localhost:8000/admin/sessions/work-1"]
    clock.advance(minutes=5)
    assert alerts.tick() == texts       # one quiet spell, one alert
    add(session="work-1", agent="claude-code")
    clock.advance(seconds=61)
    assert len(alerts.tick()) == 2      # active again, then quiet again


def report(client, auth, **fields):
    body = {"generatedHashKey": DEVICE_KEY, "process_name": "Code.exe", "device": "Desk", **fields}
    answer = client.post("/api/activity", json=body, headers=auth)
    assert answer.status_code == 200, answer.json


def test_device_offline_after_n_minutes_and_back_online(alerts, client, auth, device, clock, app):
    alerts.rule("offline", minutes=10, back_online="true")
    report(client, auth)
    clock.advance(minutes=9)
    assert alerts.tick() == []
    clock.advance(minutes=2)
    device_id = db_rows(app, "SELECT id FROM device")[0][0]
    texts = alerts.tick()
    assert texts == ["Desk is offline\nDevice Desk has sent no report for 10 minutes.\n"
                     f"http://localhost:8000/admin/devices#device-{device_id}"]
    clock.advance(minutes=30)
    assert alerts.tick() == texts       # still offline: one alert
    report(client, auth)
    texts = alerts.tick()
    assert texts[1] == ("Desk is back online\nDevice Desk reports again after 41 minutes offline.\n"
                        f"http://localhost:8000/admin/devices#device-{device_id}")
    assert alerts.tick() == texts


def test_battery_below_the_level_and_not_charging_with_a_cool_down(alerts, client, auth, device, clock):
    alerts.rule("battery", cooldown=3600, percent=20)
    report(client, auth, battery_level=35, is_charging=False)
    report(client, auth, battery_level=12, is_charging=True)
    assert alerts.tick() == []
    report(client, auth, battery_level=12, is_charging=False)
    report(client, auth, battery_level=9, is_charging=False)    # the same condition
    texts = alerts.tick()
    assert texts == ["Desk battery at 12 %\nDevice Desk battery is at 12 %, below 20 %, and not charging.\n"
                     "http://localhost:8000/admin/devices#device-1"]
    report(client, auth, battery_level=50, is_charging=True)
    report(client, auth, battery_level=10, is_charging=False)   # a new condition, within the cool-down
    assert alerts.tick() == texts
    clock.advance(hours=1, seconds=1)
    report(client, auth, battery_level=40, is_charging=True)
    report(client, auth, battery_level=8, is_charging=False)
    assert alerts.tick()[1].startswith("Desk battery at 8 %")


def test_a_rule_turned_on_does_not_alert_for_what_came_before(alerts, add, clock, sink):
    add(session="old", agent="a")
    clock.advance(minutes=5)
    alerts.rule("finished", quiet_seconds=60)
    assert alerts.tick() == []
    assert sink.received == []


def test_alerts_are_written_in_the_sites_language_not_the_senders(alerts, client, auth, device, runner):
    # No visitor reads an alert: `auto` writes English even for a sender asking for Chinese.
    alerts.rule("battery", percent=20)
    report(client, {**auth, "Accept-Language": "zh-CN,zh;q=0.9"}, battery_level=12, is_charging=False)
    assert alerts.tick()[0].startswith("Desk battery at 12 %\n")
    assert runner.invoke(args=["settings", "set", "language", "zh-CN"]).exit_code == 0
    alerts.rule("needs_you", types="notification")
    client.post("/api/activities", headers={**auth, "Accept-Language": "en-US"}, json=record(
        type="notification", description="Waiting for input", agent="claude-code", session="s-7"))
    assert alerts.tick()[1].startswith("claude-code 需要你\nWaiting for input\n(notification; 智能体 claude-code，会话 s-7)\n")
