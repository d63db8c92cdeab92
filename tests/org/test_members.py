"""People (SPEC §8.1): the organization keeps an admin, and a deactivated member can
neither sign in nor use a token — through the service, the API and the pages."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from rest_framework.test import APIClient

from org.models import ApiToken, Member
from org.services import member_update
from org.tokens import token_issue

from ..api.helpers import API, client_for, unchanged

pytestmark = pytest.mark.django_db


def roles() -> dict[str, tuple[str, bool]]:
    return {m.user.username: (m.role, m.is_active) for m in Member.objects.select_related("user")}


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"role": "leader"}, "role"), ({"is_active": False}, "is_active")],
)
def test_the_last_admin_can_neither_step_down_nor_be_deactivated(acme, changes, field):
    before = roles()
    with pytest.raises(ValidationError) as caught:
        member_update(actor=acme.admin, member=acme.admin, **changes)
    assert "needs an admin" in caught.value.message_dict[field][0]
    assert roles() == before
    assert (acme.admin.role, acme.admin.is_active) == ("admin", True)  # the instance too


def test_with_a_second_admin_the_first_may_step_down(acme):
    member_update(actor=acme.admin, member=acme.leader, role="admin")
    member_update(actor=acme.leader, member=acme.admin, role="member")
    assert Member.objects.get(pk=acme.admin.pk).role == "member"
    # …and now the second is the last one
    with pytest.raises(ValidationError):
        member_update(actor=acme.leader, member=acme.leader, is_active=False)


@pytest.mark.django_db(transaction=True)
def test_two_admins_demoting_each_other_at_once_leave_one_admin(acme, together, require_postgres):
    member_update(actor=acme.admin, member=acme.leader, role="admin")
    first, second = acme.admin.pk, acme.leader.pk

    def demote(actor_pk, member_pk):
        def call():  # each request reads its own rows, as two web requests would
            actor, member = Member.objects.get(pk=actor_pk), Member.objects.get(pk=member_pk)
            try:
                member_update(actor=actor, member=member, role="member")
            except ValidationError:  # the other is the last admin
                return "refused"
            except PermissionDenied:  # read after the other demoted them: no admin any more
                return "refused"
            return "done"

        return call

    outcome = together([demote(first, second), demote(second, first)])
    assert sorted(outcome) == ["done", "refused"]
    assert Member.objects.filter(organization=acme.org, role="admin", is_active=True).count() == 1


def test_the_api_refuses_to_demote_the_last_admin(acme):
    with unchanged():
        response = client_for(acme.admin).patch(
            f"{API}/members/{acme.admin.pk}/", {"role": "member"}, format="json"
        )
    assert response.status_code == 400
    assert "needs an admin" in response.json()["role"][0]


def test_the_people_page_refuses_to_deactivate_the_last_admin(client, acme):
    client.force_login(acme.admin.user)
    prefix = f"m{acme.admin.pk}"
    response = client.post(
        f"/people/{acme.admin.pk}/",
        {f"{prefix}-role": "admin", f"{prefix}-department": "", f"{prefix}-manager": ""},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 400
    assert b"needs an admin" in response.content
    assert Member.objects.get(pk=acme.admin.pk).is_active


# ---------------------------------------------------------------- deactivated members


def deactivate(acme, member: Member) -> None:
    member_update(actor=acme.admin, member=member, is_active=False)


def test_a_deactivated_member_cannot_sign_in(client, acme):
    acme.member.user.set_password("pw-sam-2027")
    acme.member.user.save()
    deactivate(acme, acme.member)
    response = client.post("/accounts/login/", {"username": "sam", "password": "pw-sam-2027"})
    assert response.status_code == 200
    assert b"correct username and password" in response.content
    assert client.get("/").status_code == 302  # still signed out


def test_a_deactivated_member_gets_no_token_and_his_token_stops_working(acme):
    acme.member.user.set_password("pw-sam-2027")
    acme.member.user.save()
    _token, key = token_issue(acme.member.user)
    deactivate(acme, acme.member)
    anonymous = APIClient()
    response = anonymous.post(
        f"{API}/auth/token/", {"username": "sam", "password": "pw-sam-2027"}, format="json"
    )
    assert response.status_code == 400
    caller = APIClient()
    caller.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert caller.get(f"{API}/me/").status_code == 401  # revoked with the deactivation
    assert not ApiToken.objects.filter(user=acme.member.user).exists()


def test_a_reactivated_member_signs_in_again(client, acme):
    acme.member.user.set_password("pw-sam-2027")
    acme.member.user.save()
    deactivate(acme, acme.member)
    member_update(actor=acme.admin, member=acme.member, is_active=True)
    assert client.login(request=HttpRequest(), username="sam", password="pw-sam-2027")


def test_an_account_without_any_membership_still_signs_in(client, django_user_model):
    """Those who operate the installation (Django admin) belong to no organization."""
    django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-2027")
    assert client.login(request=HttpRequest(), username="root", password="pw-root-2027")


def test_a_member_deactivated_while_signed_in_is_signed_out(client, acme):
    client.force_login(acme.member.user)
    assert client.get("/").status_code == 200
    deactivate(acme, acme.member)
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
