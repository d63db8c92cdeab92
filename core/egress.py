"""Every request Cascade makes to an address someone typed in (webhooks, KPI data
sources, a SQL source's database server) goes through here, so none of them can be
turned against the network Cascade runs in.

1. `check_url(url)` reads the address with one parser and refuses what another
   parser could read differently (userinfo, backslashes, whitespace, control
   characters, odd host spellings), schemes other than http(s) and ports browsers
   refuse for being other protocols' (the Fetch standard's list).
2. It resolves the host once (`resolver`, getaddrinfo) and checks every address it
   gets: loopback, private, link-local, shared, reserved, multicast and unspecified
   addresses are refused, and so is any IPv6 address carrying such an IPv4 address
   (IPv4-mapped, IPv4-compatible, NAT64, 6to4; Teredo outright) — unless
   OUTBOUND_ALLOW_PRIVATE (a test receiver on 127.0.0.1, an intranet).
3. `send(method, url, ...)` connects to the checked address itself, never to a name
   resolved again (which a DNS answer that changes between the two lookups would
   turn to 127.0.0.1), keeping the Host header, and for HTTPS the TLS server name and
   certificate check, of the host named. Redirects are not followed; the answer's
   body is read up to `max_bytes`, all of it within `timeout` seconds.

A refusal (`Refused`) and a failure to reach the address (`Unreachable`) carry a
sentence a tenant's admin can act on, and nothing of what answered inside.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import time
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

import certifi
import urllib3
from django.conf import settings
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_BYTES = 1024 * 1024  # an answer's body, read at most
MAX_URL = 2000
PUBLIC_ONLY = "outbound requests go to the public internet only."
EXAMPLE = "https://hooks.example.com/cascade"
# The Fetch standard's "bad ports" (fetch.spec.whatwg.org/#port-blocking): other
# protocols' ports (mail, SSH, DNS, IRC, …), which an HTTP request must not talk to.
BAD_PORTS = frozenset(
    {1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95}
    | {101, 102, 103, 104, 109, 110, 111, 113, 115, 117, 119, 123, 135, 137, 139, 143}
    | {161, 179, 389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532, 540, 548, 554}
    | {556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049, 3659, 4045}
    | {4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080}
)
DEFAULT_PORTS = {"http": 80, "https": 443}
LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)")
NETLOC = re.compile(r"(?:\[(?P<v6>[0-9a-fA-F:.]+)\]|(?P<name>[^:\[\]]+))(?::(?P<port>[0-9]{0,5}))?")
# Characters kept as they are in a path and a query; anything else (spaces are refused
# before) is percent-encoded, as a browser would send it.
PATH_SAFE = "/%:@!$&'()*+,;=-._~"
QUERY_SAFE = PATH_SAFE + "?"


class EgressError(Exception):
    """Cascade did not get an answer from the address; str() says why, for the admin."""


class Refused(EgressError):
    """The address is not one Cascade sends to (its spelling, scheme, port or network)."""


class Unreachable(EgressError):
    """The address is allowed, but its host did not resolve, connect or answer in time."""


@dataclass(frozen=True)
class Target:
    """A checked address: where to connect (`addresses`, every one of them checked, in
    the resolver's order) and what to ask for there."""

    scheme: str
    host: str  # as the server knows itself: the Host header, TLS server name
    port: int
    path: str  # the request target: path and query
    addresses: tuple[IPAddress, ...]

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes


def system_resolver(host: str, port: int) -> list[IPAddress]:
    """The host's addresses, as the operating system resolves them."""
    found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in found]


# How names are resolved: one call per check. Replaceable (a test points it at its own
# DNS server); whatever it answers is what is checked and connected to.
resolver: Callable[[str, int], list[IPAddress]] = system_resolver
CA_CERTS = certifi.where()  # the certificate authorities HTTPS answers are checked against


def check_url(url: str) -> Target:
    """The address `url` names, resolved once, every address checked; `Refused` (or,
    when its name does not resolve, `Unreachable`) otherwise."""
    scheme, host, port, path, literal = _parse(url)
    return Target(scheme, host, port, path, _checked(host, port, literal))


