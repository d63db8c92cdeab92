"""factory_boy factories for the domain. Rows made here skip the services on
purpose (fixtures); behaviour under test always goes through the services."""

from __future__ import annotations

import datetime as dt

import factory
from django.contrib.auth import get_user_model

from cycles.models import Cycle
from goals.models import Goal
from kpis.models import Kpi
from org.models import Department, Member, Organization


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Org {n}")


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Department {n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", "pw-cascade-test")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class MemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Member

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    role = "member"


class CycleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Cycle

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Cycle {n}")
    start = dt.date(2027, 1, 1)
    end = dt.date(2027, 12, 31)
    cadence = "quarterly"


class GoalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Goal

    cycle = factory.SubFactory(CycleFactory)
    organization = factory.LazyAttribute(lambda g: g.cycle.organization)
    level = "strategic"
    title = factory.Sequence(lambda n: f"Goal {n}")
    start = factory.LazyAttribute(lambda g: g.cycle.start)
    due = factory.LazyAttribute(lambda g: g.cycle.end)


class KpiFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Kpi

    goal = factory.SubFactory(GoalFactory)
    organization = factory.LazyAttribute(lambda k: k.goal.organization)
    name = factory.Sequence(lambda n: f"Measured thing {n}")
    unit = "%"
    baseline = 0.0
    target = 100.0
    owner = factory.SubFactory(MemberFactory, organization=factory.SelfAttribute("..organization"))
    start = factory.LazyAttribute(lambda k: k.goal.start)
    due = factory.LazyAttribute(lambda k: k.goal.due)
