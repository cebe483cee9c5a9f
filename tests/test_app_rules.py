"""App rules: rename an app, hide its title or hide it on the public side only (page, CLI, feed, stream)."""
import json

import requests

from tests.support import DEVICE_KEY

TITLE = "Chat with Alice — secret plans"


def report(client, auth, process="com.tencent.mm", title=TITLE, **fields):
    response = client.post("/api/activity", headers=auth, json={
        "generatedHashKey": DEVICE_KEY, "process_name": process, "process_title": title,
        "device": "Pixel", "device_type": "mobile", "battery_level": 64, **fields})
    assert response.status_code == 200, response.text


def public(client):
    data = client.get("/api/activity").json["data"]
    return data["activeStatuses"], data["recentActivities"]


def test_rename_shows_the_label_in_public_and_the_real_name_in_admin(admin, device, auth):
    report(admin.client, auth)
    response = admin.post("/admin/app-rules", data={"process_name": "COM.Tencent.MM", "label": " WeChat "})
    assert response.status_code == 303
    assert "rename → WeChat" in admin.get("/admin/app-rules").text

    [live], [recent] = public(admin.client)
    assert live["processName"] == recent["processName"] == "WeChat"
    assert live["processTitle"] == TITLE
    home = admin.get("/").text
    assert "WeChat" in home and "com.tencent.mm" not in home
    overview = admin.get("/admin/").text
    assert "com.tencent.mm" in overview and "WeChat" not in overview


def test_hide_title_keeps_the_app_and_drops_its_title_everywhere_public(admin, device, auth):
    report(admin.client, auth, metadata={"note": "kept"})
    admin.post("/admin/app-rules", data={"process_name": "com.tencent.mm", "hide_title": "true"})
    [live], [recent] = public(admin.client)
    assert live["processName"] == "com.tencent.mm"
    assert live["processTitle"] is None and recent["processTitle"] is None
    raw = admin.get("/api/activity").text + admin.get("/").text
    assert "secret plans" not in raw
    assert TITLE in admin.get("/admin/").text
    # A new report keeps the title stored, and still hidden.
    report(admin.client, auth, title="Another secret")
    assert "Another secret" not in admin.get("/api/activity").text


def test_hide_shows_the_device_online_with_no_app(admin, device, auth):
    report(admin.client, auth, metadata={"media": {"title": "Voice message"}})
    admin.post("/admin/app-rules", data={"process_name": "com.tencent.mm", "hide": "true"})
    [live], recent = public(admin.client)
    assert live["online"] is True and live["device"] == "Pixel"
    assert live["processName"] is None and live["processTitle"] is None
    assert live["nowPlaying"] is None and live["metadata"] == {}
    assert live["battery"]["percent"] == 64
    assert recent == []
    body = admin.get("/api/activity").text + admin.get("/").text
    assert "tencent" not in body and "secret" not in body and "Voice message" not in body
    home = admin.get("/").text
    assert 'class="app no-app">online<' in home and "Pixel" in home

    # Other apps of the same device still show; deleting the rule brings the app back.
    report(admin.client, auth, process="Maps", title="Route home")
    [live], recent = public(admin.client)
    assert live["processName"] == "Maps" and [r["processName"] for r in recent] == ["Maps"]
    assert admin.post("/admin/app-rules/delete", data={"process_name": "COM.TENCENT.MM"}).status_code == 303
    assert [r["processName"] for r in public(admin.client)[1]] == ["Maps", "com.tencent.mm"]


def test_the_page_offers_recorded_apps_and_explains_bad_input(admin, device, auth):
    report(admin.client, auth)
    assert "Add an app rule" in admin.get("/admin/apps").text
    page = admin.get("/admin/app-rules?process=com.tencent.mm").text
    assert '<option value="com.tencent.mm">' in page and 'value="com.tencent.mm"' in page

    response = admin.post("/admin/app-rules", data={"process_name": "com.tencent.mm"})
    assert response.status_code == 400
    assert "A rule needs a label to show, hide the title, or hide the app." in response.text
    response = admin.post("/admin/app-rules", data={"process_name": "  ", "hide": "true"})
    assert response.status_code == 400 and "A process name is required" in response.text
    response = admin.post("/admin/app-rules", data={"process_name": "x", "label": "L" * 129})
    assert response.status_code == 400 and "at most 128 characters" in response.text
    # Saving again replaces the rule (one per process), and the Change link shows its state.
    admin.post("/admin/app-rules", data={"process_name": "com.tencent.mm", "label": "WeChat"})
    admin.post("/admin/app-rules", data={"process_name": "Com.Tencent.Mm", "label": "WeChat", "hide_title": "true"})
    page = admin.get("/admin/app-rules").text
    assert page.count('id="app-rule-') == 1 and "rename → WeChat, hide title" in page
    assert 'name="hide_title" value="true" checked' in admin.get("/admin/app-rules?process=com.tencent.mm").text
    missing = admin.post("/admin/app-rules/delete", data={"process_name": "nothing"}, follow_redirects=True)
    assert "Nothing changed. There is no app rule for" in missing.text


def test_rules_need_the_admin_and_its_csrf_token(client, admin):
    admin.client.post("/admin/app-rules", data={"process_name": "a", "hide": "true"})   # no token
    assert "No app rules yet" in admin.get("/admin/app-rules").text
    anonymous = client.application.test_client()
    assert anonymous.get("/admin/app-rules").status_code in (302, 303)


def test_cli_add_list_delete(runner, client, device, auth):
    report(client, auth)
    result = runner.invoke(args=["app-rule", "add", "com.tencent.mm", "--rename", "WeChat", "--hide-title"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "com.tencent.mm\trename → WeChat, hide title"
    assert runner.invoke(args=["app-rule", "add", "Steam", "--hide"]).exit_code == 0
    assert runner.invoke(args=["app-rule", "list"]).output.splitlines() == [
        "com.tencent.mm\trename → WeChat, hide title", "Steam\thide"]
    [live], _ = public(client)
    assert (live["processName"], live["processTitle"]) == ("WeChat", None)

    bad = runner.invoke(args=["app-rule", "add", "Steam"])
    assert bad.exit_code != 0 and "A rule needs a label to show" in bad.output
    assert runner.invoke(args=["app-rule", "delete", "COM.TENCENT.MM"]).exit_code == 0
    gone = runner.invoke(args=["app-rule", "delete", "com.tencent.mm"])
    assert gone.exit_code != 0 and "There is no app rule for 'com.tencent.mm'." in gone.output
    assert public(client)[0][0]["processName"] == "com.tencent.mm"


def test_a_new_rule_reaches_an_open_stream(server):
    token, key = server.token(), server.device("Pixel")
    requests.post(server.url + "/api/activity", headers={"Authorization": f"Bearer {token}"}, timeout=10,
                  json={"generatedHashKey": key, "process_name": "com.tencent.mm", "process_title": TITLE})
    with requests.get(server.url + "/api/activity/stream", stream=True, timeout=10) as stream:
        events = (line for line in stream.iter_lines(decode_unicode=True) if line.startswith("data: "))
        first = json.loads(next(events)[6:])["data"]["activeStatuses"][0]
        assert first["processName"] == "com.tencent.mm"
        server.cli("app-rule", "add", "com.tencent.mm", "--rename", "WeChat", "--hide-title")
        changed = json.loads(next(events)[6:])["data"]["activeStatuses"][0]
        assert (changed["processName"], changed["processTitle"]) == ("WeChat", None)
    stored = server.db().execute("SELECT process_name, process_title FROM device_activity").fetchone()
    assert tuple(stored) == ("com.tencent.mm", TITLE)
