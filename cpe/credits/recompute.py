"""The full recomputation of yearly statuses as set-based SQL, on PostgreSQL and SQLite alike.

The same rules as `cpe.credits.engine.year_outcome`, written once more in SQL so that a
million learners are recomputed in the database rather than row by row in Python:

1. the rules of each district and year are resolved into a temporary table (the nearest
   region up the tree with a row decides, its latest row not after the year: as
   `cpe.regions.policy.policy_for`), and their caps per source beside them;
2. one pass over the entries in the scope, sorted once by learner, year and the order they
   were recorded (time, then id): window functions keep the running sums of the uncapped
   sources and of each capped source apart, `engine.counted`'s rule (at most the cap,
   professional credits first) turns them into the counted totals after every entry, and
   the first moment those met the year's rules is `met_at`;
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
    """The WHERE clause (over entry `e`) that limits a recomputation."""
    t = _tables()
    clauses, params = ["1 = 1"], []
    if region_path:
        clauses.append(
            f"e.learner_id IN (SELECT l.id FROM {t['learner']} l"  # noqa: S608 (model tables)
            f" JOIN {t['region']} d ON d.id = l.district_id WHERE d.path LIKE %s)"
        )
        params.append(region_path + "%")
    if first_year is not None:
        clauses.append("e.year >= %s")
        params.append(first_year)
    if last_year is not None:
        clauses.append("e.year <= %s")
        params.append(last_year)
    return " AND ".join(clauses), params


def _differs(row: str, status: str, met_at: str) -> str:
    """SQL: the outcome in `row` (its total and professional tenths, and `status` and
    `met_at` as given) differs from the stored row beside it (`old_…`; none at all)."""
    return f"""({row}.old_id IS NULL
        OR {row}.old_status <> {status}
        OR CAST(ROUND({row}.old_total * 10) AS INTEGER) <> {row}.total
        OR CAST(ROUND({row}.old_professional * 10) AS INTEGER) <> {row}.professional
        OR CAST(ROUND({row}.old_public * 10) AS INTEGER) <> {row}.total - {row}.professional
        OR ({row}.old_met_at IS NULL AND {met_at} IS NOT NULL)
        OR ({row}.old_met_at IS NOT NULL AND {met_at} IS NULL)
        OR {row}.old_met_at <> {met_at})"""


def _counted_sql(columns: dict[str, str], sources: list[str]) -> tuple[str, str]:
    """SQL for (professional, total) counted from the sums named in `columns`: the
    uncapped sources' as they are, each capped source's through `engine.counted`."""
    professional, total = [columns["u_pro"]], [columns["u_total"]]
    for i, _source in enumerate(sources):
        p, q, cap = columns[f"p_{i}"], columns[f"q_{i}"], columns[f"cap_{i}"]
        counted_professional = f"(CASE WHEN {cap} IS NULL THEN {p} ELSE {_clamp(p, cap)} END)"
        counted_public = _clamp(q, f"{cap} - {counted_professional}")
        professional.append(counted_professional)
        total.append(
            f"(CASE WHEN {cap} IS NULL THEN {p} + {q} "
            f"ELSE {counted_professional} + {counted_public} END)"
        )
    return " + ".join(professional), " + ".join(total)


def recompute_statements(
    *,
    sources: list[str],
    region_path: str = "",
    first_year: int | None = None,
    last_year: int | None = None,
) -> list[tuple[str, str, list]]:
    """The temporary tables of a recomputation, in order, as (name, SELECT, params); the
    last, `recompute_diff`, holds every learner-year in the scope whose stored status
    differs from the ledger's: (learner_id, year, status, total, professional (tenths),
    met_at, last_entry_id, old_status). They read `recompute_rules` (see resolve_policies),
    whose `cap_<i>` column is the cap of `sources[i]` (NULL: not capped there).

    1. `recompute_judged`: one pass over the ledger, aggregated per learner and year (no
       sort): the counted credits at the end, whether a reversal is among the entries, and
       the counted credits up to and before the stored `met_at`. Without a reversal the
       credits only grow, so the rules were first met at the stored moment exactly when
       they are met with the entries up to it and not with those before it; a year that
       does not meet them at the end never did. Those years need no ordering at all.
    2. `recompute_met`: for the other years (a reversal, or no or another stored `met_at`),
       their entries sorted by the order they were recorded, running sums by window
       functions (each capped source its own), and the first moment the rules were met.
    3. `recompute_diff`: the outcome against the stored rows.
    """
    t = _tables()
    where, params = _scope_sql(region_path, first_year, last_year)
    for source in sources:
        if not source.replace("_", "").isalnum():
            raise ValueError(f"Not a source code: {source!r}")
    capped = ", ".join(f"'{source}'" for source in sources)

    def conditions(row: str, condition: str = "") -> dict[str, str]:
        """Which entries (columns of `row`) each sum takes the credits of: the uncapped
        sources' professional and all credits, each capped source's professional and
        public ones; only when `condition` holds too, if one is given. Written on the
        entry's own columns: PostgreSQL evaluates each sum's condition apart, so a derived
        column would be computed again for every sum."""
        is_pro = f"{row}.category = '{CreditEntry.Category.PROFESSIONAL}'"
        uncapped = f"{row}.source NOT IN ({capped})" if sources else ""
        taken = {
            "u_pro": " AND ".join(c for c in (condition, uncapped, is_pro) if c),
            "u_total": " AND ".join(c for c in (condition, uncapped) if c),
        }
        also = f"{condition} AND " if condition else ""
        for i, source in enumerate(sources):
            taken[f"p_{i}"] = f"{also}{row}.source = '{source}' AND {is_pro}"
            taken[f"q_{i}"] = f"{also}{row}.source = '{source}' AND NOT {is_pro}"
        return taken

    def amounts(row: str) -> dict[str, str]:
        return {
            name: f"CASE WHEN {taken} THEN {row}.tenths ELSE 0 END" if taken else f"{row}.tenths"
            for name, taken in conditions(row).items()
        }

    names = list(amounts("en"))
    caps = [f"cap_{i}" for i in range(len(sources))]

    def cap_columns(row: str) -> str:
        return "".join(f", {row}.{cap}" for cap in caps)

    def counted(prefix: str, row: str = "j") -> tuple[str, str]:
        return _counted_sql(
            {
                **{name: f"{row}.{prefix}{name}" for name in names},
                **{cap: f"{row}.{cap}" for cap in caps},
            },
            sources,
        )

    def meets(professional: str, total: str, row: str = "j") -> str:
        return f"({total} >= {row}.annual_tenths AND {professional} >= {row}.professional_tenths)"

    def sums(prefix: str, condition: str = "") -> str:
        # FILTER rather than a CASE in the sum: rows it leaves out cost no transition.
        return ",\n               ".join(
            f"COALESCE(SUM(en.tenths) FILTER (WHERE {taken}), 0) AS {prefix}{name}"
            if taken
            else f"COALESCE(SUM(en.tenths), 0) AS {prefix}{name}"
            for name, taken in conditions("en", condition).items()
        )

    # The entries in the scope; the learner's district is looked up once per year, after
    # the sums, not once per entry.
    entry = f"""
        SELECT e.id, e.learner_id, e.year, e.created_at, e.category, e.source, e.reverses_id,
               CAST(ROUND(e.credits * 10) AS INTEGER) AS tenths
        FROM {t["entry"]} e
        WHERE {where}
    """  # noqa: S608 (table names from the models, source codes checked, values as parameters)
    final_professional, final_total = counted("f_")
    upto_professional, upto_total = counted("upto_")
    before_professional, before_total = counted("before_")
    final_meets = meets("c.professional", "c.total", row="c")
    judged = f"""
    WITH summary AS (
        SELECT en.learner_id, en.year,
               MAX(en.id) AS last_entry_id,
               MAX(CASE WHEN en.reverses_id IS NULL THEN 0 ELSE 1 END) AS has_reversal,
               MAX(s.met_at) AS stored_met_at,
               {sums("f_")},
               {sums("upto_", "en.created_at <= s.met_at")},
               {sums("before_", "en.created_at < s.met_at")}
        FROM ({entry}) en
        -- Only a year met once has a moment to check (and the fewer rows, the faster).
        LEFT JOIN (
            SELECT learner_id, year, met_at FROM {t["status"]} WHERE met_at IS NOT NULL
        ) s ON s.learner_id = en.learner_id AND s.year = en.year
        GROUP BY en.learner_id, en.year
    ),
    ruled AS (
        SELECT m.*, l.district_id, r.annual_tenths, r.professional_tenths{cap_columns("r")}
        FROM summary m
        JOIN {t["learner"]} l ON l.id = m.learner_id
        JOIN recompute_rules r ON r.district_id = l.district_id AND r.year = m.year
    ),
    -- The counted credits and whether the rules were met up to and before the stored
    -- moment, as columns the next step reads rather than the long expressions again.
    counted AS (
        SELECT j.learner_id, j.year, j.district_id, j.last_entry_id, j.has_reversal,
               j.stored_met_at, j.annual_tenths, j.professional_tenths{cap_columns("j")},
               {final_total} AS total, {final_professional} AS professional,
               CASE WHEN {meets(upto_professional, upto_total)} THEN 1 ELSE 0 END AS upto_met,
               CASE WHEN {meets(before_professional, before_total)} THEN 1 ELSE 0 END
                   AS before_met
        FROM ruled j
    ),
    judged AS (
        SELECT c.learner_id, c.year, c.district_id, c.last_entry_id, c.has_reversal,
               c.annual_tenths, c.professional_tenths{cap_columns("c")},
               c.total, c.professional,
               CASE WHEN c.has_reversal = 0 AND NOT {final_meets} THEN 1
                    WHEN c.has_reversal = 0 AND c.stored_met_at IS NOT NULL
                         AND c.upto_met = 1 AND c.before_met = 0 THEN 1
                    ELSE 0 END AS settled,
               CASE WHEN c.has_reversal = 0 AND {final_meets} THEN c.stored_met_at END
                   AS settled_met_at,
               o.id AS old_id, COALESCE(o.status, '{engine.NOT_STARTED}') AS old_status,
               o.total_credits AS old_total, o.professional_credits AS old_professional,
               o.public_credits AS old_public, o.met_at AS old_met_at
        FROM counted c
        LEFT JOIN {t["status"]} o ON o.learner_id = c.learner_id AND o.year = c.year
    )
    -- A settled year is decided here: kept only if its stored row differs.
    SELECT x.* FROM judged x
    WHERE x.settled = 0 OR {
        _differs(
            "x",
            f"CASE WHEN x.settled_met_at IS NULL THEN '{engine.IN_PROGRESS}' "
            f"ELSE '{engine.COMPLETE}' END",
            "x.settled_met_at",
        )
    }
    """  # noqa: S608 (table names from the models, source codes checked, values as parameters)
    running_columns = ",\n               ".join(
        f"SUM({sql}) OVER recorded AS r_{name}" for name, sql in amounts("en").items()
    )
    running_professional, running_total = _counted_sql(
        {**{name: f"w.r_{name}" for name in names}, **{cap: f"j.{cap}" for cap in caps}},
        sources,
    )
    met = f"""
    WITH running AS (
        SELECT en.learner_id, en.year, en.created_at,
               {running_columns}
        FROM ({entry}) en
        JOIN recompute_judged o
          ON o.learner_id = en.learner_id AND o.year = en.year AND o.settled = 0
        WINDOW recorded AS (
            PARTITION BY en.learner_id, en.year ORDER BY en.created_at, en.id
            ROWS UNBOUNDED PRECEDING
        )
    )
    SELECT w.learner_id, w.year,
           MIN(CASE WHEN {meets(running_professional, running_total)}
                    THEN w.created_at END) AS met_at
    FROM running w
    JOIN recompute_judged j ON j.learner_id = w.learner_id AND j.year = w.year
    GROUP BY w.learner_id, w.year
    """  # noqa: S608 (table names from the models, source codes checked, values as parameters)
    diff = f"""
    WITH decided AS (
        SELECT j.learner_id, j.year, j.total, j.professional, j.last_entry_id,
               CASE WHEN j.settled = 1 THEN j.settled_met_at ELSE m.met_at END AS met_at,
               j.annual_tenths, j.professional_tenths, j.old_id, j.old_status, j.old_total,
               j.old_professional, j.old_public, j.old_met_at
        FROM recompute_judged j
        LEFT JOIN recompute_met m ON m.learner_id = j.learner_id AND m.year = j.year
    ),
    outcome AS (
        SELECT n.*,
               CASE WHEN n.total >= n.annual_tenths AND n.professional >= n.professional_tenths
                    THEN '{engine.COMPLETE}'
                    WHEN n.met_at IS NOT NULL THEN '{engine.REVOKED}'
                    ELSE '{engine.IN_PROGRESS}' END AS status
        FROM decided n
    )
    SELECT n.learner_id, n.year, n.status, n.total, n.professional, n.met_at,
           n.last_entry_id, n.old_status
    FROM outcome n
    WHERE {_differs("n", "n.status", "n.met_at")}
    """  # noqa: S608 (table names from the models, values as parameters)
    return [
        ("recompute_judged", judged, params),
        ("recompute_met", met, params),
        ("recompute_diff", diff, []),
    ]


def _temporary(name: str, select: str) -> str:
    if connection.vendor == "postgresql":
        return f"CREATE TEMPORARY TABLE {name} ON COMMIT DROP AS {select}"
    return f"CREATE TEMPORARY TABLE {name} AS {select}"


def resolve_policies(cursor, *, region_path: str = "") -> list[str]:
    """Fill `recompute_policy` (district, year → the row deciding, its minimums in tenths),
    `recompute_cap` (district, year, source → cap in tenths) and `recompute_rules` (both in
    one row per district and year, column `cap_<i>` for the i-th capped source) for every
    region in the scope and every year the ledger has. Returns the capped sources."""
    t = _tables()
    for name in ("recompute_rules", "recompute_cap", "recompute_policy", "recompute_year"):
        cursor.execute(f"DROP TABLE IF EXISTS {name}")
    cursor.execute(f"SELECT MIN(year), MAX(year) FROM {t['entry']}")  # noqa: S608
    first, last = cursor.fetchone()
    cursor.execute(_temporary("recompute_year", "SELECT 0 AS year WHERE 1 = 0"))
    if first is not None:
        cursor.executemany(
            "INSERT INTO recompute_year (year) VALUES (%s)",
            [(year,) for year in range(first, last + 1)],
        )
    if connection.vendor == "postgresql":
        cursor.execute("ANALYZE recompute_year")
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
    cursor.execute("SELECT DISTINCT source FROM recompute_cap ORDER BY source")
    sources = [source for (source,) in cursor.fetchall()]
    caps = "".join(f", c{i}.cap_tenths AS cap_{i}" for i in range(len(sources)))
    joins = "".join(
        f" LEFT JOIN recompute_cap c{i} ON c{i}.district_id = p.district_id"
        f" AND c{i}.year = p.year AND c{i}.source = %s"
        for i in range(len(sources))
    )
    cursor.execute(
        _temporary(
            "recompute_rules",
            "SELECT p.district_id, p.year, p.annual_tenths, p.professional_tenths"  # noqa: S608
            f"{caps} FROM recompute_policy p{joins}",
        ),
        sources,
    )
    if connection.vendor == "postgresql":
        cursor.execute("ANALYZE recompute_rules")
    return sources


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
    postgresql = connection.vendor == "postgresql"
    with transaction.atomic(), connection.cursor() as cursor:
        if postgresql:
            # The window functions sort the ledger: in memory rather than in temporary files.
            cursor.execute("SET LOCAL work_mem = '256MB'")
            # Compiling these few statements costs more than it saves (a second at any size).
            cursor.execute("SET LOCAL jit = off")
        sources = resolve_policies(cursor, region_path=region_path)
        for name, select, params in recompute_statements(
            sources=sources, region_path=region_path, first_year=first_year, last_year=last_year
        ):
            cursor.execute(f"DROP TABLE IF EXISTS {name}")
            if postgresql and name == "recompute_judged":
                # The planner guesses a hundredth of the years this pass yields (the rules'
                # district and year are not independent) and would then look each stored
                # row up by index, once per year: hash joins it must use. And a year has
                # only three or four entries, so hashing the sums of millions of years
                # (two dozen each) outgrows memory and the processor's caches: sorting the
                # entries by year first and summing each year in turn took a third less
                # time at 1,000,000 learners.
                cursor.execute("SET LOCAL enable_nestloop = off")
                cursor.execute("SET LOCAL enable_hashagg = off")
            cursor.execute(_temporary(name, select), params)
            if postgresql and name == "recompute_judged":
                cursor.execute("SET LOCAL enable_nestloop = on")
                cursor.execute("SET LOCAL enable_hashagg = on")
                cursor.execute("ANALYZE recompute_judged")
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
        for table in (
            "recompute_diff",
            "recompute_met",
            "recompute_judged",
            "recompute_rules",
            "recompute_cap",
            "recompute_policy",
            "recompute_year",
        ):
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
