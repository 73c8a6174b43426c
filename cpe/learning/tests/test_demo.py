"""The demo learner's study: this year's plan with the catalog's demo courses."""

from __future__ import annotations

from collections.abc import Callable

from django.utils import timezone

from cpe.accounts import demo as accounts_demo
from cpe.catalog.models import Course
from cpe.core.services import Actor
from cpe.learning import demo
from cpe.learning.models import PlanCourse, YearPlan
from cpe.registry import demo as registry_demo

SYSTEM = Actor.for_system("tests")


def _demo_learner() -> None:
    accounts_demo.seed(SYSTEM)
    registry_demo.seed(SYSTEM)


def test_the_demo_learner_gets_this_years_plan_with_the_demo_courses(
    regions: dict, make_course: Callable[..., Course]
) -> None:
    _demo_learner()
    for code in demo.DEMO_PLAN_COURSES:
        make_course(code)

    plan = demo.seed(SYSTEM)
    demo.seed(SYSTEM)  # a second run changes nothing

    assert plan is not None
    assert plan.year == timezone.localdate().year
    assert plan.is_open_for_study
    assert sorted(PlanCourse.objects.filter(plan=plan).values_list("course__code", flat=True)) == (
        sorted(demo.DEMO_PLAN_COURSES)
    )
    assert YearPlan.objects.filter(learner=plan.learner).count() == (
        timezone.localdate().year - 2019 + 1
    )


def test_without_the_catalogs_demo_nothing_is_opened(regions: dict) -> None:
    _demo_learner()

    assert demo.seed(SYSTEM) is None
    assert not YearPlan.objects.exists()
