from __future__ import annotations

from typing import Any, cast

from django import forms

from core.errors import NOT_A_NUMBER
from core.forms import DateInput, RuleForm
from goals.forms import offer_owners
from goals.models import Goal
from org.forms import limit_to_people
from org.models import Member, Organization
from org.permissions import can_give_to

from .models import (
    KPI_FIELDS,
    Aggregation,
    Confidence,
    Direction,
    Kpi,
    KpiSource,
    SourceKind,
    SourceSchedule,
)


class KpiForm(RuleForm):
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
    baseline = forms.FloatField(error_messages={"invalid": NOT_A_NUMBER})
    target = forms.FloatField(error_messages={"invalid": NOT_A_NUMBER})
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

    def __init__(
        self, *args: Any, organization: Organization, kpi: Kpi | None = None, **kwargs: Any
    ) -> None:
        if kpi is not None:
            kwargs.setdefault(
                "initial", {name: getattr(kpi, name) for name in KPI_FIELDS if name != "goal"}
            )
        super().__init__(*args, **kwargs)
        self.kpi = kpi
        limit_to_people(cast("forms.ModelChoiceField[Member]", self.fields["owner"]), organization)

    def fit_to(self, member: Member, goal: Goal) -> None:
        """Offer as owners only the people `member` may give KPIs to (SPEC §9.3), and
        the KPI's owner when editing one; a new KPI's owner is its goal's owner where
        they may give it to them, else themselves."""
        keep = self.kpi.owner if self.kpi is not None else None
        offer_owners(self.fields["owner"], member, keep=keep)
        if self.kpi is None and not self.is_bound:
            owner = (
                goal.owner if goal.owner is not None and can_give_to(member, goal.owner) else member
            )
            self.initial["owner"] = owner.pk

    def typed(self) -> dict[str, Any]:
        """What was typed, blanks left out (the service's defaults apply to them)."""
        return {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}

    def changes(self) -> dict[str, Any]:
        """What was typed, as kpi_edit's changes: an emptied description is emptied."""
        return self.typed() | {"description": self.cleaned_data.get("description") or ""}


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


class RetractForm(forms.Form):
    reason = forms.CharField(
        max_length=1000,
        label="Why",
        widget=forms.TextInput(attrs={"placeholder": "Why it no longer counts", "size": 30}),
    )


class SourceForm(RuleForm):
    """A KPI's data source as the goal page sets it up (kpis/feeds.py checks it). The
    secrets (headers, database URL) are write-only: never filled in from the saved
    source; left empty, the saved ones stay."""

    kind = forms.ChoiceField(choices=SourceKind.choices, label="Kind")
    name = forms.CharField(
        max_length=100,
        required=False,
        help_text="Its values show “from <name>”. Default: the host it reads from.",
    )
    url = forms.CharField(
        max_length=2000,
        required=False,
        label="URL",
        # A text area: a long address wraps, whole in view, rather than scroll in a box.
        widget=forms.Textarea(
            attrs={"rows": 2, "inputmode": "url", "spellcheck": "false", "placeholder": "https://…"}
        ),
        help_text="The address that answers with JSON (Cascade does not follow redirects).",
    )
    pointer = forms.CharField(
        max_length=500,
        required=False,
        label="JSON pointer",
        widget=forms.TextInput(attrs={"spellcheck": "false", "placeholder": "/data/count"}),
        help_text="Where the number is in the answer, such as /data/0/count; empty for "
        "the whole answer.",
    )
    headers = forms.CharField(
        required=False,
        label="Secret headers",
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false", "autocomplete": "off"}),
    )
    database_url = forms.CharField(
        max_length=2000,
        required=False,
        label="Database URL",
        widget=forms.Textarea(attrs={"rows": 2, "spellcheck": "false", "autocomplete": "off"}),
    )
    query = forms.CharField(
        max_length=10000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text="One SELECT that returns one number, run read-only.",
    )
    schedule = forms.ChoiceField(
        choices=SourceSchedule.choices,
        initial=SourceSchedule.DAILY,
        help_text="Fetched once an hour or once a day; a value is recorded when it changed.",
    )

    def __init__(self, *args: Any, source: KpiSource | None = None, **kwargs: Any) -> None:
        if source is not None:  # what may be shown again: not the secrets
            kwargs.setdefault(
                "initial",
                {
                    name: getattr(source, name)
                    for name in ("kind", "name", "url", "pointer", "query", "schedule")
                },
            )
        super().__init__(*args, **kwargs)
        saved = source.header_names if source is not None else []
        self.fields["headers"].help_text = (
            f"Saved: {', '.join(saved)} (values never shown). Leave empty to keep the saved "
            "ones; one a line replaces them."
            if saved
            else "One a line, as Name: value (such as “Authorization: Bearer …”). Never shown "
            "again."
        )
        self.fields["database_url"].help_text = (
            "Saved (never shown). Leave empty to keep the saved one."
            if source is not None and source.database_url
            else "postgresql://user:password@host:5432/database, for a user that may only "
            "read. Never shown again."
        )

    def clean_url(self) -> str:
        return _one_line(self.cleaned_data["url"])

    def clean_database_url(self) -> str:
        return _one_line(self.cleaned_data["database_url"])

    def clean_headers(self) -> dict[str, str] | None:
        """Name: value lines as a dict; none typed: None (the saved ones stay)."""
        text = self.cleaned_data["headers"]
        if not text.strip():
            return None
        headers = {}
        for line in text.splitlines():
            if not line.strip():
                continue
            name, colon, value = line.partition(":")
            if not colon:
                raise forms.ValidationError(
                    "Write one header a line, as Name: value (such as Authorization: Bearer …)."
                )
            headers[name.strip()] = value.strip()
        return headers

    def source_fields(self) -> dict[str, Any]:
        """What was typed, as source_set and source_try take it: the fields of its kind,
        a secret left empty not given (the saved one stays)."""
        data = self.cleaned_data
        fields = {name: data[name] for name in ("kind", "name", "schedule")}
        if data["kind"] == SourceKind.HTTP_JSON:
            fields |= {"url": data["url"], "pointer": data["pointer"]}
            if data["headers"] is not None:
                fields["headers"] = data["headers"]
        else:
            fields["query"] = data["query"]
            if data["database_url"]:
                fields["database_url"] = data["database_url"]
        return fields


def _one_line(address: str) -> str:
    """An address typed in a text area, where it wraps: its line breaks are none of it."""
    return "".join(line.strip() for line in address.splitlines())


CONFIDENCES = cast(forms.ChoiceField, RecordForm.base_fields["confidence"]).choices
