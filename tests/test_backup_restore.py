"""`flask --app waken backup` while the server runs, then a restore that reads back over HTTP."""
import shutil
import threading

import requests

KEY = "wwd-backup-0000-4000-8000-000000000001"


def report(server, token, process, **extra):
    response = requests.post(server.url + "/api/activity", headers={"Authorization": f"Bearer {token}"},
                             json={"generatedHashKey": KEY, "process_name": process, **extra}, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def current_process(server):
    statuses = requests.get(server.url + "/api/activity", timeout=10).json()["data"]["activeStatuses"]
    return [(s["processName"], s["processTitle"]) for s in statuses]


def test_backup_while_serving_then_restore(start_server, tmp_path):
    server = start_server()
    token = server.token()
    server.device("Backup box", KEY)
    report(server, token, "Before.exe", process_title="kept by the backup",
           metadata={"media": {"title": "Backed-up song", "singer": "Someone"}})

    # Writes keep arriving while the backup runs: the online backup must not block or break them.
    stop, statuses = threading.Event(), []

    def writer():
        session = requests.Session()
        while not stop.is_set():
            statuses.append(session.post(
                server.url + "/api/activity", headers={"Authorization": f"Bearer {token}"},
                json={"generatedHashKey": "wwd-other-0000-4000-8000-000000000002", "process_name": "x"},
                timeout=10).status_code)

    server.device("Busy", "wwd-other-0000-4000-8000-000000000002")
    thread = threading.Thread(target=writer)
    thread.start()
    backup = tmp_path / "waken-backup.sqlite"
    try:
        out = server.cli("backup", str(backup))
    finally:
        stop.set()
        thread.join()
    assert str(backup) in out
    assert statuses and set(statuses) == {200}

    report(server, token, "After.exe", process_title="newer than the backup")
    assert ("After.exe", "newer than the backup") in current_process(server)

    # Restore: stop, put the backup in place of the database (dropping the old WAL), start.
    server.stop()
    db_file = server.instance / "waken.sqlite"
    for suffix in ("-wal", "-shm"):
        db_file.with_name(db_file.name + suffix).unlink(missing_ok=True)
    shutil.copyfile(backup, db_file)
    server.start()

    assert ("Before.exe", "kept by the backup") in current_process(server)
    assert all(name != "After.exe" for name, _ in current_process(server))
    item = next(s for s in requests.get(server.url + "/api/activity", timeout=10).json()["data"]["activeStatuses"]
                if s["processName"] == "Before.exe")
    assert item["metadata"]["media"]["title"] == "Backed-up song"
    # The same token still works after the restore: reports are accepted again.
    assert report(server, token, "Again.exe")["processName"] == "Again.exe"
    with server.db() as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
