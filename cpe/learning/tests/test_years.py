"""The year rules: required years, make-up from the region's start year, sequencing, and
whether time studied may be credited to a plan now."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cpe.core.services import Actor
from cpe.learning.models import YearPlan
from cpe.learning.years import (
    Blocker,
    blocker_message,
    first_required_year,
    required_years,
    study_allowed,
    year_blocker,
)
from cpe.regions.models import Region
from cpe.regions.services import region_policy_save
from cpe.registry.models import Learner

SYSTEM = Actor.for_system("tests")
TODAY = datetime.date(2026, 6, 1)


def _rules(region: Region, *, makeup_from: int | None, sequential: bool) -> None:
    region_policy_save(
        actor=SYSTEM,
        region=region,
        effective_from=2018,
        makeup_from=makeup_from,
        sequential_years=sequential,
    )


def _unsaved_learner(
    region: Region, qualification_year: int | None, collected: int = 2016
) -> Learner:
    return Learner(
        district=region,
        qualification_level="junior" if qualification_year else "none",
        qualification_year=qualification_year,
        collected_at=datetime.datetime(collected, 3, 1, tzinfo=datetime.UTC),
    )


def test_required_years_start_the_year_after_the_qualification(
    regions: dict[str, Region],
) -> None:
    learner = _unsaved_learner(regions["420102"], 2021)

    assert first_required_year(learner) == 2022
    assert required_years(learner, today=TODAY) == [2022, 2023, 2024, 2025, 2026]


def test_without_a_qualification_the_collection_year_is_the_first_required(
    regions: dict[str, Region],
) -> None:
    learner = _unsaved_learner(regions["420102"], None, collected=2023)

    assert first_required_year(learner) == 2023


def test_years_before_the_makeup_start_are_not_required_any_more(
    regions: dict[str, Region],
) -> None:
    learner = _unsaved_learner(regions["420102"], 2010)  # Hubei: make-up from 2019

    assert required_years(learner, today=TODAY)[0] == 2019
    assert year_blocker(learner, 2018, completed_years=set(), today=TODAY) == Blocker(
        "before_makeup_start"
    )


def test_with_sequencing_a_later_year_names_the_earliest_unfinished_one(
    regions: dict[str, Region],
) -> None:
    learner = _unsaved_learner(regions["420102"], 2020)

    blocker = year_blocker(learner, 2024, completed_years={2021, 2023}, today=TODAY)

    assert blocker == Blocker("earlier_year_unfinished", 2022)
    assert "2022" in blocker_message(blocker)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    qualification_year=st.one_of(st.none(), st.integers(min_value=2005, max_value=2026)),
    makeup_from=st.one_of(st.none(), st.integers(min_value=2018, max_value=2026)),
    sequential=st.booleans(),
    completed=st.sets(st.integers(min_value=2015, max_value=2026)),
)
def test_the_years_open_to_a_learner_follow_the_rules_for_any_history(
    regions: dict[str, Region],
    qualification_year: int | None,
    makeup_from: int | None,
    sequential: bool,
    completed: set[int],
) -> None:
    region = regions["420102"]
    _rules(region, makeup_from=makeup_from, sequential=sequential)
    learner = _unsaved_learner(region, qualification_year)
    first = first_required_year(learner)
    required = required_years(learner, today=TODAY)
    completed &= set(required)  # a learner completes only years they could study
    unfinished = sorted(set(required) - completed)

    allowed = {
        year
        for year in range(2010, 2028)
        if year_blocker(learner, year, completed_years=completed, today=TODAY) is None
    }

    assert all(first <= year <= TODAY.year for year in allowed)
    assert not allowed & (completed - {TODAY.year})
    # The current year is always listed; earlier ones only from the make-up start.
    assert all(year == TODAY.year or makeup_from is not None for year in required)
    if sequential:
        # Only the earliest unfinished year may be studied (or the current one when every
        # earlier required year is done).
        if unfinished:
            assert allowed == {unfinished[0]}
            for later in range(unfinished[0] + 1, TODAY.year + 1):
                assert year_blocker(learner, later, completed_years=completed, today=TODAY) in (
                    Blocker("earlier_year_unfinished", unfinished[0]),
                    Blocker("already_complete"),
                )
        else:
            assert allowed == ({TODAY.year} if first <= TODAY.year else set())
    else:
        assert allowed == set(unfinished) | ({TODAY.year} if first <= TODAY.year else set())


def _plan(learner: Learner, year: int, **fields: Any) -> YearPlan:
    return YearPlan.objects.create(learner=learner, year=year, **fields)


def test_study_is_allowed_in_an_open_plan_of_the_earliest_unfinished_year(
    make_learner: Callable[..., Learner],
) -> None:
    current = timezone.localdate().year
    learner = make_learner(qualification_year=current - 3)
    plan = _plan(learner, current - 2)

    assert study_allowed(learner, plan) is None


def test_study_in_a_plan_waiting_for_payment_is_not_credited(
    make_learner: Callable[..., Learner],
) -> None:
    learner = make_learner(qualification_year=timezone.localdate().year - 1)
    plan = _plan(learner, timezone.localdate().year, payment=YearPlan.Payment.PENDING)

    assert study_allowed(learner, plan) == Blocker("payment_pending")


def test_study_in_a_later_year_stops_when_sequencing_finds_an_earlier_year_unfinished(
    make_learner: Callable[..., Learner], regions: dict[str, Region]
) -> None:
    current = timezone.localdate().year
    learner = make_learner(qualification_year=current - 4)
    # Opened while the region did not sequence years; then the rule was switched on.
    _rules(regions["420000"], makeup_from=2019, sequential=False)
    _plan(learner, current - 3, completed_at=timezone.now())
    later = _plan(learner, current)
    assert study_allowed(learner, later) is None

    _rules(regions["420000"], makeup_from=2019, sequential=True)

    assert study_allowed(learner, later) == Blocker("earlier_year_unfinished", current - 2)


def test_study_may_go_on_in_a_year_already_complete(
    make_learner: Callable[..., Learner],
) -> None:
    current = timezone.localdate().year
    learner = make_learner(qualification_year=current - 2)
    plan = _plan(learner, current - 1, completed_at=timezone.now())

    assert study_allowed(learner, plan) is None


def test_a_past_year_is_no_longer_studied_where_the_region_has_no_makeup(
    make_learner: Callable[..., Learner], regions: dict[str, Region]
) -> None:
    current = timezone.localdate().year
    learner = make_learner(qualification_year=current - 3)
    plan = _plan(learner, current - 1)  # opened last year, when it was the current one
    _rules(regions["420000"], makeup_from=None, sequential=False)

    assert study_allowed(learner, plan) == Blocker("before_makeup_start")


@pytest.mark.parametrize(
    "rule",
    [
        "future_year",
        "not_required",
        "before_makeup_start",
        "already_complete",
        "payment_pending",
    ],
)
def test_every_rule_has_words_for_the_learner(rule: str) -> None:
    assert blocker_message(Blocker(rule)) != rule