def check_host(host: str, port: int) -> tuple[str, tuple[IPAddress, ...]]:
    """A host and port given apart from a URL (a data source's database server):
    the host as the server knows itself and its addresses, resolved once and checked
    as `check_url` checks a URL's. Connect to these addresses, never to the name."""
    if not isinstance(host, str) or not host or host.startswith("/"):
        raise Refused("Give the database server's host name (not a socket path).")
    if not 0 < port < 65536:
        raise Refused("A port is a number from 1 to 65535.")
    if any(ch.isspace() or unicodedata.category(ch)[0] in "CZ" for ch in host) or "," in host:
        raise Refused(f"“{host}” is not one host name.")
    v6 = host[1:-1] if host.startswith("[") and host.endswith("]") else None
    if v6 is None and ":" in host:
        v6 = host
    name, literal = _host(v6, None if v6 is not None else host)
    return name, _checked(name, port, literal)


def _checked(host: str, port: int, literal: IPAddress | None) -> tuple[IPAddress, ...]:
    """The addresses `host` resolves to (once), each one allowed; `Refused` otherwise."""
    if literal is not None:
        addresses = [literal]
    else:
        try:
            addresses = list(dict.fromkeys(resolver(host, port)))
        except (OSError, UnicodeError, ValueError) as exc:
            raise Unreachable(f"“{host}” does not resolve: check the host name.") from exc
        if not addresses:
            raise Unreachable(f"“{host}” does not resolve: check the host name.")
    if not settings.OUTBOUND_ALLOW_PRIVATE:
        for address in addresses:
            refused = _refused_kind(address)
            if refused:
                kind, inner = refused
                shown = _shown(address)
                if literal is None:
                    said = f"“{host}” resolves to {shown}"
                    said += f", which carries {inner}," if inner else ","
                else:
                    said = f"{shown} carries {inner}," if inner else f"{shown} is"
                raise Refused(f"{said} {kind}: {PUBLIC_ONLY}")
    return tuple(addresses)


def refusal(url: str) -> str | None:
    """Why Cascade would not send to `url` now, or None: for a form or a service
    checking an address when it is saved."""
    try:
        check_url(url)
    except EgressError as exc:
        return str(exc)
    return None


def send(
    method: str,
    url: str | Target,
    *,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
    timeout: float = 10.0,
    max_bytes: int = MAX_BYTES,
) -> Response:
    """One request to `url` (checked here unless it is a `Target` already): to the
    checked addresses in turn until one connects, never following a redirect, the
    body read up to `max_bytes`, all within `timeout` seconds. Raises `Refused` or
    `Unreachable`; any HTTP status is an answer."""
    target = url if isinstance(url, Target) else check_url(url)
    deadline = time.monotonic() + timeout
    sent = {k: v for k, v in (headers or {}).items() if k.lower() != "host"}
    sent["Host"] = target.host_header
    where = f"{target.host} (port {target.port})"
    failed = f"Could not connect to {where} within {timeout:g} seconds."
    for address in target.addresses:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        pool = _pool(target, address, left)
        try:
            answer = pool.urlopen(
                method,
                target.path,
                body=body,
                headers=sent,
                redirect=False,
                retries=False,
                preload_content=False,
                assert_same_host=False,
            )
        except (NewConnectionError, ConnectTimeoutError) as exc:
            pool.close()
            if isinstance(exc, NewConnectionError):  # refused, no route: not a timeout
                failed = f"Could not connect to {where}: nothing answers there."
            continue  # the next address, if any
        except SSLError as exc:
            pool.close()
            raise Unreachable(f"{where}: its TLS certificate could not be verified.") from exc
        except ReadTimeoutError as exc:
            pool.close()
            raise Unreachable(f"{where} did not answer within {timeout:g} seconds.") from exc
        except HTTPError as exc:
            pool.close()
            raise Unreachable(f"{where} broke off the connection.") from exc
        try:
            return Response(
                answer.status,
                urllib3.HTTPHeaderDict(answer.headers),
                _read(answer, max_bytes, deadline),
            )
        except (ReadTimeoutError, TimeoutError) as exc:
            raise Unreachable(f"{where} did not answer within {timeout:g} seconds.") from exc
        except (ProtocolError, HTTPError) as exc:
            raise Unreachable(f"{where} broke off the connection.") from exc
        finally:
            answer.release_conn()
            pool.close()
    raise Unreachable(failed)


