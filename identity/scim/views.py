"""The SCIM endpoints (RFC 7644 §3): thin — authenticate the `scim` token, parse,
call users.py or groups.py, answer `application/scim+json`. Any refusal, here or in a
service, is answered in SCIM's error body (errors.py); nothing a client sends makes
a 500."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from org.models import Member

from . import discovery, groups, users
from .auth import scim_member
from .errors import ScimError, error_response, from_service, scim_response
from .payload import operations, read_json, search_params
from .query import Field, filter_q, paging, project

Handler = Callable[[HttpRequest, Member, str], HttpResponse]


def _base(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("scim:root")).rstrip("/")


def endpoint(methods: dict[str, Handler]) -> Callable[..., HttpResponse]:
    """A view answering `methods` (name → handler(request, member, base, **kwargs)),
    every refusal in SCIM's error body."""

    @csrf_exempt
    def view(request: HttpRequest, **kwargs: Any) -> HttpResponse:
        try:
            member = scim_member(request)
            handler = methods.get(request.method or "")
            if handler is None:
                raise ScimError(405, f"{request.method} is not supported here.")
            return handler(request, member, _base(request), **kwargs)
        except ScimError as error:
            return error_response(error)
        except (PermissionDenied, ValidationError) as exc:
            return error_response(from_service(exc))

    return view


Params = Mapping[str, str]


@dataclass(frozen=True)
class Kind:
    """A resource type as a list reads it: its rows, searchable attributes, schema,
    and how a page of rows becomes resources."""

    queryset: QuerySet[Any]
    fields: dict[str, Field]
    urn: str
    render: Callable[[list[Any]], list[dict[str, Any]]]


def _list(params: Params, kinds: list[Kind]) -> HttpResponse:
    """A ListResponse over one resource type or, for a search at the root, several
    (RFC 7644 §3.4.3: Users, then Groups). At the root, a filter naming an attribute
    only one type has leaves the other out; one neither has is a 400."""
    filtered: list[Kind] = []
    refusal: ScimError | None = None
    for kind in kinds:
        if "filter" in params:
            try:
                condition = filter_q(params["filter"], kind.fields, kind.urn)
            except ScimError as error:
                refusal = refusal or error
                continue
            kind = replace(kind, queryset=kind.queryset.filter(condition))
        filtered.append(kind)
    if not filtered:
        assert refusal is not None
        raise refusal
    start, count = paging(params)
    skip, wanted, total = start - 1, count, 0
    resources: list[dict[str, Any]] = []
    for kind in filtered:
        found = kind.queryset.count()
        total += found
        if wanted and skip < found:
            page = list(kind.queryset[skip : skip + wanted])
            resources += [project(item, params, kind.urn) for item in kind.render(page)]
            wanted -= len(page)
        skip = max(skip - found, 0)
    return scim_response(
        {
            "schemas": [discovery.LIST],
            "totalResults": total,
            "startIndex": start,
            "itemsPerPage": len(resources),
            "Resources": resources,
        }
    )


def _search_params(request: HttpRequest) -> Params:
    return search_params(read_json(request))


# -- Users -----------------------------------------------------------------------------


def _users(member: Member, base: str) -> Kind:
    return Kind(
        users.users(member.organization_id),
        users.FIELDS,
        discovery.USER,
        lambda page: [users.resource(m, base) for m in page],
    )


def users_list(request, member, base) -> HttpResponse:
    return _list(request.GET, [_users(member, base)])


def users_searched(request, member, base) -> HttpResponse:
    return _list(_search_params(request), [_users(member, base)])


def _user_answer(request, found: Member, base: str, status: int = 200) -> HttpResponse:
    body = project(users.resource(found, base), request.GET, discovery.USER)
    return (
        scim_response(body, status, Location=body["meta"]["location"])
        if status == 201
        else scim_response(body, status)
    )


def users_create(request, member, base) -> HttpResponse:
    created, _ = users.user_create(member, read_json(request))
    return _user_answer(request, created, base, 201)


def user_read(request, member, base, pk) -> HttpResponse:
    return _user_answer(request, users.user_get(member, pk), base)


def user_replace(request, member, base, pk) -> HttpResponse:
    found = users.user_get(member, pk)
    state = users.from_body(users.state_of(found), read_json(request), whole=True)
    return _user_answer(request, users.save(member, found, state), base)


def user_patch(request, member, base, pk) -> HttpResponse:
    found = users.user_get(member, pk)
    state = users.from_patch(users.state_of(found), operations(read_json(request)))
    return _user_answer(request, users.save(member, found, state), base)


def user_delete(request, member, base, pk) -> HttpResponse:
    users.user_deprovision(member, users.user_get(member, pk))
    return HttpResponse(status=204)


# -- Groups ----------------------------------------------------------------------------


