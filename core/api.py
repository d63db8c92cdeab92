"""The API base every app's endpoints stand on: the tenant-scoped viewset and
serializer, reading raw input for permission checks made before validation (decided
by org/permissions.py, refused with core.errors.refuse_unless), conditional requests
(ETag, If-Match, If-None-Match), list filters, number fields, and the exception handler
that turns a service's errors into 400 and 403."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, TypedDict, cast

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.db.models import Model, QuerySet
from django.http import QueryDict
from django.utils.dateparse import parse_datetime
from django.utils.http import parse_etags
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException, NotFound, PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder
from rest_framework.views import exception_handler

from .dates import out_of_range
from .errors import NOT_A_NUMBER, Conflict, RowErrors, by_field, one_of, too_long
from .logs import current_request_id
from .numbers import display
from .throttles import look_unless_counted

if TYPE_CHECKING:
    from org.models import Member, Organization

    class MemberRequest(Request):
        """An API request the default permission class let through (settings: an
        active member of an organization): it carries the caller's membership."""

        member: Member

    class SerializerKwargs(TypedDict):
        """What an OrgScopedViewSet hands each serializer beside DRF's arguments."""

        organization: Organization | None

    class RelatedRows(Protocol):
        """A writable related field: DRF builds none without the rows it may name."""

        queryset: QuerySet[Model]

    # What JsonTypes is mixed into: a serializer.
    _Serializer = serializers.Serializer
else:
    _Serializer = object


STALE = (
    "The object has changed since you read it: its ETag is no longer the one If-Match "
    "names, and nothing was changed. Read it again (GET), then send the change with "
    "its new ETag."
)
EXISTS = "It already exists (If-None-Match: *): nothing was changed."
WRITES = ("PUT", "PATCH", "DELETE")


