"""App records: the page and GET /api/admin/activity/apps-export."""

from tests.admin_support import form_values
from waken import db
from waken.devices.registry import create_device

PHONE, TABLET, LAPTOP = "phone-key-0001", "tablet-key-0001", "laptop-key-0001"



def devices(app):
    with app.app_context(), db.write():
        create_device("Phone", key=PHONE, device_type="mobile")
        create_device("Tablet", key=TABLET, device_type="tablet")
        create_device("Laptop", key=LAPTOP)


def report(client, auth, key, process, title=None):
    response = client.post("/api/activity", headers=auth, json={
        "generatedHashKey": key, "process_name": process, "process_title": title})
    assert response.status_code == 200, response.json


def export(admin):
    response = admin.get("/api/admin/activity/apps-export")
    assert response.status_code == 200
    assert response.json["success"] is True
    return response.json["data"]


def test_groups_and_latest_three_titles_newest_first(app, admin, auth):
    devices(app)
    report(admin.client, auth, PHONE, "chrome", "home")
    report(admin.client, auth, TABLET, "reader", "book")
    for title in ("a.py", "b.py", "a.py", "c.py", "d.py"):
        report(admin.client, auth, LAPTOP, "code.exe", title)
    report(admin.client, auth, LAPTOP, "terminal")
    data = export(admin)
    assert data["version"] == 1 and data["exportedAt"].endswith("Z")
    assert set(data["groups"]) == {"pc", "mobile"}
    pc = {a["appName"]: a for a in data["groups"]["pc"]}
    mobile = {a["appName"]: a for a in data["groups"]["mobile"]}
    assert set(pc) == {"code.exe", "terminal"} and set(mobile) == {"chrome", "reader"}
    assert pc["code.exe"]["titles"] == ["d.py", "c.py", "a.py"]
    assert pc["terminal"]["titles"] == []
    assert set(pc["code.exe"]) == {"appName", "titles", "lastSeenAt"}
    assert mobile["chrome"]["titles"] == ["home"]

    page = admin.get("/admin/apps").text
    assert "code.exe" in page and "d.py" in page and "b.py" not in page


def test_recording_off_keeps_the_list_but_stops_it_growing(app, admin, auth):
    devices(app)
    report(admin.client, auth, LAPTOP, "code.exe", "a.py")
    settings_page = admin.get("/admin/settings").text
    assert 'name="save_app_records" value="true" checked' in settings_page
    values = form_values(settings_page)
    del values["save_app_records"]
    assert admin.post("/admin/settings", data=values).status_code == 303

    report(admin.client, auth, LAPTOP, "code.exe", "b.py")
    report(admin.client, auth, LAPTOP, "browser", "news")
    report(admin.client, auth, PHONE, "chrome", "home")
    data = export(admin)
    assert data["groups"] == {"pc": [{"appName": "code.exe", "titles": ["a.py"],
                                      "lastSeenAt": data["groups"]["pc"][0]["lastSeenAt"]}], "mobile": []}
    assert "Recording is off" in admin.get("/admin/apps").text
