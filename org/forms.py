from __future__ import annotations

import datetime as dt

from django import forms

from core.forms import DateInput, RuleForm

from .models import Department, Member, Role, TokenScope, WebhookEvent
from .people_import import EMPTY_FILE
from .tokens import DEFAULT_LIFETIME, TOKEN_NAME_REQUIRED, latest_last_day


def limit_to_people(field: forms.ModelChoiceField, organization) -> None:
    """A choice of the organization's active people, by name (owners, managers,
    facilitators: every form that names a person)."""
    field.queryset = Member.objects.filter(
        organization=organization, is_active=True
    ).select_related("user")
    field.label_from_instance = lambda member: member.display_name


def limit_to_departments(field: forms.ModelChoiceField, organization) -> None:
    field.queryset = Department.objects.filter(organization=organization)


class _OrgForm(forms.Form):
    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        limit_to_departments(self.fields["department"], organization)
        limit_to_people(self.fields["manager"], organization)


class InviteForm(_OrgForm):
    email = forms.EmailField()
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MEMBER)
    department = forms.ModelChoiceField(queryset=Department.objects.none(), required=False)
    manager = forms.ModelChoiceField(queryset=Member.objects.none(), required=False)


class MemberEditForm(_OrgForm):
    role = forms.ChoiceField(choices=Role.choices)
    department = forms.ModelChoiceField(queryset=Department.objects.none(), required=False)
    manager = forms.ModelChoiceField(queryset=Member.objects.none(), required=False)
    is_active = forms.BooleanField(required=False, label="Active")


class ServiceTokenForm(RuleForm):
    """A service token's name, scope and last day; `scim` is the one to paste into an
    identity provider's SCIM settings (identity/scim/)."""

    name = forms.CharField(
        max_length=100,
        help_text="Who it is for, e.g. “Nightly BI sync”: its values carry it.",
        error_messages={"required": TOKEN_NAME_REQUIRED},
    )
    scope = forms.ChoiceField(
        choices=[
            (TokenScope.READ, "Read — sees everything, changes nothing"),
            (
                TokenScope.WRITE,
                "Write — records and changes what you may, but no tokens, people or webhooks",
            ),
            (
                TokenScope.ADMIN,
                "Admin — all you may do, tokens, people and webhooks too, while you are an admin",
            ),
            (
                TokenScope.SCIM,
                "SCIM — only provisions people and departments from your identity provider "
                "(/scim/v2/), while you are an admin",
            ),
        ],
        initial=TokenScope.READ,
        help_text="It acts as you: it stops if you are deactivated, and loses what your "
        "role no longer allows.",
    )
    expires_on = forms.DateField(
        required=False,
        widget=DateInput,
        label="Last day",
    )

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        today = organization.today()
        latest = latest_last_day(today)
        field = self.fields["expires_on"]
        field.initial = today + DEFAULT_LIFETIME
        field.widget.attrs.update(min=f"{today + dt.timedelta(days=1)}", max=f"{latest}")
        field.help_text = f"At most a year ahead: {latest:%Y-%m-%d} at the latest. Empty: 90 days."


class WebhookForm(forms.Form):
    url = forms.URLField(
        label="Address",
        max_length=500,
        assume_scheme="https",
        help_text="Where to POST each event (https://…); private addresses are refused.",
    )
    events = forms.MultipleChoiceField(
        choices=WebhookEvent.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Pick at least one event."},
    )


class PeopleImportForm(forms.Form):
    """The People page's upload: one CSV or XLSX file of people (org/people_import.py)."""

    file = forms.FileField(
        label="Spreadsheet of people",
        error_messages={"empty": EMPTY_FILE},  # as the API and the reading say it
        help_text="CSV or XLSX, with the template's columns. Nothing is written until you "
        "confirm the preview.",
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument."
                "spreadsheetml.sheet"
            }
        ),
    )
