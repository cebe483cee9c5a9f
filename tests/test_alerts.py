"""Alert channels and delivery in process: masked channels, the test button and command with the channel's real
answer, retries with back-off until dead (driven by the clock), a hanging channel, retention, and no secret shown."""
import logging
import time

import pytest

from tests.alert_support import Sink, rule_form
from tests.support import db_rows, record
from waken.alerts.delivery import deliver_due
from waken.alerts.jobs import run_alerts
from waken.sweeps import apply_retention

SECRET = "tok-9f8e7d6c5b4a"


@pytest.fixture
def sink():
    sink = Sink()
    yield sink
    sink.close()


def add_channel(admin, name, url):
    answer = admin.post("/admin/alerts/channels", {"name": name, "url": url})
    assert answer.status_code == 303, answer.data
    return answer


def test_a_channel_is_shown_masked_and_its_test_reports_the_real_answer(admin, sink, app):
    add_channel(admin, "phone", f"ntfy://alice:{SECRET}@127.0.0.1:{sink.port}/topic-{SECRET}")
    page = admin.get("/admin/alerts").text
    assert f"ntfy://…@127.0.0.1:{sink.port}/…" in page and SECRET not in page
    answer = admin.post("/admin/alerts/channels/test", {"name": "phone"}, follow_redirects=True)
    assert "Test to “phone” sent. The channel answered: Sent ntfy notification to" in answer.text
    assert SECRET not in answer.text
    message = sink.wait(1)[0]
    assert message["body"]["topic"] == f"topic-{SECRET}" and message["body"]["title"] == "waken test"
    assert message["auth"].startswith("Basic ")     # the user and password went to the channel, and only there
    sink.mode = "fail"
    answer = admin.post("/admin/alerts/channels/test", {"name": "phone"}, follow_redirects=True)
    assert "Test to “phone” failed. The channel answered: Failed to send ntfy notification to topic" in answer.text
    assert "sink says no" in answer.text and SECRET not in answer.text


def test_a_refused_channel_is_explained_and_its_url_never_repeated(admin):
    answer = admin.post("/admin/alerts/channels", {"name": "x", "url": f"not a url {SECRET}"})
    assert answer.status_code == 400
    assert "The URL must be an Apprise URL" in answer.text and SECRET not in answer.text
    add_channel(admin, "x", f"json://127.0.0.1:9/{SECRET}")
    again = admin.post("/admin/alerts/channels", {"name": "x", "url": f"json://127.0.0.1:9/{SECRET}"})
    assert again.status_code == 400 and "There is already a channel named “x”" in again.text
    assert SECRET not in again.text


def test_commands_add_list_test_and_delete_channels(runner, sink, app):
    result = runner.invoke(args=["alert", "channel", "add", "hook", "-"], input=sink.json_url(SECRET) + "\n")
    assert result.exit_code == 0 and result.output == f"Added channel hook: json://127.0.0.1:{sink.port}/…\n"
    result = runner.invoke(args=["alert", "rule", "set", "errors", "--on", "--channel", "hook", "--param", "count=2"])
    assert result.exit_code == 0, result.output
    listed = runner.invoke(args=["alert", "channel", "list"]).output
    assert listed == f"hook\tjson://127.0.0.1:{sink.port}/…\trules: errors\n"
    tested = runner.invoke(args=["alert", "test", "hook"])
    assert tested.exit_code == 0 and tested.output == "Sent: Sent JSON POST notification.\n"
    assert sink.wait(1)[0]["path"] == f"/{SECRET}"
    sink.mode = "fail"
    failed = runner.invoke(args=["alert", "test", "hook"])
    assert failed.exit_code == 1 and failed.output == (
        "Failed: Failed to send JSON POST notification: Internal server error., error=500.\n")
    assert runner.invoke(args=["alert", "channel", "delete", "hook"]).output == "Deleted channel hook.\n"
    assert db_rows(app, "SELECT enabled, channels FROM alert_rule") == [(0, "[]")]
    missing = runner.invoke(args=["alert", "test", "hook"])
    assert missing.exit_code == 1 and "There is no channel named “hook”" in missing.output
    assert SECRET not in "".join((result.output, listed, tested.output, failed.output))


