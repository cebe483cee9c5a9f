"""Client addresses as the per-address limits count them: IPv4 as it is, IPv6 by its /64."""
import ipaddress


def address_key(address):
    """The key a per-address limit counts under.

    An IPv4 address stays as it is, also when it arrives mapped into IPv6
    (`::ffff:192.0.2.1`). An IPv6 address counts as its /64 network: one household or
    server is usually handed a whole /64 and can pick any address inside it at will.
    """
    text = (address or "").strip()
    try:
        ip = ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        return text or "unknown"
    if ip.version == 6:
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)
