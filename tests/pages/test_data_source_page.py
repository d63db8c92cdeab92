"""The goal page's "Feed from a source" (SPEC §9.6): whoever may edit a KPI sets up a
data source in place, tests what it would record without saving it, saves it, fetches
now and removes it; everyone sees how the source fares, but only its name; a value it
recorded reads "from <source>" wherever a value's author shows. Real HTTP: a Listener
on 127.0.0.1 (OUTBOUND_ALLOW_PRIVATE on), the services of kpis/feeds.py behind the
views (tested on their own beside them)."""

from __future__ import annotations

import json

import pytest
from cryptography.fernet import Fernet
from django.utils import timezone

from goals.models import Goal
from kpis.feeds import source_fetch, source_set
from kpis.models import Kpi, KpiSource, KpiUpdate
from reviews.services import review_start

from ..factories import KpiFactory
from ..outbound import Answer
from ..reviews.helpers import schedule
from .helpers import HTMX, field_errors, parse, snapshot, typed_value
from .test_query_counts import LARGE, SMALL, GrowingTree, _measure

TOKEN = "Bearer s3cret-token-of-the-crm"


@pytest.fixture
def outbound(settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    settings.KPI_SOURCE_TIMEOUT = 2


@pytest.fixture
def public(dns):
    """crm.example.com and db.example.com resolve to a public address (a real DNS
    server of the test's): what the egress guard asks before anything is saved."""
    dns({"crm.example.com": ["93.184.216.34"], "db.example.com": ["93.184.216.34"]})


def json_answers(value, times: int = 5) -> list[Answer]:
    body = json.dumps({"data": {"count": value}}).encode()
    return [Answer(200, {"Content-Type": "application/json"}, body) for _ in range(times)]


def source_data(kpi: Kpi, **fields) -> dict:
    data = {"kind": "http_json", "name": "CRM", "url": "", "pointer": "/data/count", "headers": "",
            "database_url": "", "query": "", "schedule": "daily"}  # fmt: skip
    data |= fields
    return {f"src{kpi.pk}-{name}": value for name, value in data.items()}


def saved_sources() -> list:
    return list(
        KpiSource.objects.order_by("id").values_list(
            "id", "kpi_id", "name", "kind", "url", "pointer", "headers", "database_url",
            "query", "schedule", "last_error", "last_value",
        )
    )  # fmt: skip


def everything() -> tuple:
    return snapshot(), saved_sources()


def goal_page(client, kpi: Kpi) -> str:
    response = client.get(f"/goals/{kpi.goal_id}/")
    assert response.status_code == 200
    return response.content.decode()


def test_an_editor_sets_up_tests_saves_fetches_and_removes_a_source_in_place(
    client, acme, tree, listen, outbound
):
    kpi, goal = tree.department_kpi, tree.department
    crm = listen(answers=json_answers(9))
    url = f"http://127.0.0.1:{crm.port}/report"
    client.force_login(acme.manager.user)

    page = goal_page(client, kpi)
    assert "Feed from a source" in page
    assert f'hx-get="/kpis/{kpi.pk}/source/"' in page

    form = client.get(f"/kpis/{kpi.pk}/source/", headers=HTMX)
    assert form.status_code == 200
    shown = parse(form)
    for name in ("kind", "name", "url", "pointer", "headers", "database_url", "query", "schedule"):
        assert shown.find(id=f"id_src{kpi.pk}-{name}") is not None, name
    assert typed_value(shown, f"id_src{kpi.pk}-schedule") == "daily"

    # Test: read as typed, nothing saved
    data = source_data(kpi, url=url, headers=f"Authorization: {TOKEN}")
    tested = client.post(f"/kpis/{kpi.pk}/source/test/", data, headers=HTMX)
    assert tested.status_code == 200
    result = parse(tested).find(role="status")
    assert result.text.strip() == "Would record 9 hours (the first value of this KPI)."
    assert typed_value(parse(tested), f"id_src{kpi.pk}-url") == url  # the form as typed
    assert crm.seen[-1].headers["Authorization"] == TOKEN
    assert KpiSource.objects.count() == 0 and KpiUpdate.objects.count() == 0

    # Save: the source block again, in place
    saved = client.post(f"/kpis/{kpi.pk}/source/", data, headers=HTMX)
    assert saved.status_code == 200
    assert saved["HX-Retarget"] == f"#source-{kpi.pk}"
    block = parse(saved).find(id=f"source-{kpi.pk}")
    assert "Fed daily from CRM" in " ".join(block.text.split())
    assert "no value fetched yet" in block.text
    assert "Saved: “First response time” is fed daily from CRM" in block.text
    source = KpiSource.objects.get(kpi=kpi)
    assert (source.url, source.pointer, source.header_names) == (
        url,
        "/data/count",
        ["Authorization"],
    )
    assert TOKEN not in saved.content.decode()

    # Fetch now: recorded from CRM, the goal's progress moves, the page says so
    before = Goal.objects.get(pk=goal.pk).progress
    fetched = client.post(f"/kpis/{kpi.pk}/source/fetch/", headers=HTMX)
    assert fetched.status_code == 204
    assert fetched["HX-Location"] == f"/goals/{goal.pk}/#kpi-{kpi.pk}"
    update = KpiUpdate.objects.get(kpi=kpi)
    assert (update.value, update.author, update.source, update.source_name) == (
        9,
        None,
        source,
        "CRM",
    )
    assert Goal.objects.get(pk=goal.pk).progress > before
    page = parse(client.get(f"/goals/{goal.pk}/"))
    said = " ".join(page.text.split())
    assert "Fetched 9 hours from CRM: recorded on “First response time” for 2027-03-15." in said
    assert "Latest 9 hours on 2027-03-15, from CRM" in said
    history = page.find(id=f"history-{kpi.pk}")
    assert "from CRM" in history.text
    status = page.find(id=f"source-{kpi.pk}")
    assert "last value 9 hours at 2027-03-15 12:00" in " ".join(status.text.split())

    # Fetch again, nothing changed: nothing new recorded, and it says so
    again = client.post(f"/kpis/{kpi.pk}/source/fetch/", headers=HTMX)
    assert again.status_code == 204
    assert KpiUpdate.objects.filter(kpi=kpi).count() == 1
    assert "CRM still gives 9 hours: nothing new to record." in goal_page(client, kpi)

    # Remove (the page asks first): no longer fed, its values stay
    assert 'hx-confirm="Stop feeding “First response time” from CRM?' in goal_page(client, kpi)
    removed = client.post(f"/kpis/{kpi.pk}/source/remove/", headers=HTMX)
    assert removed.status_code == 200
    assert "CRM no longer feeds “First response time”; the values it recorded stay." in (
        parse(removed).find(role="status").text
    )
    assert not KpiSource.objects.exists()
    assert KpiUpdate.objects.get(kpi=kpi).source_name == "CRM"
    assert "from CRM" in goal_page(client, kpi)


def test_test_says_when_the_value_is_no_news_and_what_the_latest_is(
    client, acme, tree, listen, outbound
):
    kpi = tree.department_kpi
    crm = listen(answers=json_answers(9) + json_answers(8.5))
    url = f"http://127.0.0.1:{crm.port}/report"
    client.force_login(acme.manager.user)
    client.post(f"/kpis/{kpi.pk}/source/", source_data(kpi, url=url), headers=HTMX)
    client.post(f"/kpis/{kpi.pk}/source/fetch/", headers=HTMX)  # records 9
    same = client.post(f"/kpis/{kpi.pk}/source/test/", source_data(kpi, url=url), headers=HTMX)
    assert parse(same).find(role="status").text == (
        "Reads 9 hours, as the latest value this period: nothing new to record."
    )
    crm.answers = json_answers(8.5)
    news = client.post(f"/kpis/{kpi.pk}/source/test/", source_data(kpi, url=url), headers=HTMX)
    assert parse(news).find(role="status").text == "Would record 8.5 hours (the latest is 9)."
    assert KpiUpdate.objects.filter(kpi=kpi).count() == 1


def test_a_failing_test_shows_why_and_changes_nothing(client, acme, tree, listen, outbound):
    kpi = tree.department_kpi
    crm = listen(answers=[Answer(500, body=b"oops")])
    client.force_login(acme.manager.user)
    before = everything()
    data = source_data(kpi, url=f"http://127.0.0.1:{crm.port}/report")
    response = client.post(f"/kpis/{kpi.pk}/source/test/", data, headers=HTMX)
    assert response.status_code == 200
    alert = parse(response).find(role="alert")
    assert alert.text.startswith("The test failed: The address answered 500 instead of 200")
    assert everything() == before


def test_a_failing_fetch_shows_the_last_error_in_place(client, acme, tree, listen, outbound):
    kpi = tree.department_kpi
    crm = listen(answers=[Answer(200, body=b"<html>sign in</html>")])
    source_set(actor=acme.manager, kpi=kpi, kind="http_json", name="CRM",
               url=f"http://127.0.0.1:{crm.port}/report", pointer="/count")  # fmt: skip
    client.force_login(acme.manager.user)
    response = client.post(f"/kpis/{kpi.pk}/source/fetch/", headers=HTMX)
    assert response.status_code == 200
    assert response["HX-Retarget"] == f"#source-{kpi.pk}"
    alert = parse(response).find(role="alert")
    assert "Last error (2027-03-15 12:00): The answer is not JSON (it starts “<html>sign in" in (
        " ".join(alert.text.split())
    )
    assert "warn" in alert.classes
    assert "then press Fetch now" in alert.text  # and what to do about it
    focused = [e.text for e in parse(response).iter() if "autofocus" in e.attrs]
    assert focused == ["Fetch now"]  # the keyboard stays there
    assert not KpiUpdate.objects.exists()
    assert KpiSource.objects.get(kpi=kpi).last_error.startswith("The answer is not JSON")
    # …and it stays on the goal page, for everyone, until a fetch works
    assert "Last error (2027-03-15 12:00)" in goal_page(client, kpi)


BAD_INPUT = [  # (what is typed over a good JSON source, the field that says, what it says)
    ({"url": ""}, "url", "Give the address that answers with JSON."),
    ({"url": "ftp://crm.example.com/x"}, "url", "Give an http:// or https:// address."),
    ({"pointer": "data/count"}, "pointer", "Write a JSON Pointer"),
    ({"headers": "Authorization Bearer x"}, "headers", "Write one header a line"),
    ({"headers": "Host: crm.example.com"}, "headers", "Cascade sets Host itself."),
    ({"kind": "ftp"}, "kind", "Must be one of: http_json, sql."),
    ({"schedule": "weekly"}, "schedule", "Must be one of: hourly, daily."),
    ({"name": "n" * 101}, "name", "At most 100 characters."),
    ({"kind": "sql", "query": "SELECT 1"}, "database_url", "Give the database URL"),
    ({"kind": "sql", "database_url": "mysql://x@y/z", "query": "SELECT 1"},
     "database_url", "Give a PostgreSQL URL"),
    ({"kind": "sql", "database_url": "postgresql://u:p@db.example.com/d"},
     "query", "Give the query"),
]  # fmt: skip


@pytest.mark.parametrize("button", ["test", "save"])
def test_bad_input_shows_messages_beside_the_fields_and_saves_nothing(
    client, acme, tree, public, button
):
    kpi = tree.department_kpi
    client.force_login(acme.manager.user)
    before = everything()
    path = f"/kpis/{kpi.pk}/source/" + ("test/" if button == "test" else "")
    for fields, where, says in BAD_INPUT:
        data = source_data(kpi, **({"url": "https://crm.example.com/report"} | fields))
        response = client.post(path, data, headers=HTMX)
        assert response.status_code == 400, fields
        page = parse(response)
        assert says in field_errors(page, f"id_src{kpi.pk}-{where}"), fields
        assert page.find(role="status") is None, fields  # no "Would record"
        shown = [e.text for e in page.iter() if "field-error" in e.classes]
        assert len(shown) == 1, shown  # only what is wrong
        focused = [e.attrs.get("id") for e in page.iter() if "autofocus" in e.attrs]
        assert focused == [f"id_src{kpi.pk}-{where}"], fields  # the keyboard goes there
        assert everything() == before, fields


def test_a_private_address_is_refused_beside_the_url_without_outbound_allow_private(
    client, acme, tree, settings
):
    settings.OUTBOUND_ALLOW_PRIVATE = False
    kpi = tree.department_kpi
    client.force_login(acme.manager.user)
    before = everything()
    data = source_data(kpi, url="http://127.0.0.1:8080/report")
    response = client.post(f"/kpis/{kpi.pk}/source/", data, headers=HTMX)
    assert response.status_code == 400
    assert "public internet only" in field_errors(parse(response), f"id_src{kpi.pk}-url")
    assert everything() == before


def test_secrets_are_never_shown_again_and_stay_when_left_empty(
    client, acme, tree, listen, outbound
):
    kpi = tree.department_kpi
    crm = listen(answers=json_answers(9))
    url = f"http://127.0.0.1:{crm.port}/report"
    client.force_login(acme.manager.user)
    data = source_data(kpi, url=url, headers=f"Authorization: {TOKEN}")
    client.post(f"/kpis/{kpi.pk}/source/", data, headers=HTMX)
    form = client.get(f"/kpis/{kpi.pk}/source/", headers=HTMX)
    page = parse(form)
    assert TOKEN not in form.content.decode()
    assert typed_value(page, f"id_src{kpi.pk}-headers") == ""
    assert typed_value(page, f"id_src{kpi.pk}-url") == url  # the editor may see the address
    assert "Saved: Authorization (values never shown). Leave empty to keep the saved ones" in (
        page.find(id=f"id_src{kpi.pk}-headers_helptext").text
    )
    # Saved again with the headers left empty (a new name): they stay
    client.post(f"/kpis/{kpi.pk}/source/", source_data(kpi, url=url, name="CRM reports"),
                headers=HTMX)  # fmt: skip
    source = KpiSource.objects.get(kpi=kpi)
    assert (source.name, source.header_names) == ("CRM reports", ["Authorization"])
    tested = client.post(f"/kpis/{kpi.pk}/source/test/", source_data(kpi, url=url), headers=HTMX)
    assert "Would record 9 hours" in tested.content.decode()
    assert crm.seen[-1].headers["Authorization"] == TOKEN  # the saved header, tested


def test_a_member_who_may_not_edit_sees_the_sources_name_only(client, acme, tree, listen, outbound):
    kpi = tree.department_kpi
    crm = listen(answers=[Answer(500)])
    url = f"http://127.0.0.1:{crm.port}/secret-report"
    source_set(actor=acme.manager, kpi=kpi, kind="http_json", name="CRM", url=url,
               pointer="/data/count", headers={"Authorization": TOKEN})  # fmt: skip
    source_fetch(actor=acme.manager, kpi=kpi, dry_run=False)  # fails: a last error
    client.force_login(acme.member.user)  # sam: may record on it? no, and may not edit it
    page = goal_page(client, kpi)
    status = parse(client.get(f"/goals/{kpi.goal_id}/")).find(id=f"source-{kpi.pk}")
    said = " ".join(status.text.split())
    assert "Fed daily from CRM" in said
    assert (
        "Last error (2027-03-15 12:00): the fetch failed; whoever may edit this KPI sees why."
        in said
    )
    for hidden in ("secret-report", str(crm.port), "/data/count", "Authorization", TOKEN,
                   "answered 500", "Feed from a source", "Fetch now", "Remove source",
                   f"/kpis/{kpi.pk}/source/"):  # fmt: skip
        assert hidden not in page, hidden


@pytest.mark.parametrize("who", ["member", "reviewer", "marketing_manager"])
def test_someone_who_may_not_edit_the_kpi_is_refused_and_nothing_changes(
    client, acme, tree, listen, outbound, who
):
    kpi = tree.department_kpi
    crm = listen(answers=json_answers(9))
    url = f"http://127.0.0.1:{crm.port}/report"
    source_set(actor=acme.manager, kpi=kpi, kind="http_json", name="CRM", url=url,
               pointer="/data/count")  # fmt: skip
    client.force_login(getattr(acme, who).user)
    before, seen = everything(), len(crm.seen)
    data = source_data(kpi, url=url, name="Mine now")
    requests = {
        "the form": lambda: client.get(f"/kpis/{kpi.pk}/source/", headers=HTMX),
        "the form's page": lambda: client.get(f"/kpis/{kpi.pk}/source/"),
        "Save": lambda: client.post(f"/kpis/{kpi.pk}/source/", data, headers=HTMX),
        "Test": lambda: client.post(f"/kpis/{kpi.pk}/source/test/", data, headers=HTMX),
        "Fetch now": lambda: client.post(f"/kpis/{kpi.pk}/source/fetch/", headers=HTMX),
        "Remove": lambda: client.post(f"/kpis/{kpi.pk}/source/remove/", headers=HTMX),
        "Save, without htmx": lambda: client.post(f"/kpis/{kpi.pk}/source/", data),
    }
    for action, request in requests.items():
        response = request()
        assert response.status_code == 403, action
        said = response.get("HX-Trigger") or response.content.decode()
        assert "You may not change this KPI." in said, action
        assert url not in response.content.decode(), action
        assert everything() == before, action
        assert len(crm.seen) == seen, action  # nothing was fetched for them


def test_another_organizations_kpi_is_not_found(client, outsider, tree):
    client.force_login(outsider.user)
    before = everything()
    for action in ("source/", "source/test/", "source/fetch/", "source/remove/"):
        response = client.post(f"/kpis/{tree.department_kpi.pk}/{action}", {}, headers=HTMX)
        assert response.status_code == 404, action
    assert everything() == before


def test_without_htmx_the_form_is_a_page_of_its_own_and_saving_goes_back_to_the_goal(
    client, acme, tree, public
):
    kpi = tree.department_kpi
    client.force_login(acme.manager.user)
    page = client.get(f"/kpis/{kpi.pk}/source/")
    assert page.status_code == 200
    assert "<h1>Feed “First response time” from a source</h1>" in page.content.decode()
    bad = client.post(f"/kpis/{kpi.pk}/source/", source_data(kpi, url=""))
    assert bad.status_code == 400
    assert "Give the address" in field_errors(parse(bad), f"id_src{kpi.pk}-url")
    saved = client.post(
        f"/kpis/{kpi.pk}/source/", source_data(kpi, url="https://crm.example.com/r")
    )
    assert (saved.status_code, saved["Location"]) == (302, f"/goals/{kpi.goal_id}/#kpi-{kpi.pk}")
    assert KpiSource.objects.get(kpi=kpi).url == "https://crm.example.com/r"


def test_a_closed_cycle_shows_how_the_source_fared_but_no_controls(client, acme, tree, public):
    kpi = tree.department_kpi
    source_set(actor=acme.manager, kpi=kpi, kind="http_json", name="CRM",
               url="https://crm.example.com/r", pointer="")  # fmt: skip
    acme.cycle.state = "closed"
    acme.cycle.save()
    client.force_login(acme.manager.user)
    page = goal_page(client, kpi)
    status = " ".join(
        parse(client.get(f"/goals/{kpi.goal_id}/")).find(id=f"source-{kpi.pk}").text.split()
    )
    assert "Fed daily from CRM · no value fetched yet · not fetched: the cycle is closed" in status
    assert "Feed from a source" not in page and "Fetch now" not in page
    before = everything()
    data = source_data(kpi, url="https://crm.example.com/")
    response = client.post(f"/kpis/{kpi.pk}/source/", data)
    assert response.status_code == 400
    assert everything() == before


def test_a_value_from_a_source_reads_from_the_source_wherever_its_author_shows(
    client, acme, tree, listen, outbound
):
    kpi = tree.department_kpi  # max's: on his My work and his department's page
    crm = listen(answers=json_answers(5))
    source_set(actor=acme.manager, kpi=kpi, kind="http_json", name="Helpdesk",
               url=f"http://127.0.0.1:{crm.port}/r", pointer="/data/count")  # fmt: skip
    assert source_fetch(actor=acme.manager, kpi=kpi, dry_run=False).update is not None
    client.force_login(acme.manager.user)
    my_work = parse(client.get("/my/"))
    assert "from Helpdesk" in my_work.find(id=f"kpi-last-{kpi.pk}").text
    department = parse(client.get("/department/"))
    assert "from Helpdesk" in department.find(id=f"kpi-last-{kpi.pk}").text
    history = client.get(f"/kpis/{kpi.pk}/history/", headers=HTMX)
    assert "hours · from Helpdesk" in " ".join(parse(history).text.split())
    goal = parse(client.get(f"/goals/{kpi.goal_id}/"))
    assert (
        "Latest 5 hours on 2027-03-15, from Helpdesk" in goal.find(id=f"kpi-latest-{kpi.pk}").text
    )
    # in a review of the goal, its KPI trends: the latest value, from the source
    review = schedule(acme.manager, cycle=acme.cycle, goal=kpi.goal)
    review_start(actor=acme.manager, review=review)
    item = review.items.get(goal=kpi.goal)
    meeting = client.get(f"/reviews/{review.pk}/?item={item.pk}").content.decode()
    assert "Latest from Helpdesk: 5 on 2027-03-15" in meeting

    # corrected in place on the goal page: the latest line moves too, and says who
    fetched = KpiUpdate.objects.get(kpi=kpi)
    corrected = client.post(
        f"/values/{fetched.pk}/correct/",
        {f"fix{fetched.pk}-value": "9.5", f"fix{fetched.pk}-date": "2027-03-15"},
        headers=HTMX | {"HX-Current-URL": f"http://testserver/goals/{kpi.goal_id}/"},
    )
    assert corrected.status_code == 200
    latest = parse(corrected).find(id=f"kpi-latest-{kpi.pk}")
    assert latest.attrs["hx-swap-oob"] == "true"
    assert f"Latest 9.5 hours on 2027-03-15, by {acme.manager.display_name}" in latest.text


# -- queries ------------------------------------------------------------------------------


def _fed(tree, goal: Goal, more: int) -> None:
    """`more` KPIs more on `goal`, then every KPI of it fed by a source that recorded
    its latest value (every other one failing since): what the goal page shows."""
    for n in range(more):
        KpiFactory(goal=goal, owner=tree.acme.manager, name=f"Fed {goal.pk}.{n}")
    now, today = timezone.now(), tree.acme.org.today()
    for n, kpi in enumerate(Kpi.objects.filter(goal=goal, source__isnull=True).order_by("id")):
        source = KpiSource.objects.create(
            organization=tree.acme.org, kpi=kpi, name=f"CRM {kpi.pk}", kind="http_json",
            url="https://crm.example.com/report", pointer="/data/count",
            headers=json.dumps({"Authorization": TOKEN}), next_fetch_at=now,
            last_success_at=now, last_value=30.0,
            last_error="The address answered 500 instead of 200." if n % 2 else "",
            last_error_at=now if n % 2 else None, failures=n % 2,
        )  # fmt: skip
        KpiUpdate.objects.create(
            kpi=kpi, value=30.0, date=today, author=None, source=source, source_name=source.name
        )


def test_goal_page_queries_do_not_grow_with_the_tree_or_its_fed_kpis(client, acme):
    """The goal page of a department goal whose KPIs all have a source (status lines,
    "from <source>" in the history and the latest line), to an editor (with Fetch now,
    Remove and the setup) and to a member: the same queries with 2 KPIs in a small tree
    and 5 in a large one; the source's form too."""

    fed = {"kpis": 2}  # on the goal shown

    def goal_page(client, tree):
        response = client.get(f"/goals/{tree.first_department_goal.pk}/")
        assert response.content.decode().count("Fed daily from") == fed["kpis"]
        return response

    def source_form(client, tree):
        kpi = Kpi.objects.filter(goal=tree.first_department_goal).order_by("-id").first()
        return client.get(f"/kpis/{kpi.pk}/source/", headers=HTMX)

    def kpis_of(tree) -> int:
        return Kpi.objects.filter(goal=tree.first_department_goal).count()

    def measured(tree) -> dict:
        counts = {}
        for who, request in (("manager", goal_page), ("member", goal_page),
                             ("manager", source_form)):  # fmt: skip
            client.force_login(getattr(acme, who).user)
            counts[who, request.__name__] = _measure(client, tree, request)
        return counts

    tree = GrowingTree(acme).grow(*SMALL)
    _fed(tree, tree.first_department_goal, more=1)
    small = measured(tree)
    tree.grow(*LARGE)
    _fed(tree, tree.first_department_goal, more=3)
    fed["kpis"] = 5
    assert kpis_of(tree) == 5
    large = measured(tree)
    assert small == large
    assert small["manager", "goal_page"] <= 12  # as without sources


def test_a_source_whose_key_was_lost_can_still_be_removed_and_set_up_again(
    client, acme, tree, public, settings
):
    kpi = tree.department_kpi
    source_set(actor=acme.manager, kpi=kpi, kind="http_json", name="CRM",
               url="https://crm.example.com/r", pointer="", headers={"X-Key": "k"})  # fmt: skip
    settings.FIELD_ENCRYPTION_KEY = [Fernet.generate_key().decode()]  # the old key is gone
    client.force_login(acme.manager.user)
    page = parse(client.get(f"/goals/{kpi.goal_id}/"))
    assert "Fed daily from CRM" in " ".join(page.find(id=f"source-{kpi.pk}").text.split())
    removed = client.post(f"/kpis/{kpi.pk}/source/remove/", headers=HTMX)
    assert removed.status_code == 200
    assert "CRM no longer feeds" in removed.content.decode()
    assert not KpiSource.objects.filter(kpi=kpi).exists()
    again = source_data(kpi, name="CRM again", url="https://crm.example.com/r")
    saved = client.post(f"/kpis/{kpi.pk}/source/", again)
    assert saved.status_code in (200, 302)
    assert KpiSource.objects.get(kpi=kpi).name == "CRM again"
