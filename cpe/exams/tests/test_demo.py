"""The demo question banks: valid by the bank's own rules, loaded once, and enough for the
demo learner to take an exam right after `make run`."""

from __future__ import annotations

import pytest

from cpe.accounts import demo as accounts_demo
from cpe.catalog import demo as catalog_demo
from cpe.exams import demo
from cpe.exams.models import Question
from cpe.exams.selectors import exam_status
from cpe.exams.services import attempt_start, question_problems
from cpe.learning import demo as learning_demo
from cpe.learning.models import PlanCourse
from cpe.regions import demo as regions_demo
from cpe.registry import demo as registry_demo


@pytest.mark.parametrize("code", [row[0] for row in catalog_demo.DEMO_COURSES])
def test_every_demo_bank_follows_the_question_rules(code: str) -> None:
    bank = demo.bank_for(code)
    assert {kind for kind, *_rest in bank} == {"single", "multiple", "true_false"}
    for kind, text, marked, _explanation in bank:
        assert question_problems(kind=kind, text=text, options=demo._options(marked)) == {}, text


def test_after_the_demo_the_demo_learner_can_take_an_exam(regions, system_actor) -> None:
    regions_demo.seed(system_actor)
    accounts_demo.seed(system_actor)
    registry_demo.seed(system_actor)
    catalog_demo.seed(system_actor)
    seeded = demo.seed(system_actor)
    assert len(seeded) == len(catalog_demo.DEMO_COURSES)
    assert demo.seed(system_actor) == []  # a second run adds nothing
    assert Question.objects.filter(course__code="HB-ZY-01").count() == 11
    plan = learning_demo.seed(system_actor)
    studied = PlanCourse.objects.select_related("plan", "course", "learner").get(
        plan=plan, course__code="HB-GX-01"
    )
    assert studied.lessons_completed_at is not None and studied.completed_at is None
    assert exam_status(studied).state == "available"
    attempt = attempt_start(actor=system_actor, learner=studied.learner, plan_course=studied)
    assert attempt.paper.count() == 11
