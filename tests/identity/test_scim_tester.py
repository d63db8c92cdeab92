"""scim2-tester, the python-scim project's conformance checker, run against /scim/v2/
of a served Cascade (pytest-django's live_server: a real HTTP server on a port, the
whole stack behind it), over HTTP with a `scim` service token, as an identity
provider calls it.

scim2-tester discovers what /ServiceProviderConfig, /ResourceTypes and /Schemas
advertise, then creates, reads, lists (with attributes and excludedAttributes),
replaces, patches (add, replace and remove of every writable attribute) and deletes
Users and Groups, searches with POST /.search, refuses writes to the discovery
endpoints and asks an unknown URL. Nothing it runs may fail or be skipped (none of its
PATCH checks as unsupported: PATCH is advertised). What it does not cover of the
configuration is checked here through the same client: filtering (advertised) works;
bulk, sorting, ETags and password changes are advertised as unsupported, and bulk is
refused as such.

What it ran is written to test-results/scim2-tester.txt (and printed): the number of
checks, how many passed or were skipped, and why."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
import requests
from scim2_client import BaseSyncSCIMClient
from scim2_models import SearchRequest
from scim2_tester import CheckResult, Status, check_server

from org.tokens import service_token_create

REPORT = Path("test-results/scim2-tester.txt")
SCIM = "application/scim+json"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


class HttpSCIMClient(BaseSyncSCIMClient):
    """scim2-client over HTTP with `requests` (a test dependency already): the
    requests an identity provider would send, to a server listening on a port."""

    def __init__(self, base_url: str, key: str) -> None:
        super().__init__()
        self.base_url = base_url.rstrip("/") + "/"
        self.session = requests.Session()
        self.session.headers.update({"Authorization": f"Bearer {key}", "Accept": SCIM})

    def _url(self, url: str) -> str:
        return urljoin(self.base_url, url.lstrip("/"))

    def _stays_under_base_url(self, endpoint: str) -> bool:
        url, base = urlsplit(self._url(endpoint)), urlsplit(self.base_url)
        return url.netloc == base.netloc and url.path.startswith(base.path)

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        headers = kwargs.pop("headers", None) or {}
        if "json" in kwargs:
            headers.setdefault("Content-Type", SCIM)
        return self.session.request(method, self._url(url), headers=headers, timeout=30, **kwargs)


@pytest.fixture
def scim_client(acme, live_server):
    _, key = service_token_create(actor=acme.admin, name="Okta", scope="scim")
    client = HttpSCIMClient(f"{live_server.url}/scim/v2", key)
    yield client
    client.session.close()


def _report(results: list[CheckResult]) -> str:
    counts = Counter(result.status.name for result in results)
    lines = [
        f"scim2-tester ran {len(results)} checks against /scim/v2/ (live server, HTTP): "
        + ", ".join(f"{counts[name]} {name.lower()}" for name in sorted(counts)),
        "",
    ]
    for result in results:
        lines.append(
            f"{result.status.name:8} {result.resource_type or '-':6} {result.title}"
            + (f" — {result.reason}" if result.reason else "")
        )
    return "\n".join(lines) + "\n"


def test_scim2_tester_reports_no_failure_for_what_the_server_advertises(acme, scim_client):
    results = check_server(scim_client)

    report = _report(results)
    print("\n" + report)
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(report, encoding="utf-8")

    failures = [r for r in results if r.status not in (Status.SUCCESS, Status.SKIPPED)]
    assert not failures, "\n".join(f"{r.title}: {r.reason}" for r in failures)
    config = scim_client.provider.config
    assert config is not None and config.patch.supported
    # PATCH is advertised, so no PATCH check may be skipped as unsupported; nothing else
    # is skipped either (POST /.search is served, at the root and per resource type).
    skipped = [(r.title, r.reason) for r in results if r.status == Status.SKIPPED]
    assert not skipped, skipped
    passed = Counter((r.resource_type, r.title) for r in results if r.status == Status.SUCCESS)
    for resource_type in ("User", "Group"):
        for check in (
            "object_creation",
            "object_query",
            "object_query_without_id",
            "object_query_with_attributes",
            "object_list_with_attributes",
            "search_with_attributes",
            "object_replacement",
            "object_deletion",
            "check_add_attribute",
            "check_replace_attribute",
            "check_remove_attribute",
        ):
            assert passed[(resource_type, check)], (resource_type, check)
    assert sum(passed.values()) >= 60, passed


def test_what_the_service_provider_config_advertises_holds_over_http(acme, scim_client):
    scim_client.discover()
    config = scim_client.provider.config
    assert config is not None

    # filter: advertised, and it works (userName eq is what Okta and Entra send first).
    assert config.filter.supported and config.filter.max_results == 200
    found = scim_client.query("User", query_parameters=SearchRequest(filter='userName eq "sam"'))
    assert found.total_results == 1 and found.resources[0].user_name == "sam"
    none = scim_client.query("User", query_parameters=SearchRequest(filter='userName eq "nobody"'))
    assert none.total_results == 0
    groups = scim_client.query(
        "Group", query_parameters=SearchRequest(filter='displayName eq "Customer Support"')
    )
    assert groups.total_results == 1 and groups.resources[0].display_name == "Customer Support"
    capped = scim_client.query("User", query_parameters=SearchRequest(count=10_000))
    assert len(capped.resources) <= config.filter.max_results

    # patch: advertised (scim2-tester's PATCH checks cover it).
    assert config.patch.supported

    # bulk: not supported, advertised so, and /Bulk says so in SCIM's error body.
    assert config.bulk.supported is False
    bulk = scim_client.request(
        "POST",
        "/Bulk",
        json={"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": []},
    )
    assert bulk.status_code == 501 and bulk.json()["schemas"] == [ERROR]

    # sort, etag, changePassword: not supported and advertised so; a sortBy is ignored
    # (lists come in creation order), no ETag is sent, a password is never stored.
    assert config.sort.supported is False
    assert config.etag.supported is False
    assert config.change_password.supported is False
    listed = scim_client.request("GET", "/Users", params={"sortBy": "userName"})
    assert listed.status_code == 200 and "ETag" not in listed.headers
    ids = [int(r["id"]) for r in listed.json()["Resources"]]
    assert ids == sorted(ids)
    one = scim_client.request("GET", f"/Users/{acme.member.pk}")
    assert "ETag" not in one.headers and "version" not in one.json()["meta"]
