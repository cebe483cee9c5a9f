"""Connections per client address in a worker, and the proxy that is never capped."""
import pytest

from waken.server.peer_caps import PeerCaps


def test_an_address_is_capped_and_freed_by_its_key():
    caps = PeerCaps.from_environ({})
    keys = [caps.admit(("2001:db8::%d" % n, 1, 0, 0)) for n in range(64)]   # one /64
    assert set(keys) == {"2001:db8::/64"}
    assert caps.admit(("2001:db8::ffff", 1, 0, 0)) is None
    assert caps.admit(("192.0.2.1", 1)) == "192.0.2.1"
    caps.release(keys[0])
    assert caps.admit(("2001:db8::1", 1, 0, 0)) == "2001:db8::/64"


@pytest.mark.parametrize("environ, peer, counted", [
    ({"WAKEN_TRUSTED_PROXIES": "1"}, ("127.0.0.1", 1), False),
    ({"WAKEN_TRUSTED_PROXIES": "1"}, ("::ffff:127.0.0.1", 1, 0, 0), False),
    ({"WAKEN_TRUSTED_PROXIES": "0"}, ("127.0.0.1", 1), True),
    ({"WAKEN_TRUSTED_PROXIES": "1", "WAKEN_PROXY_ADDRESSES": "10.0.0.0/8"}, ("10.1.2.3", 1), False),
    ({"WAKEN_TRUSTED_PROXIES": "1", "WAKEN_PROXY_ADDRESSES": "10.0.0.0/8"}, ("127.0.0.1", 1), True),
    ({"WAKEN_CONNECTIONS_PER_ADDRESS": "0"}, ("192.0.2.1", 1), False),
])
def test_the_proxy_is_never_capped(environ, peer, counted):
    caps = PeerCaps.from_environ(environ)
    assert [caps.admit(peer) for _ in range(200)].count(None) == (200 - 64 if counted else 0)


def test_a_cap_below_64_is_refused():
    with pytest.raises(ValueError, match="at least 64"):
        PeerCaps.from_environ({"WAKEN_CONNECTIONS_PER_ADDRESS": "10"})
