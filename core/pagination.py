"""How API lists are paged (its own module: DRF's settings import it early)."""

from __future__ import annotations

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination


class Pages(PageNumberPagination):
    """Lists come in pages of 50; `page_size` asks for another size, at most 200 (a
    larger one gives 200, `next` links the rest). One that is not a whole number of at
    least 1 is a 400, rather than quietly the default."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not (raw.isascii() and raw.isdigit() and int(raw) >= 1):
            raise ValidationError({"page_size": ["Must be a whole number of at least 1."]})
        return min(int(raw), self.max_page_size)

    def get_page_number(self, request, paginator):
        """`page` is a whole number of at least 1 (DRF would read an empty one as 1 and
        take `last`); a page past the end stays a 404."""
        raw = request.query_params.get(self.page_query_param)
        if raw is None:
            return 1
        if not (raw.isascii() and raw.isdigit() and int(raw) >= 1):
            raise ValidationError({"page": ["Must be a whole number of at least 1."]})
        return raw

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["minimum"] = 1
                parameter["description"] = f"Rows per page, at most {self.max_page_size}."
            if parameter["name"] == self.page_query_param:
                parameter["schema"]["minimum"] = 1
        return parameters
