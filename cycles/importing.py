"""Import a cycle's goals and KPIs from a spreadsheet: first a plan (the preview: what
each row creates, changes or leaves as it is, its tree-rule and S.M.A.R.T. verdicts,
its errors per cell: cycles/import_plan.py), then, when the person confirms, the
commit: all rows or none, with one roll-up of the cycle at the end.

The plan judges every goal and KPI a row would create or change with the validators
the services use (goals/rules.py, kpis/rules.py). The commit plans again inside its
transaction (the cycle may have changed since the preview), then writes level by level
in bulk: one statement per level and table, one roll-up, one history rebuild.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from typing import Any, cast

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import OperationalError, models, transaction
from django.utils import timezone

from audit.record import items, record
from core.db import bulk_write, lock_row
from core.errors import RowErrors, one_of
from goals.models import LEVEL_RANK, Goal
from goals.services import check_open
from kpis.models import Kpi
from kpis.rollup import cycle_rollup
from org.changes import ChangeAction, ChangeKind, changes_collected, note_change
from org.models import Member
from org.permissions import MANAGE_CYCLES

from .history import cycle_history
from .import_cycle import Context, GoalPlan, KpiPlan, Plan
from .import_plan import Planner
from .models import Cycle, ImportJob, ImportState
from .sheets import AS_KPI, INDIVIDUAL_KPI, INDIVIDUAL_KPI_READINGS, Row, has_individual_kpis
from .webhook_data import tell_created

log = logging.getLogger("cascade.imports")

JOBS_KEPT = dt.timedelta(days=7)  # an import job (its file, preview and result) is kept so long
PROGRESS_EVERY = 500  # rows between two progress reports of a long plan


def check_individual_kpi(individual_kpi: str) -> None:
    """A reading of "Individual KPI" cells is one of INDIVIDUAL_KPI_READINGS; any other
    is a ValidationError on `individual_kpi` (the API's parameter, the page's radio)."""
    if individual_kpi not in INDIVIDUAL_KPI_READINGS:
        raise ValidationError({"individual_kpi": [one_of(list(INDIVIDUAL_KPI_READINGS))]})


def individual_kpi_reading(rows: list[Row], individual_kpi: str) -> dict[str, str] | None:
    """What a preview says of how the article's "Individual KPI" cells are read (None:
    the file has none). An unknown reading is a ValidationError on `individual_kpi`."""
    check_individual_kpi(individual_kpi)
    if not has_individual_kpis(rows):
        return None
    default = " (the default)" if individual_kpi == AS_KPI else ""
    return {
        "applied": individual_kpi,
        "message": f"The “{INDIVIDUAL_KPI}” column, as chosen: "
        f"{INDIVIDUAL_KPI_READINGS[individual_kpi]}{default}.",
    }


def import_plan(
    *,
    actor: Member,
    cycle: Cycle,
    rows: list[Row],
    individual_kpi: str = AS_KPI,
    progress: Callable[[int], None] | None = None,
) -> Plan:
    """What importing `rows` into `cycle` would do, row by row, writing nothing.

    1. Refuse unless the actor manages cycles; a closed cycle is a conflict.
    2. Read the cycle once (Context).
    3. Plan each row in file order, an "Individual KPI" cell read as `individual_kpi`
       says (cycles/sheets.py, read_as): later rows reuse what earlier rows create.
    """
    MANAGE_CYCLES.require(actor)
    check_open(cycle)
    reading = individual_kpi_reading(rows, individual_kpi)
    planner = Planner(Context(actor=actor, cycle=cycle), individual_kpi=individual_kpi)
    planned = []
    for done, (number, cells) in enumerate(rows, start=1):
        planned.append(planner.row(number, cells))
        if progress is not None and done % PROGRESS_EVERY == 0:
            progress(done)
    goals, kpis = planner.plan()
    return Plan(rows=planned, goals=goals, kpis=kpis, individual_kpi=reading)


@transaction.atomic
@changes_collected()  # every goal and KPI written: one INSERT in the changes feed
def import_commit(
    *, actor: Member, cycle: Cycle, rows: list[Row], individual_kpi: str = AS_KPI
) -> Plan:
    """Import `rows` into `cycle`: all of them or none.

    1. Lock the cycle (one import at a time; rule 1 counts its objectives), then plan
       again, reading "Individual KPI" cells as the preview did: the cycle may have
       changed since the preview. Any error → RowErrors, nothing written.
    2. Create the new goals level by level (each level's parents have their ids by
       then), then the new KPIs; write the changed ones; each kind in bulk.
    3. One roll-up of the whole cycle, and its history.
    """
    lock_row(cycle)
    plan = import_plan(actor=actor, cycle=cycle, rows=rows, individual_kpi=individual_kpi)
    if plan.errors:
        raise RowErrors(plan.errors)
    new_goals = [planned.goal for planned in plan.goals if planned.new]
    for level in sorted(LEVEL_RANK, key=LEVEL_RANK.__getitem__):
        batch = [goal for goal in new_goals if goal.level == level]
        for goal in batch:
            goal.parent = goal.parent  # the parent's id, now that it has one
        Goal.objects.bulk_create(batch, batch_size=1000)
    now = timezone.now()
    _write_changes(Goal, [(p.goal, p.changes) for p in plan.goals if not p.new], now)
    new_kpis = [planned.kpi for planned in plan.kpis if planned.new]
    for kpi in new_kpis:
        kpi.goal = kpi.goal  # the goal's id, now that it has one
    Kpi.objects.bulk_create(new_kpis, batch_size=1000)
    _write_changes(Kpi, [(p.kpi, p.changes) for p in plan.kpis if not p.new], now)
    for kind, action, objects in (
        (ChangeKind.GOAL, ChangeAction.CREATED, new_goals),
        (ChangeKind.GOAL, ChangeAction.UPDATED, [p.goal for p in plan.goals if p.changes]),
        (ChangeKind.KPI, ChangeAction.CREATED, new_kpis),
        (ChangeKind.KPI, ChangeAction.UPDATED, [p.kpi for p in plan.kpis if p.changes]),
    ):
        note_change(cycle.organization_id, kind, action, *((o.pk, o.external_id) for o in objects))
    cycle_rollup(cycle, today=actor.organization.today())
    import_history_rebuild(cycle)
    _audit(actor, cycle, plan, new_goals, new_kpis)
    tell_created(cycle.organization_id, new_goals, new_kpis)
    return plan


def _audit(actor: Member, cycle: Cycle, plan: Plan, goals: list[Goal], kpis: list[Kpi]) -> None:
    """The audit log's one entry for the whole import: what it created, and what it
    changed, each with its fields old → new."""
    changed: dict[str, list[GoalPlan] | list[KpiPlan]] = {
        "goals_updated": plan.goals,
        "kpis_updated": plan.kpis,
    }
    lists: dict[str, list[Any]] = {"goals_created": items(goals), "kpis_created": items(kpis)}
    for name, planned in changed.items():
        lists[name] = [
            {"id": p.obj.pk, "label": str(p.obj), "changes": p.changes}
            for p in planned
            if not p.new and p.changes
        ]
    record(actor, "cycle.imported", cycle, changes={k: [None, v] for k, v in lists.items()})


def _write_changes(
    model: type[models.Model],
    objects: Sequence[tuple[models.Model, dict[str, tuple[Any, Any]]]],
    now: dt.datetime,
) -> None:
    """Write the changed fields of stored goals or KPIs, one statement per table."""
    changed = [obj for obj, changes in objects if changes]
    if not changed:
        return
    names = sorted({name for obj, changes in objects for name in changes})
    # The names are the model's own fields (GOAL_FIELDS, KPI_FIELDS), never a relation's
    # reverse side.
    columns = [
        cast("models.Field[Any, Any]", model._meta.get_field(name)).attname for name in names
    ]
    bulk_write(
        model,
        [*columns, "updated_at"],
        [(obj.pk, *(getattr(obj, column) for column in columns), now) for obj in changed],
    )


def import_history_rebuild(cycle: Cycle) -> None:
    """The progress history of the cycle after an import: the one place an import asks
    for it, once, after its one roll-up."""
    cycle_history(cycle)


# -- the page's import jobs (import_jobs.py starts them; tasks.py runs large ones) -------


def _job_rows(job: ImportJob) -> list[Row]:
    return [(number, cells) for number, cells in job.rows]


def job_individual_kpi(job: ImportJob) -> str:
    """How a job reads "Individual KPI" cells: as its preview says (chosen on it), so
    that the import does what the preview showed; before the first one, the default."""
    return str(((job.preview or {}).get("individual_kpi") or {}).get("applied", AS_KPI))


def _job(job_id: int) -> ImportJob:
    return ImportJob.objects.select_related(
        "cycle__organization", "created_by__organization", "created_by__user"
    ).get(pk=job_id)


def _refused(error: Exception) -> str:
    """What a refused job says on the page."""
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error) or "You may not import into this cycle."


def import_job_plan(*, job_id: int) -> str:
    """Plan a queued job (its preview), reporting progress as rows are planned. Claims
    the job first: a second run finds it claimed and does nothing."""
    if not ImportJob.objects.filter(pk=job_id, state=ImportState.QUEUED).update(
        state=ImportState.PLANNING
    ):
        return "claimed"
    job = _job(job_id)

    def progress(done: int) -> None:
        ImportJob.objects.filter(pk=job.pk).update(done=done)

    try:
        plan = import_plan(
            actor=job.created_by,
            cycle=job.cycle,
            rows=_job_rows(job),
            individual_kpi=job_individual_kpi(job),
            progress=progress,
        )
        ImportJob.objects.filter(pk=job.pk).update(
            state=ImportState.PREVIEWED, preview=plan.preview(), done=job.total
        )
    except (PermissionDenied, ValidationError) as error:
        ImportJob.objects.filter(pk=job.pk).update(state=ImportState.FAILED, error=_refused(error))
        return ImportState.FAILED
    except OperationalError:
        # A lock met (SQLite): give the job back to the queue's next try.
        ImportJob.objects.filter(pk=job.pk).update(state=ImportState.QUEUED)
        raise
    except Exception:
        log.exception("Import job %s failed while planning", job.pk)
        ImportJob.objects.filter(pk=job.pk).update(
            state=ImportState.FAILED, error="The file could not be planned: nothing was imported."
        )
        return ImportState.FAILED
    return ImportState.PREVIEWED


def import_job_commit(*, job_id: int) -> str:
    """Import a confirmed job's rows (all or none). Run again, it imports nothing new:
    an import matches what is already there."""
    job = _job(job_id)
    if job.state != ImportState.IMPORTING:
        return job.state
    try:
        with transaction.atomic():  # the job is done exactly when its rows are in
            plan = import_commit(
                actor=job.created_by,
                cycle=job.cycle,
                rows=_job_rows(job),
                individual_kpi=job_individual_kpi(job),
            )
            ImportJob.objects.filter(pk=job.pk).update(
                state=ImportState.DONE, result=plan.totals, done=job.total
            )
    except RowErrors as refused:
        ImportJob.objects.filter(pk=job.pk).update(
            state=ImportState.FAILED,
            result={"errors": refused.by_row},
            error=f"The cycle changed since the preview: {len(refused.by_row)} row(s) now "
            "have errors, so nothing was imported. Upload the file again to see them.",
        )
        return ImportState.FAILED
    except (PermissionDenied, ValidationError) as error:
        ImportJob.objects.filter(pk=job.pk).update(state=ImportState.FAILED, error=_refused(error))
        return ImportState.FAILED
    except OperationalError:
        raise  # a lock met (SQLite): the task tries again, and the job is still to do
    except Exception:
        log.exception("Import job %s failed while importing", job.pk)
        ImportJob.objects.filter(pk=job.pk).update(
            state=ImportState.FAILED, error="The import failed: nothing was imported."
        )
        return ImportState.FAILED
    return ImportState.DONE


def import_jobs_forget(now: dt.datetime | None = None) -> int:
    """Delete the import jobs older than JOBS_KEPT (each holds its whole file); returns
    how many. What they imported stays: only the upload, its preview and result go."""
    before = (now or timezone.now()) - JOBS_KEPT
    deleted, _ = ImportJob.objects.filter(created_at__lt=before).delete()
    return deleted
