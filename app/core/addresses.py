"""Where a request came from: one form of the client's address for the sessions, the
sign-in throttle and the audit log alike, and the proxies whose word on it is taken."""

import hashlib
import ipaddress
from functools import lru_cache

# The longest text an IP address takes (an IPv4-mapped IPv6 one): what sessions.ip_address
# holds, and what every form of an address below fits in.
LONGEST = 45
PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.:_-%")


def normalised_address(host: str | None) -> str | None:
    """Return a client's address as stored: a valid IP address in its canonical text, a
    short plain name as it is, and anything else (what a proxy forwarded unchecked) as a
    token of fixed length, the same for the same text, so it is still counted apart."""
    if not host:
        return None
    return _token(host) if len(host) > LONGEST else _short(host)


@lru_cache(maxsize=4096)  # asked on every request, of few distinct (short) addresses
def _short(host: str) -> str:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        text = host
    else:  # an IPv4 client of a dual-stack socket is the same client as over IPv4
        mapped = getattr(address, "ipv4_mapped", None)
        text = (mapped or address).compressed
    return text if set(text) <= PLAIN else _token(host)


def _token(host: str) -> str:
    digest = hashlib.sha256(host.encode("utf-8", "surrogatepass")).hexdigest()
    return f"unparsed:{digest[:16]}"


def proxy_network(value: str) -> str:
    """Check one `TRUSTED_PROXIES` entry: an IP address or a network (`10.0.0.0/8`)."""
    try:
        return str(ipaddress.ip_network(value.strip(), strict=False))
    except ValueError:
        raise ValueError(
            f"TRUSTED_PROXIES: {value!r} is not an IP address or network (such as 127.0.0.1"
            " or 10.0.0.0/8)"
        ) from None
