"""Reading a KPI's number where it lives (SPEC §9.6): a value in a JSON answer, or the
one number a SQL query returns. Nothing here writes to Cascade: kpis/feeds.py records
what is read.

- `http_json`: one GET through core/egress.py (the webhooks' guard: public addresses
  only unless OUTBOUND_ALLOW_PRIVATE, no redirect followed, at most 1 MB within 10 s),
  the body parsed as JSON (NaN and Infinity refused), the RFC 6901 pointer resolved.
- `sql`: a connection of its own, built from the source's database URL alone (no
  password file, no service file, no options of the URL's), to the address the egress
  guard checked; a read-only transaction with a statement timeout; the query sent with
  the extended protocol, which takes one statement only, its rows read one at a time
  (cancelled after a second: a million rows never reach memory).

Whatever goes wrong is a `SourceError` whose text says what to fix, shown on the KPI.
"""

from __future__ import annotations

import itertools
import json
import math
import os
from collections.abc import Generator
from decimal import Decimal
from typing import Any, cast
from urllib.parse import urlsplit

import jsonpointer
import psycopg
from django.conf import settings
from psycopg import errors as pg_errors
from psycopg.conninfo import conninfo_to_dict

from core import egress

from .models import KpiSource, SourceKind

MAX_BYTES = egress.MAX_BYTES  # 1 MB
LARGEST = 1e12  # SPEC §8.1: the largest amount Cascade records
# What a source's database URL may say: where, who, which database, and TLS.
URL_KEYS = frozenset({"host", "port", "dbname", "user", "password", "sslmode", "application_name"})
SQL_SCHEMES = ("postgres://", "postgresql://")


class SourceError(Exception):
    """A fetch that gave no number; str() says why, for the KPI's page."""


def read(source: KpiSource) -> float:
    """The number `source` gives now, or `SourceError`."""
    if source.kind == SourceKind.SQL:
        return read_sql(source.database_url, source.query)
    headers = json.loads(source.headers) if source.headers else {}
    return read_json(source.url, source.pointer, headers)


# -- JSON over HTTP -----------------------------------------------------------------


def timeout() -> int:
    """Seconds an answer, a connection or a query may take (KPI_SOURCE_TIMEOUT, 10)."""
    return int(settings.KPI_SOURCE_TIMEOUT)


def read_json(url: str, pointer: str, headers: dict[str, str]) -> float:
    sent = {"Accept": "application/json", "User-Agent": "Cascade data source", **headers}
    try:
        answer = egress.send("GET", url, headers=sent, timeout=timeout(), max_bytes=MAX_BYTES)
    except egress.EgressError as exc:
        raise SourceError(str(exc)) from exc
    if 300 <= answer.status < 400:
        to = answer.headers.get("Location", "")
        raise SourceError(
            f"The address answered {answer.status}, a redirect"
            + (f" to {to[:200]}" if to else "")
            + ": Cascade does not follow redirects. Give the final address."
        )
    if not 200 <= answer.status < 300:
        raise SourceError(
            f"The address answered {answer.status} instead of 200: check the address and "
            "its headers (a token that expired?)."
        )
    try:
        document = json.loads(answer.body, parse_constant=_no_constant)
    except NotANumber as exc:
        raise SourceError(f"The answer holds {exc}, which is not a number (nor JSON).") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        start = answer.body[:40].decode("utf-8", "replace").strip()
        raise SourceError(f"The answer is not JSON (it starts “{start}”).") from exc
    except RecursionError as exc:  # [[[[…]]]]: deeper than Python's parser goes
        raise SourceError("The answer is nested too deeply to read.") from exc
    try:
        found = jsonpointer.resolve_pointer(document, pointer)
        if isinstance(found, jsonpointer.EndOfList):  # "/list/-": the place after the last
            raise jsonpointer.JsonPointerException(pointer)
    except jsonpointer.JsonPointerException as exc:
        raise SourceError(f"The answer has nothing at {pointer or '(the whole answer)'}.") from exc
    return number(found, f"at {pointer}" if pointer else "of the answer")


class NotANumber(ValueError):
    """NaN, Infinity or -Infinity in an answer: Python's JSON reads them, JSON has none."""


def _no_constant(name: str) -> Any:
    raise NotANumber(name)


def pointer_error(pointer: str) -> str | None:
    """Why `pointer` is not an RFC 6901 JSON Pointer, or None."""
    try:
        jsonpointer.JsonPointer(pointer)
    except jsonpointer.JsonPointerException:
        return (
            "Write a JSON Pointer: empty for the whole answer, or steps each starting "
            "with “/”, such as /data/0/count."
        )
    return None


def number(found: Any, where: str) -> float:
    """`found` as the float Cascade records; a text, a boolean, null, NaN, an infinity
    or an amount beyond ±1e12 is a `SourceError`."""
    if isinstance(found, bool) or not isinstance(found, int | float | Decimal):
        raise SourceError(f"The value {where} is {_described(found)}, not a number.")
    try:
        value = float(found)
    except OverflowError:
        value = math.inf
    if not math.isfinite(value):
        raise SourceError(f"The value {where} is not a finite number.")
    if abs(value) > LARGEST:
        raise SourceError(
            f"The value {where} ({value:g}) is beyond ±1e12, more than Cascade records."
        )
    return value


