"""A KPI that sums its values keeps every value, however large the others: the sum is
exact, rounded once, whether the value's write or the full roll-up computes it."""

from __future__ import annotations

from fractions import Fraction

from kpis.models import Kpi
from kpis.rollup import cycle_rollup
from kpis.services import kpi_record_value

from ..factories import KpiFactory

# Large values that cancel, with small ones between them: a running float sum loses the
# small ones (it answers 0.0 for the first three).
VALUES = [1e12, 0.001, -1e12, 0.002, 123.456, 1e-6, 999999999999.999, -999999999999.998]


def exact(values) -> float:
    return float(sum(Fraction(v) for v in values))


def test_a_running_float_sum_would_lose_the_small_values():
    running = 0.0
    for value in VALUES:
        running += value
    assert running != exact(VALUES)


def test_the_sum_of_mixed_magnitudes_equals_exact_arithmetic(acme, tree):
    kpi = KpiFactory(
        goal=tree.individual, owner=acme.member, aggregation="sum", baseline=0, target=1000
    )
    for value in VALUES:
        kpi_record_value(actor=acme.member, kpi=kpi, value=value)
    kpi.refresh_from_db()
    assert kpi.current == exact(VALUES)

    Kpi.objects.filter(pk=kpi.pk).update(current=0)  # drift the full roll-up repairs
    cycle_rollup(acme.cycle)
    kpi.refresh_from_db()
    assert kpi.current == exact(VALUES)
