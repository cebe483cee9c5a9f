"""The "Connect a device" page: this server's URL in every command, escaped, and requests that work."""
import html
import json
import re
import shlex

import pytest

from tests.admin_support import (
    PASSWORD,
    USERNAME,
    create_admin,
    csrf_of,
)
from tests.support import set_setting


def block(page, block_id):
    """The text of one copyable block, as the copy button copies it."""
    match = re.search(rf'<pre id="{block_id}" class="mono">(.*?)</pre>', page, re.DOTALL)
    assert match, f"no block {block_id}"
    return html.unescape(match.group(1))


def request_parts(text):
    """(method, url, headers, body) of a block written as an HTTP request."""
    head, body = text.split("\n\n", 1)
    request_line, *header_lines = head.splitlines()
    method, url = request_line.split(" ", 1)
    return method, url, dict(line.split(": ", 1) for line in header_lines), body


def test_signing_in_is_required(app, client):
    create_admin(app)
    response = client.get("/admin/connect")
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]


def test_the_page_is_in_the_admin_nav(admin):
    assert '<a href="/admin/connect">Connect a device</a>' in admin.get("/admin/").text


def test_every_platform_uses_the_public_url(admin, runner):
    set_setting(runner, "public_url", "https://status.example:8443/")
    page = admin.get("/admin/connect").text
    for platform in ("linux", "macos"):
        assert block(page, f"{platform}-setup") == (
            "curl -fsSO https://status.example:8443/reporter/waken-reporter.py"
            " && python3 waken-reporter.py setup '<integration config>'")
        assert block(page, f"{platform}-run") == "python3 waken-reporter.py run"
        assert block(page, f"{platform}-service") == "python3 waken-reporter.py install-service"
    assert block(page, "windows-setup") == ("curl.exe -fsSO 'https://status.example:8443/reporter/waken-reporter.py'\n"
                                            "python waken-reporter.py setup '<integration config>'")
    assert "fetch(\"https://status.example:8443/api/activity\"" in block(page, "browser-snippet")
    for request_block in ("ios-request", "tasker-request", "http-shortcuts-request"):
        method, url, headers, _ = request_parts(block(page, request_block))
        assert (method, url) == ("POST", "https://status.example:8443/api/activity")
        assert headers == {"Authorization": "Bearer YOUR_TOKEN", "Content-Type": "application/json"}
    assert shlex.split(block(page, "curl-request"))[3] == "https://status.example:8443/api/activity"
    # Where the token and the config come from: the existing flows, linked.
    assert 'href="/admin/settings#integration"' in page and "Mint token and export" in page
    assert 'href="/admin/tokens"' in page and 'href="/admin/devices"' in page
    assert "If devices reach this server under another address" not in page


def test_without_a_public_url_the_address_of_the_request_is_used_and_the_page_says_so(app, client):
    lan = "http://192.168.1.20:8000"   # the owner opened the admin on the Pi's LAN address
    create_admin(app)
    csrf = csrf_of(client.get("/admin/login", base_url=lan).text)
    client.post("/admin/login", base_url=lan, data={"csrf_token": csrf, "username": USERNAME, "password": PASSWORD})
    page = client.get("/admin/connect", base_url=lan).text
    assert block(page, "linux-setup").startswith("curl -fsSO http://192.168.1.20:8000/reporter/waken-reporter.py ")
    assert "If devices reach this server under another address" in page


def test_a_strange_public_url_is_escaped_for_html_and_quoted_for_the_shell(admin, runner):
    url = "https://x.example/a'b<i>$(id)"
    set_setting(runner, "public_url", url)
    response = admin.get("/admin/connect")
    assert "<i>" not in response.text and "&lt;i&gt;" in response.text
    setup = shlex.split(block(response.text, "linux-setup"))
    assert setup[:3] == ["curl", "-fsSO", url + "/reporter/waken-reporter.py"]
    assert "'https://x.example/a''b<i>$(id)/reporter/waken-reporter.py'" in block(response.text, "windows-setup")
    assert shlex.split(block(response.text, "curl-request"))[3] == url + "/api/activity"
    assert f"fetch({json.dumps(url + '/api/activity')}" in block(response.text, "browser-snippet")


def test_the_page_holds_no_secret(admin, token):
    page = admin.get("/admin/connect").text
    assert token not in page and token[:16] not in page
    assert "YOUR_TOKEN" in page


def test_the_listed_report_origins_are_shown(admin, runner):
    assert "(none listed yet)" in admin.get("/admin/connect").text
    set_setting(runner, "cors_report_origins", "https://me.example")
    assert "<code>https://me.example</code>" in admin.get("/admin/connect").text


@pytest.mark.parametrize("block_id, values", [
    ("ios-request", {'"<App>"': '"Safari"', "<Battery Level>": "87", "<Is Charging>": "false"}),
    ("tasker-request", {"%app_name": "Maps", "%BATT": "64"}),
    ("http-shortcuts-request", {"{{status}}": "Reading"}),
])
def test_the_phone_requests_are_accepted_as_they_are_written(admin, client, token, device, block_id, values):
    # What the app sends once it has filled in its variables.
    _, url, headers, body = request_parts(block(admin.get("/admin/connect").text, block_id))
    for placeholder, value in {**values, "YOUR_DEVICE_KEY": device}.items():
        body = body.replace(placeholder, value)
    headers["Authorization"] = headers["Authorization"].replace("YOUR_TOKEN", token)
    response = client.post(url, headers=headers, data=body)
    assert response.status_code == 200, response.text
    assert response.json["data"]["processName"] == json.loads(body)["process_name"]


def test_the_curl_request_is_accepted(admin, client, token, device):
    args = shlex.split(block(admin.get("/admin/connect").text, "curl-request"))
    body = json.loads(args[args.index("-d") + 1].replace("YOUR_DEVICE_KEY", device))
    response = client.post(args[3], json=body, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text


def test_a_freshly_minted_config_comes_with_its_setup_command(admin):
    page = admin.post("/admin/settings/integration", data={"name": "laptop"}).text
    config = re.search(r'id="integration-config"[^>]*>([A-Za-z0-9+/=]+)</textarea>', page).group(1)
    assert block(page, "linux-setup") == ("curl -fsSO http://localhost/reporter/waken-reporter.py"
                                          f" && python3 waken-reporter.py setup '{config}'")
    assert block(page, "windows-setup").endswith(f"python waken-reporter.py setup '{config}'")
