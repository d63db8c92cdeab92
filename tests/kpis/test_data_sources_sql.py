"""SPEC §9.6, KPI data sources fed by a SQL query, through the services
(kpis.feeds.source_set / source_fetch) against a real PostgreSQL database this module
creates, with a login role that may only SELECT one table: the one number a query
returns is recorded; a query that writes is refused by the database (a read-only
transaction), a slow one by its statement timeout, one returning two rows, a text,
two columns or NULL is a failure that says so; a database URL that names no user,
sets libpq options, a socket or an internal host is refused when it is saved; and
the connection never borrows a password from Cascade's environment.

The database tests need PostgreSQL (they skip on SQLite, as `require_postgres` does);
the URL and password tests run on either."""

from __future__ import annotations

import contextlib
import os
import secrets
import socketserver
import struct
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from psycopg import sql

from kpis.feeds import source_fetch, source_set
from kpis.models import Kpi, KpiSource, KpiUpdate
from kpis.sources import database_params

from ..factories import KpiFactory, MemberFactory
from ..test_egress import PUBLIC_ONLY

pytestmark = pytest.mark.django_db

URL_FORM = "postgresql://user:password@host:5432/database."
LEADS = [(1, "Initech", "1200.50"), (2, "Umbrella", "800.00"), (3, "Hooli", None)]


@dataclass(frozen=True)
class Warehouse:
    """A database of the test's own on the test's PostgreSQL server, and a role that
    may log in with a password and SELECT its table `leads` (not `payroll`)."""

    host: str
    port: int
    dbname: str
    role: str
    password: str
    admin: dict

    def url(self, *, password: str | None = None) -> str:
        given = self.password if password is None else password
        who = f"{self.role}:{given}" if given else self.role
        return f"postgresql://{who}@{self.host}:{self.port}/{self.dbname}"

    def leads(self) -> list[tuple]:
        """The table's rows, read as the server's admin."""
        with psycopg.connect(**self.admin, dbname=self.dbname) as admin:
            rows = admin.execute("SELECT id, name, amount::text FROM leads ORDER BY id")
            return rows.fetchall()


@pytest.fixture(scope="module")
def warehouse() -> Iterator[Warehouse]:
    """Created once for the module, dropped at its end whatever happened."""
    if connection.vendor != "postgresql":  # as require_postgres (a module's fixture)
        pytest.skip("needs PostgreSQL (set DATABASE_URL=postgres://…); .ci/run provides it")
    given = connection.settings_dict
    admin = {
        "host": given["HOST"] or "127.0.0.1",
        "port": int(given["PORT"] or 5432),
        "user": given["USER"] or "postgres",
        "password": given["PASSWORD"] or None,
        "autocommit": True,
    }
    suffix = uuid.uuid4().hex[:12]
    made = Warehouse(
        admin["host"],
        admin["port"],
        f"cascade_source_{suffix}",
        f"cascade_reader_{suffix}",
        secrets.token_urlsafe(16),
        admin,
    )
    with psycopg.connect(**admin, dbname="postgres") as server:
        try:
            server.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(made.dbname)))
            server.execute(
                sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(made.role), sql.Literal(made.password)
                )
            )
            with psycopg.connect(**admin, dbname=made.dbname) as database:
                database.execute(
                    "CREATE TABLE leads (id int PRIMARY KEY, name text NOT NULL, amount numeric)"
                )
                database.execute("CREATE TABLE payroll (name text, salary numeric)")
                with database.cursor() as cursor:
                    cursor.executemany("INSERT INTO leads VALUES (%s, %s, %s)", LEADS)
                database.execute("INSERT INTO payroll VALUES ('Ada', 90000)")
                database.execute(
                    sql.SQL("GRANT SELECT ON leads TO {}").format(sql.Identifier(made.role))
                )
            yield made
        finally:
            server.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(made.dbname)
                )
            )
            server.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(made.role)))


