"""Real servers for the tests of outbound requests (core/egress.py): an HTTP(S)
listener that keeps what reaches it, and a DNS server (dnslib, on a free UDP port)
whose answer for a name can change from one lookup to the next, with a resolver for
core.egress that asks it."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from dnslib import AAAA, QTYPE, RR, A, DNSRecord
from dnslib.server import BaseResolver, DNSLogger, DNSServer


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    delay: float = 0.0  # seconds before answering


class Listener:
    """An HTTP server on `host` (a free port unless given) that keeps every request it
    gets and answers with `answers` in turn (then 200 "ok"). With `tls` (a certificate
    and key file), HTTPS, keeping the server names the clients asked for (SNI)."""

    def __init__(self, host="127.0.0.1", port=0, answers=(), tls: tuple[Path, Path] | None = None):
        self.seen: list[Seen] = []
        self.server_names: list[str | None] = []
        self.answers = list(answers)
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def handle_one(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                listener.seen.append(Seen(self.command, self.path, dict(self.headers), body))
                answer = listener.answers.pop(0) if listener.answers else Answer()
                if answer.delay:
                    threading.Event().wait(answer.delay)
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            do_GET = do_POST = handle_one  # noqa: N815 — http.server's names

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.handle_error = lambda request, address: None  # a client that hung up
        self.port = self.server.server_address[1]
        if tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*tls)
            context.sni_callback = lambda sock, name, ctx: self.server_names.append(name)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class ChangingAnswers(BaseResolver):
    """Answers each lookup of a name with the next of its answers (the last one
    repeats), as a DNS server rebinding a name does: an address, or a list of them.
    Keeps every name asked."""

    def __init__(self, answers: dict[str, list[str | list[str]]]):
        self.answers = {name: list(addresses) for name, addresses in answers.items()}
        self.asked: list[str] = []

    def resolve(self, request, handler):
        reply = request.reply()
        name = str(request.q.qname).rstrip(".")
        self.asked.append(name)
        answers = self.answers.get(name)
        if answers:
            answer = answers.pop(0) if len(answers) > 1 else answers[0]
            for address in [answer] if isinstance(answer, str) else answer:
                if ipaddress.ip_address(address).version == 4:
                    reply.add_answer(RR(request.q.qname, QTYPE.A, rdata=A(address), ttl=0))
                else:
                    reply.add_answer(RR(request.q.qname, QTYPE.AAAA, rdata=AAAA(address), ttl=0))
        return reply


class Dns:
    """A DNS server on 127.0.0.1 and a free UDP port; `resolve` asks it, once per call,
    in the shape core.egress.resolver has."""

    def __init__(self, answers: dict[str, list[str | list[str]]]):
        self.answers = ChangingAnswers(answers)
        quiet = DNSLogger(log="-request,-reply,-truncated,-error,-recv,-send,-data", prefix=False)
        self.server = DNSServer(self.answers, address="127.0.0.1", port=0, logger=quiet)
        self.port = self.server.server.server_address[1]
        self.server.start_thread()

    @property
    def asked(self) -> list[str]:
        return self.answers.asked

    def resolve(self, host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
        query = DNSRecord.question(host, "A")
        reply = DNSRecord.parse(query.send("127.0.0.1", self.port, timeout=5))
        found = [ipaddress.ip_address(str(rr.rdata)) for rr in reply.rr]
        if not found:
            raise OSError(f"{host}: no such name")
        return found

    def close(self):
        self.server.stop()
        self.server.server.server_close()


def certificates(directory: Path, *names: str) -> tuple[Path, dict[str, tuple[Path, Path]]]:
    """A certificate authority (its certificate file) and, for each name, a server
    certificate and key it signed (their files)."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Cascade test CA")])
    # Fixed dates: the tests run at a travelled clock, OpenSSL at the real one.
    start, end = dt.datetime(2020, 1, 1, tzinfo=dt.UTC), dt.datetime(2099, 1, 1, tzinfo=dt.UTC)
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    ca_file = directory / "ca.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    made = {}
    for name in names:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
            )
            .sign(ca_key, hashes.SHA256())
        )
        cert_file, key_file = directory / f"{name}.pem", directory / f"{name}.key"
        cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        made[name] = (cert_file, key_file)
    return ca_file, made
