"""Cross-origin answers: reports for the listed origins, public reads for all, nothing elsewhere."""
import pytest

from tests.support import set_setting

LISTED = "http://127.0.0.2:8123"
UNLISTED = "https://elsewhere.example"
ONE_PIXEL_PNG = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4"
                 "nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC")
PREFLIGHT = {"Access-Control-Request-Method": "POST",
             "Access-Control-Request-Headers": "authorization,content-type"}


def cors_headers(response):
    return {name: value for name, value in response.headers.items() if name.startswith("Access-Control-")}


@pytest.fixture
def listed(runner):
    set_setting(runner, "cors_report_origins", f"{LISTED}, https://me.example")


def report(client, auth, device, origin, **extra):
    return client.post("/api/activity", json={"generatedHashKey": device, "process_name": "Browser"},
                       headers={**auth, "Origin": origin, **extra})


@pytest.mark.usefixtures("listed")
def test_a_listed_origin_may_report_and_verify(client, auth, device):
    response = report(client, auth, device, LISTED)
    assert response.status_code == 200
    assert cors_headers(response) == {"Access-Control-Allow-Origin": LISTED}
    assert "Origin" in response.headers["Vary"]
    verify = client.post("/api/activity/verify", json={"generatedHashKey": device},
                         headers={**auth, "Origin": LISTED})
    assert verify.status_code == 200 and verify.headers["Access-Control-Allow-Origin"] == LISTED


@pytest.mark.usefixtures("listed")
@pytest.mark.parametrize("path", ["/api/activity", "/api/activity/verify"])
def test_preflight_allows_the_two_headers_to_listed_origins_only(client, path):
    allowed = client.options(path, headers={"Origin": LISTED, **PREFLIGHT})
    assert allowed.status_code == 200
    assert cors_headers(allowed) == {
        "Access-Control-Allow-Origin": LISTED, "Access-Control-Allow-Methods": "POST",
        "Access-Control-Allow-Headers": "authorization, content-type", "Access-Control-Max-Age": "600"}
    # Cookies are never asked for: no Allow-Credentials, whatever the page wants.
    extra = client.options(path, headers={"Origin": LISTED, **PREFLIGHT,
                                          "Access-Control-Request-Headers": "authorization,x-other"})
    assert extra.headers["Access-Control-Allow-Headers"] == "authorization"
    assert cors_headers(client.options(path, headers={"Origin": UNLISTED, **PREFLIGHT})) == {}


@pytest.mark.usefixtures("listed")
def test_an_unlisted_origin_gets_no_cors_headers(client, auth, device):
    assert cors_headers(report(client, auth, device, UNLISTED)) == {}
    # The same origin with another port or scheme is another origin.
    assert cors_headers(report(client, auth, device, "https://127.0.0.2:8123")) == {}
    assert cors_headers(report(client, auth, device, "http://127.0.0.2")) == {}


def test_no_origin_is_listed_by_default(client, auth, device):
    assert cors_headers(report(client, auth, device, LISTED)) == {}
    assert cors_headers(client.options("/api/activity", headers={"Origin": LISTED, **PREFLIGHT})) == {}


@pytest.mark.usefixtures("listed")
def test_error_answers_reach_a_listed_page(client, device):
    # A page must be able to read why its report failed, not see a bare network error.
    response = report(client, {"Authorization": "Bearer wrong"}, device, LISTED)
    assert response.status_code == 401
    assert response.headers["Access-Control-Allow-Origin"] == LISTED
    assert "error" in response.json


def test_a_changed_setting_applies_to_the_next_request(client, runner, auth, device):
    set_setting(runner, "cors_report_origins", LISTED)
    assert report(client, auth, device, LISTED).headers["Access-Control-Allow-Origin"] == LISTED
    set_setting(runner, "cors_report_origins", "https://me.example")
    assert cors_headers(report(client, auth, device, LISTED)) == {}
    assert report(client, auth, device, "https://me.example").headers["Access-Control-Allow-Origin"] \
        == "https://me.example"


@pytest.mark.parametrize("origin", [None, UNLISTED])
def test_public_reads_answer_every_origin(client, auth, device, origin):
    stored = client.post("/api/activity", headers=auth, json={
        "generatedHashKey": device, "process_name": "Code",
        "metadata": {"media": {"title": "Song", "coverDataUrl": ONE_PIXEL_PNG}}})
    cover = stored.json["data"]["metadata"]["media"]["coverUrl"]
    headers = {"Origin": origin} if origin else {}
    feed = client.get("/api/activity", headers=headers)
    for response in (feed, client.get("/api/activity", headers={**headers, "If-None-Match": feed.headers["ETag"]}),
                     client.get("/api/activity/stream", headers=headers),
                     client.get(cover[cover.index("/media/"):], headers=headers),
                     client.get("/api/openapi.json", headers=headers)):
        assert response.status_code in (200, 304)
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert "Access-Control-Allow-Credentials" not in response.headers
        response.close()


