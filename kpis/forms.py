from __future__ import annotations

from django import forms

from goals.forms import DateInput
from org.models import Member

from .models import Aggregation, Confidence, Direction


class KpiForm(forms.Form):
    name = forms.CharField(
        max_length=300, help_text="What changes, e.g. “Average ticket resolution time”."
    )
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    unit = forms.CharField(max_length=32, help_text="%, hours, leads, …")
    direction = forms.ChoiceField(choices=Direction.choices)
    aggregation = forms.ChoiceField(
        choices=Aggregation.choices,
        help_text="Latest: the newest value counts. Sum: values add up.",
    )
    baseline = forms.FloatField()
    target = forms.FloatField()
    weight = forms.FloatField(initial=1)
    owner = forms.ModelChoiceField(
        queryset=Member.objects.none(), required=False, help_text="Default: you."
    )
    start = forms.DateField(
        required=False, widget=DateInput, help_text="Default: the goal's start."
    )
    due = forms.DateField(
        required=False, widget=DateInput, help_text="Default: the goal's due date."
    )

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = Member.objects.filter(
            organization=organization, is_active=True
        ).select_related("user")
        self.fields["owner"].label_from_instance = lambda member: member.display_name


class RecordForm(forms.Form):
    value = forms.FloatField(
        widget=forms.TextInput(attrs={"inputmode": "decimal", "size": 8, "placeholder": "Value"})
    )
    date = forms.DateField(required=False, widget=DateInput, help_text="Default: today.")
    note = forms.CharField(
        required=False,
        max_length=1000,
        widget=forms.TextInput(attrs={"placeholder": "Note (optional)"}),
    )
    confidence = forms.ChoiceField(
        choices=[("", "Confidence…"), *Confidence.choices], required=False
    )
