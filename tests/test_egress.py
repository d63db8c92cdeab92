"""SPEC §9.2, outbound requests (core/egress.py): one parser refuses what another could
read differently; the host is resolved once and every address it resolves to is
checked, in every IPv4 and IPv6 spelling of an internal address; the connection goes
to the address checked, with the Host header and the TLS server name of the host
named; no redirect is followed, answers are capped in size and time. Real sockets
throughout: HTTP(S) listeners on 127.0.0.1 and a DNS server whose answers change."""

from __future__ import annotations

import ast
import contextlib
import time
from pathlib import Path

import pytest

from core import egress

from .outbound import Answer, certificates

ROOT = Path(__file__).resolve().parent.parent
PUBLIC_ONLY = "outbound requests go to the public internet only."


# SPEC §9.2's list, in its IPv4 and IPv6 spellings, and the four IPv6 forms that passed.
INTERNAL = [
    ("http://127.0.0.1/", "127.0.0.1 is a loopback address"),
    ("http://127.8.9.10:8080/", "a loopback address"),
    ("http://0.0.0.0/", "an unspecified"),
    ("http://10.1.2.3/", "a private address"),
    ("http://172.16.0.1/", "a private address"),
    ("http://192.168.0.10/", "a private address"),
    ("http://100.64.0.1/", "a shared (carrier-grade NAT) address"),
    ("http://169.254.169.254/latest/meta-data/", "a link-local address"),
    ("http://192.0.0.8/", "a reserved address"),
    ("http://192.0.2.1/", "a documentation address"),
    ("http://198.18.0.1/", "a benchmarking address"),
    ("http://224.0.0.1/", "a multicast address"),
    ("http://239.255.255.250/", "a multicast address"),
    ("http://240.0.0.1/", "a reserved address"),
    ("http://255.255.255.255/", "a reserved address"),
    ("http://[::1]/", "::1 is a loopback address"),
    ("http://[::]/", "the unspecified address"),
    ("http://[fe80::1]/", "a link-local address"),
    ("http://[fc00::1]/", "a private (unique local) address"),
    ("http://[fd12:3456::1]/", "a private (unique local) address"),
    ("http://[fec0::1]/", "a private (site-local) address"),
    ("http://[ff02::1]/", "a multicast address"),
    ("http://[ff0e::1]/", "a multicast address"),
    ("http://[2001:db8::1]/", "a documentation address"),
    ("http://[100::1]/", "a discard-only address"),
    ("http://[::ffff:127.0.0.1]/", "::ffff:127.0.0.1 carries 127.0.0.1, a loopback address"),
    ("http://[::ffff:10.0.0.1]/", "carries 10.0.0.1, a private address"),
    ("http://[::ffff:169.254.169.254]/", "carries 169.254.169.254, a link-local address"),
    ("http://[64:ff9b::7f00:1]/", "carries 127.0.0.1, a loopback address"),
    ("http://[64:ff9b::a9fe:a9fe]/", "carries 169.254.169.254, a link-local address"),
    ("http://[64:ff9b::10.0.0.1]/", "carries 10.0.0.1, a private address"),
    ("http://[64:ff9b:1::a00:1]/", "a local-use NAT64 address"),
    ("http://[2002:7f00:1::]/", "carries 127.0.0.1, a loopback address"),
    ("http://[2002:a9fe:a9fe::1]/", "carries 169.254.169.254, a link-local address"),
    ("http://[2002:c0a8:1::]/", "carries 192.168.0.1, a private address"),
    ("http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", "a Teredo tunnel address"),
    ("http://[::127.0.0.1]/", "an IPv4-compatible address"),
    ("http://[::10.0.0.1]/", "an IPv4-compatible address"),
    ("http://[::ffff:0:7f00:1]/", "a reserved address"),
]


@pytest.mark.parametrize(("url", "kind"), INTERNAL)
def test_every_internal_address_is_refused_in_every_spelling(url, kind):
    with pytest.raises(egress.Refused) as refused:
        egress.check_url(url)
    assert kind in str(refused.value) and str(refused.value).endswith(PUBLIC_ONLY)
    assert egress.refusal(url) == str(refused.value)