def test_a_feed_preflight_is_answered_for_every_origin(client):
    response = client.options("/api/activity", headers={
        "Origin": UNLISTED, "Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "last-event-id"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "GET" in response.headers["Access-Control-Allow-Methods"]


PRIVATE = [
    ("GET", "/"), ("GET", "/healthz"), ("GET", "/api-reference"),
    ("GET", "/api/activities"), ("POST", "/api/activities"), ("GET", "/api/activities/stats"),
    ("GET", "/api/activities/export"), ("GET", "/api/activities/stream"), ("PATCH", "/api/activities/1"),
    ("GET", "/api/admin/activity/apps-export"), ("POST", "/v1/logs"), ("POST", "/v1/traces"),
    ("GET", "/admin/login"), ("POST", "/admin/login"), ("GET", "/admin/settings"), ("GET", "/admin/connect"),
]


@pytest.mark.usefixtures("listed")
@pytest.mark.parametrize("method, path", PRIVATE)
def test_admin_and_agent_routes_never_carry_cors_headers(client, auth, method, path):
    # Even for an origin the owner listed, and whether or not the request is allowed.
    for headers in ({"Origin": LISTED}, {"Origin": LISTED, **auth}):
        response = client.open(path, method=method, headers=headers, json={})
        assert cors_headers(response) == {}, (response.status_code, response.headers)
        response.close()
    for request_method in ("GET", "POST", method):
        preflight = client.options(path, headers={"Origin": LISTED, **PREFLIGHT,
                                                  "Access-Control-Request-Method": request_method})
        assert cors_headers(preflight) == {}


def test_every_route_is_either_public_a_report_or_silent(app, client, runner):
    # A route added later is silent unless cors.py names it: walk them all with a preflight.
    set_setting(runner, "cors_report_origins", LISTED)
    public = {"/api/activity", "/api/activity/stream", "/media/<kind>/<filename>", "/api/openapi.json",
              "/reporter/waken-reporter.py"}
    for rule in app.url_map.iter_rules():
        path = rule.rule.replace("<int:", "<").replace("<path:", "<")
        for name in rule.arguments:
            path = path.replace(f"<{name}>", "1")
        for method in ("GET", "POST"):
            answer = cors_headers(client.options(path, headers={
                "Origin": LISTED, "Access-Control-Request-Method": method}))
            if rule.rule in public and method == "GET":
                assert answer.get("Access-Control-Allow-Origin") == "*", rule.rule
            elif rule.rule in ("/api/activity", "/api/activity/verify") and method == "POST":
                assert answer.get("Access-Control-Allow-Origin") == LISTED, rule.rule
            else:
                assert answer == {} or rule.rule in public, (rule.rule, method, answer)


@pytest.mark.parametrize("value, message", [
    ("https://me.example/status", "must list origins without a path, query or user name; 'https://me.example/status'"),
    ("me.example", "must list origins such as https://me.example or http://192.168.1.20:8080; 'me.example' is not one"),
    ("*", "'*' is not one"),
    ("ftp://me.example", "'ftp://me.example' is not one"),
    ("https://me.example:99999", "'https://me.example:99999' is not one"),
    ("https://user@me.example", "without a path, query or user name"),
    ("https://bücher.example", "an international name goes in its xn-- form"),
])
def test_bad_origins_are_explained(runner, value, message):
    result = runner.invoke(args=["settings", "set", "cors_report_origins", value])
    assert result.exit_code != 0
    assert result.output.startswith("Error: Browser report origins must list ") and message in result.output


def test_origins_are_stored_as_a_browser_sends_them(runner):
    value = '["HTTPS://Me.Example/", "https://me.example:443", "http://[::1]:8080", "http://a.example:80"]'
    result = runner.invoke(args=["settings", "set", "cors_report_origins", value])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == \
        'cors_report_origins = ["http://[::1]:8080", "http://a.example", "https://me.example"]'


def test_an_ipv6_origin_matches_itself_only(client, runner, auth, device):
    set_setting(runner, "cors_report_origins", "http://[::1]:8080")
    assert report(client, auth, device, "http://[::1]:8080").headers["Access-Control-Allow-Origin"] \
        == "http://[::1]:8080"
    assert cors_headers(report(client, auth, device, "http://[::2]:8080")) == {}
