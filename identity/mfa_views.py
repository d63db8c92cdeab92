"""The two-factor pages (identity/mfa.py has the rules): each person's "Two-factor
authentication" page (enrol, recovery codes, turn off), the code page at sign-in, the
organization's policy (admins; shown on the Identity page), and an admin's reset of a
person's two-factor authentication (a lost phone)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from org.decorators import member_required
from org.models import Member, MfaPolicy
from org.permissions import MANAGE_MFA_POLICY, MANAGE_PEOPLE

from . import mfa


class CodeForm(forms.Form):
    code = forms.CharField(
        label="Code",
        max_length=64,
        help_text="The 6 digits your authenticator app shows, or one of your recovery codes.",
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autofocus": True, "spellcheck": "false"}
        ),
    )


class ConfirmForm(forms.Form):
    code = forms.CharField(
        label="Code from the app",
        max_length=64,
        help_text="Type the 6 digits the app shows for Cascade.",
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "spellcheck": "false"}
        ),
    )


class DisableForm(forms.Form):
    proof = forms.CharField(
        label="Your password or a current code",
        max_length=128,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class PolicyForm(forms.Form):
    mfa_policy = forms.ChoiceField(
        label="Two-factor authentication", choices=MfaPolicy.choices, widget=forms.RadioSelect
    )


class ResetForm(forms.Form):
    person = forms.CharField(
        label="Username or email of the person",
        max_length=254,
        error_messages={"required": "Type the username or email of the person to reset."},
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


def _next(request, default: str = "/") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _settings_page(request, *, disable_form=None, status=200):
    user = request.user
    member = getattr(request, "member", None)
    enrolled = mfa.is_enrolled(user)
    context = {
        "nav": "notifications",
        "enrolled": enrolled,
        "required": mfa.mfa_required(member),
        "sso_session": mfa.is_sso_session(request),
        "codes_left": mfa.recovery_codes_left(user) if enrolled else 0,
        "disable_form": disable_form or DisableForm(),
    }
    return render(request, "identity/mfa_settings.html", context, status=status)


@login_required
def mfa_settings(request):
    """The person's "Two-factor authentication" page."""
    return _settings_page(request)


@login_required
def mfa_setup(request):
    """Enrol: GET shows the QR code and the secret of the person's pending authenticator;
    POST confirms it with a code, then shows the ten recovery codes once."""
    user = request.user
    if mfa.is_enrolled(user):
        return redirect("identity:mfa")
    device = mfa.pending_authenticator(user)
    form = ConfirmForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                codes = mfa.authenticator_confirm(request, device, form.cleaned_data["code"])
            except mfa.Refused as refused:
                form.add_error("code", refused.message)
            else:
                if codes:
                    return _codes_page(request, codes, first=True)
                form.add_error("code", mfa.WRONG_SETUP_CODE)
        status = 400
    context = {
        "setup": mfa.setup_for(device),
        "form": form,
        "required": mfa.mfa_required(getattr(request, "member", None)),
        "next": _next(request, ""),
    }
    return render(request, "identity/mfa_setup.html", context, status=status)


def _codes_page(request, codes: list[str], *, first: bool):
    context = {"codes": codes, "first": first, "next": _next(request, "/")}
    response = render(request, "identity/mfa_codes.html", context)
    response["Cache-Control"] = "no-store"
    return response


@require_POST
@login_required
def mfa_recovery_codes(request):
    """Ten new recovery codes, shown once; the old ones stop working."""
    if not mfa.is_enrolled(request.user):
        return redirect("identity:mfa")
    return _codes_page(request, mfa.recovery_codes_regenerate(request.user), first=False)


@require_POST
@login_required
def mfa_disable(request):
    form = DisableForm(request.POST)
    if form.is_valid():
        try:
            mfa.mfa_disable(request, proof=form.cleaned_data["proof"])
        except mfa.Refused as refused:
            if refused.status == 403:
                raise PermissionDenied(refused.message) from None
            form.add_error("proof", refused.message)
        else:
            messages.info(request, "Two-factor authentication is off.")
            return redirect("identity:mfa")
    return _settings_page(request, disable_form=form, status=400)


