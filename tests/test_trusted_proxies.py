"""WAKEN_TRUSTED_PROXIES: forwarded headers count for exactly that many hops, and not at all by default."""
from tests.admin_support import PASSWORD, create_admin, sign_in
from tests.limits_support import client_from


def test_forwarded_headers_are_ignored_by_default(start_server):
    server = start_server()
    create_admin(server)
    attacker, owner = client_from("127.0.0.3"), client_from("127.0.0.1")
    for n in range(10):   # a new forged address each time does not dodge the limiter
        assert sign_in(attacker, server.url, "guess", headers={"X-Forwarded-For": f"203.0.113.{n}"}).status_code == 401
    assert sign_in(attacker, server.url, PASSWORD, headers={"X-Forwarded-For": "198.51.100.4"}).status_code == 429
    # Nor does a forged X-Forwarded-Proto make waken think the visitor used https.
    signed_in = sign_in(owner, server.url, PASSWORD, headers={"X-Forwarded-Proto": "https"})
    assert signed_in.status_code == 302 and "Secure" not in signed_in.headers["Set-Cookie"]


def test_one_trusted_hop_keys_the_limiter_on_the_forwarded_address(start_server):
    server = start_server(env={"WAKEN_TRUSTED_PROXIES": "1"})
    create_admin(server)
    proxy = client_from("127.0.0.1")   # everybody arrives from the proxy's address
    stranger = {"X-Forwarded-For": "203.0.113.9"}
    for _ in range(10):
        assert sign_in(proxy, server.url, "guess", headers=stranger).status_code == 401
    assert sign_in(proxy, server.url, PASSWORD, headers=stranger).status_code == 429
    # Only the last hop counts: an address the client wrote in front of it is not believed.
    forged = {"X-Forwarded-For": "198.51.100.4, 203.0.113.9"}
    assert sign_in(proxy, server.url, PASSWORD, headers=forged).status_code == 429
    assert sign_in(proxy, server.url, PASSWORD, headers={"X-Forwarded-For": "198.51.100.4"}).status_code == 302
    # The proxy's X-Forwarded-Proto counts: the session cookie of an https visitor is Secure.
    page = client_from("127.0.0.1").get(server.url + "/admin/login", headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in page.headers["Set-Cookie"]


def test_one_ipv6_client_rotating_inside_its_64_shares_one_login_counter(start_server):
    server = start_server(env={"WAKEN_TRUSTED_PROXIES": "1"})
    create_admin(server)
    proxy = client_from("127.0.0.1")

    def forwarded(address):
        return {"X-Forwarded-For": address}

    # A new address inside one /64 for every guess, in every spelling, is still one client.
    for n in range(10):
        assert sign_in(proxy, server.url, "guess", headers=forwarded(f"2001:db8:1:2::{n + 1:x}")).status_code == 401
    for address in ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:0db8:0001:0002::abcd"):
        assert sign_in(proxy, server.url, PASSWORD, headers=forwarded(address)).status_code == 429
    # The next /64 is somebody else.
    assert sign_in(proxy, server.url, PASSWORD, headers=forwarded("2001:db8:1:3::1")).status_code == 302

    # An IPv4 client counts the same whether the proxy writes it plain or mapped into IPv6.
    for n in range(10):
        address = "198.51.100.7" if n % 2 else "::ffff:198.51.100.7"
        assert sign_in(proxy, server.url, "guess", headers=forwarded(address)).status_code == 401
    assert sign_in(proxy, server.url, PASSWORD, headers=forwarded("198.51.100.7")).status_code == 429
    assert sign_in(proxy, server.url, PASSWORD, headers=forwarded("::ffff:198.51.100.7")).status_code == 429
    assert sign_in(proxy, server.url, PASSWORD, headers=forwarded("198.51.100.8")).status_code == 302
