"""The API base every app's endpoints stand on: the tenant-scoped viewset and
serializer, reading raw input for permission checks made before validation (decided
by org/permissions.py, refused with core.errors.refuse_unless), list filters, number
fields, and the exception handler that turns a service's errors into 400 and 403."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import exception_handler

from .errors import Conflict, RowErrors, by_field
from .numbers import display


class OrgScopedViewSet(viewsets.GenericViewSet):
    """Rows of the caller's organization only; another organization's id is a 404.

    Who may call at all is the API's default permission class (settings: an active
    member of an organization, which sets `request.member`)."""

    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return self.queryset.none()
        return self.queryset.filter(organization=self.request.member.organization)

    def serializer_kwargs(self) -> dict:
        member = getattr(self.request, "member", None)
        return {"organization": member.organization if member else None}

    def get_serializer(self, *args, **kwargs):
        kwargs.setdefault("context", self.get_serializer_context())
        return self.get_serializer_class()(*args, **kwargs, **self.serializer_kwargs())

    def parsed(self, serializer_class, instance=None, **kwargs) -> dict:
        serializer = serializer_class(
            instance,
            data=self.request.data,
            partial=instance is not None,
            **self.serializer_kwargs(),
            **kwargs,
        )
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def created(self, obj) -> Response:
        """201 with the new row, and where it lives (`Location`)."""
        response = Response(self.get_serializer(obj).data, status=status.HTTP_201_CREATED)
        # Created by a POST to a list: the row lives at the list's path plus its id.
        response["Location"] = self.request.build_absolute_uri(f"{self.request.path}{obj.pk}/")
        return response


class OrgViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrgScopedViewSet):
    """List and retrieve within the caller's organization; create and partial update
    are written per resource, each calling one service."""


def updated_since(queryset, params, field: str = "updated_at"):
    """`?updated_since=` (an ISO 8601 instant, with its offset): rows changed after it,
    for an integration that syncs incrementally. A bad instant is a 400."""
    raw = params.get("updated_since")
    if raw is None:
        return queryset
    bad = {"updated_since": ["Give an instant with its offset, as 2027-03-15T09:00:00Z."]}
    try:
        instant = parse_datetime(raw.replace(" ", "+")) if isinstance(raw, str) else None
        # In UTC: a database holds offsets of at most ±15:59, Python's up to ±23:59.
        instant = instant.astimezone(dt.UTC) if instant and instant.tzinfo else None
    except (ValueError, OverflowError):
        instant = None
    if instant is None:
        raise ValidationError(bad)
    return queryset.filter(**{f"{field}__gt": instant})


UPDATED_SINCE = OpenApiParameter(
    "updated_since",
    OpenApiTypes.DATETIME,
    description="Only rows changed after this instant (ISO 8601 with its offset).",
)


def raw_data(request) -> Mapping:
    """The request body as a mapping, for permission pre-checks (anything else: empty)."""
    return request.data if isinstance(request.data, Mapping) else {}


def lookup(queryset, raw):
    """The object a raw, unvalidated id names in `queryset` (already limited to the
    caller's organization), or None: for permission pre-checks before validation."""
    try:
        return queryset.filter(pk=int(raw)).first()
    except (TypeError, ValueError, OverflowError):
        return None


def list_filters(params, *, ids=(), choices: Mapping[str, list[str]] | None = None) -> dict:
    """The list filters given in the query string, parsed: ids as integers, choices
    checked. Every bad one (an empty one too) is a 400 at once. An integer no id column
    can hold names nothing (it becomes -1) rather than a database error."""
    found, errors = {}, {}
    for name, allowed in (choices or {}).items():
        value = params.get(name)
        if value is None:
            continue
        if value not in allowed:
            errors[name] = [f"Must be one of: {', '.join(allowed)}."]
        found[name] = value
    for name in ids:
        value = params.get(name)
        if value is None:
            continue
        try:
            pk = int(value)
        except (ValueError, OverflowError):
            errors[name] = ["Must be an id (an integer)."]
            continue
        found[name] = pk if abs(pk) < 2**63 else -1
    if errors:
        raise ValidationError(errors)
    return found


class IdField(serializers.PrimaryKeyRelatedField):
    """A related row's id: an integer an id column can hold (an infinity, a fraction or
    1e400 is a 400 on the field, never a database error)."""

    def to_internal_value(self, data):
        if isinstance(data, float) and not (data.is_integer() and abs(data) < 2**63):
            self.fail("incorrect_type", data_type="number")
        try:
            return super().to_internal_value(data)
        except OverflowError:
            self.fail("does_not_exist", pk_value=data)


# What JSON type each kind of field takes. DRF would also take 0 for "0", "1" for 1 and
# "yes" for true; the schema promises one type, so anything else is a 400 on the field.
JSON_TYPES: tuple[tuple[type, tuple[type, ...], str], ...] = (
    (serializers.BooleanField, (bool,), "true or false"),
    (serializers.CharField, (str,), "text"),
    (serializers.MultipleChoiceField, (list,), "a list"),
    (serializers.ChoiceField, (str,), "text"),
    (serializers.DateField, (str,), "a date as text (YYYY-MM-DD)"),
    (serializers.DateTimeField, (str,), "an instant as text (ISO 8601)"),
    (serializers.IntegerField, (int,), "an integer"),
    (serializers.PrimaryKeyRelatedField, (int,), "an id (an integer)"),
    (serializers.FloatField, (int, float), "a number"),
    (serializers.ListField, (list,), "a list"),
)


def json_type_errors(fields, data) -> dict:
    """Per field of `data` (a JSON object), a message when its value is of another JSON
    type than the field takes (null is left to the field: it may allow it)."""
    errors = {}
    for name, field in fields.items():
        value = data.get(name)
        if field.read_only or value is None or name not in data:
            continue
        for kind, types, what in JSON_TYPES:
            if isinstance(field, kind):
                if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
                    errors[name] = [f"Must be {what}."]
                break
        longest = getattr(field, "max_length", None)
        if name not in errors and isinstance(value, str) and longest and len(value) > longest:
            # As the schema's maxLength counts it: before DRF trims the spaces around it.
            errors[name] = [f"Ensure this field has no more than {longest} characters."]
    return errors


class JsonTypes:
    """A serializer that takes each field's value only in the JSON type its schema
    declares (DRF's fields convert what they can)."""

    def to_internal_value(self, data):
        if isinstance(data, Mapping) and (errors := json_type_errors(self.fields, data)):
            raise ValidationError(errors)
        return super().to_internal_value(data)


class InputSerializer(JsonTypes, serializers.Serializer):
    """A request body that is not a row (credentials, a retraction, a bulk row)."""


class OrgSerializer(JsonTypes, serializers.ModelSerializer):
    """A serializer of one organization's rows (`organization=`, given by OrgViewSet).

    The related-id fields named in `scoped_fields` accept only that organization's
    objects: another organization's id is a 400 on the field ("does not exist"),
    never a leak."""

    scoped_fields: tuple[str, ...] = ()
    serializer_related_field = IdField

    def __init__(self, *args, organization=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization = organization
        if organization is None:
            return
        for name in self.scoped_fields:
            field = self.fields.get(name)
            if field is not None and not field.read_only:
                field.queryset = field.queryset.filter(organization=organization)


class NumberField(serializers.FloatField):
    """A JSON number: `true` is not a number here."""

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        return super().to_internal_value(data)


@extend_schema_field(OpenApiTypes.DOUBLE)
class ProgressField(serializers.ReadOnlyField):
    """Progress as returned everywhere: a percentage rounded to one decimal."""

    def to_representation(self, value):
        return display(value)


def api_exception_handler(exc, context):
    """A service's ValidationError is a 400 with its per-field messages, a Conflict (a
    write the state refuses: a closed cycle, a completed review) a 409 with the same
    body; its PermissionDenied a 403 with its message."""
    if isinstance(exc, RowErrors):
        code = status.HTTP_409_CONFLICT if exc.conflict else status.HTTP_400_BAD_REQUEST
        return Response(exc.by_row, status=code)
    if isinstance(exc, DjangoValidationError):
        detail = by_field(exc)
        if isinstance(exc, Conflict):
            return Response(detail, status=status.HTTP_409_CONFLICT)
        exc = ValidationError(detail)
    elif isinstance(exc, DjangoPermissionDenied):
        exc = PermissionDenied(str(exc) or None)
    return exception_handler(exc, context)