@pytest.fixture
def lone_kpi(db, settings) -> Kpi:
    """A KPI ("Qualified leads", 0 → 6) and a leader of its organization; the test's
    database server on 127.0.0.1 allowed, queries stopped after 1 s."""
    settings.OUTBOUND_ALLOW_PRIVATE = True
    settings.KPI_SOURCE_TIMEOUT = 1
    kpi = KpiFactory(name="Qualified leads", unit="leads", baseline=0, target=6)
    kpi.leader = MemberFactory(organization=kpi.organization, role="leader")
    return kpi


def feed(kpi: Kpi, database_url: str | None, query: str, **fields) -> KpiSource:
    if database_url is not None:
        fields["database_url"] = database_url
    return source_set(actor=kpi.leader, kpi=kpi, kind="sql", query=query, **fields)


def fetch(kpi: Kpi, *, dry_run: bool = False):
    return source_fetch(actor=kpi.leader, kpi=kpi, dry_run=dry_run)


# --- the one number a query returns ---------------------------------------------------


def test_the_one_number_a_query_returns_is_recorded_and_its_url_kept_encrypted(warehouse, lone_kpi):
    kpi = lone_kpi
    source = feed(kpi, warehouse.url(), "SELECT count(*) FROM leads")
    assert source.name == f"{warehouse.dbname} on {warehouse.host}"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT database_url FROM {KpiSource._meta.db_table} WHERE id = %s", [source.pk]
        )
        (raw,) = cursor.fetchone()
    assert raw and warehouse.password not in raw and warehouse.role not in raw

    preview = fetch(kpi, dry_run=True)
    assert (preview.value, preview.error, preview.would_record) == (3.0, None, True)
    fetched = fetch(kpi)
    assert fetched.ok and fetched.update.value == 3.0
    assert fetched.update.author_name == f"from {warehouse.dbname} on {warehouse.host}"
    kpi.refresh_from_db()
    assert (kpi.current, round(kpi.progress, 1)) == (3.0, 50.0)

    # A sum of numerics (Decimal), with the query's own % and ; in a string.
    feed(kpi, None, "SELECT sum(amount) FROM leads WHERE name NOT LIKE '%;%'")
    assert fetch(kpi).update.value == 2000.5
    assert KpiUpdate.objects.count() == 2


# --- what the database refuses ---------------------------------------------------------

WRITES = [
    "INSERT INTO leads VALUES (9, 'Evil Corp', 1) RETURNING id",
    "UPDATE leads SET amount = 0 RETURNING 1",
    "DELETE FROM leads WHERE id = 1 RETURNING 1",
    "WITH added AS (INSERT INTO leads VALUES (9, 'Evil Corp', 1) RETURNING 1) "
    "SELECT count(*) FROM added",
    "WITH gone AS (DELETE FROM leads RETURNING 1) SELECT count(*) FROM gone",
    "SELECT id FROM leads WHERE id = 1 FOR UPDATE",
    "CREATE TABLE copied AS SELECT * FROM leads",
]


@pytest.mark.parametrize("query", WRITES)
def test_a_query_that_writes_is_refused_by_the_database(warehouse, lone_kpi, query):
    kpi = lone_kpi
    feed(kpi, warehouse.url(), query)
    said = "The query tried to write: a source's query may only read."
    assert fetch(kpi, dry_run=True).error == said
    assert fetch(kpi).error == said
    assert warehouse.leads() == [
        (1, "Initech", "1200.50"),
        (2, "Umbrella", "800.00"),
        (3, "Hooli", None),
    ]
    assert KpiUpdate.objects.count() == 0
    assert KpiSource.objects.get(kpi=kpi).last_error == said


def test_a_second_statement_after_a_select_is_refused_and_runs_not(warehouse, lone_kpi):
    kpi = lone_kpi
    feed(kpi, warehouse.url(), "SELECT 1; DELETE FROM leads")
    fetched = fetch(kpi)
    assert fetched.error == (
        "The database refused the query: it is more than one statement; give one SELECT."
    )
    assert len(warehouse.leads()) == 3 and KpiUpdate.objects.count() == 0


