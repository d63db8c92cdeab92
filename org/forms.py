from __future__ import annotations

from django import forms

from core.forms import DateInput

from .models import Department, Member, Role, TokenScope, WebhookEvent
from .tokens import TOKEN_NAME_REQUIRED


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


class ServiceTokenForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        help_text="Who it is for, e.g. “Nightly BI sync”: its values carry it.",
        error_messages={"required": TOKEN_NAME_REQUIRED},
    )
    scope = forms.ChoiceField(choices=TokenScope.choices, initial=TokenScope.WRITE)
    expires_on = forms.DateField(
        required=False,
        widget=DateInput,
        label="Last day",
        help_text="Empty: until revoked.",
    )


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
