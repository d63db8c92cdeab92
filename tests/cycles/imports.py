"""Shared pieces of the import and export tests: the example table of the SPEC as a
file, and a way to plan or commit a file's text."""

from __future__ import annotations

import io

import openpyxl

from cycles.importing import import_commit, import_plan
from cycles.sheets import read_rows

# The SPEC's three-row table as the source article writes it, with only a Department
# and an Owner column added.
EXAMPLE = """Strategic goal,Department goal,Individual KPI,Department,Owner
Improve customer experience,Reduce average response time by 20%,Resolve support tickets within 4 hrs avg,Customer Support,sam
Expand market presence,Launch 3 regional campaigns,Generate 100 qualified leads/month,Marketing,lee
Strengthen innovation culture,Host 6 innovation labs per year,Submit 2 ideas per quarter,Innovation,ivy
"""  # noqa: E501


def xlsx(text: str) -> bytes:
    """The same table as an XLSX workbook."""
    book = openpyxl.Workbook()
    sheet = book.active
    for line in text.strip().splitlines():
        sheet.append(line.split(","))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def plan(actor, cycle, text: str, fmt: str = "csv", **reading):
    """The plan of a file's text; `individual_kpi=` reads the article's column so."""
    content = text.encode() if isinstance(text, str) else text
    return import_plan(actor=actor, cycle=cycle, rows=read_rows(content, fmt), **reading)


def commit(actor, cycle, text: str, fmt: str = "csv", **reading):
    content = text.encode() if isinstance(text, str) else text
    return import_commit(actor=actor, cycle=cycle, rows=read_rows(content, fmt), **reading)