def _pool(target: Target, address: IPAddress, timeout: float) -> urllib3.HTTPConnectionPool:
    """A connection pool to `address` itself: no name is resolved again."""
    limits = urllib3.Timeout(connect=timeout, read=timeout)
    if target.scheme == "https":
        return urllib3.HTTPSConnectionPool(
            str(address),
            target.port,
            timeout=limits,
            maxsize=1,
            retries=False,
            cert_reqs="CERT_REQUIRED",
            ca_certs=CA_CERTS,
            server_hostname=target.host,  # SNI
            assert_hostname=target.host,  # the certificate names the host, not the address
        )
    return urllib3.HTTPConnectionPool(
        str(address), target.port, timeout=limits, maxsize=1, retries=False
    )


def _read(answer: urllib3.BaseHTTPResponse, max_bytes: int, deadline: float) -> bytes:
    """The body, at most `max_bytes` of it (more is an error: a half-read answer must
    not pass for a whole one), read before the deadline."""
    chunks: list[bytes] = []
    size = 0
    while True:
        if time.monotonic() > deadline:
            raise TimeoutError
        chunk = answer.read(64 * 1024)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > max_bytes:
            raise Unreachable(f"The answer was longer than {max_bytes:,} bytes.")
        chunks.append(chunk)


# -- reading an address ----------------------------------------------------------------


def _parse(url: str) -> tuple[str, str, int, str, IPAddress | None]:
    """(scheme, host, port, request target, the host's address if it is one)."""
    if not isinstance(url, str) or not url.strip():
        raise Refused("Give an http:// or https:// address.")
    if len(url) > MAX_URL:
        raise Refused(f"An address is at most {MAX_URL:,} characters.")
    if any(ch.isspace() or unicodedata.category(ch)[0] in "CZ" for ch in url):
        raise Refused("Remove the spaces, line breaks and other invisible characters.")
    if "\\" in url:
        raise Refused("Backslashes (\\) are not allowed in an address: use slashes (/).")
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # unbalanced brackets
        raise Refused(f"Not a well-formed address: write it as {EXAMPLE}.") from exc
    if parts.scheme not in DEFAULT_PORTS or not url.lower().startswith(parts.scheme + "://"):
        raise Refused("Give an http:// or https:// address.")
    if "@" in parts.netloc:
        raise Refused(
            "Remove the user name or password (the part before “@”) from the address: "
            "Cascade sends none."
        )
    netloc = NETLOC.fullmatch(parts.netloc)
    if not parts.netloc or not netloc:
        raise Refused(f"Give the address a host name, such as {EXAMPLE}.")
    port = int(netloc["port"]) if netloc["port"] else DEFAULT_PORTS[parts.scheme]
    if not 0 < port < 65536:
        raise Refused("A port is a number from 1 to 65535.")
    if port in BAD_PORTS:
        raise Refused(f"Port {port} belongs to another protocol (mail, SSH, …): use another.")
    host, literal = _host(netloc["v6"], netloc["name"])
    path = quote(parts.path or "/", safe=PATH_SAFE)
    if parts.query:
        path += "?" + quote(parts.query, safe=QUERY_SAFE)
    return parts.scheme, host, port, path, literal


