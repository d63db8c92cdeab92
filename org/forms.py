from __future__ import annotations

import datetime as dt
import functools
import zoneinfo

from django import forms

from core.forms import DateInput, RuleForm

from .models import ChatEvent, ChatPlatform, Department, Member, Role, TokenScope, WebhookEvent
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


class ChatTargetForm(RuleForm):
    """A new chat target: where it posts, of which scope, hearing what. `departments`:
    the ids the person may choose (None: every one, and the whole organization);
    `fixed`: the one department it is for (the department page's card)."""

    platform = forms.ChoiceField(label="Platform", choices=ChatPlatform.choices)
    name = forms.CharField(
        label="Channel",
        max_length=100,
        help_text="Where it posts, as you will recognize it: #sales-goals.",
    )
    url = forms.CharField(
        label="Incoming webhook address",
        max_length=2000,
        # Several lines: a Teams address runs to 300 characters, shown whole as it wraps.
        widget=forms.Textarea(
            attrs={
                "rows": 2,
                "placeholder": "https://hooks.slack.com/services/…",
                "autocomplete": "off",
                "spellcheck": "false",
            }
        ),
        help_text="The https:// address Slack or Teams made for the channel. Kept "
        "encrypted; shown only by its host and last four characters.",
    )
    department = forms.ModelChoiceField(
        label="News of",
        queryset=Department.objects.none(),
        required=False,
        empty_label="The whole organization",
        help_text="A department's channel hears its news and that of the departments below it.",
    )
    events = forms.MultipleChoiceField(
        label="Posts",
        choices=ChatEvent.choices,
        initial=ChatEvent.values,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Pick at least one kind of news."},
    )

    def __init__(self, *args, organization, departments=None, fixed=None, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["department"]
        if fixed is not None:
            field.queryset = Department.objects.filter(pk=fixed.pk)
            field.initial = fixed.pk
            field.required = True
            field.widget = forms.HiddenInput()
            return
        field.queryset = Department.objects.filter(organization=organization).order_by("name")
        if departments is not None:  # a manager: their departments, no whole organization
            field.queryset = field.queryset.filter(pk__in=departments)
            field.required = True
            field.empty_label = None


@functools.cache
def time_zone_names() -> list[str]:
    """Every time zone a person or an organization may choose, sorted (the select's)."""
    return sorted(zoneinfo.available_timezones())


class EmailPreferencesForm(forms.Form):
    """The Notifications page's Email card: which emails, and the person's time zone
    (checked by the service: org/services.py member_set_email_preferences)."""

    reminder_emails = forms.BooleanField(required=False)
    digest_emails = forms.BooleanField(required=False)
    timezone = forms.CharField(required=False)


class OrganizationForm(forms.Form):
    """The People page's Organization card: its time zone (checked by the service)."""

    timezone = forms.CharField(required=False)


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
