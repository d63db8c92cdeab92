"""How API lists are ordered (its own module: DRF's settings import it early)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rest_framework.exceptions import ValidationError
from rest_framework.filters import OrderingFilter

if TYPE_CHECKING:
    # For type hints only: DRF's settings import this module while rest_framework.views loads.
    from django.db.models import Model, QuerySet
    from rest_framework.request import Request
    from rest_framework.views import APIView


class Ordering(OrderingFilter):
    """`?ordering=` by the view's `ordering_fields` (else `id`): one or more, joined by
    commas, each reversed by a leading `-`. Any other term is a 400, rather than
    quietly the default order; the schema declares the terms as a pattern."""

    ordering_fields = ("id",)

    def allowed(self, view: APIView) -> list[str]:
        return list(getattr(view, "ordering_fields", None) or self.ordering_fields)

    def get_ordering(
        self, request: Request, queryset: QuerySet[Model], view: APIView
    ) -> Sequence[str] | None:
        raw = request.query_params.get(self.ordering_param)
        if raw is None:
            return self.get_default_ordering(view)
        allowed = self.allowed(view)
        terms = raw.split(",")
        if not all(term.removeprefix("-") in allowed for term in terms):
            raise ValidationError(
                {
                    "ordering": [
                        f"Order by {', '.join(allowed)}: a leading - reverses one, "
                        "commas join several."
                    ]
                }
            )
        return [*terms, "id"] if "id" not in {t.removeprefix("-") for t in terms} else terms

    def get_schema_operation_parameters(self, view: APIView) -> list[dict[str, Any]]:
        allowed = self.allowed(view)
        term = f"-?({'|'.join(map(re.escape, allowed))})"
        return [
            {
                "name": self.ordering_param,
                "required": False,
                "in": "query",
                "description": f"Order by {', '.join(allowed)}; a leading `-` reverses one, "
                "commas join several (e.g. `-progress,title`).",
                "schema": {"type": "string", "pattern": f"^{term}(,{term})*$"},
            }
        ]