@pytest.mark.parametrize(
    "query",
    [
        "SELECT count(*) FROM leads, pg_sleep(3)",
        # The timeout is armed for the statement: the statement cannot lift it.
        "SELECT set_config('statement_timeout', '0', false), pg_sleep(3)",
    ],
)
def test_a_slow_query_is_stopped_by_its_statement_timeout(warehouse, lone_kpi, query):
    kpi = lone_kpi
    feed(kpi, warehouse.url(), query)
    fetched = fetch(kpi)
    assert fetched.error == "The query ran longer than 1 seconds and was stopped."
    assert KpiUpdate.objects.count() == 0


@pytest.mark.parametrize(
    ("query", "says"),
    [
        (
            "SELECT amount FROM leads ORDER BY id",
            "The query returned more than one row: it must return exactly one number.",
        ),
        (
            # Millions of rows: stopped after the second, never all read (which would
            # take more than the 1 s the query has, and hundreds of MB).
            "SELECT generate_series(1, 50000000)",
            "The query returned more than one row: it must return exactly one number.",
        ),
        (
            "SELECT amount FROM leads WHERE id > 100",
            "The query returned no rows: it must return exactly one number.",
        ),
        (
            "SELECT name FROM leads WHERE id = 1",
            "The value the query returned is a text (“Initech”), not a number.",
        ),
        (
            "SELECT count(*), sum(amount) FROM leads",
            "The query returned 2 columns: it must return one number.",
        ),
        (
            "SELECT amount FROM leads WHERE id = 3",
            "The value the query returned is null, not a number.",
        ),
        ("SELECT 'NaN'::float8", "The value the query returned is not a finite number."),
        (
            "SELECT 1e13::numeric",
            "The value the query returned (1e+13) is beyond ±1e12, more than Cascade records.",
        ),
        ("SELECT true", "The value the query returned is true, not a number."),
        ("SET statement_timeout = 0", "The query returned no rows: write a SELECT of one number."),
        (
            "SELECT count(*) FROM payroll",  # the role may read leads only
            "The database refused the query: permission denied for table payroll.",
        ),
        (
            "SELECT count(*) FROM deals",
            'The database refused the query: relation "deals" does not exist.',
        ),
    ],
)
def test_a_query_that_gives_no_one_number_is_a_failure_that_says_why(
    warehouse, lone_kpi, query, says
):
    kpi = lone_kpi
    feed(kpi, warehouse.url(), query)
    assert fetch(kpi, dry_run=True).error == says
    fetched = fetch(kpi)
    assert (fetched.value, fetched.error, fetched.update) == (None, says, None)
    source = KpiSource.objects.get(kpi=kpi)
    assert (source.last_error, source.last_value) == (says, None)
    kpi.refresh_from_db()
    assert (kpi.current, KpiUpdate.objects.count()) == (None, 0)


