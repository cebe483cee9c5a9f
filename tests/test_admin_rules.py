"""The Media Source Rules page: list, add, edit, delete; the feed follows."""
import pytest

from tests.support import DEVICE_KEY


def play(client, auth, source="Spotify"):
    client.post("/api/activity", headers=auth, json={
        "generatedHashKey": DEVICE_KEY, "process_name": "Music",
        "metadata": {"play_source": source, "media": {"title": "Song"}}})
    [item] = client.get("/api/activity").json["data"]["activeStatuses"]
    return item["nowPlaying"]


def test_add_edit_and_delete_a_rule(admin, device, auth):
    assert play(admin.client, auth)["source"] == "Spotify"
    assert admin.post("/admin/rules", data={"source": "spotify", "action": "rename", "label": "Music app"}).status_code == 303
    page = admin.get("/admin/rules").text
    assert 'value="spotify"' in page and 'value="Music app"' in page
    assert play(admin.client, auth)["source"] == "Music app"

    admin.post("/admin/rules/1", data={"source": "spotify", "action": "block", "label": ""})
    assert play(admin.client, auth) is None
    admin.post("/admin/rules/1/delete")
    assert "No rules yet" in admin.get("/admin/rules").text
    assert play(admin.client, auth)["title"] == "Song"


@pytest.mark.parametrize("form, message", [
    ({"source": "", "action": "block"}, "The play source is required."),
    ({"source": "x", "action": "mute"}, "The action must be block or rename."),
    ({"source": "x", "action": "rename"}, "A rename rule needs the label to show instead."),
])
def test_bad_rules_are_explained(admin, form, message):
    response = admin.post("/admin/rules", data=form)
    assert response.status_code == 400
    assert message in response.text
    assert "No rules yet" in response.text


def test_a_second_rule_for_a_source_is_refused(admin):
    admin.post("/admin/rules", data={"source": "Spotify", "action": "block"})
    response = admin.post("/admin/rules", data={"source": "SPOTIFY", "action": "block"})
    assert response.status_code == 400
    assert "already has a rule" in response.text


def test_app_records_link_prefills_the_source(admin):
    assert 'name="source" value="qqmusic"' in admin.get("/admin/rules?source=qqmusic").text
