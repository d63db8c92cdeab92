"""How API lists are paged (its own module: DRF's settings import it early)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination

if TYPE_CHECKING:
    # For type hints only: DRF's settings import this module while rest_framework.views loads.
    from django.core.paginator import Paginator
    from rest_framework.request import Request
    from rest_framework.views import APIView


class Pages(PageNumberPagination):
    """Lists come in pages of 50; `page_size` asks for another size, at most 200 (a
    larger one gives 200, `next` links the rest). One that is not a whole number of at
    least 1 is a 400, rather than quietly the default."""

    page_size: int = 50
    page_size_query_param: str = "page_size"
    max_page_size: int = 200

    def get_page_size(self, request: Request) -> int:
        size = _whole_number(request, self.page_size_query_param)
        return self.page_size if size is None else min(size, self.max_page_size)

    def get_page_number(self, request: Request, paginator: Paginator) -> int:
        """`page` is a whole number of at least 1 (DRF would read an empty one as 1 and
        take `last`); a page past the end stays a 404."""
        number = _whole_number(request, self.page_query_param)
        return 1 if number is None else number

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["minimum"] = 1
                parameter["description"] = f"Rows per page, at most {self.max_page_size}."
            if parameter["name"] == self.page_query_param:
                parameter["schema"]["minimum"] = 1
        return parameters


def _whole_number(request: Request, name: str) -> int | None:
    """The query parameter `name` as a whole number of at least 1, or None when it is
    not given; anything else is a 400 on it."""
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit() and int(raw) >= 1):
        raise ValidationError({name: ["Must be a whole number of at least 1."]})
    return int(raw)