# --- the database URL ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("database_url", "says"),
    [
        ("postgresql://127.0.0.1:5432/numbers", f"The database URL must name a user: {URL_FORM}"),
        (
            "postgresql://reader:pw@93.184.216.34/",
            f"The database URL must name a database: {URL_FORM}",
        ),
        (
            "postgresql://reader:pw@93.184.216.34/numbers?options=-c%20default_transaction_read_only%3Doff",
            "The database URL may not set options.",
        ),
        (
            "postgresql://reader:pw@93.184.216.34/numbers?passfile=/root/.pgpass",
            "The database URL may not set passfile.",
        ),
        (
            "postgresql://reader@93.184.216.34/numbers?service=cascade",
            "The database URL may not set service.",
        ),
        (
            "postgresql://reader:pw@db.example/numbers?hostaddr=10.0.0.5",
            "The database URL may not set hostaddr.",
        ),
        (
            "postgresql://reader:pw@%2Fvar%2Frun%2Fpostgresql/numbers",
            "Give the database server's host name (not a socket path).",
        ),
        (
            "postgresql://reader:pw@/numbers?host=/tmp",
            "Give the database server's host name (not a socket path).",
        ),
        (
            "postgresql://reader:pw@127.0.0.1:5432/numbers",
            f"127.0.0.1 is a loopback address: {PUBLIC_ONLY}",
        ),
        (
            "postgresql://reader:pw@10.0.0.5/numbers",
            f"10.0.0.5 is a private address: {PUBLIC_ONLY}",
        ),
        (
            "postgresql://reader:pw@169.254.169.254/numbers",
            f"169.254.169.254 is a link-local address: {PUBLIC_ONLY}",
        ),
        ("postgresql://reader:pw@[::1]:5432/numbers", f"::1 is a loopback address: {PUBLIC_ONLY}"),
        (
            "postgresql://reader:pw@93.184.216.34,10.0.0.5/numbers",
            "The database URL must name one host and port: Cascade connects to one.",
        ),
        (
            "postgresql://reader:pw@93.184.216.34:5432,10.0.0.5:5433/numbers",
            "The database URL must name one host and port: Cascade connects to one.",
        ),
        ("mysql://reader:pw@93.184.216.34/numbers", f"Give a PostgreSQL URL: {URL_FORM}"),
        ("host=93.184.216.34 user=reader dbname=numbers", f"Give a PostgreSQL URL: {URL_FORM}"),
    ],
)
def test_a_database_url_that_could_reach_elsewhere_is_refused_when_saved(
    db, settings, database_url, says
):
    settings.OUTBOUND_ALLOW_PRIVATE = False
    kpi = KpiFactory()
    leader = MemberFactory(organization=kpi.organization, role="leader")
    with pytest.raises(ValidationError) as refused:
        source_set(actor=leader, kpi=kpi, kind="sql", database_url=database_url, query="SELECT 1")
    assert refused.value.message_dict == {"database_url": [says]}
    assert not KpiSource.objects.exists()


def test_a_database_host_that_turns_internal_is_refused_at_fetch_and_never_reached(
    lone_kpi, settings, dns
):
    """Saved while its name was public (or private hosts were allowed), fetched when
    it is not: refused before any connection."""
    kpi = lone_kpi
    settings.OUTBOUND_ALLOW_PRIVATE = False
    server = dns({"warehouse.test": ["93.184.216.34", "127.0.0.1"]})
    feed(kpi, "postgresql://reader:pw@warehouse.test:5432/numbers", "SELECT 1")
    said = f"“warehouse.test” resolves to 127.0.0.1, a loopback address: {PUBLIC_ONLY}"
    assert fetch(kpi).error == said
    assert server.asked == ["warehouse.test", "warehouse.test"]

    settings.OUTBOUND_ALLOW_PRIVATE = True
    feed(kpi, "postgresql://reader:pw@127.0.0.1:5432/numbers", "SELECT 1")
    settings.OUTBOUND_ALLOW_PRIVATE = False
    said = f"127.0.0.1 is a loopback address: {PUBLIC_ONLY}"
    assert fetch(kpi).error == said
    assert KpiSource.objects.get(kpi=kpi).last_error == said
    assert KpiUpdate.objects.count() == 0


# --- Cascade's own credentials are never used --------------------------------------------

SSL_REQUEST, GSSENC_REQUEST = 80877103, 80877104


