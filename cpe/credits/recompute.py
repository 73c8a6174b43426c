"""The full recomputation of yearly statuses as set-based SQL, on PostgreSQL and SQLite alike.

The same rules as `cpe.credits.engine.year_outcome`, written once more in SQL so that a
million learners are recomputed in the database rather than row by row in Python:

1. the rules of each district are resolved into a temporary table for the years in which
   some row of rules takes effect (the nearest region up the tree with a row decides, its
   latest row not after the year: as `cpe.regions.policy.policy_for`; any other year has
   the rules of the nearest of those), and their caps per source beside them;
2. one pass over the ledger in the order of its covering index (learner, year, the order
   entries were recorded), each learner-year summed as its entries go by: the counted
   credits (`engine.counted`'s rule: at most the cap, professional credits first), and the
   first entry whose running sums (stored on each entry as it was appended) met each pair
   of minimums the rules hold. Where the counted credits were the recorded ones at every
   moment (no cap in the year's rules; or no reversal, and no cap binding at the end) the
   running sums settle the year, if every entry carries them and they agree with the
   credits. So are settled every year without a reversal that does not meet the rules at
   the end, and every year whose credits ever earned (none taken back, none capped) would
   not meet them either;
3. the other years (a reversal under rules with caps, a cap that binds, an entry without
   running sums, running sums that disagree with the credits, or minimums beyond the pairs
   summed) are read again in the order their entries were recorded: running sums by
   window functions, and the first moment those met the year's rules is `met_at`;
4. only the years whose stored row differs are kept; a `YearStatusChange` is written for
   each whose status changed, and those rows are upserted.

Credits are summed as whole tenths (integers), so SQLite's floating-point numbers never
decide a comparison. Entries appended while the recomputation runs are not lost: each year
in the scope whose ledger gained an entry meanwhile (an id above the newest there was when it
began) is refreshed again by the per-entry path, under the learner's lock, once the rows are
written.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

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


def tenths_sql(credits: str) -> str:
    """SQL: an amount of credits (one decimal) as whole tenths. SQLite holds it as a
    floating-point number, which must be rounded; PostgreSQL's exact decimal needs none."""
    if connection.vendor == "postgresql":
        return f"CAST({credits} * 10 AS INTEGER)"
    return f"CAST(ROUND({credits} * 10) AS INTEGER)"


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
    """SQL: the outcome in `row` (its total and professional tenths, and `status` (a code
    of STATUS_CODES) and `met_at` as given) differs from the stored row beside it (`old_…`,
    in tenths; none at all)."""
    return f"""({row}.old_id IS NULL
        OR {row}.old_status <> {status}
        OR {row}.old_total <> {row}.total
        OR {row}.old_professional <> {row}.professional
        OR {row}.old_public <> {row}.total - {row}.professional
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


# The stored status as a small number in the first pass (text compares slowly there).
STATUS_CODES = {
    engine.NOT_STARTED: 0,
    engine.IN_PROGRESS: 1,
    engine.COMPLETE: 2,
    engine.REVOKED: 3,
}


def _status_code(column: str) -> str:
    return (
        f"CASE {column} "
        + " ".join(f"WHEN '{status}' THEN {code}" for status, code in STATUS_CODES.items())
        + " END"
    )


def _status_text(column: str) -> str:
    return (
        f"CASE {column} "
        + " ".join(f"WHEN {code} THEN '{status}'" for status, code in STATUS_CODES.items())
        + " END"
    )


def recompute_statements(
    *,
    rules: ResolvedRules,
    region_path: str = "",
    first_year: int | None = None,
    last_year: int | None = None,
) -> list[tuple[str, str, list]]:
    """The temporary tables of a recomputation, in order, as (name, SELECT, params); the
    last, `recompute_diff`, holds every learner-year in the scope whose stored status
    differs from the ledger's: (learner_id, year, status, total, professional (tenths),
    met_at, old_status). They read `recompute_rules` (see resolve_policies),
    whose `cap_<i>` column is the cap of `rules.sources[i]` (NULL: not capped there).

    1. `recompute_judged`: one pass over the ledger in the order of its covering index
       (learner, year, recording order), summed one learner-year after another as they go
       by (no hash of millions of years, no sort of the ledger): the counted credits at the
       end, whether a reversal is among the entries, whether every entry carries its
       running sums, and for each pair of minimums in `rules.pairs` the time of the first
       entry whose running sums met it; the stored row is joined to each year's sums.
       Without a reversal the credits only grow, so a year that does not meet the rules at
       the end never did, and a cap that does not bind at the end never bound. Where none
       binds at any moment (that, or no cap in the year's rules at all, reversals or not),
       the counted credits are the recorded ones, so the rules were first met when the
       running sums first met them. Nor did a year with a reversal meet the rules if its
       credits ever earned (none taken back or capped) would not. Those years are settled
       here, and kept only if their stored row differs.
    2. `recompute_met`: for the other years (a reversal under rules with caps, a cap that
       binds, an entry without running sums, sums that disagree with the credits, or
       minimums beyond the pairs summed), their entries looked up in the
       index and put in order, running sums by window functions (each capped source its
       own), and the first moment the rules were met.
    3. `recompute_diff`: the outcome against the stored rows.
    """
    t = _tables()
    where, params = _scope_sql(region_path, first_year, last_year)
    sources = rules.sources
    for source in sources:
        if not source.replace("_", "").isalnum():
            raise ValueError(f"Not a source code: {source!r}")

    # Each entry's kind, a small number computed once as the entry is read: 0 and 1 for an
    # uncapped source's public and professional credits, 2i + 2 and 2i + 3 for those of the
    # i-th capped source. Every sum below then tests one integer.
    is_professional = (
        f"CASE WHEN e.category = '{CreditEntry.Category.PROFESSIONAL}' THEN 1 ELSE 0 END"
    )
    source_kind = (
        "CASE e.source "
        + " ".join(f"WHEN '{source}' THEN {2 * i + 2}" for i, source in enumerate(sources))
        + " ELSE 0 END"
        if sources
        else "0"
    )
    entry_columns = f"""e.learner_id, e.year, e.created_at, e.id,
               e.running_total, e.running_professional,
               {tenths_sql("e.credits")} AS tenths,
               {source_kind} + {is_professional} AS kind,
               {is_professional} AS professional"""

    def conditions(condition: str = "") -> dict[str, str]:
        """Which entries (`en`) each sum takes the credits of: the uncapped sources'
        professional and all credits, each capped source's professional and public ones;
        only when `condition` holds too, if one is given (tested last: the kind rules out
        most entries at once)."""
        also = f" AND {condition}" if condition else ""
        taken = {"u_pro": f"en.kind = 1{also}", "u_total": f"en.kind < 2{also}"}
        for i in range(len(sources)):
            taken[f"p_{i}"] = f"en.kind = {2 * i + 3}{also}"
            taken[f"q_{i}"] = f"en.kind = {2 * i + 2}{also}"
        return taken

    names = list(conditions())
    caps = [f"cap_{i}" for i in range(len(sources))]

    def cap_columns(row: str) -> str:
        return "".join(f", {row}.{cap}" for cap in caps)

    def counted(sums: str, rules_row: str) -> tuple[str, str]:
        """(professional, total) counted from the sums that `sums.format(name)` names."""
        return _counted_sql(
            {
                **{name: sums.format(name) for name in names},
                **{cap: f"{rules_row}.{cap}" for cap in caps},
            },
            sources,
        )

    def meets(professional_and_total: tuple[str, str], row: str) -> str:
        professional, total = professional_and_total
        return f"({total} >= {row}.annual_tenths AND {professional} >= {row}.professional_tenths)"

    final_professional, final_total = counted("m.f_{}", "r")
    # Each capped source's professional and public credits (`f_p_<i>`, `f_q_<i>`); the
    # uncapped sources' are what is left of all credits.
    capped_sums = "".join(
        f"COALESCE(SUM(en.tenths) FILTER (WHERE en.kind = {2 * i + 3}), 0) AS f_p_{i},\n"
        f"               COALESCE(SUM(en.tenths) FILTER (WHERE en.kind = {2 * i + 2}), 0)"
        f" AS f_q_{i},\n               "
        for i in range(len(sources))
    )
    capped_professional = "".join(f" - m.f_p_{i}" for i in range(len(sources)))
    capped_total = "".join(f" - m.f_p_{i} - m.f_q_{i}" for i in range(len(sources)))
    # No cap binds in the year: each capped source's credits within its cap. Without a
    # reversal the credits only grow, so then no cap bound at any moment either, and the
    # counted credits were the credits themselves all along.
    caps_never_bind = " AND ".join(
        ["1 = 1"]
        + [
            f"(r.cap_{i} IS NULL OR m.f_p_{i} + m.f_q_{i} <= r.cap_{i})"
            for i in range(len(sources))
        ]
    )
    # No cap at all in the year's rules: the counted credits are the recorded ones at every
    # moment, reversals or not.
    no_caps = " AND ".join(["1 = 1"] + [f"r.cap_{i} IS NULL" for i in range(len(sources))])

    def final_meets(row: str) -> str:
        """The year's counted credits at the end (in `row`) meet its rules."""
        return meets((f"{row}.professional", f"{row}.total"), row)

    # The first moment each pair of minimums (annual, professional) was met by the running
    # sums, as one column each; `recompute_rules.pair` says which column a year reads.
    first_met = (
        ",\n               ".join(
            f"MIN(en.created_at) FILTER (WHERE en.running_total >= {int(annual)}"
            f" AND en.running_professional >= {int(professional)}) AS met_{n}"
            for n, (annual, professional) in enumerate(rules.pairs)
        )
        or "NULL AS met_none"
    )
    met_candidate = (
        "CASE r.pair "
        + " ".join(f"WHEN {n} THEN m.met_{n}" for n in range(len(rules.pairs)))
        + " END"
        if rules.pairs
        else "NULL"
    )
    judged = f"""
    WITH entry AS (
        SELECT {entry_columns}
        FROM {t["entry"]} e
        WHERE {where}
        -- The order of the covering index `credit_entry_recorded_order`: read in it, the
        -- ledger needs no sort, and each learner-year is summed as its entries go by.
        ORDER BY e.learner_id, e.year, e.created_at, e.id
    ),
    -- The stored rows in the same order (their unique index covers them), as numbers.
    stored AS (
        SELECT s.learner_id, s.year, s.id, s.met_at,
               {_status_code("s.status")} AS status,
               {tenths_sql("s.total_credits")} AS total,
               {tenths_sql("s.professional_credits")} AS professional,
               {tenths_sql("s.public_credits")} AS public
        FROM {t["status"]} s
        ORDER BY s.learner_id, s.year
    ),
    -- Each learner-year: its sums, whether every entry carries its running sums, and the
    -- first moment those met each pair of minimums the rules hold.
    summary AS (
        SELECT en.learner_id, en.year,
               SUM(en.tenths) AS all_total,
               COALESCE(SUM(en.tenths) FILTER (WHERE en.professional = 1), 0) AS all_professional,
               {
        capped_sums
    }-- Only a reversal carries a negative amount (a check constraint says so).
               COALESCE(SUM(en.tenths) FILTER (WHERE en.tenths < 0), 0) AS taken_total,
               COALESCE(SUM(en.tenths) FILTER (WHERE en.tenths < 0 AND en.professional = 1), 0)
                   AS taken_professional,
               COUNT(*) - COUNT(en.running_total) AS without_sums,
               -- As recorded, not counted: the same while no cap binds.
               {first_met}
        FROM entry en
        GROUP BY en.learner_id, en.year
    ),
    -- The uncapped sources' credits (all of them less the capped sources'), and the stored
    -- row beside each year's sums. Merged in here, before the learner's district, the two
    -- sides are each one row per year, so neither is read twice or buffered (OFFSET 0
    -- keeps the planner from joining the district first).
    summed AS (
        SELECT m.*, m.all_professional{capped_professional} AS f_u_pro,
               m.all_total{capped_total} AS f_u_total,
               s.id AS old_id, COALESCE(s.status, {STATUS_CODES[engine.NOT_STARTED]}) AS old_status,
               s.total AS old_total, s.professional AS old_professional, s.public AS old_public,
               s.met_at AS old_met_at
        FROM summary m
        LEFT JOIN stored s ON s.learner_id = m.learner_id AND s.year = m.year
        {"OFFSET 0" if connection.vendor == "postgresql" else "LIMIT -1 OFFSET 0"}
    ),
    -- The district's rules and the counted credits, as columns computed once: OFFSET 0
    -- keeps the planner from copying the long expressions into every place the next step
    -- reads them.
    counted AS (
        SELECT m.learner_id, m.year, CASE WHEN m.taken_total < 0 THEN 1 ELSE 0 END AS has_reversal,
               r.annual_tenths, r.professional_tenths{cap_columns("r")},
               {final_total} AS total, {final_professional} AS professional,
               -- The running sums tell when the rules were first met where every entry
               -- carries them, the minimums are one of the pairs summed, and the counted
               -- credits were the recorded ones all along: no cap in the year's rules, or
               -- credits that only grew (no reversal) and end within every cap.
               CASE WHEN m.without_sums = 0 AND r.pair IS NOT NULL
                         AND ({no_caps} OR (m.taken_total = 0 AND {caps_never_bind}))
                    THEN 1 ELSE 0 END AS sums_tell,
               {met_candidate} AS met_candidate,
               -- Every credit ever earned in the year, none taken back, none capped: the
               -- most the running sums can ever have counted.
               CASE WHEN {
        meets(
            ("m.all_professional - m.taken_professional", "m.all_total - m.taken_total"),
            "r",
        )
    } THEN 1 ELSE 0 END AS could_meet,
               m.old_id, m.old_status, m.old_total, m.old_professional, m.old_public,
               m.old_met_at
        FROM summed m
        JOIN {t["learner"]} l ON l.id = m.learner_id
        JOIN recompute_rules r
          ON r.district_id = l.district_id AND r.year = {rules.year_sql("m.year")}
        {"OFFSET 0" if connection.vendor == "postgresql" else "LIMIT -1 OFFSET 0"}
    ),
    -- The running sums are derived data, written on append and not sealed: they are
    -- believed only where they agree with the credits summed here (met at the end, so met
    -- at some moment; and without a reversal, met at some moment only if met at the end).
    -- Sums edited behind the application's back (`verify_ledger` names them) or left
    -- behind by an edit of the credits send their year to the second pass, not to a
    -- complete year without its moment.
    trusted AS (
        SELECT c.*,
               CASE WHEN c.sums_tell = 1
                         AND (c.met_candidate IS NOT NULL OR NOT {final_meets("c")})
                         AND (c.has_reversal = 1 OR c.met_candidate IS NULL
                              OR {final_meets("c")})
                    THEN 1 ELSE 0 END AS sums_trusted
        FROM counted c
    ),
    judged AS (
        SELECT c.*,
               CASE WHEN c.sums_trusted = 1 THEN 1
                    -- Credits that only grew: never met if not met at the end.
                    WHEN c.has_reversal = 0 AND NOT {final_meets("c")} THEN 1
                    -- With a reversal too: never met if all it ever earned would not meet.
                    WHEN c.could_meet = 0 THEN 1
                    ELSE 0 END AS settled,
               CASE WHEN c.sums_trusted = 1 THEN c.met_candidate END AS settled_met_at
        FROM trusted c
    )
    -- A settled year is decided here: kept only if its stored row differs.
    SELECT x.* FROM judged x
    WHERE x.settled = 0 OR {
        _differs(
            "x",
            f"CASE WHEN {final_meets('x')} THEN {STATUS_CODES[engine.COMPLETE]}"
            f" WHEN x.settled_met_at IS NOT NULL THEN {STATUS_CODES[engine.REVOKED]}"
            f" ELSE {STATUS_CODES[engine.IN_PROGRESS]} END",
            "x.settled_met_at",
        )
    }
    """  # noqa: S608 (table names from the models, source codes checked, values as parameters)
    running_columns = ",\n               ".join(
        f"SUM(en.tenths) FILTER (WHERE {taken}) OVER recorded AS r_{name}"
        for name, taken in conditions().items()
    )
    met = f"""
    WITH running AS (
        SELECT en.learner_id, en.year, en.created_at,
               j.annual_tenths, j.professional_tenths{cap_columns("j")},
               {running_columns}
        FROM recompute_judged j
        -- A few years: their entries are looked up in the index, year by year.
        JOIN (SELECT {entry_columns} FROM {t["entry"]} e) en
          ON en.learner_id = j.learner_id AND en.year = j.year
        WHERE j.settled = 0
        WINDOW recorded AS (
            PARTITION BY en.learner_id, en.year ORDER BY en.created_at, en.id
            ROWS UNBOUNDED PRECEDING
        )
    )
    SELECT w.learner_id, w.year,
           MIN(CASE WHEN {meets(counted("COALESCE(w.r_{}, 0)", "w"), "w")}
                    THEN w.created_at END) AS met_at
    FROM running w
    GROUP BY w.learner_id, w.year
    """  # noqa: S608 (table names from the models, source codes checked, values as parameters)
    diff = f"""
    WITH decided AS (
        SELECT j.learner_id, j.year, j.total, j.professional,
               CASE WHEN j.settled = 1 THEN j.settled_met_at ELSE m.met_at END AS met_at,
               j.annual_tenths, j.professional_tenths, j.old_id, j.old_status, j.old_total,
               j.old_professional, j.old_public, j.old_met_at
        FROM recompute_judged j
        LEFT JOIN recompute_met m ON m.learner_id = j.learner_id AND m.year = j.year
    ),
    outcome AS (
        SELECT n.*,
               CASE WHEN n.total >= n.annual_tenths AND n.professional >= n.professional_tenths
                    THEN {STATUS_CODES[engine.COMPLETE]}
                    WHEN n.met_at IS NOT NULL THEN {STATUS_CODES[engine.REVOKED]}
                    ELSE {STATUS_CODES[engine.IN_PROGRESS]} END AS status
        FROM decided n
    )
    SELECT n.learner_id, n.year, {_status_text("n.status")} AS status, n.total,
           n.professional, n.met_at, {_status_text("n.old_status")} AS old_status
    FROM outcome n
    WHERE {_differs("n", "n.status", "n.met_at")}
    """  # noqa: S608 (table names from the models, values as parameters)
    return [
        ("recompute_judged", judged, params),
        ("recompute_met", met, []),
        ("recompute_diff", diff, []),
    ]


def _temporary(name: str, select: str) -> str:
    if connection.vendor == "postgresql":
        return f"CREATE TEMPORARY TABLE {name} ON COMMIT DROP AS {select}"
    return f"CREATE TEMPORARY TABLE {name} AS {select}"


@dataclass(frozen=True)
class ResolvedRules:
    """What `resolve_policies` put in its temporary tables: the capped sources (column
    `cap_<i>` of `recompute_rules` is the cap of `sources[i]`) and the years it resolved.

    Rules are resolved for the years `first_year` to `last_year` only: before the first
    year any row takes effect every year has the defaults, and from the last such year on
    every region's latest row decides, so any other year has the rules of the nearest of
    the two. `year_sql` maps a year to the row of `recompute_rules` that holds its rules.
    """

    sources: list[str]
    first_year: int
    last_year: int
    # The pairs of minimums (annual, professional tenths) the first pass finds the moment
    # first met for: `recompute_rules.pair` is the index of a row's pair, NULL for a pair
    # beyond the first MAX_PAIRS (its years are read again by the second pass).
    pairs: list[tuple[int, int]] = field(default_factory=list)

    def year_sql(self, year: str) -> str:
        first, last = int(self.first_year), int(self.last_year)
        return (
            f"(CASE WHEN {year} < {first} THEN {first}"
            f" WHEN {year} > {last} THEN {last} ELSE {year} END)"
        )


# At most this many pairs of minimums get a column of their own in the first pass; each
# costs a conditional MIN over every entry. Provinces hold one or two.
MAX_PAIRS = 8


def resolve_policies(cursor, *, region_path: str = "") -> ResolvedRules:
    """Fill `recompute_policy` (district, year → the row deciding, its minimums in tenths),
    `recompute_cap` (district, year, source → cap in tenths) and `recompute_rules` (both in
    one row per district and year, column `cap_<i>` for the i-th capped source) for every
    district in the scope and every year in which some row of rules takes effect (plus the
    year before the first: the defaults). See `ResolvedRules` for the other years."""
    t = _tables()
    for name in ("recompute_rules", "recompute_cap", "recompute_policy", "recompute_year"):
        cursor.execute(f"DROP TABLE IF EXISTS {name}")
    # The years the rows of rules take effect, not the years of the ledger: reading those
    # would mean a pass over every entry.
    cursor.execute(f"SELECT MIN(effective_from), MAX(effective_from) FROM {t['policy']}")  # noqa: S608
    first, last = cursor.fetchone()
    first_year, last_year = (first - 1, last) if first is not None else (0, 0)
    cursor.execute(_temporary("recompute_year", "SELECT 0 AS year WHERE 1 = 0"))
    cursor.executemany(
        "INSERT INTO recompute_year (year) VALUES (%s)",
        [(year,) for year in range(first_year, last_year + 1)],
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
    cursor.execute(
        "SELECT annual_tenths, professional_tenths FROM recompute_policy"
        " GROUP BY annual_tenths, professional_tenths"
        " ORDER BY COUNT(*) DESC, annual_tenths, professional_tenths"
    )
    pairs = [(int(annual), int(professional)) for annual, professional in cursor.fetchall()]
    pairs = pairs[:MAX_PAIRS]
    pair = (
        "CASE "
        + " ".join(
            f"WHEN p.annual_tenths = {annual} AND p.professional_tenths = {professional} THEN {n}"
            for n, (annual, professional) in enumerate(pairs)
        )
        + " END"
        if pairs
        else "NULL"
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
            "SELECT p.district_id, p.year, p.annual_tenths, p.professional_tenths,"  # noqa: S608
            f" {pair} AS pair{caps} FROM recompute_policy p{joins}",
        ),
        sources,
    )
    if connection.vendor == "postgresql":
        cursor.execute("ANALYZE recompute_rules")
    return ResolvedRules(sources=sources, first_year=first_year, last_year=last_year, pairs=pairs)


# How each statement must run on PostgreSQL, whatever the planner guesses from its
# statistics. The first pass reads the ledger in the order of its covering index and sums
# each learner-year as it goes by: the planner would rather hash millions of groups (two
# dozen sums each), which outgrows memory, or look each stored row up by index once a
# year. The second looks a few years' entries up in the index, where the planner would
# rather read the whole ledger to hash them.
PLANNER_SETTINGS = {
    "recompute_judged": ("enable_hashagg", "enable_nestloop"),
    "recompute_met": ("enable_hashjoin", "enable_mergejoin"),
}


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
            # The later passes sort and hash a few years' entries: in memory rather than in
            # temporary files.
            cursor.execute("SET LOCAL work_mem = '256MB'")
            # (JIT is left to the server's settings: compiling the first pass's two dozen
            # sums and their conditions takes half a second and saves three at a province's
            # size.)
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {t['entry']}")  # noqa: S608
        newest_before = cursor.fetchone()[0]
        rules = resolve_policies(cursor, region_path=region_path)
        for name, select, params in recompute_statements(
            rules=rules, region_path=region_path, first_year=first_year, last_year=last_year
        ):
            cursor.execute(f"DROP TABLE IF EXISTS {name}")
            settings = PLANNER_SETTINGS.get(name, ()) if postgresql else ()
            for setting in settings:
                cursor.execute(f"SET LOCAL {setting} = off")
            cursor.execute(_temporary(name, select), params)
            for setting in settings:
                cursor.execute(f"SET LOCAL {setting} = on")
            if postgresql:
                cursor.execute(f"ANALYZE {name}")
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
        # Entries come with ever larger ids, so those are the entries above the newest one
        # there was when the recomputation began (usually none).
        scope, scope_params = _scope_sql(region_path, first_year, last_year)
        cursor.execute(
            f"SELECT DISTINCT e.learner_id, e.year FROM {t['entry']} e"  # noqa: S608
            f" WHERE e.id > %s AND {scope} ORDER BY e.learner_id, e.year",
            [newest_before, *scope_params],
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