def _with_members(params: Params) -> bool:
    """Whether the answer lists members: not when the caller left them out (Okta and
    Entra ask `excludedAttributes=members` to keep large groups cheap)."""
    wanted = (params.get("attributes") or "").lower()
    unwanted = (params.get("excludedAttributes") or "").lower()
    if wanted:
        return "members" in wanted
    return "members" not in unwanted


def _render_groups(params: Params, member, base, page) -> list[dict[str, Any]]:
    people = (
        groups.members_by_department(member.organization_id, [d.pk for d in page])
        if page and _with_members(params)
        else {}
    )
    return [groups.resource(d, people.get(d.pk, []), base) for d in page]


def _groups(params: Params, member: Member, base: str) -> Kind:
    return Kind(
        groups.groups(member.organization_id),
        groups.FIELDS,
        discovery.GROUP,
        lambda page: _render_groups(params, member, base, page),
    )


def groups_list(request, member, base) -> HttpResponse:
    return _list(request.GET, [_groups(request.GET, member, base)])


def groups_searched(request, member, base) -> HttpResponse:
    params = _search_params(request)
    return _list(params, [_groups(params, member, base)])


def _group_answer(request, member, department, base, status=200) -> HttpResponse:
    body = project(
        _render_groups(request.GET, member, base, [department])[0], request.GET, discovery.GROUP
    )
    if status == 201:
        return scim_response(body, status, Location=body["meta"]["location"])
    return scim_response(body, status)


def groups_create(request, member, base) -> HttpResponse:
    change = groups.Change(None)
    change.body(read_json(request))
    return _group_answer(request, member, groups.save(member, change), base, 201)


def group_read(request, member, base, pk) -> HttpResponse:
    return _group_answer(request, member, groups.group_get(member, pk), base)


def group_replace(request, member, base, pk) -> HttpResponse:
    change = groups.Change(groups.group_get(member, pk))
    body = read_json(request)
    change.external_id = ""
    change.exact = set()
    change.body(body)
    return _group_answer(request, member, groups.save(member, change), base)


def group_patch(request, member, base, pk) -> HttpResponse:
    change = groups.Change(groups.group_get(member, pk))
    groups.from_patch(change, operations(read_json(request)))
    return _group_answer(request, member, groups.save(member, change), base)


def group_delete(request, member, base, pk) -> HttpResponse:
    groups.group_delete(member, groups.group_get(member, pk))
    return HttpResponse(status=204)


# -- Discovery, and the rest -----------------------------------------------------------


def _listed(items: list[dict[str, Any]]) -> HttpResponse:
    return scim_response(
        {
            "schemas": [discovery.LIST],
            "totalResults": len(items),
            "startIndex": 1,
            "itemsPerPage": len(items),
            "Resources": items,
        }
    )


def _one(items: list[dict[str, Any]], pk: str, noun: str) -> HttpResponse:
    for item in items:
        if item["id"].lower() == pk.lower():
            return scim_response(item)
    raise ScimError(404, f"No {noun} {pk}.")


def not_found(request, member, base, **kwargs) -> HttpResponse:
    raise ScimError(
        404,
        "Nothing here: SCIM serves /Users, /Groups, /ServiceProviderConfig, /ResourceTypes "
        "and /Schemas.",
    )


def searched(request, member, base) -> HttpResponse:
    """POST /.search: Users and Groups at once."""
    params = _search_params(request)
    return _list(params, [_users(member, base), _groups(params, member, base)])


def no_bulk(request, member, base) -> HttpResponse:
    raise ScimError(
        501,
        "Bulk operations are not supported (the ServiceProviderConfig says so): send each "
        "change as its own request.",
    )


ANY = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")

service_provider_config = endpoint(
    {"GET": lambda r, m, b: scim_response(discovery.service_provider_config(b))}
)
resource_types = endpoint({"GET": lambda r, m, b: _listed(discovery.resource_types(b))})
resource_type = endpoint(
    {"GET": lambda r, m, b, pk: _one(discovery.resource_types(b), pk, "ResourceType")}
)
schemas = endpoint({"GET": lambda r, m, b: _listed(discovery.schemas(b))})
schema = endpoint({"GET": lambda r, m, b, pk: _one(discovery.schemas(b), pk, "Schema")})
users_collection = endpoint({"GET": users_list, "POST": users_create})
user = endpoint({"GET": user_read, "PUT": user_replace, "PATCH": user_patch, "DELETE": user_delete})
groups_collection = endpoint({"GET": groups_list, "POST": groups_create})
group = endpoint(
    {"GET": group_read, "PUT": group_replace, "PATCH": group_patch, "DELETE": group_delete}
)
users_search = endpoint({"POST": users_searched})
groups_search = endpoint({"POST": groups_searched})
search_everywhere = endpoint({"POST": searched})
bulk = endpoint({"POST": no_bulk})
nowhere = endpoint(dict.fromkeys(ANY, not_found))
