"""The full recomputation of yearly statuses at a province's size, against a hand-written
aggregate over the same tables, and the learner's credits page queries at that size.

What runs (PostgreSQL only; in a child process, on a throw-away database `test_<name>`):

1. The demo regions and rules, plus rules with caps per source (Wuhan from 2025:
   face-to-face training at most 30 credits a year, meetings 20; Hongshan from 2026: 96
   credits, 64 professional, face-to-face 24).
2. LEDGER_LEARNERS learners (default 1,000,000) generated in SQL (generate_series): valid
   18-character ID numbers (check character computed), their masked form, a keyed-hash-
   shaped and an encrypted-shaped value (synthetic: not decryptable), names, mobiles,
   employers with credit codes, qualification levels and years, spread over the districts.
3. LEDGER_ENTRIES entries (default 10,000,000) over 2024–2026, both categories and every
   source (platform courses most), plus a reversal of about one in a hundred, in SQL, each
   with the running sums of its year that appending in the order of their times writes;
   the hash chain is synthetic (the benchmark measures the status, not `verify_ledger`).
   Then VACUUM (ANALYZE), as autovacuum does after a bulk insert.
4. LEDGER_RUNS runs (default 3) of each, medians reported:
   - the set-based recomputation from empty (no yearly status at all: every row written,
     every status change recorded), `cpe.credits.recompute.year_status_recompute_sql`;
   - the same when nothing changed (every row read, compared, none written);
   - the same after a change of rules (Wuhan asks 66 professional credits from 2026, not
     60): the years it decides are judged again, those that differ written; the rules are
     then put back and recomputed, untimed;
   - the reference: a hand-written aggregate over the same tables (per learner and year the
     sums by category, the district's rules, whether the year is met), read to the end,
     with the recomputation's arithmetic (whole tenths) and its rules for each year; timed
     just before the recomputation when nothing changed, the ratio's other side, after an
     untimed run of it that warms the caches for both;
   - a second, fuller reference: the same by hand with the moment each year first met its
     rules (running sums in the order entries were recorded), as the status needs; it
     still does less than the recomputation (no caps per source, nothing compared or
     written).
5. The learner's credits page queries (the learner with their district, then
   `learner_credit_overview`, what `/study/credits/` and `/api/v1/learner/credits` run)
   for LEDGER_SAMPLES random learners (default 500): median and p95.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<name> \\
        .venv/bin/python benchmarks/run.py bench_ledger
    LEDGER_LEARNERS=100000 LEDGER_ENTRIES=1000000 LEDGER_RUNS=1 ...   # a quick run
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

LEARNERS = int(os.environ.get("LEDGER_LEARNERS", "1000000"))
ENTRIES = int(os.environ.get("LEDGER_ENTRIES", str(LEARNERS * 10)))
RUNS = int(os.environ.get("LEDGER_RUNS", "3"))
SAMPLES = int(os.environ.get("LEDGER_SAMPLES", "500"))


def run() -> list[tuple[str, str]]:
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        return [("skipped", "runs on PostgreSQL only: set DATABASE_URL=postgres://…")]
    completed = subprocess.run(
        [sys.executable, __file__, "--child"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(completed.stdout[-4000:])
    f = json.loads(completed.stdout.strip().splitlines()[-1])
    empty, same, reference, reference_status = (
        statistics.median(f["from_empty"]),
        statistics.median(f["unchanged"]),
        statistics.median(f["reference"]),
        statistics.median(f["reference_status"]),
    )
    return [
        (
            "data",
            f"{f['learners']:,} learners, {f['entries']:,} entries ({f['reversals']:,} "
            f"reversals), {f['years']:,} learner-years; generated in {f['generate_s']:.0f} s; "
            f"database {f['database_mb']:,.0f} MB",
        ),
        ("load average at start / end", f"{f['load_start']} / {f['load_end']}"),
        ("recompute from empty", _runs(f["from_empty"]) + f"  ({f['written']:,} rows written)"),
        ("recompute, nothing changed", _runs(f["unchanged"])),
        (
            "recompute after a change of rules",
            _runs(f["rules_changed"]) + f"  ({f['rules_changed_rows']:,} rows written, "
            f"{f['rules_changed_statuses']:,} statuses changed)",
        ),
        ("reference aggregate", _runs(f["reference"])),
        ("reference with the moment first met", _runs(f["reference_status"])),
        ("ratio from empty", f"{empty / reference:.2f}  (target <= 1.5)"),
        (
            "ratio nothing changed",
            f"{same / reference:.2f}  (target <= 1.5; run by run: "
            + ", ".join(f"{u / r:.2f}" for u, r in zip(f["unchanged"], f["reference"], strict=True))
            + ")",
        ),
        (
            "ratio after a change of rules",
            f"{statistics.median(f['rules_changed']) / reference:.2f}  (target <= 1.5)",
        ),
        (
            "ratios to the fuller reference",
            f"from empty {empty / reference_status:.2f}, "
            f"nothing changed {same / reference_status:.2f}",
        ),
        (
            "credits page queries, one learner",
            f"median {f['page_median']:.2f} ms   p95 {f['page_p95']:.2f} ms   "
            f"(n={f['samples']}; target p95 < 20 ms)",
        ),
        ("statuses", ", ".join(f"{k} {v:,}" for k, v in sorted(f["statuses"].items()))),
    ]


def _runs(seconds: list[float]) -> str:
    each = ", ".join(f"{s:.1f}" for s in seconds)
    return f"median {statistics.median(seconds):6.1f} s   (runs: {each})"


# --- The child: its own database, the data, the measurements ---------------------------


def _say(message: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def _child() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cpe.settings")
    os.environ["CPE_VAR_DIR"] = tempfile.mkdtemp(prefix="cpe-bench-ledger-")
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    load_start = _load()
    _say("migrating a throw-away database")
    databases = setup_databases(verbosity=0, interactive=False)
    try:
        started = time.perf_counter()
        _seed_rules()
        with connection.cursor() as cursor:
            _generate(cursor)
        generate_s = time.perf_counter() - started
        figures = _measure()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_database_size(current_database())")
            figures["database_mb"] = cursor.fetchone()[0] / 1e6
        figures.update(generate_s=generate_s, load_start=load_start, load_end=_load())
        print(json.dumps(figures))
    finally:
        connection.close()
        if not os.environ.get("LEDGER_KEEP"):  # LEDGER_KEEP=1 keeps it to look into
            teardown_databases(databases, verbosity=0)


def _seed_rules() -> None:
    from cpe.core.services import Actor
    from cpe.regions import demo as regions_demo
    from cpe.regions.models import Region, RegionPolicyCap
    from cpe.regions.services import region_policy_save

    actor = Actor.for_system("bench")
    regions_demo.seed(actor)
    wuhan = region_policy_save(
        actor=actor, region=Region.objects.get(code="420100"), effective_from=2025
    )
    RegionPolicyCap.objects.create(policy=wuhan, source="face_to_face", max_credits=30)
    RegionPolicyCap.objects.create(policy=wuhan, source="professional_meeting", max_credits=20)
    hongshan = region_policy_save(
        actor=actor,
        region=Region.objects.get(code="420111"),
        effective_from=2026,
        annual_credits=96,
        professional_credits=64,
    )
    RegionPolicyCap.objects.create(policy=hongshan, source="face_to_face", max_credits=24)


# The columns a collected learner has, each from the row number g (0-based) in SQL.
_ID_BODY = (
    "d.code || to_char(date '1960-01-01' + ((g / 1000) % 14000)::int, 'YYYYMMDD') "
    "|| lpad((g % 1000)::text, 3, '0')"
)
_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
_CHECK = " + ".join(f"substr(body, {i + 1}, 1)::int * {w}" for i, w in enumerate(_WEIGHTS))


def _generate(cursor) -> None:
    from cpe.credits.models import CreditEntry
    from cpe.regions.models import Region
    from cpe.registry.models import Learner

    learner_table = Learner._meta.db_table
    entry_table = CreditEntry._meta.db_table
    districts = list(
        Region.objects.filter(level=Region.Level.DISTRICT, path__startswith="420000/420100/")
        .order_by("code")
        .values_list("id", flat=True)
    )
    cursor.execute("CREATE TEMPORARY TABLE bench_district (n int, id int, code text)")
    cursor.executemany(
        "INSERT INTO bench_district SELECT %s, id, code FROM regions_region WHERE id = %s",
        [(n, pk) for n, pk in enumerate(districts)],
    )
    # A bulk load into a throw-away database: foreign keys are not checked row by row (the
    # generator makes them right), as pg_restore does.
    cursor.execute("SET session_replication_role = replica")
    _say(f"generating {LEARNERS:,} learners")
    cursor.execute(
        f"""
        INSERT INTO {learner_table} (
            id_number_encrypted, id_number_hash, id_number_masked, name, gender, birth_date,
            mobile, employer_name, employer_uscc, qualification_level, certificate_number,
            qualification_year, district_id, status, collected_at, updated_at)
        SELECT 'bench:' || encode(sha256(convert_to(id_number, 'UTF8')), 'base64'),
               encode(sha256(convert_to('key:' || id_number, 'UTF8')), 'hex'),
               left(id_number, 6) || '********' || right(id_number, 4),
               (ARRAY['王','李','张','刘','陈','杨','黄','赵'])[1 + g % 8]
                   || (ARRAY['伟','芳','娜','敏','静','丽','强','磊','洋','艳'])[1 + g % 10]
                   || (ARRAY['','明','华','军','红'])[1 + g % 5],
               CASE WHEN substr(id_number, 17, 1)::int % 2 = 1 THEN 'male' ELSE 'female' END,
               to_date(substr(id_number, 7, 8), 'YYYYMMDD'),
               '13' || lpad((g % 1000000000)::text, 9, '0'),
               '武汉市第' || (g % 5000) || '会计服务有限公司',
               '91420100' || lpad((g % 5000)::text, 9, '0') || 'X',
               (ARRAY['junior','intermediate','senior','none'])[1 + g % 4],
               CASE WHEN g % 4 = 3 THEN '' ELSE 'KJ' || lpad(g::text, 10, '0') END,
               CASE WHEN g % 4 = 3 THEN NULL ELSE 2000 + g % 23 END,
               district_id, 'collected', now() - interval '3 years', now()
        FROM (
            SELECT g, district_id,
                   body || substr('10X98765432', ({_CHECK}) % 11 + 1, 1) AS id_number
            FROM (
                SELECT g, d.id AS district_id, {_ID_BODY} AS body
                FROM generate_series(0, {LEARNERS} - 1) AS g
                JOIN bench_district d ON d.n = g % {len(districts)}
            ) bodies
        ) people
        ORDER BY g
        """  # noqa: S608 (table names from the models, numbers from the environment)
    )
    cursor.execute(f"SELECT MIN(id) FROM {learner_table}")  # noqa: S608
    first_learner = cursor.fetchone()[0]
    _say(f"generating {ENTRIES:,} ledger entries")
    # Entry g belongs to learner g % LEARNERS; its year and amount come from a hash of g,
    # so each learner has a few entries in each of three years, some years complete. They
    # are drawn into a staging table first, with a reversal of about one in a hundred (20
    # days later), so that each entry's running sums can be computed over its whole year,
    # as appending them in the order of their times would have written them.
    cursor.execute("SET work_mem = '512MB'")
    cursor.execute("SELECT setseed(0.42)")
    cursor.execute(
        f"""
        CREATE UNLOGGED TABLE bench_entry AS
        SELECT g, {first_learner} + g % {LEARNERS} AS learner_id,
               year,
               CASE WHEN random() < 0.7 THEN 'professional' ELSE 'public' END AS category,
               (10 + floor(random() * 31))::numeric(6, 1) AS credits,
               CASE WHEN r < 0.6 THEN 'platform_course' WHEN r < 0.75 THEN 'face_to_face'
                    WHEN r < 0.85 THEN 'professional_meeting' WHEN r < 0.9 THEN 'paper'
                    WHEN r < 0.95 THEN 'exam' ELSE 'other' END AS source,
               make_timestamptz(year, 1, 1, 8, 0, 0, 'Asia/Shanghai')
                   + (random() * 350) * interval '1 day' AS created_at
        FROM (
            SELECT g, 2024 + (g / {LEARNERS}) % 3 AS year, random() AS r
            FROM generate_series(0, {ENTRIES} - 1) AS g
        ) e
        """  # noqa: S608 (numbers from the environment)
    )
    _say("adding reversals and running sums")
    # The ledger's ids follow g, reversals after every entry: the window's order (time,
    # then reversal, then g) is the ledger's (time, then id).
    cursor.execute(
        """
        CREATE UNLOGGED TABLE bench_summed AS
        SELECT w.*,
               SUM(w.tenths) OVER recorded AS running_total,
               SUM(CASE WHEN w.category = 'professional' THEN w.tenths ELSE 0 END)
                   OVER recorded AS running_professional
        FROM (
            SELECT g, false AS reversal, learner_id, year, category, credits, source,
                   created_at, CAST(credits * 10 AS INTEGER) AS tenths
            FROM bench_entry
            UNION ALL
            SELECT g, true, learner_id, year, category, -credits, source,
                   created_at + interval '20 days', -CAST(credits * 10 AS INTEGER)
            FROM bench_entry WHERE g % 97 = 0
        ) w
        WINDOW recorded AS (
            PARTITION BY w.learner_id, w.year ORDER BY w.created_at, w.reversal, w.g
            ROWS UNBOUNDED PRECEDING
        )
        """
    )
    cursor.execute(
        f"""
        INSERT INTO {entry_table} (
            learner_id, year, category, credits, source, reference, recorded_by_label,
            reason, created_at, previous_hash, entry_hash, running_total, running_professional)
        SELECT learner_id, year, category, credits, source, 'B' || g, 'bench', '',
               created_at, '', md5(g::text) || md5((g + 1)::text), running_total,
               running_professional
        FROM bench_summed WHERE NOT reversal
        ORDER BY g
        """  # noqa: S608 (table names from the models)
    )
    cursor.execute(
        f"""
        INSERT INTO {entry_table} (
            learner_id, year, category, credits, source, reference, recorded_by_label,
            reason, created_at, previous_hash, entry_hash, reverses_id, running_total,
            running_professional)
        SELECT s.learner_id, s.year, s.category, s.credits, s.source, e.reference, 'bench',
               'duplicate', s.created_at, e.entry_hash, md5(e.id::text), e.id,
               s.running_total, s.running_professional
        FROM bench_summed s JOIN {entry_table} e ON e.reference = 'B' || s.g
        WHERE s.reversal
        ORDER BY s.g
        """  # noqa: S608 (table names from the models)
    )
    cursor.execute("DROP TABLE bench_entry, bench_summed")
    cursor.execute("RESET work_mem")
    cursor.execute("SET session_replication_role = DEFAULT")
    # What autovacuum does after a bulk insert: statistics, and the visibility map that lets
    # a read answer from an index alone (the recomputation and the reference both can).
    _say("vacuuming and analyzing")
    cursor.execute(f"VACUUM (ANALYZE) {learner_table}")
    cursor.execute(f"VACUUM (ANALYZE) {entry_table}")


def _measure() -> dict:
    from django.db import connection
    from django.db.models import Count

    from cpe.credits.models import CreditEntry, YearStatus, YearStatusChange
    from cpe.credits.recompute import year_status_recompute_sql

    figures: dict = {
        "learners": LEARNERS,
        "from_empty": [],
        "unchanged": [],
        "rules_changed": [],
        "reference": [],
        "reference_status": [],
    }
    status_table = YearStatus._meta.db_table
    change_table = YearStatusChange._meta.db_table
    for number in range(1, RUNS + 1):
        with connection.cursor() as cursor:
            cursor.execute(f"TRUNCATE {status_table}, {change_table}")
            cursor.execute("CHECKPOINT")
        _say(f"run {number}: recompute from empty")
        started = time.perf_counter()
        result = year_status_recompute_sql()
        figures["from_empty"].append(time.perf_counter() - started)
        figures["written"] = result.changed
        with connection.cursor() as cursor:
            # Settle what writing 6,000,000 rows left behind before the next timings (as the
            # reference's): the visibility map of both tables, and a checkpoint, so that
            # neither autovacuum nor the checkpointer is still writing while they run.
            cursor.execute(f"VACUUM ANALYZE {status_table}, {change_table}")
            cursor.execute("CHECKPOINT")
        # The reference just before the recomputation it is compared with: on a noisy
        # machine the two then share the same seconds' speed as far as they can. An untimed
        # read first brings the ledger's index into memory for both, so that neither pays
        # for what the checkpoint or the other left in the caches.
        _say(f"run {number}: warming the caches")
        _reference()
        _say(f"run {number}: reference aggregate")
        started = time.perf_counter()
        years = _reference()
        figures["reference"].append(time.perf_counter() - started)
        _say(f"run {number}: recompute, nothing changed")
        started = time.perf_counter()
        unchanged = year_status_recompute_sql()
        figures["unchanged"].append(time.perf_counter() - started)
        assert unchanged.changed == 0, unchanged
        _say(f"run {number}: recompute after a change of rules")
        rules = _change_rules()
        started = time.perf_counter()
        changed = year_status_recompute_sql()
        figures["rules_changed"].append(time.perf_counter() - started)
        figures["rules_changed_rows"] = changed.changed
        figures["rules_changed_statuses"] = changed.status_changed
        rules.delete()  # and back, untimed: the next runs start where this one did
        assert year_status_recompute_sql().changed == changed.changed
        _say(f"run {number}: reference with the moment first met")
        started = time.perf_counter()
        years_again, _met = _reference_status()
        figures["reference_status"].append(time.perf_counter() - started)
        assert years_again == years
    figures["years"] = years
    figures["entries"] = CreditEntry.objects.count()
    figures["reversals"] = CreditEntry.objects.filter(reverses__isnull=False).count()
    figures["statuses"] = dict(
        YearStatus.objects.order_by().values_list("status").annotate(n=Count("id"))
    )
    figures.update(_page_queries())
    return figures


def _change_rules():
    """What a city does at the start of a year: Wuhan asks 66 professional credits from 2026
    instead of 60, its caps kept (Hongshan's own row for 2026 still decides there)."""
    from cpe.regions.models import Region, RegionPolicy, RegionPolicyCap

    wuhan = Region.objects.get(code="420100")
    row = RegionPolicy.objects.create(region=wuhan, effective_from=2026, professional_credits=66)
    RegionPolicyCap.objects.create(policy=row, source="face_to_face", max_credits=30)
    RegionPolicyCap.objects.create(policy=row, source="professional_meeting", max_credits=20)
    return row


def _reference() -> int:
    """Per learner and year: the credits by category, the district's rules, met or not."""
    from django.db import connection, transaction

    from cpe.credits.recompute import resolve_policies, tenths_sql

    tenths = tenths_sql("e.credits")  # the same arithmetic as the recomputation's
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '256MB'")
        rules = resolve_policies(cursor)
        cursor.execute(
            f"""
            SELECT COUNT(*), SUM(CASE WHEN s.total >= p.annual_tenths
                                       AND s.professional >= p.professional_tenths
                                      THEN 1 ELSE 0 END)
            FROM (
                SELECT e.learner_id, e.year, l.district_id,
                       SUM({tenths}) AS total,
                       SUM(CASE WHEN e.category = 'professional' THEN {tenths} ELSE 0 END)
                           AS professional
                FROM credits_creditentry e JOIN registry_learner l ON l.id = e.learner_id
                GROUP BY e.learner_id, e.year, l.district_id
            ) s
            JOIN recompute_policy p
              ON p.district_id = s.district_id AND p.year = {rules.year_sql("s.year")}
            """  # noqa: S608 (an expression of the recomputation's)
        )
        years, _met = cursor.fetchone()
    return years


def _reference_status() -> tuple[int, int]:
    """Per learner and year: the credits by category, met or not, and the first moment the
    running sums met the district's rules (entries in the order they were recorded)."""
    from django.db import connection, transaction

    from cpe.credits.recompute import resolve_policies, tenths_sql

    tenths = tenths_sql("e.credits")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '256MB'")
        # Compiling its window functions costs this query more than it saves.
        cursor.execute("SET LOCAL jit = off")
        rules = resolve_policies(cursor)
        cursor.execute(
            f"""
            SELECT COUNT(*), COUNT(met_at)
            FROM (
                SELECT learner_id, year, SUM(tenths) AS total,
                       SUM(tenths) FILTER (WHERE professional) AS professional,
                       MIN(created_at) FILTER (
                           WHERE running_total >= annual_tenths
                             AND running_professional >= professional_tenths
                       ) AS met_at
                FROM (
                    SELECT e.learner_id, e.year, e.created_at,
                           {tenths} AS tenths,
                           e.category = 'professional' AS professional,
                           p.annual_tenths, p.professional_tenths,
                           SUM({tenths}) OVER recorded AS running_total,
                           SUM(CASE WHEN e.category = 'professional' THEN {tenths} ELSE 0 END)
                               OVER recorded AS running_professional
                    FROM credits_creditentry e
                    JOIN registry_learner l ON l.id = e.learner_id
                    JOIN recompute_policy p
                      ON p.district_id = l.district_id AND p.year = {rules.year_sql("e.year")}
                    WINDOW recorded AS (
                        PARTITION BY e.learner_id, e.year ORDER BY e.created_at, e.id
                        ROWS UNBOUNDED PRECEDING
                    )
                ) running
                GROUP BY learner_id, year
            ) years
            """  # noqa: S608 (an expression of the recomputation's)
        )
        years, met = cursor.fetchone()
    return years, met


def _page_queries() -> dict:
    from django.db import reset_queries

    from cpe.credits.selectors import learner_credit_overview
    from cpe.registry.models import Learner

    rng = random.Random(7)
    first, last = (
        Learner.objects.order_by("id").values_list("id", flat=True)[0],
        (Learner.objects.order_by("-id").values_list("id", flat=True)[0]),
    )
    times = []
    for n in range(SAMPLES + 20):
        pk = rng.randint(first, last)
        started = time.perf_counter()
        learner = Learner.objects.select_related("district").get(pk=pk)
        credits = learner_credit_overview(learner)
        elapsed = (time.perf_counter() - started) * 1000
        assert credits.years and credits.entries
        if n >= 20:  # the first ones warm the connection and the caches
            times.append(elapsed)
        reset_queries()
    ordered = sorted(times)
    return {
        "samples": len(ordered),
        "page_median": statistics.median(ordered),
        "page_p95": ordered[int(len(ordered) * 0.95) - 1],
    }


if __name__ == "__main__" and sys.argv[1:] == ["--child"]:
    _child()
