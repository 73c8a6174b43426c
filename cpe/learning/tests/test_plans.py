"""Opening year plans, choosing courses into them, and progress toward the year's rules."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from cpe.catalog.models import Course
from cpe.core.models import AuditEntry
from cpe.core.services import Actor
from cpe.learning.models import LessonProgress, PlanCourse, YearPlan
from cpe.learning.selectors import learner_years, plan_progress
from cpe.learning.services import (
    StudyRefused,
    plan_course_add,
    plan_course_remove,
    year_plan_open,
    year_plan_payment_confirm,
)
from cpe.regions.models import Region
from cpe.regions.services import region_policy_save
from cpe.registry.models import Learner

SYSTEM = Actor.for_system("tests")
CURRENT = timezone.localdate().year


def _actor(learner: Learner) -> Actor:
    return Actor(user=learner.user)


def _open(learner: Learner, year: int = CURRENT) -> YearPlan:
    return year_plan_open(actor=_actor(learner), learner=learner, year=year)


def _complete(plan: YearPlan) -> None:
    plan.completed_at = timezone.now()
    plan.save(update_fields=["completed_at"])


# --- Opening a year ---------------------------------------------------------------------


def test_a_learner_opens_the_current_year_free_in_a_free_region(
    make_learner: Callable[..., Learner],
) -> None:
    learner = make_learner(qualification_year=CURRENT - 1)

    plan = _open(learner)

    assert plan.year == CURRENT
    assert plan.payment == YearPlan.Payment.FREE
    assert plan.is_open_for_study
    assert AuditEntry.objects.filter(action="year_plan.open", target_id=str(plan.pk)).exists()


def test_opening_a_year_twice_gives_the_same_plan(make_learner: Callable[..., Learner]) -> None:
    learner = make_learner(qualification_year=CURRENT - 1)

    assert _open(learner) == _open(learner)
    assert YearPlan.objects.filter(learner=learner).count() == 1


def test_a_year_with_a_fee_waits_for_payment_until_it_is_confirmed(
    make_learner: Callable[..., Learner], regions: dict[str, Region]
) -> None:
    region_policy_save(
        actor=SYSTEM, region=regions["420102"], effective_from=2018, plan_fee=Decimal("50")
    )
    learner = make_learner(qualification_year=CURRENT - 1)

    plan = _open(learner)
    assert plan.payment == YearPlan.Payment.PENDING
    assert not plan.is_open_for_study

    plan = year_plan_payment_confirm(actor=SYSTEM, plan=plan)
    assert plan.payment == YearPlan.Payment.PAID
    assert plan.is_open_for_study


@pytest.mark.parametrize(
    ("qualification_year", "year", "rule"),
    [
        (CURRENT - 3, CURRENT + 1, "future_year"),
        (CURRENT - 1, CURRENT - 1, "not_required"),
        (2010, 2018, "before_makeup_start"),
    ],
)
def test_a_year_that_is_not_allowed_is_refused_naming_the_rule(
    make_learner: Callable[..., Learner], qualification_year: int, year: int, rule: str
) -> None:
    learner = make_learner(qualification_year=qualification_year)

    with pytest.raises(StudyRefused) as refused:
        _open(learner, year)

    assert refused.value.code == rule
    assert not YearPlan.objects.filter(learner=learner).exists()


def test_opening_a_completed_year_again_gives_its_plan_unchanged(
    make_learner: Callable[..., Learner],
) -> None:
    learner = make_learner(qualification_year=CURRENT - 3)
    plan = _open(learner, CURRENT - 2)
    _complete(plan)

    again = _open(learner, CURRENT - 2)

    assert again == plan
    assert again.completed_at is not None


def test_sequencing_over_several_years_opens_them_one_after_the_other(
    make_learner: Callable[..., Learner],
) -> None:
    learner = make_learner(qualification_year=CURRENT - 4)  # required: CURRENT-3 .. CURRENT

    for year in range(CURRENT - 3, CURRENT + 1):
        for later in range(year + 1, CURRENT + 1):
            with pytest.raises(StudyRefused) as refused:
                _open(learner, later)
            assert refused.value.code == "earlier_year_unfinished"
            assert refused.value.year == year
            assert str(year) in refused.value.message
        _complete(_open(learner, year))

    assert [state.state for state in learner_years(learner)] == ["complete"] * 4


def test_make_up_starts_at_the_regions_first_makeup_year(
    make_learner: Callable[..., Learner],
) -> None:
    learner = make_learner(qualification_year=2015)  # Hubei: make-up from 2019

    with pytest.raises(StudyRefused) as refused:
        _open(learner, 2018)
    assert refused.value.code == "before_makeup_start"
    assert _open(learner, 2019).year == 2019


def test_without_sequencing_any_unfinished_required_year_opens(
    make_learner: Callable[..., Learner], regions: dict[str, Region]
) -> None:
    region_policy_save(
        actor=SYSTEM, region=regions["420000"], effective_from=2018, sequential_years=False
    )
    learner = make_learner(qualification_year=CURRENT - 4)

    assert _open(learner, CURRENT).year == CURRENT
    assert _open(learner, CURRENT - 2).year == CURRENT - 2


def test_the_dashboard_lists_every_required_year_with_its_state(
    make_learner: Callable[..., Learner],
) -> None:
    learner = make_learner(qualification_year=CURRENT - 3)  # required: CURRENT-2 .. CURRENT
    _complete(_open(learner, CURRENT - 2))
    _open(learner, CURRENT - 1)

    states = {s.year: s for s in learner_years(learner)}

    assert [states[y].state for y in sorted(states)] == ["complete", "open", "blocked"]
    assert states[CURRENT].blocker is not None
    assert states[CURRENT].blocker.year == CURRENT - 1


# --- Choosing courses -------------------------------------------------------------------


@pytest.fixture
def plan(make_learner: Callable[..., Learner]) -> YearPlan:
    return _open(make_learner(qualification_year=CURRENT - 1))


def _add(plan: YearPlan, course: Course) -> PlanCourse:
    return plan_course_add(actor=_actor(plan.learner), plan=plan, course=course)


def test_a_chosen_course_gives_its_class_hours_times_the_regions_credits_per_hour(
    plan: YearPlan, make_course: Callable[..., Course]
) -> None:
    chosen = _add(plan, make_course(class_hours="2.5"))

    assert chosen.credits == Decimal("7.5")
    assert chosen.category == "professional"
    assert AuditEntry.objects.filter(action="plan_course.add").exists()


@pytest.mark.parametrize(
    ("course_options", "rule"),
    [
        ({"status": "draft"}, "course_not_published"),
        ({"status": "withdrawn"}, "course_not_published"),
        ({"years": [2019]}, "course_not_offered"),
        ({"levels": ["senior"]}, "course_other_level"),
        ({"region": "420500"}, "course_other_region"),
    ],
)
def test_a_course_the_plan_cannot_take_is_refused_naming_why(
    plan: YearPlan,
    make_course: Callable[..., Course],
    course_options: dict[str, Any],
    rule: str,
) -> None:
    with pytest.raises(StudyRefused) as refused:
        _add(plan, make_course(**course_options))

    assert refused.value.code == rule
    assert not PlanCourse.objects.filter(plan=plan).exists()


def test_a_course_for_the_learners_level_or_every_level_can_be_chosen(
    plan: YearPlan, make_course: Callable[..., Course]
) -> None:
    _add(plan, make_course(levels=["junior", "intermediate"]))
    _add(plan, make_course(levels=[]))

    assert PlanCourse.objects.filter(plan=plan).count() == 2


def test_a_course_counts_for_one_year_only_and_the_refusal_names_that_year(
    make_learner: Callable[..., Learner],
    make_course: Callable[..., Course],
    regions: dict[str, Region],
) -> None:
    region_policy_save(
        actor=SYSTEM, region=regions["420000"], effective_from=2018, sequential_years=False
    )
    learner = make_learner(qualification_year=CURRENT - 3)
    course = make_course()
    _add(_open(learner, CURRENT - 1), course)

    with pytest.raises(StudyRefused) as refused:
        _add(_open(learner, CURRENT), course)

    assert refused.value.code == "course_in_other_year"
    assert refused.value.year == CURRENT - 1
    assert str(CURRENT - 1) in refused.value.message


def test_the_same_course_twice_in_a_plan_is_refused(
    plan: YearPlan, make_course: Callable[..., Course]
) -> None:
    course = make_course()
    _add(plan, course)

    with pytest.raises(StudyRefused) as refused:
        _add(plan, course)
    assert refused.value.code == "course_already_chosen"


def test_courses_cannot_be_chosen_into_a_plan_waiting_for_payment(
    make_learner: Callable[..., Learner],
    make_course: Callable[..., Course],
    regions: dict[str, Region],
) -> None:
    region_policy_save(
        actor=SYSTEM, region=regions["420102"], effective_from=2018, plan_fee=Decimal("50")
    )
    plan = _open(make_learner(qualification_year=CURRENT - 1))

    with pytest.raises(StudyRefused) as refused:
        _add(plan, make_course())
    assert refused.value.code == "payment_pending"


def test_a_course_not_yet_studied_can_be_removed(
    plan: YearPlan, make_course: Callable[..., Course]
) -> None:
    chosen = _add(plan, make_course())
    LessonProgress.objects.create(
        learner=plan.learner, lesson=chosen.course.lessons.get(), plan_course=chosen
    )

    plan_course_remove(actor=_actor(plan.learner), plan_course=chosen)

    assert not PlanCourse.objects.filter(plan=plan).exists()
    assert AuditEntry.objects.filter(action="plan_course.remove").exists()


def test_a_course_with_credited_study_time_stays_in_the_plan(
    plan: YearPlan, make_course: Callable[..., Course]
) -> None:
    chosen = _add(plan, make_course())
    LessonProgress.objects.create(
        learner=plan.learner,
        lesson=chosen.course.lessons.get(),
        plan_course=chosen,
        verified_ms=1500,
    )

    with pytest.raises(StudyRefused) as refused:
        plan_course_remove(actor=_actor(plan.learner), plan_course=chosen)

    assert refused.value.code == "course_studied"
    assert PlanCourse.objects.filter(pk=chosen.pk).exists()


# --- Progress -----------------------------------------------------------------------------


def test_progress_counts_completed_courses_and_shows_the_chosen_ones(
    plan: YearPlan, make_course: Callable[..., Course]
) -> None:
    done = _add(plan, make_course(class_hours=10))  # 30 professional credits
    _add(plan, make_course(class_hours=5))  # 15 professional credits
    _add(plan, make_course(class_hours=4, category="public"))  # 12 public credits
    done.completed_at = timezone.now()
    done.save()

    progress = plan_progress(plan)

    assert (progress.total.required, progress.professional.required) == (90, 60)
    assert (progress.total.earned, progress.total.chosen) == (30, 57)
    assert (progress.professional.earned, progress.professional.chosen) == (30, 45)
    assert progress.professional.earned_percent == 50
    assert progress.professional.chosen_percent == 75


def test_progress_warns_when_the_chosen_courses_cannot_reach_the_professional_minimum(
    plan: YearPlan, make_course: Callable[..., Course]
) -> None:
    _add(plan, make_course(class_hours=15, category="public"))  # 45 public
    _add(plan, make_course(class_hours=15))  # 45 professional

    progress = plan_progress(plan)

    assert not progress.total_out_of_reach
    assert progress.professional_out_of_reach
    assert progress.professional.missing == 15

    _add(plan, make_course(class_hours=5))
    assert not plan_progress(plan).professional_out_of_reach
