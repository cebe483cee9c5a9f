"""The per-token rate limit and the login limiter, counted once for both gunicorn workers."""
import multiprocessing
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

from tests.admin_support import PASSWORD, create_admin, csrf_of, sign_in
from tests.limits_support import (
    client_from,
    has_open,
    worker_pids,
)
from tests.support import DEVICE_KEY, wait_for
from waken.edge.limits import RECORD, Counters


def test_two_workers_share_one_rate_budget_per_token(start_server):
    server = start_server()
    server.cli("settings", "set", "rate_limit_per_minute", "30")
    token, other = server.token("phone"), server.token("laptop")
    server.device("Desk", DEVICE_KEY)
    report = {"generatedHashKey": DEVICE_KEY, "process_name": "Editor"}
    session = client_from("127.0.0.1")

    def send(_):
        return session.post(server.url + "/api/activity", json=report, timeout=30,
                            headers={"Authorization": f"Bearer {token}"})

    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(send, range(50)))
    statuses = sorted(r.status_code for r in responses)
    # One budget of 30 (a few more may drain back in while the burst runs), not 30 per worker.
    assert 30 <= statuses.count(200) <= 33 and statuses.count(429) == 50 - statuses.count(200)
    assert all(has_open(pid, "limits.sqlite") for pid in worker_pids(server)), "both workers counted"
    refused = next(r for r in responses if r.status_code == 429)
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.json()["success"] is False and "30 a minute" in refused.json()["error"]
    with server.db() as conn:
        assert conn.execute("SELECT report_count FROM device_activity").fetchone()[0] == statuses.count(200)
    # Another token has its own budget; agent writes count too.
    assert session.post(server.url + "/api/activity", json=report, timeout=10,
                        headers={"Authorization": f"Bearer {other}"}).status_code == 200
    agent = session.post(server.url + "/api/activities", timeout=10, headers={"Authorization": f"Bearer {token}"},
                         json={"type": "command", "description": "ls", "status": "success"})
    assert agent.status_code == 429
    # The bucket drains at 30 a minute: one write is allowed again after two seconds.
    time.sleep(int(agent.headers["Retry-After"]) + 0.2)
    assert send(0).status_code == 200
    # 0 turns the limit off.
    server.cli("settings", "set", "rate_limit_per_minute", "0")
    with ThreadPoolExecutor(8) as pool:
        assert {r.status_code for r in pool.map(send, range(80))} == {200}


def test_setup_code_and_login_guesses_count_ten_across_workers_and_spare_the_owner(start_server):
    server = start_server()
    code = server.cli("setup-info").split("setup code ")[1].split()[0]

    def claim(session, given):
        page = session.get(server.url + "/admin/setup", timeout=10)
        return session.post(server.url + "/admin/setup", allow_redirects=False, timeout=30, data={
            "csrf_token": csrf_of(page.text), "code": given, "username": "owner",
            "password": PASSWORD, "confirm": PASSWORD})

    stranger, owner = client_from("127.0.0.2"), client_from("127.0.0.1")
    for n in range(10):
        assert claim(stranger, f"AAAA-BBBB-{n:04d}").status_code == 400
    assert claim(stranger, code).status_code == 429
    assert claim(owner, code).status_code == 302

    # Then the login form, from a new stranger address.
    stranger = client_from("127.0.0.5")
    for _ in range(10):
        assert sign_in(stranger, server.url, "guess").status_code == 401
    # The eleventh attempt from that address is refused, even with the right password.
    refused = sign_in(stranger, server.url, PASSWORD)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert all(has_open(pid, "limits.sqlite") for pid in worker_pids(server)), "both workers counted"
    # The owner, from another address, still gets in.
    assert sign_in(owner, server.url, PASSWORD).status_code == 302
    assert owner.get(server.url + "/admin/", allow_redirects=False, timeout=10).status_code == 200
    with server.db() as conn:   # failures are never written to the main database
        assert {name for (name,) in conn.execute("SELECT name FROM sqlite_master")}.isdisjoint(
            {"login_failure", "token_bucket"})