# Addresses one parser could read differently from another (userinfo, backslashes,
# invisible characters, odd IPv4 spellings, other schemes and protocols' ports), and
# what the refusal says; the data sources' tests (tests/kpis) use them too.
MISREAD = [
    ("http://127.0.0.1:8699\\@93.184.216.34/steal", "Backslashes"),
    ("https://93.184.216.34\\.hooks.example/x", "Backslashes"),
    ("http://user:pass@93.184.216.34/", "user name or password"),
    ("http://93.184.216.34@127.0.0.1/", "user name or password"),
    ("http://@93.184.216.34/", "user name or password"),
    ("http://93.184.216.34/a b", "spaces"),
    ("http://93.184.216.34/\tx", "spaces"),
    ("http://93.184.216.34\n.evil/", "spaces"),
    ("http://93.184.216.34/\x00", "spaces"),
    ("http://93.184.216.34/\u200b", "spaces"),
    (" http://93.184.216.34/", "spaces"),
    ("ftp://93.184.216.34/hook", "http:// or https://"),
    ("file:///etc/passwd", "http:// or https://"),
    ("gopher://93.184.216.34:70/_x", "http:// or https://"),
    ("http:/93.184.216.34/", "http:// or https://"),
    ("//93.184.216.34/", "http:// or https://"),
    ("not a url", "spaces"),
    ("", "http:// or https://"),
    ("http:///path", "host name"),
    ("http://[fe80::1%25eth0]/", "host name"),
    ("http://2130706433/", "four numbers"),
    ("http://0x7f.1/", "four numbers"),
    ("http://127.1/", "four numbers"),
    ("http://0177.0.0.1/", "four numbers"),
    ("http://093.184.216.34/", "four numbers"),
    ("http://exa%6dple.com/", "not a host name"),
    ("http://-bad-.example/", "not a host name"),
    ("http://93.184.216.34:25/", "Port 25"),
    ("http://93.184.216.34:6667/", "Port 6667"),
    ("http://93.184.216.34:0/", "1 to 65535"),
    ("http://93.184.216.34:70000/", "1 to 65535"),
    ("http://[::1/", "well-formed"),
]


@pytest.mark.parametrize(("url", "says"), MISREAD)
def test_addresses_another_parser_could_read_differently_are_refused(url, says):
    with pytest.raises(egress.Refused) as refused:
        egress.check_url(url)
    assert says in str(refused.value)


@pytest.mark.parametrize(
    "url",
    [
        "https://93.184.216.34/hook",
        "http://93.184.216.34:8080/hooks/cascade?x=1",
        "https://[2606:2800:220:1:248:1893:25c8:1946]/",
        "https://[64:ff9b::5db8:d822]/",  # NAT64 of a public address (DNS64 networks)
        "https://[::ffff:93.184.216.34]/",
    ],
)
def test_public_addresses_pass(url):
    target = egress.check_url(url)
    assert len(target.addresses) == 1 and egress.refusal(url) is None


def test_a_name_is_refused_when_any_of_its_addresses_is_internal(dns):
    dns({"mixed.test": ["93.184.216.34"]})
    assert egress.check_url("https://mixed.test/").addresses[0].compressed == "93.184.216.34"
    dns({"v6.test": ["64:ff9b::7f00:1"]})
    with pytest.raises(egress.Refused) as refused:
        egress.check_url("https://v6.test/hook")
    assert str(refused.value) == (
        "“v6.test” resolves to 64:ff9b::7f00:1, which carries 127.0.0.1, a loopback "
        "address: outbound requests go to the public internet only."
    )