class PreconditionFailed(APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = STALE
    default_code = "precondition_failed"


def etag_of(data: Any) -> str:
    """A strong ETag of a representation: a hash of its JSON, so it changes whenever
    anything the caller would read does (progress rolled up from a value recorded
    below a goal included), and costs no query."""
    text = json.dumps(data, cls=JSONEncoder, sort_keys=True, separators=(",", ":"))
    return f'"{hashlib.sha256(text.encode()).hexdigest()[:32]}"'


def preconditions_given(request: Request) -> bool:
    return "If-Match" in request.headers or "If-None-Match" in request.headers


def check_if_match(request: Request, current: str | None) -> None:
    """Before a write (PUT, PATCH, DELETE): refuse it with a 412, changing nothing,
    when `If-Match` names no current representation of the object. `current` is its
    ETag now (etag_of what a GET would answer), None when it does not exist. `*`
    matches any existing object; a weak or malformed tag matches nothing. And
    `If-None-Match: *` (create only) refuses when the object exists."""
    given = request.headers.get("If-Match")
    if given is not None:
        tags = parse_etags(given)
        if current is None or (tags != ["*"] and current not in tags):
            raise PreconditionFailed()
    refused = request.headers.get("If-None-Match")
    if refused is not None and current is not None and _matches_weakly(current, refused):
        raise PreconditionFailed(EXISTS if refused.strip() == "*" else STALE)


def _matches_weakly(etag: str, header: str) -> bool:
    """If-None-Match's comparison: any of the tags, weak or strong, or `*`."""
    tags = parse_etags(header)
    return tags == ["*"] or etag.removeprefix("W/") in {t.removeprefix("W/") for t in tags}


class ConditionalRequests[M: Model](viewsets.GenericViewSet[M]):
    """Conditional requests on a viewset's single objects (RFC 9110 §13), for
    integrations that read, change and write back without losing another's change:

    - a GET of one object answers its `ETag` (etag_of its body), and `If-None-Match`
      naming it (or `*`) a 304 with no body;
    - PATCH, PUT and DELETE check `If-Match` (check_if_match): a stale tag is a 412 and
      nothing changes. A PATCH or PUT checks it when it reads its body (after the
      permission checks, before validation: 404, 403, then 412, then 400); a DELETE
      when it loads the object;
    - a write that answers the object (200) answers its new `ETag`.

    Only viewsets that serve their objects (`retrieve`): a tag is of what a GET
    answers."""

    conditional_actions = ("retrieve", "update", "partial_update", "destroy")

    def conditional(self) -> bool:
        """Whether this operation answers conditional requests (its ETag, If-Match)."""
        return isinstance(self, mixins.RetrieveModelMixin) and (
            getattr(self, "action", None) in self.conditional_actions
        )

    def check_precondition(self, instance: Model) -> None:
        """A write's If-Match against what a GET of `instance` answers now."""
        if self.conditional() and preconditions_given(self.request):
            check_if_match(self.request, etag_of(self.get_serializer(instance).data))

    def get_object(self) -> M:
        instance = super().get_object()
        if self.request.method == "DELETE":
            self.check_precondition(instance)
        return instance

    def finalize_response(
        self, request: Request, response: Response, *args: Any, **kwargs: Any
    ) -> Response:
        if (
            self.conditional()
            and response.status_code == status.HTTP_200_OK
            and isinstance(response.data, Mapping)
        ):
            etag = etag_of(response.data)
            if request.method in ("GET", "HEAD") and _matches_weakly(
                etag, request.headers.get("If-None-Match", "")
            ):
                response = Response(status=status.HTTP_304_NOT_MODIFIED)
            response["ETag"] = etag
        return super().finalize_response(request, response, *args, **kwargs)


class OrgScopedViewSet[M: Model](ConditionalRequests[M]):
    """Rows of the caller's organization only; another organization's id is a 404.

    Who may call at all is the API's default permission class (settings: an active
    member of an organization, which sets `request.member`). Single objects answer
    conditional requests (ConditionalRequests)."""

    http_method_names = ["get", "post", "patch", "head", "options"]
    queryset: QuerySet[M]  # each viewset's rows (all of them, every organization's)
    request: MemberRequest

    def get_queryset(self) -> QuerySet[M]:
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return self.queryset.none()
        return self.queryset.filter(organization=self.request.member.organization)

    def serializer_kwargs(self) -> SerializerKwargs:
        member: Member | None = getattr(self.request, "member", None)
        return {"organization": member.organization if member else None}

    def get_serializer(self, *args: Any, **kwargs: Any) -> serializers.BaseSerializer[M]:
        kwargs.setdefault("context", self.get_serializer_context())
        # Each serializer also takes the keywords of serializer_kwargs().
        serializer_class: Callable[..., serializers.BaseSerializer[M]] = self.get_serializer_class()
        return serializer_class(*args, **kwargs, **self.serializer_kwargs())

    def parsed(
        self,
        serializer_class: Callable[..., serializers.BaseSerializer[Any]],
        instance: Model | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        if instance is not None and self.request.method in WRITES:
            self.check_precondition(instance)
        serializer = serializer_class(
            instance,
            data=self.request.data,
            partial=instance is not None,
            **self.serializer_kwargs(),
            **kwargs,
        )
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def created(self, obj: M) -> Response:
        """201 with the new row, and where it lives (`Location`)."""
        response = Response(self.get_serializer(obj).data, status=status.HTTP_201_CREATED)
        # Created by a POST to a list: the row lives at the list's path plus its id.
        response["Location"] = self.request.build_absolute_uri(f"{self.request.path}{obj.pk}/")
        return response


class OrgViewSet[M: Model](mixins.ListModelMixin, mixins.RetrieveModelMixin, OrgScopedViewSet[M]):
    """List and retrieve within the caller's organization; create and partial update
    are written per resource, each calling one service."""


EXTERNAL_ID_ELSEWHERE = "Leave it out, or give the external id of the path."
# The route of UpsertByExternalId.upsert_by_external_id (any text but a line break).
BY_EXTERNAL_ID = r"by-external-id/(?P<external_id>.+)"
EXTERNAL_ID_PATH = OpenApiParameter(
    "external_id",
    OpenApiTypes.STR,
    OpenApiParameter.PATH,
    description="The integration's own id for it (at most 200 characters).",
)


def upsert_description(noun: str) -> str:
    """What the schema says of a resource's PUT by external id."""
    return (
        f"The {noun} of your organization with this external id is changed as PATCH "
        f"changes it (200; fields left out keep their values), or, when there is none, "
        f"created as POST creates one (201, with `Location`), with this external id. "
        f"The same permissions and rules: a 403 before a 400, and nothing is written "
        f"when either is answered. A body's `external_id`, if given, must be the path's. "
        f"Another organization's {noun} with the same external id is never touched. "
        f"`If-Match` applies to the change; on a create it matches nothing (412)."
    )


def upsert_route(serializer: type[serializers.BaseSerializer[Any]], noun: str) -> Any:
    """A viewset's `upsert` action: `PUT by-external-id/{external_id}/`, described in the
    schema for `serializer`'s resource (a `noun`)."""

    @extend_schema(
        request=serializer,
        responses={200: serializer, 201: serializer},
        parameters=[EXTERNAL_ID_PATH],
        summary=f"Create or update the {noun} with this external id",
        description=upsert_description(noun),
    )
    @action(
        detail=False,
        methods=["put"],
        url_path=BY_EXTERNAL_ID,
        url_name="by-external-id",
        filter_backends=[],
        pagination_class=None,
    )
    def upsert(self: UpsertByExternalId[Any], request: MemberRequest, external_id: str) -> Response:
        return self.upsert_by_external_id(request, external_id)

    return upsert


class UpsertByExternalId[M: Model](OrgViewSet[M]):
    """`PUT …/by-external-id/{external_id}/`: the row of the caller's organization with
    this external id is updated as a PATCH would (200), or, when there is none, created
    as a POST would (201) with this external id: the same permissions, checks and
    service, through the viewset's own `create` and `partial_update`."""

    http_method_names = [*OrgViewSet.http_method_names, "put"]

    def conditional(self) -> bool:
        # An upsert that changes the row checks If-Match and answers its ETag, as PATCH.
        return super().conditional() or getattr(self, "action", None) == "upsert"

    if TYPE_CHECKING:  # each resource writes its own

        def create(self, request: MemberRequest) -> Response: ...

        def partial_update(self, request: MemberRequest, pk: str | None = None) -> Response: ...

    def get_object(self) -> M:
        if (self.lookup_url_kwarg or self.lookup_field) not in self.kwargs:
            # OPTIONS on the upsert's route: there the row is named by its external id.
            raise NotFound()
        return super().get_object()

    def upsert_by_external_id(self, request: MemberRequest, external_id: str) -> Response:
        """1. A body's `external_id` other than the path's is a 400; else the path's
        is put in the body. 2. Found: the PATCH (If-Match checked there). 3. Not found:
        the POST (If-Match can match nothing: a 412), its `Location` the new row's; if
        another request created it meanwhile (the unique constraint), the PATCH."""
        body = request.data
        if isinstance(body, dict):
            if body.get("external_id", external_id) != external_id:
                raise ValidationError({"external_id": [EXTERNAL_ID_ELSEWHERE]})
            body["external_id"] = external_id
        found = self.get_queryset().filter(external_id=external_id).first()
        if found is None:
            check_if_match(request, None)
            try:
                response = self.create(request)
            except IntegrityError:
                found = self.get_queryset().filter(external_id=external_id).first()
                if found is None:
                    raise
            else:
                # The new row lives at the list's path plus its id.
                listed = request.path[: request.path.index("/by-external-id/") + 1]
                obj_id = response.data["id"] if isinstance(response.data, Mapping) else ""
                response["Location"] = request.build_absolute_uri(f"{listed}{obj_id}/")
                return response
        self.kwargs[self.lookup_url_kwarg or self.lookup_field] = str(found.pk)
        return self.partial_update(request, pk=str(found.pk))


def updated_since[M: Model](
    queryset: QuerySet[M], params: QueryDict, field: str = "updated_at"
) -> QuerySet[M]:
    """`?updated_since=` (an ISO 8601 instant, with its offset): rows changed after it,
    for an integration that syncs incrementally. A bad instant, or one outside the years
    2000–2100, is a 400."""
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
    if message := out_of_range(instant):  # the calendar Cascade accepts (core/dates.py)
        raise ValidationError({"updated_since": [message]})
    return queryset.filter(**{f"{field}__gt": instant})


UPDATED_SINCE = OpenApiParameter(
    "updated_since",
    OpenApiTypes.DATETIME,
    description="Only rows changed after this instant (ISO 8601 with its offset, in the "
    "years 2000–2100).",
)


def raw_data(request: Request) -> Mapping[str, Any]:
    """The request body as a mapping, for permission pre-checks (anything else: empty)."""
    return request.data if isinstance(request.data, Mapping) else {}


def lookup[M: Model](queryset: QuerySet[M], raw: Any) -> M | None:
    """The object a raw, unvalidated id names in `queryset` (already limited to the
    caller's organization), or None: for permission pre-checks before validation."""
    try:
        return queryset.filter(pk=int(raw)).first()
    except (TypeError, ValueError, OverflowError):
        return None


def list_filters(
    params: QueryDict,
    *,
    ids: Iterable[str] = (),
    choices: Mapping[str, list[str]] | None = None,
) -> dict[str, str | int]:
    """The list filters given in the query string, parsed: ids as integers, choices
    checked. Every bad one (an empty one too) is a 400 at once. An integer no id column
    can hold names nothing (it becomes -1) rather than a database error."""
    found: dict[str, str | int] = {}
    errors: dict[str, list[str]] = {}
    for name, allowed in (choices or {}).items():
        value = params.get(name)
        if value is None:
            continue
        if value not in allowed:
            errors[name] = [one_of(allowed)]
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

    def to_internal_value(self, data: Any) -> Model:
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
    (serializers.DictField, (dict,), "an object"),
)


def json_type_errors(
    fields: Mapping[str, serializers.Field], data: Mapping[str, Any]
) -> dict[str, list[str]]:
    """Per field of `data` (a JSON object), a message when its value is of another JSON
    type than the field takes (null is left to the field: it may allow it)."""
    errors: dict[str, list[str]] = {}
    for name, field in fields.items():
        value = data.get(name)
        if field.read_only or value is None or name not in data:
            continue
        for kind, types, what in JSON_TYPES:
            if isinstance(field, kind):
                if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
                    errors[name] = [f"Must be {what}."]
                break
        texts = isinstance(field, serializers.DictField) and isinstance(
            field.child, serializers.CharField
        )
        if texts and name not in errors and not all(isinstance(v, str) for v in value.values()):
            errors[name] = ["Must be an object of texts."]  # DRF would take 7 for "7"
        if name in errors or not isinstance(value, str):
            continue
        longest = getattr(field, "max_length", None)
        if longest and len(value) > longest:
            # As the schema's maxLength counts it: before DRF trims the spaces around it.
            errors[name] = [too_long(longest)]
        elif isinstance(field, serializers.ChoiceField) and value not in field.choices:
            blank_allowed = value == "" and getattr(field, "allow_blank", False)
            if not blank_allowed:
                errors[name] = [one_of(str(choice) for choice in field.choices)]
    return errors


class JsonTypes(_Serializer):
    """A serializer that takes each field's value only in the JSON type its schema
    declares (DRF's fields convert what they can)."""

    def to_internal_value(self, data: Any) -> Any:
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

    def __init__(self, *args: Any, organization: Organization | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.organization = organization
        if organization is None:
            return
        for name in self.scoped_fields:
            field = self.fields.get(name)
            if field is not None and not field.read_only:
                related = cast("RelatedRows", field)
                related.queryset = related.queryset.filter(organization=organization)


class NumberField(serializers.FloatField):
    """A JSON number: `true` is not a number here, nor NaN or an infinity (said as the
    services say it)."""

    default_error_messages = {
        **serializers.FloatField.default_error_messages,
        "invalid": NOT_A_NUMBER,
    }

    def to_internal_value(self, data: Any) -> float:
        if isinstance(data, bool):
            self.fail("invalid")
        return super().to_internal_value(data)


@extend_schema_field(OpenApiTypes.DOUBLE)
class ProgressField(serializers.ReadOnlyField):
    """Progress as returned everywhere: a percentage rounded to one decimal."""

    def to_representation(self, value: float) -> float:
        return display(value)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """A service's ValidationError is a 400 with its per-field messages, a Conflict (a
    write the state refuses: a closed cycle, a completed review) a 409 with the same
    body; its PermissionDenied a 403 with its message; a 5xx body has `request_id`.
    An answer given before the throttles ran still says the caller's rate-limit standing."""
    look_unless_counted(context["request"], context["view"])
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
    response = exception_handler(exc, context)
    # A server-side failure says the request's id (as cascade/views.py's 500 and 503 do),
    # the key to its log lines.
    if response is not None and response.status_code >= 500 and isinstance(response.data, dict):
        response.data["request_id"] = current_request_id() or ""
    return response
