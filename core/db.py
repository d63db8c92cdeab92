"""Bulk writes the ORM has no single statement for."""

from __future__ import annotations

from django.db import connection

# PostgreSQL array types for the model fields bulk_write knows how to send.
_PG_TYPES = {
    "FloatField": "float8",
    "CharField": "text",
    "BooleanField": "bool",
    "DateField": "date",
    "DateTimeField": "timestamptz",
}


def bulk_write(model, fields: list[str], rows: list[tuple]) -> None:
    """Write `fields` of rows given as (pk, *values) in one statement (PostgreSQL:
    UPDATE … FROM unnest; elsewhere Django's bulk_update)."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        objs = [model(pk=pk, **dict(zip(fields, values, strict=True))) for pk, *values in rows]
        model.objects.bulk_update(objs, fields)
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