def _described(found: Any) -> str:
    if found is None:
        return "null"
    if isinstance(found, bool):
        return "true" if found else "false"
    if isinstance(found, str):
        shown = found if len(found) <= 40 else found[:40] + "…"
        return f"a text (“{shown}”)"
    if isinstance(found, list):
        return f"a list of {len(found)}"
    if isinstance(found, dict):
        return "an object"
    return f"a {type(found).__name__}"


# -- SQL ------------------------------------------------------------------------------


def database_params(url: str) -> dict[str, Any]:
    """The connection a source's database URL names, checked: a postgres:// URL naming
    a host, a user and a database, nothing but those (and its password, port, sslmode),
    the host an allowed address. `SourceError` otherwise."""
    if not isinstance(url, str) or not url.startswith(SQL_SCHEMES):
        raise SourceError("Give a PostgreSQL URL: postgresql://user:password@host:5432/database.")
    try:
        given = conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        raise SourceError(
            "Not a well-formed database URL: postgresql://user:password@host:5432/database."
        ) from exc
    extra = sorted(set(given) - URL_KEYS)
    if extra:
        raise SourceError(f"The database URL may not set {', '.join(extra)}.")
    for key, says in (("host", "a host"), ("user", "a user"), ("dbname", "a database")):
        if not given.get(key):
            raise SourceError(
                f"The database URL must name {says}: postgresql://user:password@host:5432/database."
            )
    if "," in f"{given['host']}{given.get('port', '')}":  # libpq's list of servers to try
        raise SourceError("The database URL must name one host and port: Cascade connects to one.")
    try:
        port = int(given.get("port") or 5432)
        host, addresses = egress.check_host(str(given["host"]), port)
    except ValueError as exc:
        raise SourceError("A port is a number from 1 to 65535.") from exc
    except egress.EgressError as exc:
        raise SourceError(str(exc)) from exc
    return {
        **given,
        "host": host,
        "hostaddr": str(addresses[0]),  # connect to the address checked, not a new lookup
        "port": port,
        "password": given.get("password", ""),  # never PGPASSWORD or a password file
        "passfile": os.devnull,
        "connect_timeout": max(timeout(), 2),  # libpq's least
        "application_name": given.get("application_name") or "cascade-data-source",
        "options": f"-c statement_timeout={timeout() * 1000} -c default_transaction_read_only=on",
    }


def read_sql(database_url: str, query: str) -> float:
    params = database_params(database_url)
    where = f"{params['host']} (port {params['port']}), database {params['dbname']}"
    try:
        with psycopg.connect(**params, autocommit=False) as connection:
            connection.read_only = True
            with connection.cursor() as cursor:
                # stream(): rows one at a time, the query cancelled after the second, so
                # millions of rows are never read into memory. binary=True: the extended
                # protocol, which refuses a second statement (and reads no % as a
                # placeholder).
                stream = cast(Generator[Any, None, None], cursor.stream(query, binary=True))
                try:
                    rows = list(itertools.islice(stream, 2))
                    columns = cursor.description  # None for no rows
                finally:
                    stream.close()
                if columns is not None and len(columns) != 1:
                    raise SourceError(
                        f"The query returned {len(columns)} columns: it must return one number."
                    )
            connection.rollback()
    except pg_errors.ReadOnlySqlTransaction as exc:
        raise SourceError("The query tried to write: a source's query may only read.") from exc
    except pg_errors.QueryCanceled as exc:
        raise SourceError(
            f"The query ran longer than {timeout()} seconds and was stopped."
        ) from exc
    except psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[-1:] or [""]
        raise SourceError(f"Could not connect to {where}: {first[0][:200]}") from exc
    except psycopg.Error as exc:
        if isinstance(exc, psycopg.ProgrammingError) and exc.sqlstate is None:
            # stream() of a command that returns no rows at all (SET, …)
            raise SourceError("The query returned no rows: write a SELECT of one number.") from exc
        said = exc.diag.message_primary or str(exc).strip().splitlines()[0]
        if said.startswith("cannot insert multiple commands"):
            said = "it is more than one statement; give one SELECT"
        raise SourceError(f"The database refused the query: {said[:300]}.") from exc
    if len(rows) != 1:
        raise SourceError(
            f"The query returned {'no rows' if not rows else 'more than one row'}: "
            "it must return exactly one number."
        )
    return number(rows[0][0], "the query returned")


def display_name(kind: str, url: str, database_url: str) -> str:
    """A source's name when none is given: the host it reads from."""
    if kind == SourceKind.SQL:
        try:
            given = conninfo_to_dict(database_url)
        except psycopg.ProgrammingError:
            return "SQL query"
        return f"{given.get('dbname', 'database')} on {given.get('host', '?')}"[:100]
    return (urlsplit(url).hostname or "JSON source")[:100]
