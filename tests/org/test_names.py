"""Names of organizations, departments and cycles (SPEC §8.1): required, one line,
unique in the organization; a refusal changes nothing."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from cycles.models import Cycle
from cycles.services import cycle_create, cycle_update
from org.models import Department, Organization
from org.services import department_create, department_update, organization_create

pytestmark = pytest.mark.django_db

LINE_BREAKS = ["Sales\nNorth", "Sales\rNorth", "Sales\x00", "Sales\tNorth"]


def names() -> tuple:
    return (
        list(Organization.objects.values_list("name", flat=True)),
        list(Department.objects.values_list("name", flat=True)),
        list(Cycle.objects.values_list("name", flat=True)),
    )


def refused_on_name(call) -> str:
    before = names()
    with pytest.raises(ValidationError) as caught:
        call()
    assert names() == before
    return caught.value.message_dict["name"][0]


@pytest.mark.parametrize("name", LINE_BREAKS)
def test_a_department_name_is_one_line(acme, name):
    assert "one line" in refused_on_name(lambda: department_create(actor=acme.admin, name=name))
    assert "one line" in refused_on_name(
        lambda: department_update(actor=acme.admin, department=acme.support, name=name)
    )


@pytest.mark.parametrize("name", LINE_BREAKS)
def test_a_cycle_name_is_one_line(acme, name):
    start, end = acme.cycle.start, acme.cycle.end
    assert "one line" in refused_on_name(
        lambda: cycle_create(actor=acme.admin, name=name, start=start, end=end)
    )
    assert "one line" in refused_on_name(
        lambda: cycle_update(actor=acme.admin, cycle=acme.cycle, name=name)
    )


@pytest.mark.parametrize("name", LINE_BREAKS)
def test_an_organization_name_is_one_line(db, name):
    message = refused_on_name(
        lambda: organization_create(name=name, admin_username="first", admin_password="x-9-long")
    )
    assert "one line" in message


def test_a_department_name_longer_than_its_column_is_a_message_not_an_error(acme):
    assert "200" in refused_on_name(lambda: department_create(actor=acme.admin, name="D" * 201))
