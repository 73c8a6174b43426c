"""The yearly status: one engine over the ledger, stored with a history of its changes."""

from __future__ import annotations

import datetime
import io
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from cpe.core.models import AuditEntry
from cpe.credits import engine
from cpe.credits.models import CreditEntry, YearStatus, YearStatusChange
from cpe.credits.services import credit_reverse
from cpe.credits.testing import SYSTEM, record
from cpe.regions.models import RegionPolicy
from cpe.regions.policy import Policy

YEAR = timezone.localdate().year
PRO = CreditEntry.Category.PROFESSIONAL
PUB = CreditEntry.Category.PUBLIC
T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def status_of(learner) -> YearStatus:
    return YearStatus.objects.get(learner=learner, year=YEAR)


@pytest.mark.django_db
def test_a_year_is_in_progress_then_complete_on_the_day_the_rules_are_met(learner):
    record(learner, 60)
    assert status_of(learner).status == YearStatus.Status.IN_PROGRESS
    finishing = record(learner, 30, category=PUB)
    status = status_of(learner)
    assert status.status == YearStatus.Status.COMPLETE
    assert status.met_at == finishing.created_at
    assert (status.total_credits, status.professional_credits, status.public_credits) == (
        90,
        60,
        30,
    )


@pytest.mark.django_db
def test_enough_credits_but_too_few_professional_ones_do_not_complete_the_year(learner):
    record(learner, 50)
    record(learner, 50, category=PUB)
    assert status_of(learner).status == YearStatus.Status.IN_PROGRESS


@pytest.mark.django_db
def test_a_reversal_revokes_a_complete_year_and_every_change_is_kept(learner):
    record(learner, 60)
    last = record(learner, 30, category=PUB)
    reversal = credit_reverse(actor=SYSTEM, entry=last, reason="重复登记")
    status = status_of(learner)
    assert status.status == YearStatus.Status.REVOKED
    assert status.met_at == last.created_at
    history = list(
        YearStatusChange.objects.filter(learner=learner).values_list(
            "from_status", "to_status", "entry"
        )
    )
    assert history == [
        ("not_started", "in_progress", history[0][2]),
        ("in_progress", "complete", last.pk),
        ("complete", "revoked", reversal.pk),
    ]


@pytest.mark.django_db
def test_the_regions_policy_decides_what_complete_means(learner, regions):
    RegionPolicy.objects.create(
        region=regions["420102"], effective_from=YEAR, annual_credits=20, professional_credits=10
    )
    record(learner, 20)
    assert status_of(learner).status == YearStatus.Status.COMPLETE


@pytest.mark.django_db
def test_recompute_year_status_repairs_a_stored_status_after_a_policy_change(learner, regions):
    record(learner, 20)
    assert status_of(learner).status == YearStatus.Status.IN_PROGRESS
    RegionPolicy.objects.create(
        region=regions["420102"], effective_from=YEAR, annual_credits=20, professional_credits=10
    )
    call_command("recompute_year_status", "--reason", "江岸区新规定")
    assert status_of(learner).status == YearStatus.Status.COMPLETE
    assert YearStatusChange.objects.filter(to_status="complete", entry=None).count() == 1
    call_command("recompute_year_status", "--reason", "江岸区新规定")
    assert YearStatusChange.objects.filter(learner=learner).count() == 2


@pytest.mark.django_db
def test_recompute_year_status_refuses_to_run_without_a_reason(learner, regions):
    record(learner, 20)
    RegionPolicy.objects.create(
        region=regions["420102"], effective_from=YEAR, annual_credits=20, professional_credits=10
    )
    with pytest.raises(CommandError):
        call_command("recompute_year_status")
    with pytest.raises(CommandError):
        call_command("recompute_year_status", "--reason", "  ")
    assert status_of(learner).status == YearStatus.Status.IN_PROGRESS
    assert not AuditEntry.objects.filter(action="year_status.recompute").exists()


