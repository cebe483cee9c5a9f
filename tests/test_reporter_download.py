"""GET /reporter/waken-reporter.py: the packaged reporter, stamped with the server's version, cacheable."""
from importlib import metadata
from pathlib import Path

from waken.reporter import waken_reporter


def test_the_reporter_is_served_with_the_server_version(client):
    response = client.get("/reporter/waken-reporter.py")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/x-python; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'inline; filename="waken-reporter.py"'
    text = response.get_data(as_text=True)
    packaged = Path(waken_reporter.__file__).read_text(encoding="utf-8")
    version = metadata.version("waken")
    assert text == packaged.replace('VERSION = "dev"', f'VERSION = "{version}"')
    assert f'VERSION = "{version}"' in text and 'VERSION = "dev"' not in text


def test_the_reporter_answers_304_to_its_etag(client):
    first = client.get("/reporter/waken-reporter.py")
    assert first.headers["ETag"] and "no-cache" in first.headers["Cache-Control"]
    again = client.get("/reporter/waken-reporter.py", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.get_data() == b""
    other = client.get("/reporter/waken-reporter.py", headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200


def test_no_session_or_token_is_needed(client):
    response = client.get("/reporter/waken-reporter.py", headers={"Authorization": "Bearer nonsense"})
    assert response.status_code == 200 and "Set-Cookie" not in response.headers
