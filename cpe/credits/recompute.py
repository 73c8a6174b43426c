"""The full recomputation of yearly statuses as set-based SQL, on PostgreSQL and SQLite alike.

The same rules as `cpe.credits.engine.year_outcome`, written once more in SQL so that a
million learners are recomputed in the database rather than row by row in Python:

1. the rules of each district and year are resolved into a temporary table (the nearest
   region up the tree with a row decides, its latest row not after the year: as
   `cpe.regions.policy.policy_for`), and their caps per source beside them;
2. every entry in the scope is turned into what it adds to the year's counted credits
   (for a capped source: the change of `engine.counted` over the source's running sums,
   professional first), window functions give the running totals in the order the entries
   were recorded (time, then id), the first moment the totals met the rules is `met_at`;
3. only the years whose stored row differs are kept; a `YearStatusChange` is written for
   each whose status changed, and those rows are upserted.

Credits are summed as whole tenths (integers), so SQLite's floating-point numbers never
decide a comparison. Entries appended while the recomputation runs are not lost: each
written year whose ledger gained an entry meanwhile is refreshed again by the per-entry
path, under the learner's lock, once the rows are written.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from cpe.credits import engine
from cpe.credits.models import CreditEntry, YearStatus, YearStatusChange
from cpe.regions.models import Region, RegionPolicy, RegionPolicyCap
from cpe.regions.policy import Policy
from cpe.registry.models import Learner

DEFAULTS = Policy()


@dataclass(frozen=True)
class Recomputed:
    changed: int  # rows written (any value differed)
    status_changed: int  # of which the status itself changed
    refreshed: int  # rows refreshed again because an entry arrived meanwhile

    def as_dict(self) -> dict[str, int]:
        return {
            "changed": self.changed,
            "status_changed": self.status_changed,
            "refreshed": self.refreshed,
        }


def _least(a: str, b: str) -> str:
    return f"(CASE WHEN {a} < {b} THEN {a} ELSE {b} END)"


def _clamp(value: str, upper: str) -> str:
    """`value` held between 0 and `upper` (engine.counted's min(max(value, 0), upper))."""
    return f"(CASE WHEN {value} < 0 THEN 0 WHEN {value} > {upper} THEN {upper} ELSE {value} END)"


def _tables() -> dict[str, str]:
    return {
        "entry": CreditEntry._meta.db_table,
        "learner": Learner._meta.db_table,
        "region": Region._meta.db_table,
        "policy": RegionPolicy._meta.db_table,
        "cap": RegionPolicyCap._meta.db_table,
        "status": YearStatus._meta.db_table,
        "change": YearStatusChange._meta.db_table,
    }


def _scope_sql(region_path: str, first_year: int | None, last_year: int | None) -> tuple[str, list]:
    """The WHERE clause (over entry `e` and district `d`) that limits a recomputation."""
    clauses, params = ["1 = 1"], []
    if region_path:
        clauses.append("d.path LIKE %s")
        params.append(region_path + "%")
    if first_year is not None:
        clauses.append("e.year >= %s")
        params.append(first_year)
    if last_year is not None:
        clauses.append("e.year <= %s")
        params.append(last_year)
    return " AND ".join(clauses), params


def differing_years_sql(
    *, region_path: str = "", first_year: int | None = None, last_year: int | None = None
) -> tuple[str, list]:
    """The SELECT of every learner-year in the scope whose stored status differs from the
    ledger's: (learner_id, year, status, total, professional (tenths), met_at, last_entry_id,
    old_status). Reads the temporary tables `recompute_policy` and `recompute_cap`."""
    t = _tables()
    where, params = _scope_sql(region_path, first_year, last_year)
    capped_professional = _clamp("c.professional_sum", "c.cap_tenths")
    capped_public = _clamp("c.public_sum", "c.cap_tenths - c.counted_professional")
    meets = "r.total >= p.annual_tenths AND r.professional >= p.professional_tenths"
    meets_final = "n.total >= n.annual_tenths AND n.professional >= n.professional_tenths"
    sql = f"""
    WITH entry AS NOT MATERIALIZED (
        SELECT e.id, e.learner_id, e.year, e.source, e.created_at, l.district_id,
               CAST(ROUND(e.credits * 10) AS INTEGER) AS tenths,
               CASE WHEN e.category = 'professional' THEN 1 ELSE 0 END AS is_professional
        FROM {t["entry"]} e
        JOIN {t["learner"]} l ON l.id = e.learner_id
        JOIN {t["region"]} d ON d.id = l.district_id
        WHERE {where}
    ),
    capped_sums AS (
        SELECT en.id, en.learner_id, en.year, en.source, en.created_at, en.district_id,
               cap.cap_tenths,
               SUM(en.tenths * en.is_professional) OVER source_order AS professional_sum,
               SUM(en.tenths * (1 - en.is_professional)) OVER source_order AS public_sum
        FROM entry en
        JOIN recompute_cap cap
          ON cap.district_id = en.district_id AND cap.year = en.year AND cap.source = en.source
        WINDOW source_order AS (
            PARTITION BY en.learner_id, en.year, en.source
            ORDER BY en.created_at, en.id ROWS UNBOUNDED PRECEDING
        )
    ),
    capped_professional AS (
        SELECT c.*, {capped_professional} AS counted_professional FROM capped_sums c
    ),
    capped_counted AS (
        SELECT c.*, c.counted_professional + {capped_public} AS counted_total
        FROM capped_professional c
    ),
    delta AS (
        SELECT en.id, en.learner_id, en.year, en.created_at, en.district_id,
               en.tenths * en.is_professional AS professional, en.tenths AS total
        FROM entry en
        WHERE NOT EXISTS (
            SELECT 1 FROM recompute_cap cap
            WHERE cap.district_id = en.district_id AND cap.year = en.year
              AND cap.source = en.source
        )
        UNION ALL
        SELECT c.id, c.learner_id, c.year, c.created_at, c.district_id,
               c.counted_professional - COALESCE(LAG(c.counted_professional) OVER previous, 0),
               c.counted_total - COALESCE(LAG(c.counted_total) OVER previous, 0)
        FROM capped_counted c
        WINDOW previous AS (
            PARTITION BY c.learner_id, c.year, c.source ORDER BY c.created_at, c.id
        )
    ),
    running AS (
        SELECT d.id, d.learner_id, d.year, d.created_at, d.district_id,
               SUM(d.professional) OVER recorded AS professional,
               SUM(d.total) OVER recorded AS total,
               SUM(d.professional) OVER whole_year AS final_professional,
               SUM(d.total) OVER whole_year AS final_total
        FROM delta d
        WINDOW recorded AS (
            PARTITION BY d.learner_id, d.year ORDER BY d.created_at, d.id
            ROWS UNBOUNDED PRECEDING
        ), whole_year AS (PARTITION BY d.learner_id, d.year)
    ),
    outcome AS (
        SELECT r.learner_id, r.year,
               MAX(p.annual_tenths) AS annual_tenths,
               MAX(p.professional_tenths) AS professional_tenths,
               MIN(CASE WHEN {meets} THEN r.created_at END) AS met_at,
               MAX(r.id) AS last_entry_id,
               MAX(r.final_total) AS total,
               MAX(r.final_professional) AS professional
        FROM running r
        JOIN recompute_policy p ON p.district_id = r.district_id AND p.year = r.year
        GROUP BY r.learner_id, r.year
    ),
    decided AS (
        SELECT n.*,
               CASE WHEN {meets_final} THEN '{engine.COMPLETE}'
                    WHEN n.met_at IS NOT NULL THEN '{engine.REVOKED}'
                    ELSE '{engine.IN_PROGRESS}' END AS status
        FROM outcome n
    )
    SELECT n.learner_id, n.year, n.status, n.total, n.professional, n.met_at,
           n.last_entry_id, COALESCE(s.status, '{engine.NOT_STARTED}') AS old_status
    FROM decided n
    LEFT JOIN {t["status"]} s ON s.learner_id = n.learner_id AND s.year = n.year
    WHERE s.id IS NULL
       OR s.status <> n.status
       OR CAST(ROUND(s.total_credits * 10) AS INTEGER) <> n.total
       OR CAST(ROUND(s.professional_credits * 10) AS INTEGER) <> n.professional
       OR CAST(ROUND(s.public_credits * 10) AS INTEGER) <> n.total - n.professional
       OR (s.met_at IS NULL AND n.met_at IS NOT NULL)
       OR (s.met_at IS NOT NULL AND n.met_at IS NULL)
       OR s.met_at <> n.met_at
    """  # noqa: S608 (table names from the models, values as parameters)
    return sql, params


def _temporary(name: str, select: str) -> str:
    if connection.vendor == "postgresql":
        return f"CREATE TEMPORARY TABLE {name} ON COMMIT DROP AS {select}"
    return f"CREATE TEMPORARY TABLE {name} AS {select}"


def resolve_policies(cursor, *, region_path: str = "") -> None:
    """Fill `recompute_policy` (district, year → the row deciding, its minimums in tenths)
    and `recompute_cap` (district, year, source → cap in tenths) for every district in the
    scope and every year the ledger has."""
    t = _tables()
    for name in ("recompute_cap", "recompute_policy", "recompute_year"):
        cursor.execute(f"DROP TABLE IF EXISTS {name}")
    cursor.execute(f"SELECT MIN(year), MAX(year) FROM {t['entry']}")  # noqa: S608
    first, last = cursor.fetchone()
    cursor.execute(_temporary("recompute_year", "SELECT 0 AS year WHERE 1 = 0"))
    if first is not None:
        cursor.executemany(
            "INSERT INTO recompute_year (year) VALUES (%s)",
            [(year,) for year in range(first, last + 1)],
        )
    cursor.execute(
        _temporary(
            "recompute_policy",
            f"""
            WITH pair AS (
                SELECT d.id AS district_id, d.path, y.year
                FROM {t["region"]} d CROSS JOIN recompute_year y
                WHERE d.path LIKE %s
            ),
            candidate AS (
                SELECT pair.district_id, pair.year, rp.id AS policy_id,
                       rp.annual_credits, rp.professional_credits,
                       ROW_NUMBER() OVER (
                           PARTITION BY pair.district_id, pair.year
                           ORDER BY LENGTH(r.path) DESC, rp.effective_from DESC
                       ) AS nearest
                FROM pair
                JOIN {t["policy"]} rp ON rp.effective_from <= pair.year
                JOIN {t["region"]} r ON r.id = rp.region_id AND pair.path LIKE r.path || '%%'
            )
            SELECT pair.district_id, pair.year, candidate.policy_id,
                   COALESCE(candidate.annual_credits, %s) * 10 AS annual_tenths,
                   COALESCE(candidate.professional_credits, %s) * 10 AS professional_tenths
            FROM pair
            LEFT JOIN candidate
              ON candidate.district_id = pair.district_id AND candidate.year = pair.year
             AND candidate.nearest = 1
            """,  # noqa: S608 (table names from the models, values as parameters)
        ),
        [region_path + "%", DEFAULTS.annual_credits, DEFAULTS.professional_credits],
    )
    cursor.execute(
        _temporary(
            "recompute_cap",
            f"""
            SELECT p.district_id, p.year, c.source, c.max_credits * 10 AS cap_tenths
            FROM recompute_policy p JOIN {t["cap"]} c ON c.policy_id = p.policy_id
            """,  # noqa: S608 (table names from the models, values as parameters)
        )
    )
    if connection.vendor == "postgresql":
        cursor.execute("CREATE INDEX ON recompute_policy (district_id, year)")
        cursor.execute("CREATE INDEX ON recompute_cap (district_id, year, source)")
        cursor.execute("ANALYZE recompute_policy")
        cursor.execute("ANALYZE recompute_cap")


def year_status_recompute_sql(
    *,
    region_path: str = "",
    first_year: int | None = None,
    last_year: int | None = None,
    now: datetime.datetime | None = None,
) -> Recomputed:
    """Recompute the yearly statuses in the scope (everything by default) in the database."""
    from cpe.credits.services import year_status_refresh

    t = _tables()
    now = now or timezone.now()
    stamp = connection.ops.adapt_datetimefield_value(now)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The window functions sort the ledger: in memory rather than in temporary files.
            cursor.execute("SET LOCAL work_mem = '256MB'")
        resolve_policies(cursor, region_path=region_path)
        cursor.execute("DROP TABLE IF EXISTS recompute_diff")
        select, params = differing_years_sql(
            region_path=region_path, first_year=first_year, last_year=last_year
        )
        cursor.execute(_temporary("recompute_diff", select), params)
        cursor.execute("SELECT COUNT(*) FROM recompute_diff")
        changed = cursor.fetchone()[0]
        cursor.execute(
            f"""
            INSERT INTO {t["change"]} (learner_id, year, from_status, to_status, entry_id,
                                       changed_at)
            SELECT learner_id, year, old_status, status, NULL, %s
            FROM recompute_diff WHERE old_status <> status
            ORDER BY learner_id, year
            """,  # noqa: S608 (table names from the models, values as parameters)
            [stamp],
        )
        status_changed = cursor.rowcount
        cursor.execute(
            f"""
            INSERT INTO {t["status"]} (learner_id, year, status, total_credits,
                                       professional_credits, public_credits, met_at, updated_at)
            SELECT learner_id, year, status, total / 10.0, professional / 10.0,
                   (total - professional) / 10.0, met_at, %s
            FROM recompute_diff WHERE 1 = 1
            ON CONFLICT (learner_id, year) DO UPDATE SET
                status = excluded.status,
                total_credits = excluded.total_credits,
                professional_credits = excluded.professional_credits,
                public_credits = excluded.public_credits,
                met_at = excluded.met_at,
                updated_at = excluded.updated_at
            """,  # noqa: S608 (table names from the models, values as parameters)
            [stamp],
        )
        # A year whose ledger gained an entry after the differences were read was written
        # from an older ledger: the per-entry path, under the learner's lock, fixes it now.
        cursor.execute(
            f"""
            SELECT d.learner_id, d.year FROM recompute_diff d
            WHERE EXISTS (
                SELECT 1 FROM {t["entry"]} e
                WHERE e.learner_id = d.learner_id AND e.year = d.year AND e.id > d.last_entry_id
            )
            """  # noqa: S608 (table names from the models, values as parameters)
        )
        late = cursor.fetchall()
        for table in ("recompute_diff", "recompute_cap", "recompute_policy", "recompute_year"):
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
    for learner_id, year in late:
        with transaction.atomic():
            learner = (
                Learner.objects.select_for_update(no_key=True, of=("self",))
                .select_related("district")
                .get(pk=learner_id)
            )
            year_status_refresh(learner=learner, year=year)
    return Recomputed(changed=changed, status_changed=status_changed, refreshed=len(late))