class PasswordAsker(socketserver.ThreadingTCPServer):
    """Just enough of a PostgreSQL server to ask each client for its password in
    clear text and keep what it sends (libpq's side of it is real). The tests' own
    PostgreSQL trusts connections from 127.0.0.1 (pg_hba.conf): it never asks."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), AskForPassword)
        self.port = self.server_address[1]
        self.passwords: list[str] = []
        threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True).start()

    def close(self) -> None:
        self.shutdown()
        self.server_close()


class AskForPassword(socketserver.BaseRequestHandler):
    server: PasswordAsker

    def read(self, size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = self.request.recv(size - len(data))
            if not chunk:
                raise ConnectionError
            data += chunk
        return data

    def handle(self) -> None:
        self.request.settimeout(5)
        with contextlib.suppress(OSError, ConnectionError, struct.error):
            while True:
                length, code = struct.unpack("!ii", self.read(8))
                if code not in (SSL_REQUEST, GSSENC_REQUEST):
                    self.read(length - 8)  # the startup message: user, database
                    break
                self.request.sendall(b"N")  # no TLS, no GSSAPI: go on in the clear
            self.request.sendall(b"R" + struct.pack("!ii", 8, 3))  # AuthenticationCleartextPassword
            if self.read(1) != b"p":
                return
            (length,) = struct.unpack("!i", self.read(4))
            self.server.passwords.append(self.read(length - 4).rstrip(b"\0").decode())
            said = b"SFATAL\0C28P01\0Mpassword authentication failed\0\0"
            self.request.sendall(b"E" + struct.pack("!i", len(said) + 4) + said)


@pytest.fixture
def password_asker() -> Iterator[PasswordAsker]:
    asker = PasswordAsker()
    yield asker
    asker.close()


def test_a_source_never_borrows_a_password_from_the_environment_or_a_password_file(
    lone_kpi, password_asker, monkeypatch, tmp_path
):
    """A server that asks for a password gets none from a URL that gives none, though
    PGPASSWORD, a password file (PGPASSFILE) and a service file (PGSERVICE) all offer
    one, as Cascade's own environment could; it gets the URL's when the URL has one."""
    kpi = lone_kpi
    passfile = tmp_path / "pgpass"
    passfile.write_text("*:*:*:*:from-the-password-file\n")
    passfile.chmod(0o600)
    services = tmp_path / "pg_service.conf"
    services.write_text("[cascade]\npassword=from-the-service-file\n")
    monkeypatch.setenv("PGPASSWORD", "from-the-environment")
    monkeypatch.setenv("PGPASSFILE", str(passfile))
    monkeypatch.setenv("PGSERVICEFILE", str(services))
    monkeypatch.setenv("PGSERVICE", "cascade")
    url = f"postgresql://reader@127.0.0.1:{password_asker.port}/numbers"
    params = database_params(url)
    assert (params["password"], params["passfile"]) == ("", os.devnull)

    feed(kpi, url, "SELECT 1")
    fetched = fetch(kpi)
    where = f"127.0.0.1 (port {password_asker.port}), database numbers"
    assert fetched.error.startswith(f"Could not connect to {where}: ")
    assert fetched.error.endswith("fe_sendauth: no password supplied")
    assert password_asker.passwords == []

    feed(
        kpi, f"postgresql://reader:from-the-url@127.0.0.1:{password_asker.port}/numbers", "SELECT 1"
    )
    fetched = fetch(kpi)
    where = f"127.0.0.1 (port {password_asker.port}), database numbers"
    assert fetched.error.startswith(f"Could not connect to {where}: ")
    assert fetched.error.endswith("password authentication failed")
    assert password_asker.passwords == ["from-the-url"]
    assert KpiUpdate.objects.count() == 0


def test_the_real_server_is_reached_as_the_urls_role_with_the_urls_password_alone(
    warehouse, lone_kpi, monkeypatch
):
    """Against the test's PostgreSQL, which trusts 127.0.0.1 (so a missing password is
    not refused there, see the test above): the session is the URL's role's, read-only,
    whatever PGUSER, PGOPTIONS or PGPASSWORD say."""
    kpi = lone_kpi
    monkeypatch.setenv("PGUSER", "postgres")
    monkeypatch.setenv("PGPASSWORD", warehouse.password)
    monkeypatch.setenv("PGOPTIONS", "-c default_transaction_read_only=off")
    url = warehouse.url(password="")
    params = database_params(url)
    assert (params["user"], params["password"], params["passfile"]) == (
        warehouse.role,
        "",
        os.devnull,
    )
    feed(
        kpi,
        url,
        f"SELECT (current_user = '{warehouse.role}' "
        "AND current_setting('transaction_read_only') = 'on')::int",
    )
    assert fetch(kpi, dry_run=True).value == 1.0