def test_every_address_of_a_name_is_checked(dns):
    dns({"several.test": [["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "10.0.0.5"]]})
    with pytest.raises(egress.Refused, match="resolves to 10.0.0.5, a private address"):
        egress.check_url("https://several.test/")


def test_the_backslash_address_reaches_no_listener(listen):
    loopback = listen()
    url = f"http://127.0.0.1:{loopback.port}\\@93.184.216.34/steal"
    with pytest.raises(egress.Refused, match="Backslashes"):
        egress.send("POST", url, body=b"{}")
    time.sleep(0.2)
    assert loopback.seen == []


def test_a_name_that_rebinds_to_loopback_is_resolved_once_and_never_reached(dns, listen):
    """The DNS server answers a public address, then 127.0.0.1: the request goes to the
    address checked (wherever that leads), and the listener on 127.0.0.1 hears nothing."""
    loopback = listen()
    server = dns({"rebind.test": ["93.184.216.34", "127.0.0.1"]})
    with contextlib.suppress(egress.Unreachable):  # where the public address leads: no matter
        egress.send("POST", f"http://rebind.test:{loopback.port}/hook", body=b"{}", timeout=1)
    assert server.asked == ["rebind.test"]  # one lookup, for the check and the connection
    with pytest.raises(egress.Refused) as refused:  # the next lookup says 127.0.0.1
        egress.send("POST", f"http://rebind.test:{loopback.port}/hook", body=b"{}")
    assert str(refused.value) == (
        "“rebind.test” resolves to 127.0.0.1, a loopback address: "
        "outbound requests go to the public internet only."
    )
    time.sleep(0.2)
    assert loopback.seen == [] and server.asked == ["rebind.test", "rebind.test"]


def test_with_private_targets_allowed_a_name_reaches_its_address_with_its_host_header(
    dns, listen, settings
):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    receiver = listen(answers=[Answer(201, {"X-Answer": "yes"}, b'{"kept": true}')])
    server = dns({"hooks.test": ["127.0.0.1"]})  # no other resolver knows this name
    answer = egress.send(
        "POST",
        f"http://hooks.test:{receiver.port}/in?x=1",
        headers={"Content-Type": "application/json", "Host": "elsewhere.test"},
        body=b'{"a": 1}',
    )
    assert (answer.status, answer.body, answer.headers["X-Answer"]) == (
        201,
        b'{"kept": true}',
        "yes",
    )
    (seen,) = receiver.seen
    assert (seen.method, seen.path, seen.body) == ("POST", "/in?x=1", b'{"a": 1}')
    assert seen.headers["Host"] == f"hooks.test:{receiver.port}"  # the caller's Host ignored
    assert server.asked == ["hooks.test"]


def test_the_connection_goes_to_the_address_checked_not_to_a_second_lookup(dns, listen, settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    checked = listen("127.0.0.1")
    other = listen("127.0.0.2", port=checked.port)
    server = dns({"moving.test": ["127.0.0.1", "127.0.0.2"]})
    answer = egress.send("GET", f"http://moving.test:{checked.port}/")
    assert answer.status == 200
    assert [s.path for s in checked.seen] == ["/"] and other.seen == []
    assert server.asked == ["moving.test"]


def test_https_keeps_the_server_name_and_checks_the_certificate_for_it(
    dns, listen, settings, tmp_path, monkeypatch
):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    ca, certs = certificates(tmp_path, "hooks.test", "other.test")
    monkeypatch.setattr(egress, "CA_CERTS", str(ca))
    right = listen(tls=certs["hooks.test"])
    wrong = listen(tls=certs["other.test"])
    dns({"hooks.test": ["127.0.0.1"]})

    answer = egress.send("POST", f"https://hooks.test:{right.port}/tls", body=b"{}")
    assert answer.status == 200
    assert right.server_names == ["hooks.test"]  # SNI: the name, not 127.0.0.1
    assert right.seen[0].headers["Host"] == f"hooks.test:{right.port}"

    with pytest.raises(egress.Unreachable, match="TLS certificate could not be verified"):
        egress.send("POST", f"https://hooks.test:{wrong.port}/tls", body=b"{}")
    assert wrong.seen == []
    monkeypatch.setattr(egress, "CA_CERTS", egress.certifi.where())  # not our authority
    with pytest.raises(egress.Unreachable, match="TLS certificate could not be verified"):
        egress.send("POST", f"https://hooks.test:{right.port}/tls", body=b"{}")
    assert len(right.seen) == 1


def test_a_redirect_is_answered_not_followed(listen, settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    inside = listen()
    redirecting = listen(answers=[Answer(302, {"Location": f"http://127.0.0.1:{inside.port}/"})])
    answer = egress.send("POST", f"http://127.0.0.1:{redirecting.port}/", body=b"{}")
    assert answer.status == 302 and inside.seen == []


def test_an_answer_is_read_up_to_its_limit_and_no_further(listen, settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    big = listen(answers=[Answer(200, body=b"x" * 200_000)] * 2)
    with pytest.raises(egress.Unreachable, match="longer than 100,000 bytes"):
        egress.send("GET", f"http://127.0.0.1:{big.port}/", max_bytes=100_000)
    assert len(egress.send("GET", f"http://127.0.0.1:{big.port}/").body) == 200_000


def test_a_slow_answer_is_given_up_after_the_timeout(listen, settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    slow = listen(answers=[Answer(delay=3)])
    started = time.monotonic()
    with pytest.raises(egress.Unreachable, match="did not answer within 0.5 seconds"):
        egress.send("GET", f"http://127.0.0.1:{slow.port}/", timeout=0.5)
    assert time.monotonic() - started < 2


def test_a_closed_port_is_unreachable_with_a_plain_reason(listen, settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    closed = listen()
    closed.close()
    with pytest.raises(egress.Unreachable) as failed:
        egress.send("GET", f"http://127.0.0.1:{closed.port}/", timeout=2)
    assert (
        str(failed.value)
        == f"Could not connect to 127.0.0.1 (port {closed.port}): nothing answers there."
    )


HTTP_CLIENTS = (
    "requests",
    "urllib3",
    "httpx",
    "aiohttp",
    "pycurl",
    "http.client",
    "urllib.request",
)


def _imports(path: Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names += [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
    return names


def test_only_core_egress_makes_http_requests():
    """Every outbound HTTP request of the app goes through core/egress.py (webhooks
    now, data sources later): no other module of it imports an HTTP client."""
    packages = ("cascade", "core", "audit", "org", "goals", "kpis", "cycles", "reviews", "pages")
    clients = {}
    for package in (*packages, "demo"):
        for path in (ROOT / package).rglob("*.py"):
            used = [
                name
                for name in _imports(path)
                if any(name == c or name.startswith(c + ".") for c in HTTP_CLIENTS)
            ]
            if used:
                clients[str(path.relative_to(ROOT))] = sorted(set(used))
    assert set(clients) == {"core/egress.py"}, clients