def mfa_verify(request):
    """The code page at sign-in, after a correct password."""
    if not request.user.is_authenticated:
        return redirect("login")
    next_url = _next(request)
    # Asked, not read from the session: a device may have been added since it began.
    enrolled = request.session[mfa.ENROLLED] = mfa.is_enrolled(request.user)
    if request.user.is_verified() or not enrolled:
        return redirect(next_url)
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if mfa.sign_in_locked(request):
            # Locked since the password (another tab, the same address): sign out;
            # django-axes answers with the lockout page.
            logout(request)
            request.axes_locked_out = True
            return redirect("login")
        if form.is_valid():
            check = mfa.verify_sign_in(request, form.cleaned_data["code"])
            if check.ok:
                return redirect(next_url)
            form.add_error("code", check.message)
        status = 400
    context = {"form": form, "next": next_url}
    return render(request, "identity/mfa_verify.html", context, status=status)


def _policy_page(request, *, policy_form=None, reset_form=None, status=200):
    context = {
        "mfa_policy_form": policy_form
        or PolicyForm(initial={"mfa_policy": request.member.organization.mfa_policy}),
        "mfa_reset_form": reset_form or ResetForm(),
        # Where the forms go back to: where the person came from (a POST answered
        # with its errors is at the form's own address).
        "mfa_next": _next(request, reverse("identity:mfa-policy")),
        "nav": "people",
    }
    return render(request, "identity/mfa_policy.html", context, status=status)


@member_required
def mfa_policy(request):
    """The organization's two-factor page (admins): GET shows the policy and the reset
    of a person's two-factor authentication (the Identity page includes the same
    forms); POST sets the policy."""
    member = request.member
    MANAGE_MFA_POLICY.require(member)
    form = PolicyForm(request.POST or None, initial={"mfa_policy": member.organization.mfa_policy})
    status = 200
    if request.method == "POST":
        if form.is_valid():
            must_enrol = mfa.mfa_policy_set(actor=member, policy=form.cleaned_data["mfa_policy"])
            label = MfaPolicy(member.organization.mfa_policy).label
            messages.info(request, f"Two-factor authentication: {label}.")
            if must_enrol:
                messages.info(
                    request,
                    "The policy now covers you too: set up two-factor authentication to continue.",
                )
                return redirect("identity:mfa-setup")
            return redirect(_next(request, request.path))
        status = 400
    return _policy_page(request, policy_form=form, status=status)


@require_POST
@member_required
def mfa_reset(request, member_id: int):
    """An admin turns a person's two-factor authentication off (they lost their phone)."""
    actor = request.member
    MANAGE_PEOPLE.require(actor)
    person = get_object_or_404(
        Member.objects.select_related("user"), pk=member_id, organization=actor.organization
    )
    mfa.mfa_reset(actor=actor, member=person)
    messages.info(
        request,
        f"Two-factor authentication of {person.display_name} is reset: they sign in with "
        "their password and set it up again.",
    )
    return redirect(_next(request, "/people/"))


NOBODY = "No one in your organization has that username or email."


@require_POST
@member_required
def mfa_reset_person(request):
    """The same reset, the person named by username or email (the Identity page's form)."""
    actor = request.member
    MANAGE_PEOPLE.require(actor)
    form = ResetForm(request.POST)
    if form.is_valid():
        typed = form.cleaned_data["person"].strip()
        person = (
            Member.objects.select_related("user")
            .filter(organization=actor.organization)
            .filter(Q(user__username__iexact=typed) | Q(user__email__iexact=typed))
            .order_by("pk")
            .first()
        )
        if person is None:
            form.add_error("person", NOBODY)
        elif person.pk == actor.pk:
            form.add_error(
                "person",
                "That is you: turn yours off, or set up a new phone, on your own "
                "Two-factor authentication page.",
            )
        elif not mfa.is_enrolled(person.user):
            form.add_error(
                "person",
                f"{person.display_name} has not set up two-factor authentication: nothing "
                "to reset.",
            )
        else:
            mfa.mfa_reset(actor=actor, member=person)
            messages.info(
                request,
                f"Two-factor authentication of {person.display_name} is reset: they sign in "
                "with their password and set it up again.",
            )
            return redirect(_next(request, reverse("identity:mfa-policy")))
    return _policy_page(request, reset_form=form, status=400)


urlpatterns = [
    path("mfa/", mfa_settings, name="mfa"),
    path("mfa/setup/", mfa_setup, name="mfa-setup"),
    path("mfa/recovery-codes/", mfa_recovery_codes, name="mfa-recovery-codes"),
    path("mfa/disable/", mfa_disable, name="mfa-disable"),
    path("mfa/verify/", mfa_verify, name="mfa-verify"),
    path("identity/mfa-policy/", mfa_policy, name="mfa-policy"),
    path("identity/mfa-reset/", mfa_reset_person, name="mfa-reset-person"),
    path("identity/mfa-reset/<int:member_id>/", mfa_reset, name="mfa-reset"),
]
