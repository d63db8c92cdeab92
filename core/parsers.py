"""Request bodies the API reads: JSON, and the spreadsheets the imports take (a CSV or
XLSX file as the body, as it is, with `?dry_run=true` for a preview)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import IO, Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError, UnsupportedMediaType, ValidationError
from rest_framework.request import Request

from .sheets import CSV, MAX_FILE_BYTES, MEDIA_TYPES, XLSX


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


def dry_run(request: Request) -> bool:
    """`?dry_run=true`: preview only."""
    raw = request.query_params.get("dry_run", "false").lower()
    if raw not in ("true", "false", "1", "0"):
        raise ValidationError({"dry_run": ["Must be true or false."]})
    return raw in ("true", "1")


def spreadsheet_format(request: Request) -> str:
    """The format the body's media type names; any other is a 415."""
    media_type = (request.content_type or "").split(";")[0].strip().lower()
    for fmt, known in MEDIA_TYPES.items():
        if media_type == known:
            return fmt
    raise UnsupportedMediaType(media_type or "none")


def spreadsheet_body(request: Request) -> bytes:
    """The uploaded file's bytes (empty when the body was not one)."""
    return request.data if isinstance(request.data, bytes) else b""
