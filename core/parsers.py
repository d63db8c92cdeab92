"""Request bodies the API reads: JSON, and the spreadsheets the imports take (a CSV or
XLSX file as the body, as it is, with `?dry_run=true` for a preview)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from drf_spectacular.types import OpenApiTypes
from rest_framework import parsers
from rest_framework.exceptions import ParseError, UnsupportedMediaType, ValidationError
from rest_framework.request import Request

from .sheets import CSV, MAX_FILE_BYTES, MEDIA_TYPES, XLSX, sniff_format


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser; JSON nested deeper than Python can follow (100,000 arrays in
    one another, say) is a 400, not a server error."""

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.") from None


class RawBodyParser(parsers.BaseParser):
    """A spreadsheet sent as the request body, as it is (the imports' one exception to
    JSON-only bodies)."""

    def parse(  # type: ignore[override]  # DRF takes any data (the stubs: a mapping)
        self,
        stream: IO[Any] | None,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> bytes:
        return stream.read(MAX_FILE_BYTES + 1) if stream is not None else b""


class CsvParser(RawBodyParser):
    media_type = MEDIA_TYPES[CSV]


class XlsxParser(RawBodyParser):
    media_type = MEDIA_TYPES[XLSX]


SPREADSHEET_PARSERS = [CsvParser, XlsxParser]
# An import's body in the schema: the file's bytes, as either type. `text/csv` comes last:
# openapi-python-client's function for such a body sends the last type listed, whatever
# file it is given, and spreadsheet_format reads a workbook sent as `text/csv` as one.
SPREADSHEET_BODY = {MEDIA_TYPES[XLSX]: OpenApiTypes.BINARY, MEDIA_TYPES[CSV]: OpenApiTypes.BINARY}


def dry_run(request: Request) -> bool:
    """`?dry_run=true`: preview only."""
    raw = request.query_params.get("dry_run", "false").lower()
    if raw not in ("true", "false", "1", "0"):
        raise ValidationError({"dry_run": ["Must be true or false."]})
    return raw in ("true", "1")


def spreadsheet_format(request: Request) -> str:
    """The body's format: XLSX when its media type says so; sent as `text/csv`, what its
    bytes are (a workbook is a ZIP archive, as the page's upload reads it: a generated
    client may send any file it is given as `text/csv`). Any other media type is a 415."""
    media_type = (request.content_type or "").split(";")[0].strip().lower()
    if media_type == MEDIA_TYPES[XLSX]:
        return XLSX
    if media_type == MEDIA_TYPES[CSV]:
        return sniff_format(spreadsheet_body(request))
    raise UnsupportedMediaType(media_type or "none")


def spreadsheet_body(request: Request) -> bytes:
    """The uploaded file's bytes (empty when the body was not one)."""
    return request.data if isinstance(request.data, bytes) else b""
