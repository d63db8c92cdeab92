"""The management commands of SPEC §7: createorg, demo, rollup."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from goals.models import Goal
from kpis.models import Kpi, KpiUpdate
from org.models import Member, Organization
from reviews.models import Review

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_createorg_makes_the_organization_and_its_first_admin():
    output = run(
        "createorg",
        "Initech",
        "--admin",
        "bill",
        "--email",
        "b@initech.example",
        "--password",
        "s3cret-passphrase",
    )
    member = Member.objects.get(user__username="bill")
    assert member.organization.name == "Initech"
    assert member.role == "admin"
    assert member.user.check_password("s3cret-passphrase")
    assert "Initech" in output


def test_createorg_refuses_a_taken_name_and_creates_nothing():
    run("createorg", "Initech", "--admin", "bill", "--password", "pw-one-long-enough-1")
    with pytest.raises(CommandError, match="exists already"):
        run("createorg", "Initech", "--admin", "peter", "--password", "pw-two-long-enough-2")
    assert not get_user_model().objects.filter(username="peter").exists()
    assert Organization.objects.count() == 1


def test_createorg_refuses_a_password_the_reset_form_would_refuse():
    with pytest.raises(CommandError, match="password: .*too common"):
        run("createorg", "Initech", "--admin", "bill", "--password", "12345678")
    assert not Organization.objects.exists()
    assert not get_user_model().objects.filter(username="bill").exists()


def test_demo_builds_acme_with_the_spec_logins_and_is_idempotent():
    output = run("demo")
    counts = (Goal.objects.count(), Kpi.objects.count(), KpiUpdate.objects.count())
    run("demo")
    assert (Goal.objects.count(), Kpi.objects.count(), KpiUpdate.objects.count()) == counts
    assert counts[0] == 13 and counts[1] == 13 and counts[2] > 13

    roles = dict(Member.objects.values_list("user__username", "role"))
    assert roles == {
        "ada": "admin",
        "lena": "leader",
        "max": "manager",
        "mia": "manager",
        "ian": "manager",
        "sam": "member",
        "lee": "member",
        "ivy": "member",
        "rey": "reviewer",
    }
    departments = dict(Member.objects.values_list("user__username", "department__name"))
    assert departments["max"] == departments["sam"] == "Customer Support"
    assert departments["mia"] == departments["lee"] == "Marketing"
    assert departments["ian"] == departments["ivy"] == "Innovation"
    users = get_user_model().objects.all()
    assert all(user.check_password("cascade-demo") for user in users)
    assert "cascade-demo" in output and "rey" in output

    titles = set(Goal.objects.values_list("title", flat=True))
    assert {
        "Improve customer experience",
        "Reduce average response time by 20%",
        "Resolve support tickets within 4 hrs avg",
        "Expand market presence",
        "Launch 3 regional campaigns",
        "Generate 100 qualified leads/month",
        "Strengthen innovation culture",
        "Host 6 innovation labs per year",
        "Submit 2 ideas per quarter",
    } <= titles
    assert all(goal.rationale for goal in Goal.objects.filter(level="strategic"))
    # Lee and Ivy have not checked in yet (early in the cycle's first quarter: at all).
    unreported = Kpi.objects.filter(updates__isnull=True)
    assert set(unreported.values_list("owner__user__username", flat=True)) == {"lee", "ivy"}
    # Departments carry objectives beyond their own (the dashboard's heatmap).
    spread = Goal.objects.filter(level="department").values_list(
        "department__name", "parent__title"
    )
    assert len(set(spread)) == 7 and len({department for department, _ in spread}) == 3
    review = Review.objects.get(title="Leadership check-in")
    assert review.state == "completed" and review.completed_at.date() < dt.date(2027, 3, 15)


def test_rollup_command_repairs_every_cycle():
    run("demo")
    expected = dict(Goal.objects.values_list("id", "progress"))
    Goal.objects.update(progress=0)
    output = run("rollup")
    assert dict(Goal.objects.values_list("id", "progress")) == pytest.approx(expected)
    assert "Acme" in output


def test_rollup_counts_real_drift_and_not_float_noise():
    run("demo")
    run("rollup")
    assert "Roll-up done: 0 rows changed." in run("rollup")  # clean data: nothing to say
    goal = Goal.objects.filter(progress__gt=0).first()
    kpi = Kpi.objects.filter(progress__gt=0).first()
    Goal.objects.filter(pk=goal.pk).update(progress=goal.progress + 1e-12)
    Kpi.objects.filter(pk=kpi.pk).update(progress=kpi.progress * (1 - 1e-14))
    assert "Roll-up done: 0 rows changed." in run("rollup")  # noise is not drift
    Goal.objects.filter(pk=goal.pk).update(progress=goal.progress + 0.5)
    assert "Roll-up done: 1 rows changed." in run("rollup")
    assert Goal.objects.get(pk=goal.pk).progress == pytest.approx(goal.progress)


def test_rollup_check_writes_nothing_and_names_the_drifting_rows():
    run("demo")
    assert "No drift: every stored figure is as computed." in run("rollup", "--check")
    goal = Goal.objects.filter(progress__gt=0, state="active").first()
    Goal.objects.filter(pk=goal.pk).update(progress=goal.progress + 7)
    stored = dict(Goal.objects.values_list("id", "progress"))
    out = io.StringIO()
    with pytest.raises(CommandError, match="1 rows drift from their inputs"):
        call_command("rollup", "--check", stdout=out)
    assert f"  goal {goal.pk}: stored {goal.progress + 7}" in out.getvalue()
    assert dict(Goal.objects.values_list("id", "progress")) == stored  # nothing repaired
    run("rollup")
    assert "No drift" in run("rollup", "--check")


@time_machine.travel(dt.datetime(2026, 11, 26, 12, tzinfo=dt.UTC), tick=False)
def test_demo_dashboard_warns_only_about_the_kpis_of_the_people_not_checked_in_yet(client):
    """Late in a quarter every demo KPI has a value this quarter but Lee's and Ivy's:
    the dashboard names those two, and offers to remind them."""
    run("demo")
    client.force_login(get_user_model().objects.get(username="lena"))
    page = client.get("/").content.decode()
    assert "2 KPIs with no update in 2026-Q4" in page
    assert "(Lee Larsen)" in page and "(Ivy Ibsen)" in page
    assert page.count("Remind now") == 2
    assert "Leadership check-in</a> on Nov 5" in page  # movement counts since it


def database() -> dict:
    User = get_user_model()
    return {
        "users": list(User.objects.order_by("pk").values()),
        "members": list(Member.objects.order_by("pk").values()),
        "organizations": list(Organization.objects.order_by("pk").values()),
        "goals": Goal.objects.count(),
    }


def test_demo_stops_and_changes_nothing_when_a_demo_login_belongs_to_someone_else():
    """SPEC §8.1: `max` is a real person of a real organization here."""
    run("createorg", "Initech", "--admin", "max", "--password", "his-own-pass-1")
    before = database()
    with pytest.raises(CommandError, match="max") as caught:
        run("demo")
    assert "nothing was changed" in str(caught.value)
    assert database() == before
    assert get_user_model().objects.get(username="max").check_password("his-own-pass-1")


def test_demo_stops_when_a_demo_login_exists_outside_any_organization():
    get_user_model().objects.create_user("ada", password="operators-pass-1")  # not Acme's
    before = database()
    with pytest.raises(CommandError, match="ada"):
        run("demo")
    assert database() == before
    ada = get_user_model().objects.get(username="ada")
    assert not (ada.is_staff or ada.is_superuser)


def test_demo_run_again_keeps_a_changed_password_and_the_rights_it_gave():
    run("demo")
    User = get_user_model()
    max_ = User.objects.get(username="max")
    max_.set_password("max-chose-this-1")
    max_.save()
    ada = User.objects.get(username="ada")
    ada.is_superuser = ada.is_staff = False  # an operator took her rights away
    ada.save()
    run("demo")
    assert User.objects.get(username="max").check_password("max-chose-this-1")
    ada.refresh_from_db()
    assert not (ada.is_staff or ada.is_superuser)


def test_createorg_refuses_a_taken_username_and_creates_nothing():
    run("createorg", "Initech", "--admin", "bill", "--password", "pw-one-long-enough-1")
    before = database()
    with pytest.raises(CommandError, match="taken"):
        run("createorg", "Globex", "--admin", "bill", "--password", "pw-two-long-enough-2")
    assert database() == before
    assert get_user_model().objects.get(username="bill").check_password("pw-one-long-enough-1")


def test_bench_seed_builds_an_organization_whose_stored_figures_match_a_recount(
    require_postgres,
):
    """bin/bench seeds with COPY (PostgreSQL): a field added to a model must reach it."""
    run("bench_seed", "--people", "60")
    org = Organization.objects.get(name="Bench 60")
    assert Member.objects.filter(organization=org).count() == 60
    kpis = Kpi.objects.filter(organization=org)
    assert kpis.exists() and KpiUpdate.objects.filter(kpi__organization=org).exists()
    assert not kpis.filter(current__isnull=True).exists()  # rolled up
    assert "Roll-up done: 0 rows changed." in run("rollup")