def test_a_failing_channel_is_retried_with_back_off_then_dead(admin, sink, app, client, auth, clock):
    sink.mode = "fail"
    add_channel(admin, "hook", sink.json_url())
    admin.post("/admin/alerts/rules/needs_you", rule_form("needs_you", [1], types="notification"))
    client.post("/api/activities", headers=auth, json=record(type="notification", session="s1"))
    waits = []
    with app.app_context():
        for attempt in range(1, 9):
            assert deliver_due(clock()) == {"dead" if attempt == 8 else "pending": 1}
            assert len(sink.received) == attempt
            (status, tries, next_at), = db_rows(app, "SELECT status, tries, next_at FROM alert_outbox")
            assert deliver_due(clock()) == {}          # not due again before its back-off
            waits.append(round(next_at / 1000 - clock().timestamp()))
            clock.advance(seconds=3600)
    assert (status, tries) == ("dead", 8)
    assert waits[:7] == [30, 60, 120, 240, 480, 960, 1920]
    page = admin.get("/admin/alerts/deliveries").text
    assert ">dead</span>" in page and "Failed to send JSON POST notification: Internal server error., error=500." in page


@pytest.mark.app_config(ALERT_TIMEOUT_SECONDS=1)
def test_a_hanging_channel_times_out_and_never_delays_the_record(admin, sink, app, client, auth, clock):
    sink.mode = "hang"
    add_channel(admin, "slow", sink.ntfy_url())
    admin.post("/admin/alerts/rules/needs_you", rule_form("needs_you", [1], types="notification"))
    begin = time.monotonic()
    assert client.post("/api/activities", headers=auth, json=record(type="notification")).status_code == 201
    assert time.monotonic() - begin < 1      # the record never waits on the channel
    begin = time.monotonic()
    with app.app_context():
        assert run_alerts(clock()) == {"alert deliveries pending": 1}
    assert time.monotonic() - begin < 5      # the timeout (1 s here, 5 s by default) ended the try
    assert db_rows(app, "SELECT status, tries FROM alert_outbox") == [("pending", 1)]


def test_retention_deletes_old_deliveries(admin, sink, app, client, auth, clock):
    add_channel(admin, "hook", sink.json_url())
    admin.post("/admin/alerts/rules/needs_you", rule_form("needs_you", [1], types="notification"))
    client.post("/api/activities", headers=auth, json=record(type="notification"))
    with app.app_context():
        assert deliver_due(clock()) == {"sent": 1}
        clock.advance(days=29)
        assert apply_retention(clock())["alert deliveries deleted"] == 0
        clock.advance(days=2)
        assert apply_retention(clock())["alert deliveries deleted"] == 1


def test_no_page_answer_or_log_line_shows_a_channel_secret(admin, sink, app, client, auth, clock, caplog):
    caplog.set_level(logging.DEBUG)
    add_channel(admin, "hook", f"json://user:{SECRET}@127.0.0.1:{sink.port}/{SECRET}-path?token={SECRET}")
    add_channel(admin, "tg", f"tgram://123456789:{SECRET}/-100123")    # only shown: a test sends on loopback only
    admin.post("/admin/alerts/rules/needs_you", rule_form("needs_you", [1], types="notification"))
    client.post("/api/activities", headers=auth, json=record(type="notification", session="s1"))
    with app.app_context():
        deliver_due(clock())
        sink.mode = "fail"
        client.post("/api/activities", headers=auth, json=record(type="notification", session="s2"))
        deliver_due(clock())      # a failure is logged, with the channel's answer
    assert sink.wait(2)[0]["path"].startswith(f"/{SECRET}-path")
    admin.post("/admin/alerts/channels/test", {"name": "hook"})
    pages = [admin.get(path, follow_redirects=True).text for path in (
        "/admin/alerts", "/admin/alerts/deliveries", "/admin", "/admin/settings", "/admin/sessions",
        "/admin/sessions/s1", "/admin/agents")]
    answers = [client.get(path, headers=auth).text for path in (
        "/api/activities", "/api/agent-sessions", "/api/feed", "/api/settings", "/api/openapi.json")]
    assert "tgram://…" in pages[0] and "error=500" in pages[1]
    # pytest's caplog also listens to Apprise's own logger, which waken keeps out of every handler of its
    # own; the live test reads the real server log.
    logged = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("apprise"))
    assert "alert 2 (needs_you) not sent, try 1: Failed to send JSON POST notification" in logged
    for text in pages + answers + [logged]:
        assert SECRET not in text and "123456789" not in text
