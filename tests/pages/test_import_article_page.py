"""SPEC §9.3 on the import page: the preview of the article's table (an `Individual KPI`
column, no `KPI` column) asks, with a radio, what each individual KPI should be — a KPI
of the department goal, owned by its Owner (the default), or an individual goal — says
which it applied, previews again when the choice changes (a plain form, or in place
with htmx), and the import does exactly what the preview said."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from cycles.models import ImportJob
from goals.models import Goal
from kpis.models import Kpi

from ..cycles.imports import EXAMPLE
from ..factories import DepartmentFactory, MemberFactory
from .helpers import HTMX, parse, snapshot

pytestmark = pytest.mark.django_db

AS_KPI = (
    "The “Individual KPI” column, as chosen: make each individual KPI a KPI of the "
    "department goal, owned by its Owner (the default)."
)
AS_GOAL = (
    "The “Individual KPI” column, as chosen: make each individual KPI an individual goal, "
    "owned by its Owner."
)


@pytest.fixture
def innovation(acme):
    department = DepartmentFactory(organization=acme.org, name="Innovation")
    MemberFactory(organization=acme.org, department=department, user__username="ivy")
    return acme


@pytest.fixture
def previewed(client, innovation):
    """The article's table uploaded by the leader: its job, previewed."""
    client.force_login(innovation.leader.user)
    upload = SimpleUploadedFile("article.csv", EXAMPLE.encode())
    response = client.post(f"/cycles/{innovation.cycle.pk}/import/", {"file": upload})
    assert response.status_code == 302
    return ImportJob.objects.get()


def job_url(job) -> str:
    return f"/cycles/{job.cycle_id}/import/{job.pk}/"


def radios(page) -> dict[str, bool]:
    """The choice's radios: {value: checked}."""
    return {
        e.attrs["value"]: "checked" in e.attrs
        for e in page.iter()
        if e.tag == "input" and e.attrs.get("name") == "individual_kpi"
    }


def said(page) -> str:
    return " ".join(page.text.split())


def test_the_preview_asks_what_each_individual_kpi_is_and_says_the_default_applies(
    client, previewed
):
    page = parse(client.get(job_url(previewed)))
    assert radios(page) == {"kpi": True, "goal": False}
    assert page.find(id="individual-kpi-applied").text.strip() == AS_KPI
    text = said(page)
    assert "Make each individual KPI a KPI of the department goal, owned by its Owner" in text
    assert "Make each individual KPI an individual goal, owned by its Owner" in text
    row = page.find(id="import-row-2")
    assert "KPI “Resolve support tickets within 4 hrs avg”" in said(row)
    assert "Individual KPI: Resolve support tickets within 4 hrs avg" in said(row)  # the cell


def test_choosing_an_individual_goal_previews_again_and_the_import_does_that(
    client, innovation, previewed
):
    before = snapshot()
    response = client.post(job_url(previewed), {"individual_kpi": "goal"})
    assert response.status_code == 302
    assert response["Location"] == job_url(previewed)
    assert snapshot() == before  # a preview again, nothing written

    page = parse(client.get(job_url(previewed)))
    assert radios(page) == {"kpi": False, "goal": True}
    assert page.find(id="individual-kpi-applied").text.strip() == AS_GOAL
    assert "individual goal “Submit 2 ideas per quarter”" in said(page.find(id="import-row-4"))

    confirmed = client.post(f"{job_url(previewed)}confirm/")
    assert confirmed.status_code == 302
    assert sorted(
        Goal.objects.filter(level="individual").values_list("title", "owner__user__username")
    ) == [
        ("Generate 100 qualified leads/month", "lee"),
        ("Resolve support tickets within 4 hrs avg", "sam"),
        ("Submit 2 ideas per quarter", "ivy"),
    ]
    assert Goal.objects.count() == 9 and not Kpi.objects.exists()
    assert AS_GOAL in said(parse(client.get(job_url(previewed))))  # the result says it too


def test_confirming_the_default_makes_kpis_of_the_department_goals_owned_by_the_owners(
    client, previewed
):
    confirmed = client.post(f"{job_url(previewed)}confirm/")
    assert confirmed.status_code == 302
    assert Goal.objects.count() == 6 and not Goal.objects.filter(level="individual").exists()
    assert sorted(Kpi.objects.values_list("name", "goal__title", "owner__user__username")) == [
        ("Generate 100 qualified leads/month", "Launch 3 regional campaigns", "lee"),
        ("Resolve support tickets within 4 hrs avg", "Reduce average response time by 20%", "sam"),
        ("Submit 2 ideas per quarter", "Host 6 innovation labs per year", "ivy"),
    ]
    done = said(parse(client.get(job_url(previewed))))
    assert "6 goals and 3 KPIs created" in done and AS_KPI in done


def test_the_choice_previews_again_in_place_with_htmx_and_back(client, previewed):
    piece = client.post(job_url(previewed), {"individual_kpi": "goal"}, headers=HTMX)
    assert piece.status_code == 200
    body = piece.content.decode()
    assert body.lstrip().startswith('<div id="job-state">')
    assert radios(parse(piece)) == {"kpi": False, "goal": True}
    back = client.post(job_url(previewed), {"individual_kpi": "kpi"}, headers=HTMX)
    assert radios(parse(back)) == {"kpi": True, "goal": False}
    assert AS_KPI in said(parse(back))


@pytest.mark.parametrize("choice", ["", "both"])
def test_an_unknown_choice_is_a_400_and_the_preview_stays_as_it_was(client, previewed, choice):
    preview = ImportJob.objects.get().preview
    response = client.post(job_url(previewed), {"individual_kpi": choice})
    assert response.status_code == 400
    assert "Must be one of: kpi, goal." in said(parse(response))
    assert ImportJob.objects.get().preview == preview


def test_only_leaders_and_admins_choose_and_nothing_changes(client, innovation, previewed):
    preview = ImportJob.objects.get().preview
    client.force_login(innovation.manager.user)
    response = client.post(job_url(previewed), {"individual_kpi": "goal"})
    assert response.status_code == 403
    assert ImportJob.objects.get().preview == preview


def test_a_sheet_with_a_kpi_column_is_not_asked(client, innovation):
    client.force_login(innovation.leader.user)
    text = "Strategic goal,Department goal,Department,KPI,Unit,Baseline,Target\n" + (
        "Improve customer experience,Reduce average response time by 20%,Customer Support,"
        "First response time,hours,10,8\n"
    )
    upload = SimpleUploadedFile("plain.csv", text.encode())
    client.post(f"/cycles/{innovation.cycle.pk}/import/", {"file": upload})
    job = ImportJob.objects.get()
    page = parse(client.get(job_url(job)))
    assert radios(page) == {}
    assert page.find(id="individual-kpi-applied") is None
    response = client.post(job_url(job), {"individual_kpi": "goal"})
    assert response.status_code == 400
    assert "The file has no “Individual KPI” cells to read." in said(parse(response))
