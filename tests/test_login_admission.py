"""A burst of concurrent password guesses costs a bounded number of hashes, memory and CPU (row B1)."""
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from tests.admin_support import (
    PASSWORD,
    USERNAME,
    create_admin,
    csrf_of,
    form_csrf,
    sign_in,
)
from tests.cost_support import Cost, HealthzProbe
from tests.limits_support import client_from
from waken import config
from waken.admin.accounts import hashing_slot, setup_code

BURST = 60
ATTACKER, OWNER = "127.0.0.7", "127.0.0.1"


def test_sixty_concurrent_wrong_passwords_hash_at_most_the_lockout_count(start_server):
    server = start_server()
    create_admin(server)
    limit = config.LOGIN_MAX_FAILURES
    # Each guess comes with a form cookie and CSRF token of its own, fetched beforehand,
    # so that the POSTs themselves leave together.
    forms = [(session, form_csrf(session, server.url)) for session in
             (client_from(ATTACKER) for _ in range(BURST))]
    start = threading.Barrier(BURST)

    def guess(form):
        session, csrf = form
        start.wait()
        return sign_in(session, server.url, "a wrong password", csrf=csrf)

    with HealthzProbe(server) as health, Cost(server) as cost, ThreadPoolExecutor(BURST) as pool:
        answers = list(pool.map(guess, forms))
    statuses = Counter(answer.status_code for answer in answers)
    busy = sum("checking other passwords" in answer.text for answer in answers)
    print(f"\n{BURST} concurrent wrong passwords: {dict(statuses)} ({busy} of the 429s busy, the rest "
          f"locked out); {cost}; peaks {cost.peaks} MB; slowest /healthz {health.worst:.3f} s")
    assert set(statuses) <= {401, 429}
    # A 401 is the only answer that hashed a password: the rest were refused before hashing.
    assert 1 <= statuses[401] <= limit
    refused = [answer for answer in answers if answer.status_code == 429]
    assert all(1 <= int(answer.headers["Retry-After"]) <= 15 * 60 for answer in refused)
    # Each says which refusal it is, in a sentence.
    assert all(("checking other passwords" in answer.text) != ("Too many sign-in attempts" in answer.text)
               for answer in refused)
    assert all(peak <= 200 for peak in cost.peaks)
    # At most `limit` hashes of ~0.1 s here; 60 of them took ~8 CPU-s before admission control.
    assert cost.cpu < 4.0
    assert health.worst < 1.0   # a failed probe counts as 60 s
    # Every guess counted, also the ones refused while another hash ran: the address is locked
    # out now, even with the right password, while the owner elsewhere still gets in.
    assert sign_in(client_from(ATTACKER), server.url, PASSWORD).status_code == 429
    assert sign_in(client_from(OWNER), server.url, PASSWORD).status_code == 302


def test_while_a_password_hashes_another_sign_in_is_refused_at_once_and_counted(app, client):
    create_admin(app)
    csrf = csrf_of(client.get("/admin/login").text)
    form = {"csrf_token": csrf, "username": USERNAME, "password": PASSWORD}
    with hashing_slot():   # another request of this process is hashing a password now
        busy = [client.post("/admin/login", data=form) for _ in range(config.LOGIN_MAX_FAILURES)]
        assert {answer.status_code for answer in busy} == {429}
        assert all(answer.headers["Retry-After"] == "1" for answer in busy)
        assert "checking other passwords right now" in busy[0].text
    # Each of those counted as an attempt, made before any hash: the address is locked out now.
    locked = client.post("/admin/login", data=form)
    assert locked.status_code == 429 and "Too many sign-in attempts" in locked.text
    assert int(locked.headers["Retry-After"]) > 60


def test_setup_hashes_the_new_password_only_when_a_slot_is_free(app, client):
    with app.app_context():
        code = setup_code()
    csrf = csrf_of(client.get("/admin/setup").text)
    form = {"csrf_token": csrf, "code": code, "username": USERNAME, "password": PASSWORD, "confirm": PASSWORD}
    with hashing_slot():
        busy = client.post("/admin/setup", data=form)
    assert busy.status_code == 429 and busy.headers["Retry-After"] == "1"
    assert client.get("/admin/setup").status_code == 200   # no admin was created
    assert client.post("/admin/setup", data=form).headers["Location"] == "/admin/"
