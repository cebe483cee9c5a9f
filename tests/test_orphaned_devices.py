"""Deleting a token on a live server: its devices stay closed to every token until the owner re-binds them."""
import re

import requests

from tests.admin_support import Admin, create_admin


def report(server, token, key):
    return requests.post(server.url + "/api/activity", headers={"Authorization": f"Bearer {token}"},
                         json={"generatedHashKey": key, "process_name": "Code"}, timeout=10)


def token_id(server, name):
    return next(line.split("\t")[0] for line in server.cli("token", "list").splitlines()
                if line.split("\t")[1] == name)


def test_a_deleted_tokens_devices_refuse_every_token_until_bound_again_with_the_cli(server):
    phone, other = server.token("phone"), server.token("other")
    phone_id, other_id = token_id(server, "phone"), token_id(server, "other")
    key = server.device("Phone", "wwd-orphan-phone-01", "--token", phone_id)
    spare = server.device("Spare", "wwd-orphan-spare-01", "--token", phone_id)
    assert report(server, phone, key).status_code == 200
    assert report(server, other, key).status_code == 403   # bound to phone

    server.cli("token", "delete", phone_id)
    assert report(server, phone, key).status_code == 401
    for device in (key, spare):
        refused = report(server, other, device)
        assert refused.status_code == 403
        assert "bound to an API token that has been deleted" in refused.json()["error"]
    with server.db() as conn:   # the refused reports stored nothing
        assert conn.execute("SELECT count(*) FROM device_activity a JOIN device d ON d.id = a.device_id "
                            "WHERE d.hash_key IN (?, ?)", (key, spare)).fetchone()[0] == 1

    # The owner decides: bind one to the other token, unbind the second.
    assert "bound to token" in server.cli("device", "bind", key, other_id)
    assert report(server, other, key).status_code == 200
    third = server.token("third")
    assert report(server, third, key).status_code == 403   # bound to "other" only
    assert "unbound" in server.cli("device", "unbind", spare)
    assert report(server, third, spare).status_code == 200
    missing = server.cli("device", "bind", key, "999", check=False)
    assert "bound to token" not in missing
    assert report(server, other, key).status_code == 200   # a failed bind changed nothing


def test_the_admin_panel_deletes_and_rebinds_the_same_way(server):
    create_admin(server)
    admin = Admin.live(server).login()
    laptop, other = server.token("laptop"), server.token("panel-other")
    key = server.device("Laptop", "wwd-orphan-laptop-1", "--token", token_id(server, "laptop"))
    assert report(server, laptop, key).status_code == 200

    deleted = admin.post(f"/admin/tokens/{token_id(server, 'laptop')}/delete", allow_redirects=True)
    assert "Devices bound to it now get 403" in deleted.text
    assert report(server, other, key).status_code == 403
    page = admin.get("/admin/devices").text
    row = next(match for match in re.finditer(r'<tr id="device-(\d+)"(.*?)</tr>', page, re.DOTALL)
               if key in match.group(2))
    assert "token deleted" in row.group(2)

    # Saving "any token" in the panel unbinds it on purpose: reports are accepted again.
    assert admin.post(f"/admin/devices/{row.group(1)}/token", data={"token_id": ""}).status_code == 303
    assert report(server, other, key).status_code == 200
    assert "token deleted" not in admin.get("/admin/devices").text