def test_failed_logins_are_counted_while_the_main_database_is_write_locked(start_server):
    server = start_server()
    create_admin(server)
    stranger = client_from("127.0.0.2")
    holder = server.db()
    holder.isolation_level = None
    holder.execute("BEGIN IMMEDIATE")   # a long write elsewhere holds the main database's lock
    try:
        # Each attempt is counted, and none waits for the main database's lock: that wait
        # (a 15 s busy timeout) would end in an error, not in these answers.
        for _ in range(10):
            assert sign_in(stranger, server.url, "guess").status_code == 401
        assert sign_in(stranger, server.url, PASSWORD).status_code == 429
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def _app_loaded(pid):
    try:   # a worker imports the app (and with it sqlite3) after the fork
        with open(f"/proc/{pid}/maps") as f:
            return "_sqlite3" in f.read()
    except FileNotFoundError:
        return False


def test_a_deleted_counters_file_is_replaced_for_every_worker_and_the_lockout_holds(start_server):
    server = start_server()
    create_admin(server)
    owner, stranger = client_from("127.0.0.1"), client_from("127.0.0.6")
    pids = worker_pids(server)
    for _ in range(40):   # until both workers have the counters file open
        if all(has_open(pid, "limits.sqlite") for pid in pids):
            break
        assert sign_in(owner, server.url, PASSWORD).status_code == 302
    assert all(has_open(pid, "limits.sqlite") for pid in pids)
    (server.instance / "limits.sqlite").unlink()
    # gunicorn replaces a worker that crashed or timed out: the new one opens a new file,
    # while the other one would go on counting in the old, unlinked one.
    os.kill(pids[0], signal.SIGKILL)
    assert wait_for(lambda: len(fresh := worker_pids(server)) == 2 and pids[0] not in fresh
                    and all(_app_loaded(pid) for pid in fresh), seconds=30)
    pids = worker_pids(server)
    for _ in range(10):
        assert sign_in(stranger, server.url, "guess").status_code == 401
    # Ten in all across both workers, not ten each on files of their own.
    assert sign_in(stranger, server.url, PASSWORD).status_code == 429
    # Both hold the new file (an old, unlinked one shows as "limits.sqlite (deleted)").
    assert all(has_open(pid, "limits.sqlite") for pid in pids), "both workers counted in the new file"
    assert sign_in(owner, server.url, PASSWORD).status_code == 302


def _first_count(path, start, outcomes):
    start.wait()
    try:
        with Counters(path).transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO address_bucket (address, level, at) VALUES ('127.0.0.1', 1, 0)")
        outcomes.put("counted")
    except Exception as exc:   # what a worker's first request would have answered with a 500
        outcomes.put(repr(exc))


def test_workers_opening_a_new_counters_file_at_once_all_count(tmp_path):
    # Both workers' first reports after a start open the fresh counters file together.
    fork = multiprocessing.get_context("fork")
    outcomes = fork.Queue()
    for round_ in range(60):
        start = fork.Barrier(6)
        workers = [fork.Process(target=_first_count, args=(str(tmp_path / f"{round_}.sqlite"), start, outcomes))
                   for _ in range(6)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    failed = [outcome for outcome in (outcomes.get(timeout=10) for _ in range(60 * 6)) if outcome != "counted"]
    assert failed == []


def test_a_token_bucket_is_a_record_of_its_own_and_a_damaged_one_starts_empty(app, client, runner, token, device):
    assert runner.invoke(args=["settings", "set", "rate_limit_per_minute", "2"]).exit_code == 0
    other = client.application.test_cli_runner().invoke(args=["token", "create", "other"]).output.split()[-1]
    tokens = os.path.join(app.instance_path, "limits.sqlite-tokens")

    def send(plaintext):
        return client.post("/api/activity", headers={"Authorization": f"Bearer {plaintext}"},
                           json={"generatedHashKey": device, "process_name": "Editor"}).status_code

    assert [send(token) for _ in range(3)] == [200, 200, 429]
    assert send(other) == 200          # its own record, its own budget
    with open(tokens, "r+b") as f:    # every record overwritten with a level no write could reach
        f.write(RECORD.pack(float("inf"), 0.0) * (os.path.getsize(tokens) // RECORD.size))
    assert [send(token) for _ in range(3)] == [200, 200, 429]
