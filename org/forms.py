from __future__ import annotations

from django import forms

from .models import Department, Member, Role


class _OrgForm(forms.Form):
    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        if "department" in self.fields:
            self.fields["department"].queryset = Department.objects.filter(
                organization=organization
            )
        if "manager" in self.fields:
            self.fields["manager"].queryset = Member.objects.filter(
                organization=organization, is_active=True
            ).select_related("user")
            self.fields["manager"].label_from_instance = lambda m: m.display_name


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
