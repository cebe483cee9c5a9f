"""Private instance files, a setup URL no request can choose, and `make dev` on loopback."""
import os
import signal
import stat
import subprocess
import time
from pathlib import Path

import requests

from tests.support import ROOT, free_port


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def test_database_secret_and_setup_code_are_private(start_server, tmp_path):
    old_umask = os.umask(0o022)   # as on a default Raspberry Pi OS login
    try:
        server = start_server()
        # The setup page creates the setup code.
        assert requests.get(server.url + "/admin/setup", timeout=10).status_code == 200
        names = ["waken.sqlite", "waken.sqlite-wal", "waken.sqlite-shm", "secret_key", "setup_code"]
        assert {name: _mode(server.instance / name) for name in names} == {name: 0o600 for name in names}
        # An older instance with world-readable files is tightened by init-db.
        for name in ("waken.sqlite", "secret_key", "setup_code"):
            os.chmod(server.instance / name, 0o644)
        server.cli("init-db")
        assert {_mode(server.instance / name) for name in ("waken.sqlite", "secret_key", "setup_code")} == {0o600}
        server.cli("backup", str(tmp_path / "copy.sqlite"))
        assert _mode(tmp_path / "copy.sqlite") == 0o600
    finally:
        os.umask(old_umask)


def test_setup_url_never_comes_from_the_host_header(start_server):
    server = start_server()
    answer = requests.get(server.url + "/admin/setup", headers={"Host": "attacker.example"}, timeout=10)
    assert answer.status_code == 200
    log = server.log_path.read_text()
    assert f"Open http://127.0.0.1:{server.port}/admin/setup" in log
    assert "attacker.example" not in log
    assert f"http://127.0.0.1:{server.port}/admin/setup" in server.cli("setup-info")


def test_setup_url_uses_the_public_url(start_server):
    server = start_server(env={"WAKEN_PUBLIC_URL": "https://status.example.org"})
    requests.get(server.url + "/admin/setup", headers={"Host": "attacker.example"}, timeout=10)
    assert "Open https://status.example.org/admin/setup" in server.log_path.read_text()
    server.cli("settings", "set", "public_url", "https://home.example.net")
    assert "https://home.example.net/admin/setup" in server.cli("setup-info")


def _listening(port):
    """Local addresses listening on port, from /proc/net/tcp (hex little-endian IPv4)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, hex_port = local.split(":")
        if state == "0A" and int(hex_port, 16) == port:
            found.add(".".join(str(int(address[i:i + 2], 16)) for i in (6, 4, 2, 0)))
    return found


def _make_dev(tmp_path, **env):
    port = free_port()
    environ = {key: value for key, value in os.environ.items() if key != "WAKEN_HOST"}
    environ.update(WAKEN_PORT=str(port), WAKEN_INSTANCE_PATH=str(tmp_path / "dev"), **env)
    proc = subprocess.Popen(["make", "--no-print-directory", "dev"], cwd=ROOT, env=environ,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not _listening(port):
            assert proc.poll() is None and time.monotonic() < deadline, "make dev did not start"
            time.sleep(0.2)
        return _listening(port), requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10).status_code
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)


def test_make_dev_listens_on_loopback_unless_told(tmp_path):
    assert _make_dev(tmp_path) == ({"127.0.0.1"}, 200)
    assert _make_dev(tmp_path, WAKEN_HOST="0.0.0.0") == ({"0.0.0.0"}, 200)
