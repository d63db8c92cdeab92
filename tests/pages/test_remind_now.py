"""*Remind now* on the dashboard (SPEC §9.3): leaders and admins remind anyone who owes a
check-in for the period shown, managers the people of their own departments; each
person gets at most one reminder (one email, one notification) a day, however often
or concurrently it is asked for."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied

from cycles.summary import shown_period
from goals.services import goal_create
from kpis.models import CheckinNudge
from kpis.reminders import checkin_emails_resend, checkin_remind_now
from kpis.services import kpi_create, kpi_record_value
from org.models import Notification

from .. import mail as refusing

HTMX = {"HX-Request": "true"}
URL = "/dashboard/remind/"


@pytest.fixture
def owing(acme, tree):
    """Besides the tree's KPIs (lena's, max's and sam's, none with a value yet): a
    Marketing goal with lee's KPI, and a Support Tier 2 team goal with tia's."""
    lead = acme.leader
    marketing = goal_create(
        actor=lead,
        cycle=acme.cycle,
        level="department",
        title="Launch campaigns",
        parent=tree.strategic,
        department=acme.marketing,
        owner=acme.marketing_manager,
    )
    kpi_create(
        actor=lead,
        goal=marketing,
        name="Campaigns",
        unit="campaigns",
        baseline=0,
        target=3,
        owner=acme.marketing_member,
    )
    team = goal_create(
        actor=lead,
        cycle=acme.cycle,
        level="team",
        title="Tier 2 backlog",
        parent=tree.department,
        department=acme.tier2,
        owner=acme.manager,
    )
    kpi_create(
        actor=lead,
        goal=team,
        name="Escalations",
        unit="%",
        baseline=0,
        target=100,
        owner=acme.tier2_member,
    )
    return tree


def remind(client, acme, department, **headers):
    return client.post(
        URL,
        {"cycle": acme.cycle.pk, "department": department.pk if department else "none"},
        headers=headers,
    )


def nothing_sent() -> bool:
    return (
        not mail.outbox
        and not Notification.objects.filter(kind="checkin_reminder").exists()
        and not CheckinNudge.objects.exists()
    )


# Who may remind the people of which department (or the people in none).
LEADERSHIP = frozenset({"admin", "leader"})
REMIND = {
    "support": LEADERSHIP | {"manager"},
    "tier2": LEADERSHIP | {"manager"},  # below Support: in max's scope
    "marketing": LEADERSHIP,
    "no_department": LEADERSHIP,
}
TABLE = [
    pytest.param(
        role,
        place,
        role in roles,
        id=f"{role}_{'may' if role in roles else 'may_not'}_remind_{place}",
    )
    for place, roles in REMIND.items()
    for role in ("admin", "leader", "manager", "reviewer", "member")
]


@pytest.mark.parametrize(("role", "place", "allowed"), TABLE)
def test_who_may_remind_whom(acme, owing, role, place, allowed, django_capture_on_commit_callbacks):
    department = None if place == "no_department" else getattr(acme, place)

    def remind_now():
        return checkin_remind_now(
            actor=getattr(acme, role),  # acme.admin, acme.leader, …
            cycle=acme.cycle,
            period=shown_period(acme.cycle),
            department_id=department.pk if department else None,
        )

    with django_capture_on_commit_callbacks(execute=True):
        if allowed:
            assert remind_now().reminded  # someone there owes a value
        else:
            with pytest.raises(PermissionDenied):
                remind_now()
    assert nothing_sent() is not allowed


def test_reminding_twice_sends_each_person_one_email_and_one_notification(
    client, acme, owing, django_capture_on_commit_callbacks
):
    client.force_login(acme.leader.user)
    with django_capture_on_commit_callbacks(execute=True):
        first = remind(client, acme, acme.support, **HTMX)
    assert first.status_code == 200
    page = first.content.decode()
    assert "Reminded 2 people (max, sam) in Customer Support." in page
    assert sorted(message.to[0] for message in mail.outbox) == sorted(
        [acme.manager.user.email, acme.member.user.email]
    )
    sam_email = next(m for m in mail.outbox if m.to == [acme.member.user.email])
    assert "Average ticket resolution time" in sam_email.body
    assert "First response time" not in sam_email.body  # max's, not his
    assert "2027-Q1" in sam_email.subject

    with django_capture_on_commit_callbacks(execute=True):
        second = remind(client, acme, acme.support, **HTMX)
    assert "2 people (max, sam) already reminded today: not again." in second.content.decode()
    assert "Reminded" not in second.content.decode()
    assert len(mail.outbox) == 2
    assert Notification.objects.filter(kind="checkin_reminder").count() == 2
    assert set(
        Notification.objects.filter(kind="checkin_reminder").values_list("member", flat=True)
    ) == {acme.manager.pk, acme.member.pk}


def test_the_next_day_the_same_people_can_be_reminded_again(
    acme, owing, django_capture_on_commit_callbacks, time_machine
):
    period = shown_period(acme.cycle)
    with django_capture_on_commit_callbacks(execute=True):
        checkin_remind_now(
            actor=acme.leader, cycle=acme.cycle, period=period, department_id=acme.marketing.pk
        )
    time_machine.move_to(dt.datetime(2027, 3, 16, 12, tzinfo=dt.UTC))
    with django_capture_on_commit_callbacks(execute=True):
        again = checkin_remind_now(
            actor=acme.leader, cycle=acme.cycle, period=period, department_id=acme.marketing.pk
        )
    assert [m.pk for m in again.reminded] == [acme.marketing_member.pk]
    assert len(mail.outbox) == 2


@pytest.mark.django_db(transaction=True)
def test_two_reminders_at_the_same_instant_send_one(acme, owing, together, require_postgres):
    period = shown_period(acme.cycle)

    def click():
        return checkin_remind_now(
            actor=acme.leader, cycle=acme.cycle, period=period, department_id=acme.support.pk
        )

    results = together([click, click])
    reminded = sorted(m.pk for result in results for m in result.reminded)
    already = sorted(m.pk for result in results for m in result.already)
    assert reminded == already == sorted([acme.manager.pk, acme.member.pk])
    assert sorted(message.to[0] for message in mail.outbox) == sorted(
        [acme.manager.user.email, acme.member.user.email]
    )
    assert Notification.objects.filter(kind="checkin_reminder").count() == 2
    assert CheckinNudge.objects.count() == 2


def test_a_manager_reminds_his_departments_and_is_refused_outside_them(
    client, acme, owing, django_capture_on_commit_callbacks
):
    client.force_login(acme.manager.user)
    with django_capture_on_commit_callbacks(execute=True):
        refused = remind(client, acme, acme.marketing, **HTMX)
        refused_plain = remind(client, acme, acme.marketing)
        no_department = remind(client, acme, None, **HTMX)
    assert refused.status_code == refused_plain.status_code == no_department.status_code == 403
    assert (
        "You may not remind the people of this department. You may remind the people of "
        "Customer Support (and the department below it: Support Tier 2)."
    ) in refused.headers["HX-Trigger"]
    assert nothing_sent()

    with django_capture_on_commit_callbacks(execute=True):
        below = remind(client, acme, acme.tier2, **HTMX)  # Support Tier 2 is below Support
    assert below.status_code == 200
    assert [message.to for message in mail.outbox] == [[acme.tier2_member.user.email]]


def test_only_whoever_may_remind_sees_the_button_on_the_rows_they_may_remind(client, acme, owing):
    def buttons(member) -> set[str]:
        client.force_login(member.user)
        page = client.get("/").content.decode()
        return {part.split('"')[0] for part in page.split('name="department" value="')[1:]}

    everyone = {str(acme.support.pk), str(acme.tier2.pk), str(acme.marketing.pk), "none"}
    assert buttons(acme.leader) == everyone
    assert buttons(acme.admin) == everyone
    assert buttons(acme.manager) == {str(acme.support.pk), str(acme.tier2.pk)}
    assert buttons(acme.member) == set()
    assert buttons(acme.reviewer) == set()


def test_a_member_is_refused_and_nothing_is_sent(
    client, acme, owing, django_capture_on_commit_callbacks
):
    client.force_login(acme.member.user)
    with django_capture_on_commit_callbacks(execute=True):
        response = remind(client, acme, acme.support)
    assert response.status_code == 403
    assert nothing_sent()


def test_without_javascript_the_answer_comes_back_on_the_dashboard(
    client, acme, owing, django_capture_on_commit_callbacks
):
    client.force_login(acme.leader.user)
    with django_capture_on_commit_callbacks(execute=True):
        response = remind(client, acme, acme.marketing)
    assert response.status_code == 302
    assert response.url == f"/?cycle={acme.cycle.pk}#compliance"
    page = client.get(response.url).content.decode()
    assert "Reminded 1 person (lee) in Marketing." in page
    assert len(mail.outbox) == 1


def test_a_person_who_checked_in_meanwhile_is_not_reminded(
    client, acme, owing, django_capture_on_commit_callbacks
):
    kpi_record_value(actor=acme.member, kpi=owing.individual_kpi, value=5, date=dt.date(2027, 3, 1))
    client.force_login(acme.leader.user)
    with django_capture_on_commit_callbacks(execute=True):
        page = remind(client, acme, acme.support, **HTMX).content.decode()
    assert "Reminded 1 person (" in page
    assert [message.to for message in mail.outbox] == [[acme.manager.user.email]]


def test_someone_who_turned_reminder_emails_off_gets_the_notification_only(
    client, acme, owing, django_capture_on_commit_callbacks
):
    acme.marketing_member.reminder_emails = False
    acme.marketing_member.save()
    client.force_login(acme.leader.user)
    with django_capture_on_commit_callbacks(execute=True):
        remind(client, acme, acme.marketing, **HTMX)
    assert not mail.outbox
    note = Notification.objects.get(kind="checkin_reminder")
    assert note.member == acme.marketing_member and "2027-Q1" in note.title


def test_a_closed_cycle_refuses_with_the_reason_and_sends_nothing(
    client, acme, owing, django_capture_on_commit_callbacks
):
    acme.cycle.state = "closed"
    acme.cycle.save()
    client.force_login(acme.leader.user)
    with django_capture_on_commit_callbacks(execute=True):
        response = remind(client, acme, acme.support, **HTMX)
    assert response.status_code == 400
    assert "closed" in response.content.decode()
    assert nothing_sent()
    assert 'name="department"' not in client.get("/").content.decode()  # no button


def test_another_organizations_cycle_or_department_is_not_found(client, acme, owing, outsider):
    client.force_login(acme.leader.user)
    foreign_cycle = client.post(URL, {"cycle": outsider.cycle.pk, "department": "none"})
    foreign_department = client.post(
        URL, {"cycle": acme.cycle.pk, "department": outsider.department.pk}
    )
    garbage = client.post(URL, {"cycle": "x", "department": "y"})
    assert foreign_cycle.status_code == foreign_department.status_code == 404
    assert garbage.status_code == 404
    assert nothing_sent()


def test_anonymous_is_sent_to_log_in_and_a_get_is_not_allowed(client, acme, owing):
    response = client.post(URL, {"cycle": acme.cycle.pk, "department": "none"})
    assert response.status_code == 302 and "/accounts/login/" in response.url
    client.force_login(acme.leader.user)
    assert client.get(URL).status_code == 405
    assert nothing_sent()


def test_an_email_the_mail_server_refused_goes_out_later_the_same_day_and_once(
    acme, owing, settings, django_capture_on_commit_callbacks, time_machine
):
    settings.EMAIL_BACKEND = "tests.mail.RefusingBackend"
    refusing.REFUSED.clear()
    refusing.REFUSED.add(acme.marketing_member.user.email)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            done = checkin_remind_now(
                actor=acme.leader,
                cycle=acme.cycle,
                period=shown_period(acme.cycle),
                department_id=acme.marketing.pk,
            )
        assert [m.pk for m in done.reminded] == [acme.marketing_member.pk]
        nudge = CheckinNudge.objects.get()
        assert (nudge.email_due, nudge.email_attempts, nudge.emailed_at) == (True, 1, None)
        assert not mail.outbox
        refusing.REFUSED.clear()
        time_machine.move_to(dt.datetime(2027, 3, 15, 12, 10, tzinfo=dt.UTC))  # after its backoff
        assert checkin_emails_resend() == 1
        assert checkin_emails_resend() == 0  # never twice
    finally:
        refusing.REFUSED.clear()
    assert [message.to for message in mail.outbox] == [[acme.marketing_member.user.email]]
    assert "Campaigns" in mail.outbox[0].body
    assert Notification.objects.filter(kind="checkin_reminder").count() == 1


def test_when_everyone_checked_in_meanwhile_nothing_is_sent_and_the_answer_says_so(
    client, acme, owing, django_capture_on_commit_callbacks
):
    day = dt.date(2027, 3, 1)
    kpi_record_value(actor=acme.member, kpi=owing.individual_kpi, value=5, date=day)
    kpi_record_value(actor=acme.manager, kpi=owing.department_kpi, value=9, date=day)
    client.force_login(acme.leader.user)
    with django_capture_on_commit_callbacks(execute=True):
        page = remind(client, acme, acme.support, **HTMX).content.decode()
    assert "Nobody in Customer Support owes a check-in any more: no reminder sent." in page
    assert nothing_sent()


def test_a_leader_reminds_the_people_in_no_department(
    client, acme, owing, django_capture_on_commit_callbacks
):
    client.force_login(acme.admin.user)
    with django_capture_on_commit_callbacks(execute=True):
        page = remind(client, acme, None, **HTMX).content.decode()
    assert "Reminded 1 person (lena) among the people in no department." in page
    assert [message.to for message in mail.outbox] == [[acme.leader.user.email]]
