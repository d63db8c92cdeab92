"""SPEC §8.3 / issue: the trend chart shows its axes — the value range, the dates, the
target and today — still as server-rendered SVG."""

from __future__ import annotations

import re

from kpis.services import kpi_record_value


def chart_of(client, goal, kpi) -> str:
    page = client.get(f"/goals/{goal.pk}/").content.decode()
    found = re.search(rf'<figure class="chart" id="chart-{kpi.pk}".*?</figure>', page, re.S)
    assert found, "the goal page shows the KPI's chart"
    return found.group(0)


def labels(svg: str) -> list[str]:
    return [text.strip() for text in re.findall(r"<text[^>]*>([^<]*)</text>", svg)]


def test_the_chart_names_its_value_range_dates_target_and_today(client, acme, tree):
    kpi_record_value(actor=acme.member, kpi=tree.individual_kpi, value=5.5)  # 6 → 4 hours
    client.force_login(acme.member.user)
    svg = chart_of(client, tree.individual, tree.individual_kpi)
    shown = labels(svg)
    assert {"6", "5", "4"} <= set(shown)  # the value range: baseline, middle, target
    assert {"Jan 1", "Jul 2", "Dec 31"} <= set(shown)  # the cycle's dates
    assert "target 4" in shown
    assert "today" in shown  # the tests' today, 2027-03-15, lies inside the KPI's dates
    assert 'class="dot"' in svg and "5.5 on 2027-03-15" in svg


def test_huge_values_are_labelled_compactly(client, acme, tree):
    tree.individual_kpi.__class__.objects.filter(pk=tree.individual_kpi.pk).update(
        baseline=6e11, target=4e11
    )
    client.force_login(acme.member.user)
    shown = labels(chart_of(client, tree.individual, tree.individual_kpi))
    assert "600 B" in shown and "target 400 B" in shown
    assert all(len(label) <= 12 for label in shown)