def _host(v6: str | None, name: str | None) -> tuple[str, IPAddress | None]:
    """The host as a lower-case ASCII name, or an IP address written plainly."""
    if v6 is not None:
        try:
            address = ipaddress.IPv6Address(v6)
        except ValueError as exc:
            raise Refused(f"“[{v6}]” is not an IPv6 address.") from exc
        return str(address), address
    assert name is not None
    try:
        ascii_name = name.lower().encode("idna").decode("ascii").rstrip(".")
    except UnicodeError as exc:
        raise Refused(f"“{name}” is not a host name.") from exc
    labels = ascii_name.split(".")
    if re.fullmatch(r"[0-9]+|0x[0-9a-f]*", labels[-1]):
        # Read as an IPv4 address by browsers and resolvers alike, in all its spellings
        # (2130706433, 0x7f.1, 127.1, 0177.0.0.1): only the plain one is taken.
        try:
            v4 = ipaddress.IPv4Address(ascii_name)
        except ValueError as exc:
            raise Refused(
                "Write an IPv4 address as four numbers from 0 to 255 separated by dots."
            ) from exc
        return str(v4), v4
    if len(ascii_name) > 253 or not all(LABEL.fullmatch(label) for label in labels):
        raise Refused(f"“{name}” is not a host name.")
    return ascii_name, None


# -- which addresses are refused ---------------------------------------------------------

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
_KINDS: list[tuple[Network, str]] = [
    (ipaddress.ip_network(network), kind)
    for network, kind in [
        ("0.0.0.0/8", "an unspecified (“this network”) address"),
        ("127.0.0.0/8", "a loopback address"),
        ("10.0.0.0/8", "a private address"),
        ("172.16.0.0/12", "a private address"),
        ("192.168.0.0/16", "a private address"),
        ("100.64.0.0/10", "a shared (carrier-grade NAT) address"),
        ("169.254.0.0/16", "a link-local address"),
        ("192.0.0.0/24", "a reserved address"),
        ("192.0.2.0/24", "a documentation address"),
        ("198.51.100.0/24", "a documentation address"),
        ("203.0.113.0/24", "a documentation address"),
        ("192.88.99.0/24", "a reserved (former 6to4 relay) address"),
        ("198.18.0.0/15", "a benchmarking address"),
        ("224.0.0.0/4", "a multicast address"),
        ("240.0.0.0/4", "a reserved address"),  # 255.255.255.255, broadcast, too
        ("::/128", "the unspecified address"),
        ("::1/128", "a loopback address"),
        ("::/96", "an IPv4-compatible address (deprecated)"),
        ("64:ff9b:1::/48", "a local-use NAT64 address"),
        ("::/8", "a reserved address"),  # after the IPv4-mapped and NAT64 ones, read first
        ("100::/64", "a discard-only address"),
        ("2001::/32", "a Teredo tunnel address"),
        ("2001:db8::/32", "a documentation address"),
        ("fc00::/7", "a private (unique local) address"),
        ("fe80::/10", "a link-local address"),
        ("fec0::/10", "a private (site-local) address"),
        ("ff00::/8", "a multicast address"),
    ]
]
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def _shown(address: IPAddress) -> str:
    """An address as people write it: ::ffff:127.0.0.1 and ::127.0.0.1 with their IPv4
    part dotted."""
    if isinstance(address, ipaddress.IPv6Address) and int(address) > 1:
        high, low = int(address) >> 32, ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if high in (0, 0xFFFF):
            return ("::ffff:" if high else "::") + str(low)
    return str(address)


def _embedded(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries to be reached at: IPv4-mapped
    (::ffff:a.b.c.d), NAT64 (64:ff9b::a.b.c.d) or 6to4 (2002:aabb:ccdd::)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def _refused_kind(address: IPAddress) -> tuple[str, ipaddress.IPv4Address | None] | None:
    """What kind of address `address` is (and the IPv4 address it carries, if that is
    what is refused) when Cascade does not send to it; None for a public one."""
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded(address)
        if inner is not None:
            refused = _refused_kind(inner)
            return (refused[0], inner) if refused else None
    for network, kind in _KINDS:
        if address in network:
            return kind, None
    return None if address.is_global else ("a reserved address", None)
