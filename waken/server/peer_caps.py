"""How many connections each client address holds in a worker, and the reverse proxy that is never capped."""
import ipaddress
import os
from collections import Counter

from waken.edge.addresses import address_key

DEFAULT_PER_ADDRESS = 64
DEFAULT_PROXY_ADDRESSES = "127.0.0.0/8,::1"


class PeerCaps:
    """Connections per address key (see waken.edge.addresses), counted in one worker process."""

    def __init__(self, per_address, proxies=()):
        self.per_address = per_address
        self.proxies = tuple(proxies)
        self.held = Counter()

    @classmethod
    def from_environ(cls, environ=os.environ):
        """WAKEN_CONNECTIONS_PER_ADDRESS (0: no cap); with WAKEN_TRUSTED_PROXIES above 0, the
        peers in WAKEN_PROXY_ADDRESSES (default: loopback) are the proxy, and never capped."""
        per_address = int(environ.get("WAKEN_CONNECTIONS_PER_ADDRESS") or DEFAULT_PER_ADDRESS)
        if per_address and per_address < DEFAULT_PER_ADDRESS:
            raise ValueError(f"WAKEN_CONNECTIONS_PER_ADDRESS must be 0 (no cap) or at least "
                             f"{DEFAULT_PER_ADDRESS}: a household behind one NAT opens many")
        try:
            hops = int(environ.get("WAKEN_TRUSTED_PROXIES") or 0)
        except ValueError:
            hops = 0   # the app refuses to start with it, and says why
        proxies = []
        if hops > 0:
            text = environ.get("WAKEN_PROXY_ADDRESSES") or DEFAULT_PROXY_ADDRESSES
            proxies = [ipaddress.ip_network(part.strip(), strict=False)
                       for part in text.split(",") if part.strip()]
        return cls(per_address, proxies)

    def admit(self, peer):
        """The key a new connection from `peer` (accept()'s address) counts under, "" when it
        is not counted, or None when its address already holds all it may."""
        if not self.per_address or not isinstance(peer, tuple):   # no cap, or a Unix socket
            return ""
        try:
            ip = ipaddress.ip_address(peer[0].split("%", 1)[0])
        except ValueError:
            ip = None
        if ip is not None and self.proxies:
            plain = ip.ipv4_mapped if ip.version == 6 and ip.ipv4_mapped else ip
            if any(plain in network for network in self.proxies):
                return ""
        key = address_key(peer[0])
        if self.held[key] >= self.per_address:
            return None
        self.held[key] += 1
        return key

    def release(self, key):
        """A connection admitted under `key` has closed."""
        if key:
            self.held[key] -= 1
            if self.held[key] <= 0:
                del self.held[key]
