"""Two-factor authentication (SPEC §9.1): enrolment, the code after the password,
recovery codes, the lockout, the organization's policy, tokens untouched."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import Entry
from identity import jit
from org.models import MfaPolicy
from tests.api.helpers import client_for
from tests.conftest import AnswerClient
from tests.factories import MemberFactory

from .mfa_helpers import code_for, enrol, secret_of, verify, wrong_code_for

PASSWORD = "pw-cascade-test"


def signed_in(member, password: str = PASSWORD) -> AnswerClient:
    """A client signed in with the password on the login page (not yet the code)."""
    client = AnswerClient()
    response = client.post(
        "/accounts/login/", {"username": member.user.username, "password": password}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return client


def actions(**filters) -> list[str]:
    return list(Entry.objects.filter(**filters).order_by("id").values_list("action", flat=True))


def set_policy(acme, policy: str) -> None:
    acme.org.mfa_policy = policy
    acme.org.save(update_fields=["mfa_policy"])


# -- Enrolment ----------------------------------------------------------------------------


def test_enrolment_shows_a_qr_code_and_the_secret_and_confirms_only_with_a_right_code(client, acme):
    client.force_login(acme.member.user)
    page = client.get("/mfa/setup/")
    assert page.status_code == 200
    device = TOTPDevice.objects.get(user=acme.member.user)
    assert not device.confirmed
    html = page.content.decode()
    assert re.search(r"<svg[^>]*viewBox", html) and "<path" in html
    assert " style=" not in html.split("<figure", 1)[1].split("</figure>", 1)[0]
    shown = re.search(r'id="mfa-secret">([A-Z2-7 ]+)<', html).group(1).replace(" ", "")
    assert shown == secret_of(device)

    wrong = client.post("/mfa/setup/", {"code": wrong_code_for(device)})
    assert wrong.status_code == 400
    assert "That code is not right" in wrong.content.decode()
    device.refresh_from_db()
    assert not device.confirmed and not StaticDevice.objects.exists()
    assert "mfa.enabled" not in actions()

    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=3), tick=True):
        right = client.post("/mfa/setup/", {"code": code_for(device)})
    assert right.status_code == 200
    device.refresh_from_db()
    assert device.confirmed
    codes = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", right.content.decode())
    assert len(codes) == 10
    assert sorted(codes) == sorted(
        StaticToken.objects.filter(device__user=acme.member.user).values_list("token", flat=True)
    )
    assert "no-store" in right["Cache-Control"]
    assert actions(action="mfa.enabled", actor_id=acme.member.pk) == ["mfa.enabled"]
    # This session is verified: it goes on at once.
    assert client.get("/").status_code == 200


def test_a_right_code_too_soon_after_a_wrong_one_at_enrolment_says_to_wait(client, acme):
    client.force_login(acme.member.user)
    client.get("/mfa/setup/")
    device = TOTPDevice.objects.get(user=acme.member.user)
    start = dt.datetime.now(dt.UTC)
    with time_machine.travel(start, tick=False):
        client.post("/mfa/setup/", {"code": wrong_code_for(device)})
        soon = client.post("/mfa/setup/", {"code": code_for(device)})
    assert soon.status_code == 400
    assert "wait 1 second, then try again" in soon.content.decode()
    device.refresh_from_db()
    assert not device.confirmed
    with time_machine.travel(start + dt.timedelta(seconds=2), tick=False):
        assert client.post("/mfa/setup/", {"code": code_for(device)}).status_code == 200


def test_enabling_ends_the_persons_other_sessions_and_keeps_this_one(acme):
    here, elsewhere = signed_in(acme.member), signed_in(acme.member)
    assert elsewhere.get("/").status_code == 200
    here.get("/mfa/setup/")
    device = TOTPDevice.objects.get(user=acme.member.user)
    assert here.post("/mfa/setup/", {"code": code_for(device)}).status_code == 200
    assert here.get("/").status_code == 200
    ended = elsewhere.get("/")
    assert ended.status_code == 302 and ended["Location"].startswith("/accounts/login/")


def test_the_enrolment_page_costs_the_same_queries_for_a_small_and_a_large_organization(
    client, acme, django_assert_max_num_queries
):
    client.force_login(acme.admin.user)
    client.get("/mfa/setup/")  # the pending device is made once
    with django_assert_max_num_queries(12) as small:
        assert client.get("/mfa/setup/").status_code == 200
    for _ in range(30):
        member = MemberFactory(organization=acme.org)
        enrol(member.user)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get("/mfa/setup/").status_code == 200
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get("/mfa/").status_code == 200


def test_the_code_page_costs_the_same_queries_at_any_size(acme, django_assert_max_num_queries):
    enrol(acme.member.user)
    client = signed_in(acme.member)
    with django_assert_max_num_queries(12) as small:
        assert client.get("/mfa/verify/?next=/").status_code == 200
    for _ in range(30):
        enrol(MemberFactory(organization=acme.org).user)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get("/mfa/verify/?next=/").status_code == 200


def test_new_recovery_codes_replace_the_old_ones(acme):
    device, old = enrol(acme.member.user)
    client = signed_in(acme.member)
    verify(client, device)
    page = client.post("/mfa/recovery-codes/")
    assert page.status_code == 200
    new = re.findall(r"<li><code>([a-z2-7]{8})</code></li>", page.content.decode())
    assert len(new) == 10 and not set(new) & set(old)
    left = set(
        StaticToken.objects.filter(device__user=acme.member.user).values_list("token", flat=True)
    )
    assert left == set(new)
    assert "mfa.recovery_codes_regenerated" in actions(actor_id=acme.member.pk)


# -- Signing in ---------------------------------------------------------------------------


def test_a_person_with_a_device_reaches_nothing_before_the_code(acme, tree):
    device, _codes = enrol(acme.member.user)
    client = signed_in(acme.member)
    for path in ("/", f"/goals/{tree.individual.pk}/", "/mfa/", "/notifications/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/mfa/verify/?next="), path
    api = client.get("/api/v1/goals/")
    assert api.status_code == 403 and "code" in api.json()["detail"]
    htmx = client.post("/notifications/read-all/", headers={"HX-Request": "true"})
    assert htmx.status_code == 403 and htmx["HX-Redirect"] == "/mfa/verify/"
    # The code page itself, and signing out, stay open.
    assert client.get("/mfa/verify/?next=/").status_code == 200
    verify(client, device)
    assert client.get(f"/goals/{tree.individual.pk}/").status_code == 200
    assert client.get("/api/v1/goals/").status_code == 200


def test_the_code_page_sends_back_where_the_person_was_going_and_nowhere_else(acme):
    device, _codes = enrol(acme.member.user)
    client = signed_in(acme.member)
    response = client.post(
        "/mfa/verify/", {"code": code_for(device), "next": "https://evil.example/"}
    )
    assert response.status_code == 302 and response["Location"] == "/"
    client = signed_in(acme.member)
    response = client.post("/mfa/verify/", {"code": code_for(device), "next": "/notifications/"})
    assert response["Location"] == "/notifications/"


def test_a_wrong_code_is_refused_and_audited(acme):
    device, _codes = enrol(acme.member.user)
    client = signed_in(acme.member)
    response = client.post("/mfa/verify/", {"code": wrong_code_for(device), "next": "/"})
    assert response.status_code == 400
    assert "That code is not right" in response.content.decode()
    assert client.get("/")["Location"].startswith("/mfa/verify/")
    assert actions(actor_id=acme.member.pk)[-1] == "signin.mfa_failed"


def test_a_recovery_code_signs_in_once(acme):
    _device, codes = enrol(acme.member.user)
    client = signed_in(acme.member)
    typed = f"{codes[3][:4].upper()}-{codes[3][4:]}"  # as people type it
    assert client.post("/mfa/verify/", {"code": typed, "next": "/"}).status_code == 302
    assert client.get("/").status_code == 200
    assert "signin.recovery_code_used" in actions(actor_id=acme.member.pk)
    again = signed_in(acme.member)
    refused = again.post("/mfa/verify/", {"code": codes[3], "next": "/"})
    assert refused.status_code == 400
    assert StaticToken.objects.filter(device__user=acme.member.user).count() == 9


def test_wrong_codes_sign_out_and_lock_sign_in_at_the_limit(acme):
    device, _codes = enrol(acme.member.user)
    client = signed_in(acme.member)
    start = dt.datetime.now(dt.UTC)
    limit = settings.AXES_FAILURE_LIMIT
    for n in range(1, limit + 1):
        # django-otp's own slow-down (1 s, 2 s, 4 s …) has passed before each try.
        with time_machine.travel(start + dt.timedelta(seconds=20 * n), tick=False):
            response = client.post("/mfa/verify/", {"code": wrong_code_for(device), "next": "/"})
        if n < limit:
            assert response.status_code == 400, n
    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.content.decode()
    assert actions(actor_id=acme.member.pk).count("signin.mfa_failed") == limit
    assert "signin.locked_out" in actions(actor_id=acme.member.pk)
    # Signed out: the session reaches nothing.
    assert client.get("/")["Location"].startswith("/accounts/login/")
    # And the right password is refused too while the lockout lasts.
    with time_machine.travel(start + dt.timedelta(seconds=20 * limit + 60), tick=False):
        locked = AnswerClient().post(
            "/accounts/login/", {"username": acme.member.user.username, "password": PASSWORD}
        )
    assert locked.status_code == 429


def test_an_attempt_during_djangos_otp_slow_down_is_not_counted(acme):
    device, _codes = enrol(acme.member.user)
    client = signed_in(acme.member)
    start = dt.datetime.now(dt.UTC)
    with time_machine.travel(start, tick=False):
        client.post("/mfa/verify/", {"code": wrong_code_for(device), "next": "/"})
        for _ in range(settings.AXES_FAILURE_LIMIT + 2):
            response = client.post("/mfa/verify/", {"code": code_for(device), "next": "/"})
            assert response.status_code == 400
            assert "wait 1 second," in response.content.decode()
    assert actions(actor_id=acme.member.pk).count("signin.mfa_failed") == 1
    with time_machine.travel(start + dt.timedelta(seconds=5), tick=False):
        assert (
            client.post("/mfa/verify/", {"code": code_for(device), "next": "/"}).status_code == 302
        )


def test_single_sign_on_sessions_are_left_to_the_identity_provider(acme):
    enrol(acme.member.user)
    set_policy(acme, MfaPolicy.EVERYONE)
    client = AnswerClient()
    client.force_login(acme.member.user)
    session = client.session
    session[jit.SESSION_KEY] = acme.org.pk
    session.save()
    assert client.get("/").status_code == 200


def test_tokens_are_not_affected(acme):
    enrol(acme.admin.user)
    set_policy(acme, MfaPolicy.EVERYONE)
    for member in (acme.admin, acme.member):  # enrolled, and required but not enrolled
        api = client_for(member)
        assert api.get("/api/v1/goals/").status_code == 200
        assert api.get("/api/v1/me/").status_code == 200


# -- The policy ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "held"),
    [
        (MfaPolicy.OPTIONAL, set()),
        (MfaPolicy.ADMINS, {"admin"}),
        (MfaPolicy.EVERYONE, {"admin", "leader", "member"}),
    ],
)
def test_the_policy_holds_the_people_it_covers_at_enrolment(acme, tree, policy, held):
    set_policy(acme, policy)
    for role, member in (("admin", acme.admin), ("leader", acme.leader), ("member", acme.member)):
        client = AnswerClient()
        client.force_login(member.user)
        for path in ("/", f"/goals/{tree.strategic.pk}/"):
            response = client.get(path)
            if role in held:
                assert response.status_code == 302, (role, path)
                assert response["Location"].startswith("/mfa/setup/?next="), (role, path)
            else:
                assert response.status_code == 200, (role, path)
        api = client.get("/api/v1/goals/")
        assert api.status_code == (403 if role in held else 200), role
        if role in held:
            assert client.get("/mfa/setup/").status_code == 200
            assert client.get("/mfa/").status_code == 200


def test_a_covered_person_goes_on_once_enrolled(acme):
    set_policy(acme, MfaPolicy.EVERYONE)
    client = AnswerClient()
    client.force_login(acme.member.user)
    client.get("/mfa/setup/")
    device = TOTPDevice.objects.get(user=acme.member.user)
    assert client.post("/mfa/setup/", {"code": code_for(device), "next": "/"}).status_code == 200
    assert client.get("/").status_code == 200


def test_turning_mfa_off_is_refused_while_the_policy_requires_it(acme):
    device, _codes = enrol(acme.admin.user)
    set_policy(acme, MfaPolicy.ADMINS)
    client = signed_in(acme.admin)
    verify(client, device)
    response = client.post("/mfa/disable/", {"proof": PASSWORD})
    assert response.status_code == 403
    assert "requires two-factor authentication" in response.content.decode()
    assert TOTPDevice.objects.filter(user=acme.admin.user, confirmed=True).exists()
    assert "mfa.disabled" not in actions()


def test_turning_mfa_off_needs_the_password_or_a_code_and_ends_other_sessions(acme):
    device, _codes = enrol(acme.member.user)
    here, elsewhere = signed_in(acme.member), signed_in(acme.member)
    verify(here, device)
    verify(elsewhere, device)
    wrong = here.post("/mfa/disable/", {"proof": "not my password"})
    assert wrong.status_code == 400 and "neither your password" in wrong.content.decode()
    assert TOTPDevice.objects.filter(user=acme.member.user).exists()
    assert here.post("/mfa/disable/", {"proof": PASSWORD}).status_code == 302
    assert not TOTPDevice.objects.filter(user=acme.member.user).exists()
    assert not StaticDevice.objects.filter(user=acme.member.user).exists()
    assert actions(action="mfa.disabled") == ["mfa.disabled"]
    assert here.get("/").status_code == 200
    assert elsewhere.get("/")["Location"].startswith("/accounts/login/")
    # Next time the password alone signs in.
    assert signed_in(acme.member).get("/").status_code == 200


def test_an_admin_sets_the_policy_and_it_is_audited(client, acme):
    device, _codes = enrol(acme.admin.user)
    client.force_login(acme.admin.user)
    verify(client, device)
    response = client.post("/identity/mfa-policy/", {"mfa_policy": "everyone", "next": "/people/"})
    assert response.status_code == 302 and response["Location"] == "/people/"
    acme.org.refresh_from_db()
    assert acme.org.mfa_policy == "everyone"
    entry = Entry.objects.get(action="mfa.policy_changed")
    assert entry.changes == {"mfa_policy": ["optional", "everyone"]}
    assert entry.actor_id == acme.admin.pk


def test_an_admin_without_a_device_who_requires_it_goes_to_enrolment(client, acme):
    client.force_login(acme.admin.user)
    response = client.post("/identity/mfa-policy/", {"mfa_policy": "admins"})
    assert response.status_code == 302 and response["Location"] == "/mfa/setup/"
    assert client.get("/")["Location"].startswith("/mfa/setup/")


def test_a_policy_that_is_not_a_choice_is_refused(client, acme):
    client.force_login(acme.admin.user)
    response = client.post("/identity/mfa-policy/", {"mfa_policy": "sometimes"})
    assert response.status_code == 400
    acme.org.refresh_from_db()
    assert acme.org.mfa_policy == "optional"


def test_only_an_admin_of_the_organization_changes_its_policy(acme, outsider):
    for member in (acme.leader, acme.member):
        client = AnswerClient()
        client.force_login(member.user)
        assert client.post("/identity/mfa-policy/", {"mfa_policy": "everyone"}).status_code == 403
    client = AnswerClient()
    client.force_login(outsider.user)
    client.post("/identity/mfa-policy/", {"mfa_policy": "everyone"})
    acme.org.refresh_from_db()
    assert acme.org.mfa_policy == "optional"  # Globex's admin set Globex's, not Acme's
    assert (
        AnswerClient().post("/identity/mfa-policy/", {"mfa_policy": "everyone"}).status_code == 302
    )
    acme.org.refresh_from_db()
    assert acme.org.mfa_policy == "optional"
    assert not Entry.objects.filter(
        action="mfa.policy_changed", organization_id=acme.org.pk
    ).exists()


# -- An admin resets a person's two-factor (a lost phone) ----------------------------------


def test_an_admin_resets_a_persons_mfa_and_ends_their_sessions(client, acme, outsider):
    device, _codes = enrol(acme.member.user)
    theirs = signed_in(acme.member)
    verify(theirs, device)
    client.force_login(acme.admin.user)
    response = client.post(f"/identity/mfa-reset/{acme.member.pk}/")
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=acme.member.user).exists()
    assert theirs.get("/")["Location"].startswith("/accounts/login/")
    entry = Entry.objects.get(action="mfa.reset")
    assert entry.actor_id == acme.admin.pk and entry.object_id == str(acme.member.pk)
    # Nobody else may: another organization's admin, or a member.
    enrol(acme.leader.user)
    other = AnswerClient()
    other.force_login(outsider.user)
    assert other.post(f"/identity/mfa-reset/{acme.leader.pk}/").status_code == 404
    member = AnswerClient()
    member.force_login(acme.marketing_member.user)
    assert member.post(f"/identity/mfa-reset/{acme.leader.pk}/").status_code == 403
    assert TOTPDevice.objects.filter(user=acme.leader.user).exists()


def test_an_admin_resets_a_person_named_by_username_or_email_on_the_identity_page(client, acme):
    enrol(acme.member.user)
    admin_device, _codes = enrol(acme.admin.user)
    client.force_login(acme.admin.user)
    verify(client, admin_device)
    page = client.get("/identity/")
    assert 'action="/identity/mfa-reset/"' in page.content.decode()
    email = acme.member.user.email
    response = client.post("/identity/mfa-reset/", {"person": email.upper(), "next": "/identity/"})
    assert response.status_code == 302 and response["Location"] == "/identity/"
    assert not TOTPDevice.objects.filter(user=acme.member.user).exists()
    assert not StaticDevice.objects.filter(user=acme.member.user).exists()
    assert actions(action="mfa.reset") == ["mfa.reset"]
    enrol(acme.leader.user)
    by_name = client.post("/identity/mfa-reset/", {"person": acme.leader.user.username})
    assert by_name.status_code == 302 and by_name["Location"] == "/identity/mfa-policy/"
    assert not TOTPDevice.objects.filter(user=acme.leader.user).exists()


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Type the username or email"),
        ("nobody-here", "No one in your organization"),
        ("OUTSIDER", "No one in your organization"),  # another organization's: unseen
        ("SELF", "That is you"),
        ("UNENROLLED", "nothing to reset"),
    ],
)
def test_a_reset_that_names_no_one_to_reset_says_why_and_changes_nothing(
    client, acme, outsider, typed, message
):
    admin_device, _ = enrol(acme.admin.user)
    enrol(outsider.user)
    client.force_login(acme.admin.user)
    verify(client, admin_device)
    typed = {
        "OUTSIDER": outsider.user.username,
        "SELF": acme.admin.user.username,
        "UNENROLLED": acme.member.user.username,
    }.get(typed, typed)
    response = client.post("/identity/mfa-reset/", {"person": typed})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert TOTPDevice.objects.filter(user=outsider.user).exists()
    assert TOTPDevice.objects.filter(user=acme.admin.user).exists()
    assert not Entry.objects.filter(action="mfa.reset").exists()


def test_only_an_admin_resets_by_name(acme):
    enrol(acme.leader.user)
    member = AnswerClient()
    member.force_login(acme.member.user)
    refused = member.post("/identity/mfa-reset/", {"person": acme.leader.user.username})
    assert refused.status_code == 403
    assert TOTPDevice.objects.filter(user=acme.leader.user).exists()


def test_the_two_factor_policy_page_costs_the_same_queries_at_any_size(
    client, acme, django_assert_max_num_queries
):
    client.force_login(acme.admin.user)
    with django_assert_max_num_queries(20) as small:
        assert client.get("/identity/mfa-policy/").status_code == 200
    for _ in range(30):
        enrol(MemberFactory(organization=acme.org).user)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert client.get("/identity/mfa-policy/").status_code == 200


# -- The Django admin ---------------------------------------------------------------------


@pytest.fixture
def operator_user(db):
    return get_user_model().objects.create_superuser("root", "root@example.com", "x-pass-1234")


def test_the_admin_site_refuses_a_session_without_a_verified_device(operator_user):
    client = AnswerClient()
    client.force_login(operator_user)
    # No device: the admin site sends the operator to enrolment.
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0] == "/mfa/setup/"
    assert b"requires two-factor" in response.content
    # A device, not yet verified in this session: the code page first.
    device, _codes = enrol(operator_user)
    client = AnswerClient()
    client.force_login(operator_user)
    assert client.get("/admin/")["Location"].startswith("/mfa/verify/")
    verify(client, device)
    assert client.get("/admin/").status_code == 200


def test_the_admin_login_page_is_cascades_login(operator_user):
    response = AnswerClient().get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/admin/"


def test_an_operator_who_lost_their_phone_signs_in_with_a_code_from_the_command_line(
    operator_user,
):
    enrol(operator_user)
    StaticDevice.objects.filter(user=operator_user).delete()  # the recovery codes are gone too
    out = io.StringIO()
    call_command("addstatictoken", "root", stdout=out)
    code = out.getvalue().strip()
    client = AnswerClient()
    client.force_login(operator_user)
    assert client.post("/mfa/verify/", {"code": code, "next": "/admin/"})["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    again = AnswerClient()
    again.force_login(operator_user)
    assert again.post("/mfa/verify/", {"code": code, "next": "/admin/"}).status_code == 400
