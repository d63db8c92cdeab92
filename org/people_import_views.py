"""People in bulk on the People page (admins): upload a CSV or XLSX of people, read
the preview — who is added, who changes, who stays as they are, and each row's errors
by column — then confirm, and the import runs all rows or none (org/people_import.py,
the same steps as `POST /api/v1/members/import/`).

Between the preview and the confirmation the file's rows travel in the page, signed
for the admin who uploaded them (django.core.signing): nothing is stored before the
confirmation, and the confirmation plans again, so whatever changed meanwhile is
judged afresh.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_POST

from core.errors import RowErrors, by_field
from core.sheets import CSV, DOWNLOAD_TYPES, MAX_FILE_BYTES, sniff_format, too_large

from .decorators import member_required
from .forms import PeopleImportForm
from .models import Role
from .people_import import (
    COLUMNS,
    CREATE,
    ERROR,
    MAX_ROWS,
    SAMPLE,
    UNCHANGED,
    UPDATE,
    PeoplePlan,
    PersonRow,
    people_import_commit,
    people_import_plan,
    read_people,
    template_csv,
)
from .permissions import MANAGE_PEOPLE

if TYPE_CHECKING:
    from core.http import MemberHttpRequest

PREVIEW_SHOWN = 500  # rows of a preview shown on the page (and every row with errors)
SIGNED_FOR = 24 * 60 * 60  # seconds a preview may wait for its confirmation
SALT = "org.people-import"
EXPIRED = "This preview has expired or was changed: upload the file again."
TOO_LARGE_TO_CONFIRM = (
    "This file is too large to confirm on the page: import it with the API "
    "(POST /api/v1/members/import/), which takes files up to the same limits."
)
ACTION_LABELS = {CREATE: "add", UPDATE: "update", UNCHANGED: "unchanged", ERROR: "error"}


def _signed_rows(request: MemberHttpRequest, file_name: str, rows: list[PersonRow]) -> str:
    payload = {
        "member": request.member.pk,
        "file": file_name,
        "rows": [[row.number, row.cells] for row in rows],
    }
    return signing.dumps(payload, salt=SALT, compress=True)


def _rows_from(request: MemberHttpRequest, signed: str) -> tuple[str, list[PersonRow]]:
    """The file name and rows a preview carried, or ValidationError(EXPIRED)."""
    try:
        payload = signing.loads(signed, salt=SALT, max_age=SIGNED_FOR)
    except signing.BadSignature:
        raise ValidationError(EXPIRED) from None
    if payload.get("member") != request.member.pk:
        raise ValidationError(EXPIRED)
    rows = [PersonRow(number, cells) for number, cells in payload["rows"]]
    return payload["file"], rows


def _preview_context(
    request: MemberHttpRequest, file_name: str, rows: list[PersonRow], plan: PeoplePlan
) -> dict[str, Any]:
    """The preview's rows to show (the first PREVIEW_SHOWN and every one with errors),
    each with its cells and their errors, and the totals."""
    shown = []
    for index, (row, person) in enumerate(zip(rows, plan.rows, strict=True)):
        if index >= PREVIEW_SHOWN and not person.errors:
            continue
        shown.append(
            {
                "row": row.number,
                "email": person.email,
                "action": person.action,
                "label": ACTION_LABELS[person.action],
                "changes": person.changes,
                "new_department": person.new_department,
                "cells": [
                    (column, row.get(column), person.errors.get(column, []))
                    for column in COLUMNS
                    if row.get(column) or column in person.errors
                ],
            }
        )
    totals = plan.totals
    signed = "" if totals["errors"] else _signed_rows(request, file_name, rows)
    return {
        "file_name": file_name,
        "totals": totals,
        "departments_created": [d.name for d in plan.departments],
        "rows": shown,
        "hidden": len(plan.rows) - len(shown),
        "signed": signed,
        # The confirmation posts the rows back: beyond Django's limit of a request's
        # fields it could not, so the page says to use the API instead.
        "too_large": len(signed) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE - 4096,
    }


def import_offer() -> dict[str, Any]:
    """What the People page and the import page need to offer the import: the upload
    form, the columns with an example, and the limits."""
    return {
        "import_form": PeopleImportForm(),
        "columns": COLUMNS,
        "sample": SAMPLE[1:],
        "roles": Role.values,
        "max_rows": f"{MAX_ROWS:,}",
        "max_mb": MAX_FILE_BYTES // (1024 * 1024),
    }


def _page(request: MemberHttpRequest, context: dict[str, Any], status: int = 200) -> HttpResponse:
    template = "org/people_import.html"
    if request.htmx and "state" in context:
        template += "#import-state"
    base = {"nav": "people", "too_large_message": TOO_LARGE_TO_CONFIRM, **import_offer()}
    return render(request, template, {**base, **context}, status=status)


@member_required
def people_import_page(request: MemberHttpRequest) -> HttpResponse:
    """Upload a file of people: on a POST, read and plan it (writing nothing) and show
    the preview to confirm; a file that cannot be read is a 400 with its message."""
    MANAGE_PEOPLE.require(request.member)
    form = PeopleImportForm(request.POST or None, request.FILES or None)
    if request.method != "POST":
        return _page(request, {"import_form": form})
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            if upload.size > MAX_FILE_BYTES:
                raise ValidationError({"file": [too_large()]})
            content = upload.read()
            rows = read_people(content, sniff_format(content, upload.name))
        except ValidationError as error:
            for message in by_field(error).get("file", error.messages):
                form.add_error("file", message)
        else:
            plan = people_import_plan(actor=request.member, rows=rows)
            context = _preview_context(request, upload.name, rows, plan)
            return _page(request, {**context, "state": "previewed"})
    return _page(request, {"import_form": form}, status=400)


@require_POST
@member_required
def people_import_confirm(request: MemberHttpRequest) -> HttpResponse:
    """Import a previewed file, all rows or none. If something changed since the
    preview so that a row no longer holds, the preview comes back with its errors."""
    MANAGE_PEOPLE.require(request.member)
    try:
        file_name, rows = _rows_from(request, request.POST.get("rows", ""))
    except ValidationError as error:
        return _page(request, {"state": "expired", "message": error.messages[0]}, status=400)
    try:
        plan = people_import_commit(actor=request.member, rows=rows)
    except RowErrors:
        plan = people_import_plan(actor=request.member, rows=rows)
        context = _preview_context(request, file_name, rows, plan)
        return _page(request, {**context, "state": "previewed", "changed": True}, status=400)
    context = {"file_name": file_name, "totals": plan.totals, "state": "done"}
    return _page(request, context)


@member_required
def people_import_template(request: MemberHttpRequest) -> HttpResponse:
    """The downloadable template: a CSV with the header row."""
    MANAGE_PEOPLE.require(request.member)
    response = HttpResponse(template_csv(), content_type=DOWNLOAD_TYPES[CSV])
    response["Content-Disposition"] = 'attachment; filename="cascade-people-template.csv"'
    return response
