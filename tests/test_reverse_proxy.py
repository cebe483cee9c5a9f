"""waken behind Debian's nginx with the site config in docs/deployment.md: HTTPS, real client addresses, live streams."""
import os
import re
import shutil
import signal
import subprocess
import time

import pytest
import requests

from tests.admin_support import PASSWORD, create_admin, sign_in
from tests.limits_support import client_from, run
from tests.support import ROOT, free_port

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
pytestmark = pytest.mark.skipif(not os.access(NGINX, os.X_OK), reason="nginx is installed by `make proxy`")


def _site_config(waken_port, http_port, https_port, cert, key):
    """The nginx block of docs/deployment.md with this test's ports and certificate, nothing else changed."""
    text = re.search(r"```nginx\n(.*?)```", (ROOT / "docs" / "deployment.md").read_text(), re.S).group(1)
    for old, new in (("listen [::]:80;", ""), ("listen [::]:443 ssl;", ""),
                     ("listen 80;", f"listen 127.0.0.1:{http_port};"),
                     ("listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;"),
                     ("/etc/letsencrypt/live/status.example.org/fullchain.pem", str(cert)),
                     ("/etc/letsencrypt/live/status.example.org/privkey.pem", str(key)),
                     ("127.0.0.1:8000", f"127.0.0.1:{waken_port}")):
        assert old in text, old
        text = text.replace(old, new)
    return text


@pytest.fixture
def proxied(start_server, tmp_path):
    """A waken server (WAKEN_TRUSTED_PROXIES=1) behind nginx; yields (server, https url, http url, cert)."""
    server = start_server(env={"WAKEN_TRUSTED_PROXIES": "1"})
    work = tmp_path / "nginx"
    work.mkdir()
    cert, key = work / "cert.pem", work / "key.pem"
    made = run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
               "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert))
    assert made.returncode == 0, made.stderr
    http_port, https_port = free_port(), free_port()
    (work / "waken.conf").write_text(_site_config(server.port, http_port, https_port, cert, key))
    temp_paths = "\n".join(f"  {kind}_temp_path {work}/{kind};" for kind in
                           ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (work / "nginx.conf").write_text(
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"daemon off;\npid {work}/nginx.pid;\nerror_log {work}/error.log;\n"
        + "events { worker_connections 256; }\n"
        + f"http {{\n  access_log off;\n{temp_paths}\n  include {work}/waken.conf;\n}}\n")
    proc = subprocess.Popen([NGINX, "-e", str(work / "error.log"), "-p", str(work), "-c", str(work / "nginx.conf")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"https://127.0.0.1:{https_port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            assert proc.poll() is None, (work / "error.log").read_text()
            try:
                requests.get(url + "/healthz", verify=str(cert), timeout=2)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "nginx did not answer"
                time.sleep(0.1)
        yield server, url, f"http://127.0.0.1:{http_port}", str(cert)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)


def test_https_through_nginx_keys_the_login_limiter_on_the_real_client(proxied):
    server, url, plain_url, cert = proxied
    assert requests.get(url + "/healthz", verify=cert, timeout=10).status_code == 200
    redirect = requests.get(plain_url + "/", allow_redirects=False, timeout=10)
    assert redirect.status_code == 301 and redirect.headers["Location"].startswith("https://")
    create_admin(server)
    stranger, owner = client_from("127.0.0.2"), client_from("127.0.0.1")
    stranger.verify = owner.verify = cert
    for _ in range(10):
        assert sign_in(stranger, url, "guess").status_code == 401
    assert sign_in(stranger, url, PASSWORD).status_code == 429
    # A forged X-Forwarded-For changes nothing: nginx replaces it with the real address.
    assert sign_in(stranger, url, PASSWORD, headers={"X-Forwarded-For": "127.0.0.1"}).status_code == 429
    # Every visitor reaches waken from 127.0.0.1 (nginx), yet the owner is not locked out.
    signed_in = sign_in(owner, url, PASSWORD)
    assert signed_in.status_code == 302
    assert "Secure" in signed_in.headers["Set-Cookie"]   # waken knows the visitor used https
    assert owner.get(url + "/admin/", allow_redirects=False, timeout=10).status_code == 200


def test_live_stream_events_pass_through_nginx_at_once(proxied):
    _, url, _, cert = proxied
    # A buffering proxy would hold the first lines back; the stream never ends, so the read times out.
    with requests.get(url + "/api/activity/stream", verify=cert, stream=True, timeout=(10, 5)) as stream:
        assert stream.status_code == 200
        first = next(stream.iter_lines(decode_unicode=True))
    assert first.startswith("retry:")
