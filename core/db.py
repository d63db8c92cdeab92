"""Bulk writes the ORM has no single statement for."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Sequence
from typing import Any, cast

from django.db import connection, models

SQLITE_PARAMETERS = 30_000  # per statement: SQLite allows 32,766 since 3.32

# PostgreSQL array types for the model fields bulk_write knows how to send.
_PG_TYPES = {
    "FloatField": "float8",
    "CharField": "text",
    "BooleanField": "bool",
    "DateField": "date",
    "DateTimeField": "timestamptz",
    "ForeignKey": "bigint",  # named by its column (`owner_id`)
}
# A value of one of those fields, as bulk_write is given it (a foreign key: its id).
type ColumnValue = float | str | bool | dt.date | dt.datetime | int | None


def lock_row(obj: models.Model) -> None:
    """Lock this object's row until the transaction ends: writers that must not decide
    side by side (two objectives that would each be a cycle's sixth) queue here."""
    type(obj)._default_manager.select_for_update().filter(pk=obj.pk).exists()


def bulk_write(
    model: type[models.Model], fields: list[str], rows: Sequence[tuple[ColumnValue, ...]]
) -> None:
    """Write `fields` of rows given as (pk, *values) in one statement (PostgreSQL:
    UPDATE … FROM unnest; elsewhere Django's bulk_update)."""
    if not rows:
        return
    if connection.vendor == "sqlite" and sqlite3.sqlite_version_info >= (3, 33):
        _sqlite_write(model, fields, rows)
        return
    if connection.vendor != "postgresql":
        objs = [model(pk=pk, **dict(zip(fields, values, strict=True))) for pk, *values in rows]
        # mypy sees `objects` only on a named model; every model given here has it.
        model.objects.bulk_update(objs, fields)  # type: ignore[attr-defined]
        return
    types = [_PG_TYPES[model._meta.get_field(name).get_internal_type()] for name in fields]
    columns = ", ".join(f"{name} = v.{name}" for name in fields)
    arrays = ", ".join(f"%s::{pg_type}[]" for pg_type in types)
    sql = (
        f'UPDATE "{model._meta.db_table}" AS t SET {columns} '
        f"FROM unnest(%s::bigint[], {arrays}) AS v(id, {', '.join(fields)}) WHERE t.id = v.id"
    )
    params = [list(column) for column in zip(*rows, strict=True)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _sqlite_write(
    model: type[models.Model], fields: list[str], rows: Sequence[tuple[ColumnValue, ...]]
) -> None:
    """SQLite's UPDATE … FROM a VALUES list (3.33+), in as few statements as its limit
    on parameters allows. Django's bulk_update builds a CASE per field that SQLite
    searches row by row: thousands of rows (a whole cycle's roll-up after an import)
    took minutes."""
    # `fields` name the model's columns, never a relation from another model.
    model_fields = [cast("models.Field[Any, Any]", model._meta.get_field(name)) for name in fields]
    columns = ["id", *(field.column for field in model_fields)]
    per_statement = max(1, SQLITE_PARAMETERS // len(columns))
    assignments = ", ".join(f'"{column}" = v."{column}"' for column in columns[1:])
    names = ", ".join(f'"{column}"' for column in columns)
    with connection.cursor() as cursor:
        for first in range(0, len(rows), per_statement):
            batch = rows[first : first + per_statement]
            values = ", ".join(["(" + ", ".join(["%s"] * len(columns)) + ")"] * len(batch))
            params: list[ColumnValue] = []
            for pk, *row in batch:
                params.append(pk)
                params += [
                    field.get_db_prep_value(value, connection, prepared=False)
                    for field, value in zip(model_fields, row, strict=True)
                ]
            cursor.execute(
                f"WITH v({names}) AS (VALUES {values}) "
                f'UPDATE "{model._meta.db_table}" SET {assignments} FROM v '
                f'WHERE "{model._meta.db_table}"."id" = v."id"',
                params,
            )