@pytest.mark.django_db
def test_recompute_year_status_writes_one_audit_entry_with_the_reason_and_the_counts(
    learner, regions
):
    record(learner, 20)
    RegionPolicy.objects.create(
        region=regions["420102"], effective_from=YEAR, annual_credits=20, professional_credits=10
    )
    path = regions["420102"].path
    call_command(
        "recompute_year_status",
        "--region-path",
        path,
        "--from-year",
        str(YEAR),
        "--reason",
        "江岸区 2026 年新规定",
        stdout=io.StringIO(),
    )
    audit = AuditEntry.objects.get(action="year_status.recompute")
    assert audit.reason == "江岸区 2026 年新规定"
    assert audit.actor is None and audit.actor_label.startswith("system:recompute_year_status")
    assert audit.region_path == path
    assert audit.changes["after"] == {
        "region_path": path,
        "years": [YEAR, None],
        "changed": 1,
        "status_changed": 1,
        "refreshed": 0,
    }


# --- Properties of the engine ---------------------------------------------------------


@dataclass
class E:
    id: int
    category: str
    credits: Decimal
    created_at: datetime.datetime
    source: str = "face_to_face"


POLICY = Policy()
amounts = st.lists(
    st.tuples(
        st.sampled_from([PRO, PUB]),
        st.decimals(min_value=Decimal("0.1"), max_value=Decimal("40"), places=1),
    ),
    max_size=12,
)


def arrived(items, order) -> list[E]:
    """The entries as recorded when they arrive in `order` (times and ids follow arrival)."""
    return [
        E(i + 1, items[k][0], items[k][1], T0 + datetime.timedelta(minutes=i))
        for i, k in enumerate(order)
    ]


@given(items=amounts, data=st.data())
def test_completion_never_depends_on_the_order_entries_arrive(items, data):
    order = data.draw(st.permutations(range(len(items))))
    straight = engine.year_outcome(arrived(items, range(len(items))), POLICY)
    shuffled = engine.year_outcome(arrived(items, order), POLICY)
    assert straight.status == shuffled.status
    assert straight.total_credits == shuffled.total_credits
    assert straight.professional_credits == shuffled.professional_credits


@given(items=amounts)
def test_totals_equal_the_sum_of_entries(items):
    outcome = engine.year_outcome(arrived(items, range(len(items))), POLICY)
    assert outcome.total_credits == sum((c for _k, c in items), Decimal(0))
    assert outcome.professional_credits == sum((c for k, c in items if k == PRO), Decimal(0))
    assert outcome.public_credits == outcome.total_credits - outcome.professional_credits


@given(items=amounts.filter(bool), data=st.data())
def test_a_reversal_brings_the_status_back_to_what_the_other_entries_give(items, data):
    reversed_at = data.draw(st.integers(min_value=0, max_value=len(items) - 1))
    entries = arrived(items, range(len(items)))
    target = entries[reversed_at]
    reversal = E(
        len(items) + 1,
        target.category,
        -target.credits,
        T0 + datetime.timedelta(minutes=len(items)),
    )
    after = engine.year_outcome([*entries, reversal], POLICY)
    without = engine.year_outcome([e for e in entries if e is not target], POLICY)
    assert after.total_credits == without.total_credits
    assert after.professional_credits == without.professional_credits
    assert (after.status == engine.COMPLETE) == (without.status == engine.COMPLETE)
    if after.status != engine.COMPLETE:
        before = engine.year_outcome(entries, POLICY)
        was_met = before.met_at is not None
        assert after.status == (engine.REVOKED if was_met else engine.IN_PROGRESS)


@pytest.mark.django_db
def test_the_stored_status_is_the_same_whichever_order_the_entries_are_recorded(make_learner):
    one, two = make_learner(), make_learner()
    items = [(PRO, 40), (PUB, 30), (PRO, 25)]
    for category, credits in items:
        record(one, credits, category=category)
    for category, credits in reversed(items):
        record(two, credits, category=category)
    first, second = status_of(one), status_of(two)
    assert first.status == second.status == YearStatus.Status.COMPLETE
    assert first.total_credits == second.total_credits == 95
