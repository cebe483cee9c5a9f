"""Device Management: add with a custom or random key, approve/revoke, bind, rename, delete."""
import re

import pytest

from waken import db, settings

KEY = "my-laptop-key-0001"



def report(client, token, key=KEY):
    return client.post("/api/activity", headers={"Authorization": f"Bearer {token}"},
                       json={"generatedHashKey": key, "process_name": "Code"})


def row_of(page, name):
    rows = re.findall(r'<tr id="device-\d+".*?</tr>', page, re.DOTALL)
    return next(r for r in rows if f'value="{name}"' in r)


def test_add_with_a_custom_key_and_report_with_it(admin, token):
    response = admin.post("/admin/devices", data={"name": "Laptop", "key": KEY, "device_type": "desktop"})
    assert response.status_code == 303
    page = admin.get("/admin/devices").text
    assert f"Its GeneratedHashKey is {KEY}" in page
    row = row_of(page, "Laptop")
    assert KEY in row and "active" in row and "desktop" in row and "never" in row
    assert report(admin.client, token).status_code == 200
    assert "never" not in row_of(admin.get("/admin/devices").text, "Laptop")


def test_an_empty_key_gets_a_random_one(admin):
    admin.post("/admin/devices", data={"name": "Phone"})
    row = row_of(admin.get("/admin/devices").text, "Phone")
    assert re.search(r"wwd-[0-9a-f]{32}", row)


@pytest.mark.parametrize("form, message", [
    ({"name": "", "key": KEY}, "The name is required."),
    ({"name": "Short", "key": "abc"}, "A GeneratedHashKey must be 8 to 128 characters long."),
    ({"name": "Spaces", "key": "has a space in it"}, "may not contain spaces"),
    ({"name": "Typed", "key": KEY, "device_type": "fridge"}, "The device type must be one of desktop, tablet, mobile."),
    ({"name": "Bound", "key": KEY, "token_id": "9"}, "There is no token with id 9."),
])
def test_bad_device_forms_are_explained(admin, form, message):
    response = admin.post("/admin/devices", data=form)
    assert response.status_code == 400
    assert message in response.text
    assert "No devices yet" in response.text


def test_a_taken_key_is_refused(admin):
    admin.post("/admin/devices", data={"name": "One", "key": KEY})
    response = admin.post("/admin/devices", data={"name": "Two", "key": KEY})
    assert response.status_code == 400
    assert f"A device with the key &#39;{KEY}&#39; already exists." in response.text


def test_revoke_refuses_reports_and_approve_lets_them_in(admin, token):
    admin.post("/admin/devices", data={"name": "Laptop", "key": KEY})
    admin.post("/admin/devices/1/revoke")
    assert "revoked" in row_of(admin.get("/admin/devices").text, "Laptop")
    assert report(admin.client, token).status_code == 403
    admin.post("/admin/devices/1/approve")
    assert report(admin.client, token).status_code == 200


def test_pending_device_from_its_approval_link(app, admin, token):
    with app.app_context(), db.write():
        settings.put("device_registration", "pending")
    pending = report(admin.client, token, "new-phone-key-123")
    assert pending.status_code == 202
    url = pending.json["approvalUrl"]
    assert url == "http://localhost/admin/devices?key=new-phone-key-123"
    page = admin.get(url.removeprefix("http://localhost")).text
    row = re.search(r'<tr id="device-\d+" class="status-pending highlight">.*?</tr>', page, re.DOTALL).group(0)
    assert "new-phone-key-123" in row and "Approve" in row
    device_id = re.search(r'id="device-(\d+)"', row).group(1)
    admin.post(f"/admin/devices/{device_id}/approve")
    assert report(admin.client, token, "new-phone-key-123").status_code == 200


def test_bind_to_a_token_then_unbind(app, admin, token):
    from waken.auth.tokens import create_token
    with app.app_context(), db.write():
        other = create_token("other")[1]
    admin.post("/admin/devices", data={"name": "Laptop", "key": KEY})
    admin.post("/admin/devices/1/token", data={"token_id": "2"})
    assert '<option value="2" selected>other</option>' in row_of(admin.get("/admin/devices").text, "Laptop")
    refused = report(admin.client, token)
    assert refused.status_code == 403 and "bound to another API token" in refused.json["error"]
    assert report(admin.client, other).status_code == 200
    admin.post("/admin/devices/1/token", data={"token_id": ""})
    assert report(admin.client, token).status_code == 200


def test_rename_and_delete(admin, token):
    admin.post("/admin/devices", data={"name": "Laptop", "key": KEY})
    admin.post("/admin/devices/1/rename", data={"name": "Work laptop"})
    assert 'value="Work laptop"' in admin.get("/admin/devices").text
    bad = admin.post("/admin/devices/1/rename", data={"name": " "}, follow_redirects=True)
    assert "Nothing changed. The name is required." in bad.text
    admin.post("/admin/devices/1/delete")
    assert "No devices yet" in admin.get("/admin/devices").text
    assert report(admin.client, token).status_code == 403


def test_a_prefilled_key_from_quick_add(admin):
    page = admin.get("/admin/devices?new_key=wwd-0123456789abcdef0123456789abcdef").text
    assert 'name="key" value="wwd-0123456789abcdef0123456789abcdef"' in page


def test_actions_on_a_missing_device_say_so(admin, token):
    response = admin.post("/admin/devices/42/token", data={"token_id": ""}, follow_redirects=True)
    assert "Nothing changed. There is no device with id 42." in response.text
    admin.post("/admin/devices", data={"name": "Laptop", "key": KEY})
    refused = admin.post("/admin/devices/1/token", data={"token_id": "9"}, follow_redirects=True)
    assert "Nothing changed. There is no token with id 9." in refused.text
