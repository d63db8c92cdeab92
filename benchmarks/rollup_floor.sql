-- The SQL floor of the full roll-up: one statement that computes, inside PostgreSQL,
-- every KPI's progress and every goal's progress of a cycle, by the formulas of the
-- spec (the tree is at most four levels deep: strategic > department > team > individual).
-- It only computes (a SELECT); cycle_rollup also writes what changed.
WITH u AS (
    SELECT u.kpi_id,
           (array_agg(u.value ORDER BY u.date DESC, u.created_at DESC, u.id DESC))[1] AS latest,
           SUM(u.value) AS total
    FROM kpis_kpiupdate u
    JOIN kpis_kpi k ON k.id = u.kpi_id
    JOIN goals_goal g ON g.id = k.goal_id
    WHERE g.cycle_id = %(cycle)s
    GROUP BY u.kpi_id
), kp AS (
    SELECT k.goal_id, k.weight,
           CASE WHEN u.kpi_id IS NULL THEN 0
                ELSE 100 * GREATEST(0, LEAST(1,
                    ((CASE WHEN k.aggregation = 'sum' THEN u.total ELSE u.latest END) - k.baseline)
                    / (k.target - k.baseline)))
           END AS p
    FROM kpis_kpi k
    JOIN goals_goal g ON g.id = k.goal_id
    LEFT JOIN u ON u.kpi_id = k.id
    WHERE g.cycle_id = %(cycle)s
), ks AS (
    SELECT goal_id, SUM(weight * p) AS wp, SUM(weight) AS w FROM kp GROUP BY goal_id
), g AS (
    SELECT g.id, g.parent_id, g.level, g.state, g.weight, ks.wp, ks.w
    FROM goals_goal g LEFT JOIN ks ON ks.goal_id = g.id
    WHERE g.cycle_id = %(cycle)s
), p3 AS (
    SELECT id, parent_id, state, weight,
           CASE WHEN state = 'done' THEN 100 WHEN w > 0 THEN wp / w ELSE 0 END AS p
    FROM g WHERE level = 'individual'
), c3 AS (
    SELECT parent_id, SUM(weight * p) AS wp, SUM(weight) AS w
    FROM p3 WHERE state <> 'cancelled' GROUP BY parent_id
), p2 AS (
    SELECT g.id, g.parent_id, g.state, g.weight,
           CASE WHEN g.state = 'done' THEN 100
                WHEN COALESCE(g.w, 0) + COALESCE(c3.w, 0) > 0
                THEN (COALESCE(g.wp, 0) + COALESCE(c3.wp, 0)) / (COALESCE(g.w, 0) + COALESCE(c3.w, 0))
                ELSE 0 END AS p
    FROM g LEFT JOIN c3 ON c3.parent_id = g.id WHERE g.level = 'team'
), c2 AS (
    SELECT parent_id, SUM(weight * p) AS wp, SUM(weight) AS w
    FROM (SELECT * FROM p3 UNION ALL SELECT * FROM p2) x
    WHERE state <> 'cancelled' GROUP BY parent_id
), p1 AS (
    SELECT g.id, g.parent_id, g.state, g.weight,
           CASE WHEN g.state = 'done' THEN 100
                WHEN COALESCE(g.w, 0) + COALESCE(c2.w, 0) > 0
                THEN (COALESCE(g.wp, 0) + COALESCE(c2.wp, 0)) / (COALESCE(g.w, 0) + COALESCE(c2.w, 0))
                ELSE 0 END AS p
    FROM g LEFT JOIN c2 ON c2.parent_id = g.id WHERE g.level = 'department'
), c1 AS (
    SELECT parent_id, SUM(weight * p) AS wp, SUM(weight) AS w
    FROM (SELECT * FROM p3 UNION ALL SELECT * FROM p2 UNION ALL SELECT * FROM p1) x
    WHERE state <> 'cancelled' GROUP BY parent_id
), p0 AS (
    SELECT g.id, g.parent_id, g.state, g.weight,
           CASE WHEN g.state = 'done' THEN 100
                WHEN COALESCE(g.w, 0) + COALESCE(c1.w, 0) > 0
                THEN (COALESCE(g.wp, 0) + COALESCE(c1.wp, 0)) / (COALESCE(g.w, 0) + COALESCE(c1.w, 0))
                ELSE 0 END AS p
    FROM g LEFT JOIN c1 ON c1.parent_id = g.id WHERE g.level = 'strategic'
)
SELECT id, p FROM p0 UNION ALL SELECT id, p FROM p1
UNION ALL SELECT id, p FROM p2 UNION ALL SELECT id, p FROM p3
