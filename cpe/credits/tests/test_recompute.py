"""Caps per source, and the set-based recomputation against the one engine.

Random ledgers (several learners, districts with different rules and caps, several years,
reversals, entries arriving in any order) give the same statuses, totals and `met_at` from
the SQL recomputation as from `engine.year_outcome`, on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cpe.credits import engine
from cpe.credits.chain import ledger_verify
from cpe.credits.models import CreditEntry, YearStatus, YearStatusChange
from cpe.credits.recompute import _temporary, recompute_statements, resolve_policies
from cpe.credits.services import credit_reverse, year_status_recompute_all
from cpe.credits.testing import SYSTEM, record
from cpe.learning.testing import collected_learner
from cpe.regions.models import RegionPolicy, RegionPolicyCap
from cpe.regions.policy import Policy, policy_for

YEAR = timezone.localdate().year
PRO = CreditEntry.Category.PROFESSIONAL
PUB = CreditEntry.Category.PUBLIC
F2F = CreditEntry.Source.FACE_TO_FACE
MEETING = CreditEntry.Source.PROFESSIONAL_MEETING
PAPER = CreditEntry.Source.PAPER
T0 = timezone.now().replace(microsecond=0) - datetime.timedelta(days=30)


# Hubei's make-up start (cpe.regions.demo). A row of rules without one would allow no
# make-up study at all, and so no credits for an earlier year (credit_year_problem).
MAKEUP_FROM = 2019


def capped(region, year: int, *, caps: dict[str, int], **values) -> RegionPolicy:
    values.setdefault("makeup_from", MAKEUP_FROM)
    row = RegionPolicy.objects.create(region=region, effective_from=year, **values)
    for source, most in caps.items():
        RegionPolicyCap.objects.create(policy=row, source=source, max_credits=most)
    return row


# --- Caps in the engine ---------------------------------------------------------------


@dataclass
class E:
    id: int
    category: str
    credits: Decimal
    source: str
    created_at: datetime.datetime


CAPPED = Policy(source_caps=((F2F, 30), (MEETING, 20)))


def test_a_capped_source_counts_at_most_its_cap_and_professional_credits_first():
    entries = [
        E(1, PUB, Decimal(20), F2F, T0),
        E(2, PRO, Decimal(25), F2F, T0 + datetime.timedelta(minutes=1)),
        E(3, PRO, Decimal(50), PAPER, T0 + datetime.timedelta(minutes=2)),
    ]
    outcome = engine.year_outcome(entries, CAPPED)
    # Face-to-face: 45 earned, 30 count, the 25 professional ones first.
    assert outcome.total_credits == 80
    assert outcome.professional_credits == 75
    assert outcome.public_credits == 5
    assert outcome.status == engine.IN_PROGRESS
    (f2f, meeting) = outcome.caps
    assert (f2f.source, f2f.cap, f2f.earned, f2f.uncounted, f2f.reached) == (
        F2F,
        30,
        45,
        15,
        True,
    )
    assert (meeting.earned, meeting.reached) == (0, False)


sources = st.sampled_from([F2F, MEETING, PAPER])
capped_items = st.lists(
    st.tuples(
        st.sampled_from([PRO, PUB]),
        st.decimals(min_value=Decimal("0.1"), max_value=Decimal("40"), places=1),
        sources,
    ),
    max_size=12,
)


@given(items=capped_items, data=st.data())
def test_with_caps_completion_never_depends_on_the_order_entries_arrive(items, data):
    order = data.draw(st.permutations(range(len(items))))

    def arrived(sequence) -> list[E]:
        return [
            E(i + 1, items[k][0], items[k][1], items[k][2], T0 + datetime.timedelta(minutes=i))
            for i, k in enumerate(sequence)
        ]

    straight = engine.year_outcome(arrived(range(len(items))), CAPPED)
    shuffled = engine.year_outcome(arrived(order), CAPPED)
    assert straight.status == shuffled.status
    assert straight.total_credits == shuffled.total_credits
    assert straight.professional_credits == shuffled.professional_credits
    assert straight.caps == shuffled.caps


@given(items=capped_items)
def test_a_capped_source_never_counts_more_than_its_cap(items):
    outcome = engine.year_outcome(
        [
            E(i, c, amount, s, T0 + datetime.timedelta(minutes=i))
            for i, (c, amount, s) in enumerate(items)
        ],
        CAPPED,
    )
    uncapped = sum((amount for _c, amount, s in items if s == PAPER), Decimal(0))
    assert outcome.total_credits <= uncapped + 30 + 20
    assert outcome.total_credits == sum((a for _c, a, _s in items), Decimal(0)) - sum(
        cap.uncounted for cap in outcome.caps
    )


@pytest.mark.django_db
def test_a_learners_year_counts_face_to_face_training_only_up_to_the_regions_cap(regions):
    capped(regions["420100"], YEAR - 5, caps={F2F: 30})
    learner = collected_learner(district=regions["420102"])
    record(learner, 40, source=F2F)
    record(learner, 30, source=PAPER)
    record(learner, 30, category=PUB, source=PAPER)
    status = YearStatus.objects.get(learner=learner, year=YEAR)
    assert (status.total_credits, status.professional_credits) == (90, 60)
    assert status.status == YearStatus.Status.COMPLETE


# --- The SQL recomputation against the engine -----------------------------------------


def engine_outcomes() -> dict[tuple[int, int], engine.YearOutcome]:
    """What the engine says of every learner-year in the ledger, entry by entry."""
    grouped: dict[tuple[int, int], list[CreditEntry]] = {}
    for entry in CreditEntry.objects.select_related("learner__district"):
        grouped.setdefault((entry.learner_id, entry.year), []).append(entry)
    return {
        key: engine.year_outcome(entries, policy_for(entries[0].learner.district, key[1]))
        for key, entries in grouped.items()
    }


def stored() -> dict[tuple[int, int], tuple]:
    return {
        (s.learner_id, s.year): (
            s.status,
            s.total_credits,
            s.professional_credits,
            s.public_credits,
            s.met_at,
        )
        for s in YearStatus.objects.all()
    }


def as_row(outcome: engine.YearOutcome) -> tuple:
    return (
        outcome.status,
        outcome.total_credits,
        outcome.professional_credits,
        outcome.public_credits,
        outcome.met_at,
    )


@pytest.fixture
def ledger_setting(regions):
    """Four learners in three districts whose rules and caps differ, over three years (one
    district with no cap at all)."""
    capped(regions["420100"], YEAR - 2, caps={F2F: 10}, annual_credits=30, professional_credits=20)
    capped(regions["420500"], YEAR - 2, caps={}, annual_credits=20, professional_credits=10)
    capped(
        regions["420103"],
        YEAR - 1,
        caps={MEETING: 8, F2F: 12},
        annual_credits=20,
        professional_credits=5,
    )
    learners = [
        collected_learner(district=regions["420102"], sequence=1, qualification_year=YEAR - 3),
        collected_learner(district=regions["420103"], sequence=2, qualification_year=YEAR - 3),
        collected_learner(district=regions["420103"], sequence=3, qualification_year=YEAR - 3),
        collected_learner(district=regions["420502"], sequence=4, qualification_year=YEAR - 3),
    ]
    return learners


def ledger_items(*, first_year: int, then: st.SearchStrategy) -> st.SearchStrategy:
    """Entries for `ledger_setting`: (learner index, year, category, credits, source, then)."""
    return st.tuples(
        st.integers(min_value=0, max_value=3),
        st.integers(min_value=first_year, max_value=YEAR),
        st.sampled_from([PRO, PUB]),
        st.decimals(min_value=Decimal("0.1"), max_value=Decimal("15"), places=1),
        sources,
        then,
    )


events = st.lists(
    # Each reversed this many steps later, or not at all.
    ledger_items(
        first_year=YEAR - 2, then=st.one_of(st.none(), st.integers(min_value=0, max_value=5))
    ),
    min_size=1,
    max_size=14,
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(items=events, data=st.data())
@pytest.mark.django_db
def test_the_sql_recomputation_gives_what_the_engine_gives_for_any_ledger(
    ledger_setting, items, data
):
    order = data.draw(st.permutations(range(len(items))))
    with transaction.atomic():
        # Entries arrive in the drawn order; a reversal arrives some steps after its entry.
        timeline: list[tuple[float, int, str]] = []
        for step, k in enumerate(order):
            timeline.append((step, k, "record"))
            if items[k][5] is not None:
                timeline.append((step + items[k][5] + 0.5, k, "reverse"))
        recorded: dict[int, CreditEntry] = {}
        for moment, k, what in sorted(timeline):
            learner_index, year, category, credits, source, _later = items[k]
            now = T0 + datetime.timedelta(minutes=moment * 2)
            if what == "record":
                recorded[k] = record(
                    ledger_setting[learner_index],
                    credits,
                    category=category,
                    year=year,
                    source=source,
                    now=now,
                )
            else:
                credit_reverse(actor=SYSTEM, entry=recorded[k], reason="test", now=now)
        expected = {key: as_row(outcome) for key, outcome in engine_outcomes().items()}
        # The per-entry path already agrees; the recomputation changes nothing.
        assert stored() == expected
        assert year_status_recompute_all()["changed"] == 0
        # From statuses that are all wrong, it writes back exactly the engine's.
        YearStatus.objects.update(
            status=YearStatus.Status.NOT_STARTED,
            total_credits=0,
            professional_credits=0,
            public_credits=0,
            met_at=None,
        )
        result = year_status_recompute_all()
        assert stored() == expected
        assert result["changed"] == len(expected)
        assert year_status_recompute_all()["changed"] == 0
        # A stored moment the rules were first met that is too early or too late is found
        # out, whatever else is right: far off, or the moment another entry was recorded.
        moments = sorted(set(CreditEntry.objects.values_list("created_at", flat=True)))
        for wrong in (
            T0 - datetime.timedelta(days=1),
            T0 + datetime.timedelta(days=365),
            data.draw(st.sampled_from(moments)),
            data.draw(st.sampled_from(moments)),
        ):
            YearStatus.objects.exclude(met_at=None).update(met_at=wrong)
            year_status_recompute_all()
            assert stored() == expected
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_a_stored_moment_at_which_only_the_credits_before_their_cap_met_the_rules_is_put_right(
    regions,
):
    # Wuhan counts face-to-face training up to 10 credits and asks for 30, 20 professional.
    capped(regions["420100"], YEAR - 2, caps={F2F: 10}, annual_credits=30, professional_credits=20)
    learner = collected_learner(district=regions["420102"], qualification_year=YEAR - 3)
    at = [T0 + datetime.timedelta(hours=hour) for hour in range(3)]
    record(learner, 15, source=F2F, now=at[0])  # counts 10
    record(learner, 15, source=PAPER, now=at[1])  # 30 as recorded, 25 counted: not met
    record(learner, 5, category=PUB, source=PAPER, now=at[2])  # 30 counted: met
    assert YearStatus.objects.get(learner=learner, year=YEAR).met_at == at[2]
    # Stored as met when the credits as recorded first reached the rules: that is wrong.
    YearStatus.objects.filter(learner=learner, year=YEAR).update(met_at=at[1])
    assert year_status_recompute_all()["changed"] == 1
    assert YearStatus.objects.get(learner=learner, year=YEAR).met_at == at[2]


@pytest.mark.django_db
def test_the_recomputation_writes_a_status_change_only_for_years_whose_status_changed(regions):
    learner = collected_learner(district=regions["420102"], qualification_year=YEAR - 3)
    record(learner, 60, year=YEAR - 1)
    record(learner, 30, year=YEAR - 1, category=PUB)
    record(learner, 40, year=YEAR)
    before = YearStatusChange.objects.count()
    row = capped(regions["420100"], YEAR - 1, caps={}, professional_credits=70)
    result = year_status_recompute_all()
    assert result == {"changed": 1, "status_changed": 1, "refreshed": 0}
    last = YearStatus.objects.get(learner=learner, year=YEAR - 1)
    # Under the new rules the year never met them: in progress again (not revoked, which
    # says a reversal took credits away).
    assert last.status == YearStatus.Status.IN_PROGRESS
    assert YearStatusChange.objects.count() == before + 1
    change = YearStatusChange.objects.latest("id")
    assert (change.year, change.from_status, change.to_status, change.entry_id) == (
        YEAR - 1,
        "complete",
        "in_progress",
        None,
    )
    # Only the rows of the region and years asked for are recomputed.
    row.professional_credits = 60
    row.save()
    assert year_status_recompute_all(region_path=regions["420103"].path)["changed"] == 0
    assert year_status_recompute_all(first_year=YEAR)["changed"] == 0
    call_command(
        "recompute_year_status", "--region-path", regions["420102"].path, "--reason", "caps"
    )
    assert YearStatus.objects.get(learner=learner, year=YEAR - 1).status == "complete"


@pytest.mark.django_db
def test_the_recomputation_resolves_the_rules_as_policy_for_does(regions):
    """The nearest region with a row decides, its latest row not after the year."""
    capped(regions["420000"], YEAR - 2, caps={}, annual_credits=50, professional_credits=10)
    capped(regions["420100"], YEAR - 1, caps={}, annual_credits=40, professional_credits=10)
    capped(regions["420102"], YEAR, caps={}, annual_credits=20, professional_credits=10)
    learners = {
        code: collected_learner(district=regions[code], sequence=n, qualification_year=YEAR - 3)
        for n, code in enumerate(["420102", "420103"], start=1)
    }
    for learner in learners.values():
        for year in (YEAR - 2, YEAR - 1, YEAR):
            record(learner, 20, year=year)
            record(learner, 15, year=year)
    YearStatus.objects.update(status="not_started")
    year_status_recompute_all()
    statuses = {(s.learner.district.code, s.year): s.status for s in YearStatus.objects.all()}
    assert statuses == {
        ("420102", YEAR - 2): "in_progress",  # Hubei: 50
        ("420102", YEAR - 1): "in_progress",  # Wuhan: 40
        ("420102", YEAR): "complete",  # Jiang'an's own: 20
        ("420103", YEAR - 2): "in_progress",
        ("420103", YEAR - 1): "in_progress",
        ("420103", YEAR): "in_progress",  # Wuhan's 40 still
    }


@pytest.mark.django_db
def test_years_before_the_first_row_of_rules_and_after_the_last_get_the_rules_policy_for_gives(
    regions,
):
    """The rules are resolved only for the years rows take effect in; any other year takes
    those of the nearest such year, which must be what `policy_for` says of it."""
    first = min(RegionPolicy.objects.values_list("effective_from", flat=True))
    # Make-up from the learner's first required year, so every year below may earn credits.
    capped(
        regions["420102"],
        first + 1,
        caps={F2F: 10},
        annual_credits=20,
        professional_credits=10,
        makeup_from=first - 5,
    )
    learner = collected_learner(district=regions["420102"], qualification_year=first - 6)
    for year in (first - 4, first - 1, first + 3):
        record(learner, 15, year=year, source=PAPER)
        record(learner, 15, year=year, source=F2F)
    expected = {key: as_row(outcome) for key, outcome in engine_outcomes().items()}
    # Before any row: the defaults (90 credits); from Jiang'an's row on: 20, the training
    # capped at 10.
    assert {year: row[0] for (_learner, year), row in expected.items()} == {
        first - 4: "in_progress",
        first - 1: "in_progress",
        first + 3: "complete",
    }
    YearStatus.objects.update(status="not_started", total_credits=0, met_at=None)
    year_status_recompute_all()
    assert stored() == expected


@pytest.mark.django_db
@pytest.mark.parametrize(
    "wrong",
    [
        {"status": YearStatus.Status.REVOKED},
        {"total_credits": Decimal("89.9")},
        {"professional_credits": Decimal("60.1")},
        {"public_credits": Decimal("30.1")},
        {"met_at": T0},
        {"met_at": None},
    ],
    ids=["status", "total", "professional", "public", "moment", "no moment"],
)
def test_one_stored_value_out_of_step_with_the_ledger_is_found_and_put_right(regions, wrong):
    learner = collected_learner(district=regions["420102"], qualification_year=YEAR - 3)
    record(learner, 60, year=YEAR)
    record(learner, 30, year=YEAR, category=PUB)
    right = YearStatus.objects.values().get(learner=learner, year=YEAR)
    YearStatus.objects.filter(learner=learner, year=YEAR).update(**wrong)
    assert year_status_recompute_all()["changed"] == 1
    assert YearStatus.objects.values().get(learner=learner, year=YEAR) == {
        **right,
        "updated_at": YearStatus.objects.get(learner=learner, year=YEAR).updated_at,
    }


# --- The running sums on each entry -----------------------------------------------------------


def _first_pass() -> dict[tuple[int, int], int]:
    """What the recomputation's first pass makes of each learner-year it keeps: 1 where it
    settled the year itself, 0 where it leaves it to the second pass."""
    with transaction.atomic(), connection.cursor() as cursor:
        rules = resolve_policies(cursor)
        name, select, params = recompute_statements(rules=rules)[0]
        cursor.execute(f"DROP TABLE IF EXISTS {name}")
        cursor.execute(_temporary(name, select), params)
        cursor.execute(f"SELECT learner_id, year, settled FROM {name}")  # noqa: S608
        kept = {(learner_id, year): settled for learner_id, year, settled in cursor.fetchall()}
        for table in (
            name,
            "recompute_rules",
            "recompute_cap",
            "recompute_policy",
            "recompute_year",
        ):
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
    return kept


@pytest.mark.django_db
def test_the_first_pass_finds_when_a_year_recorded_in_order_was_met_from_its_running_sums(
    regions,
):
    in_order = collected_learner(
        district=regions["420102"], sequence=1, qualification_year=YEAR - 3
    )
    out_of_order = collected_learner(
        district=regions["420102"], sequence=2, qualification_year=YEAR - 3
    )
    at = [T0 + datetime.timedelta(hours=hour) for hour in range(3)]
    record(in_order, 50, now=at[0])
    record(in_order, 20, category=PUB, now=at[1])
    record(in_order, 20, now=at[2])  # 90, 70 professional: met
    record(out_of_order, 60, now=at[2])
    record(out_of_order, 30, category=PUB, now=at[0])  # dated earlier: no running sums
    expected = stored()
    # The moments the rules were first met are lost from the stored rows.
    YearStatus.objects.update(met_at=None)
    assert _first_pass() == {(in_order.pk, YEAR): 1, (out_of_order.pk, YEAR): 0}
    assert year_status_recompute_all()["changed"] == 2
    assert stored() == expected
    assert expected[(in_order.pk, YEAR)][4] == at[2]
    assert expected[(out_of_order.pk, YEAR)][4] == at[2]


@pytest.mark.django_db
def test_a_year_whose_rules_cap_nothing_is_settled_from_its_running_sums_despite_a_reversal(
    regions,
):
    capped(regions["420500"], YEAR - 2, caps={}, annual_credits=20, professional_credits=10)
    learner = collected_learner(district=regions["420502"], qualification_year=YEAR - 3)
    at = [T0 + datetime.timedelta(hours=hour) for hour in range(3)]
    first = record(learner, 15, now=at[0])
    record(learner, 10, category=PUB, now=at[1])  # 25, 15 professional: met
    credit_reverse(actor=SYSTEM, entry=first, reason="test", now=at[2])
    expected = stored()
    assert expected[(learner.pk, YEAR)][0] == YearStatus.Status.REVOKED
    assert expected[(learner.pk, YEAR)][4] == at[1]
    YearStatus.objects.update(status=YearStatus.Status.IN_PROGRESS, met_at=None)
    # The same in a district whose rules cap a source is left to the second pass.
    capped_learner = collected_learner(
        district=regions["420102"], sequence=2, qualification_year=YEAR - 3
    )
    capped(regions["420100"], YEAR - 2, caps={MEETING: 50})
    first = record(capped_learner, 60, now=at[0])
    record(capped_learner, 30, category=PUB, now=at[1])
    credit_reverse(actor=SYSTEM, entry=first, reason="test", now=at[2])
    assert _first_pass() == {(learner.pk, YEAR): 1, (capped_learner.pk, YEAR): 0}
    assert year_status_recompute_all()["changed"] == 1
    assert stored() == {**expected, (capped_learner.pk, YEAR): stored()[(capped_learner.pk, YEAR)]}
    assert stored()[(capped_learner.pk, YEAR)][0] == YearStatus.Status.REVOKED


@pytest.mark.django_db
def test_minimums_beyond_the_pairs_summed_in_the_first_pass_are_left_to_the_second(
    regions, monkeypatch
):
    capped(regions["420103"], YEAR - 2, caps={}, annual_credits=40, professional_credits=10)
    learners = [
        collected_learner(district=regions[code], sequence=n, qualification_year=YEAR - 3)
        for n, code in enumerate(["420102", "420103"], start=1)
    ]
    for learner in learners:
        for hour, credits in enumerate([30, 30, 30]):
            record(learner, credits, now=T0 + datetime.timedelta(hours=hour))
    expected = stored()
    YearStatus.objects.update(met_at=None)
    monkeypatch.setattr("cpe.credits.recompute.MAX_PAIRS", 1)
    # One pair of minimums gets a column; the other district's year is read again.
    assert sorted(_first_pass().values()) == [0, 1]
    assert year_status_recompute_all()["changed"] == 2
    assert stored() == expected
    assert {row[4] for row in expected.values()} == {
        T0 + datetime.timedelta(hours=1),
        T0 + datetime.timedelta(hours=2),
    }


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    items=st.lists(
        # Each dated at this minute.
        ledger_items(first_year=YEAR - 1, then=st.integers(min_value=0, max_value=8)),
        min_size=1,
        max_size=12,
    )
)
@pytest.mark.django_db
def test_entries_dated_in_any_order_are_recomputed_as_the_engine_counts_them(ledger_setting, items):
    with transaction.atomic():
        # Recorded in the drawn order, each dated at its own minute: some before the
        # latest of their year (no running sums), some at the same minute.
        latest: dict[tuple[int, int], datetime.datetime] = {}
        for learner_index, year, category, credits, source, minute in items:
            learner = ledger_setting[learner_index]
            now = T0 + datetime.timedelta(minutes=minute)
            entry = record(learner, credits, category=category, year=year, source=source, now=now)
            before = latest.get((learner.pk, year))
            assert (entry.running_total is None) == (before is not None and now < before)
            latest[(learner.pk, year)] = max(now, before or now)
        expected = {key: as_row(outcome) for key, outcome in engine_outcomes().items()}
        assert stored() == expected
        assert ledger_verify() == []
        YearStatus.objects.update(
            status=YearStatus.Status.NOT_STARTED,
            total_credits=0,
            professional_credits=0,
            public_credits=0,
            met_at=None,
        )
        year_status_recompute_all()
        assert stored() == expected
        transaction.set_rollback(True)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("entry", "sums", "settled"),
    [(2, (0, 0), 0), (0, (2000, 2000), 1)],
    ids=[
        "last entry's sums zeroed: met at the end, never by the sums (read again)",
        "first entry's raised: met by the sums, not at the end (never met, as credits only grew)",
    ],
)
def test_running_sums_that_disagree_with_the_credits_are_not_believed(
    regions, entry, sums, settled
):
    learner = collected_learner(district=regions["420102"], qualification_year=YEAR - 3)
    at = [T0 + datetime.timedelta(hours=hour) for hour in range(3)]
    entries = [
        record(learner, 50, now=at[0]),
        record(learner, 20, category=PUB, now=at[1]),
        # Met with the third entry; without it (the second case), never.
        record(learner, 20, now=at[2]) if entry == 2 else None,
    ]
    expected = stored()
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
        cursor.execute(
            "UPDATE credits_creditentry SET running_total = %s, running_professional = %s"
            " WHERE id = %s",
            [*sums, entries[entry].pk],
        )
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = DEFAULT")
    YearStatus.objects.update(status=YearStatus.Status.NOT_STARTED, met_at=None, total_credits=0)
    assert _first_pass() == {(learner.pk, YEAR): settled}
    year_status_recompute_all()
    assert stored() == expected
