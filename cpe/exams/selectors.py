"""Reads of exams: where a learner stands with a course's exam, the paper as the learner may
see it (never the answers while the attempt is open), the review after grading, history."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Count, QuerySet
from django.utils import timezone

from cpe.exams.models import Attempt, AttemptQuestion, Option, ProgressReset, Question
from cpe.exams.services import ExamRules, current_round, exam_blocker, exam_rules
from cpe.learning.models import PlanCourse
from cpe.registry.models import Learner


@dataclass(frozen=True)
class ExamStatus:
    """A learner's standing with one course's exam, for the course page and the API.

    `state` is one of: no_exam, complete (passed, or lessons alone without an exam),
    in_progress, available, locked (with `reason` and `message`).
    """

    plan_course: PlanCourse
    state: str
    rules: ExamRules | None = None
    open_attempt: Attempt | None = None
    last_attempt: Attempt | None = None
    passed_attempt: Attempt | None = None
    attempts_used: int = 0
    reason: str = ""
    message: str = ""
    resets: int = 0
    questions_on_paper: int = 0

    @property
    def attempts_left(self) -> int:
        if self.rules is None:
            return 0
        return max(0, self.rules.attempts_per_year - self.attempts_used)

    @property
    def has_exam(self) -> bool:
        return self.plan_course.course.exam_required


def exam_status(plan_course: PlanCourse, *, now: datetime | None = None) -> ExamStatus:
    now = now or timezone.now()
    course = plan_course.course
    if not course.exam_required:
        state = "complete" if plan_course.completed_at else "no_exam"
        return ExamStatus(plan_course=plan_course, state=state)
    rules = exam_rules(course, plan_course.plan.year)
    attempts = list(Attempt.objects.filter(plan_course=plan_course).order_by("-number"))
    round_number = current_round(plan_course)
    common: dict[str, Any] = {
        "plan_course": plan_course,
        "rules": rules,
        "last_attempt": next((a for a in attempts if not a.is_open), None),
        "passed_attempt": next((a for a in attempts if a.passed), None),
        "attempts_used": sum(1 for a in attempts if a.round == round_number),
        "resets": round_number - 1,
        "questions_on_paper": _paper_size(course, rules),
    }
    if plan_course.completed_at is not None:
        return ExamStatus(state="complete", **common)
    open_attempt = next((a for a in attempts if a.is_open), None)
    # An attempt past its deadline is as good as closed: the job grades it within a minute,
    # and starting again grades it at once.
    if open_attempt is not None and open_attempt.deadline_at >= now:
        return ExamStatus(state="in_progress", open_attempt=open_attempt, **common)
    refused = exam_blocker(plan_course, rules)
    if refused is not None:
        return ExamStatus(state="locked", reason=refused[0], message=refused[1], **common)
    return ExamStatus(state="available", **common)


def _paper_size(course: Any, rules: ExamRules) -> int:
    counts = dict.fromkeys(Question.Kind.values, 0)
    for kind in Question.objects.filter(course=course, is_active=True).values_list(
        "kind", flat=True
    ):
        counts[kind] += 1
    return sum(min(counts[kind], rules.count_for(kind)) for kind in counts)


def plan_course_for_learner(learner: Learner, *, year: int, code: str) -> PlanCourse | None:
    return (
        PlanCourse.objects.select_related("plan__learner__district", "course__region", "learner")
        .filter(learner=learner, plan__year=year, course__code=code)
        .first()
    )


def attempt_for_learner(learner: Learner, attempt_id: Any) -> Attempt | None:
    try:
        key = attempt_id if isinstance(attempt_id, uuid.UUID) else uuid.UUID(str(attempt_id))
    except ValueError:
        return None
    return (
        Attempt.objects.select_related("course", "plan_course__plan")
        .filter(pk=key, learner=learner)
        .first()
    )


# --- The paper, as shown while the attempt is open -------------------------------------


@dataclass(frozen=True)
class PaperOption:
    id: int
    label: str
    text: str
    chosen: bool
    # Filled only for the review, after grading.
    correct: bool | None = None


@dataclass(frozen=True)
class PaperQuestion:
    position: int
    kind: str
    kind_label: str
    text: str
    options: list[PaperOption]
    saved_at: datetime | None
    # Filled only for the review, after grading.
    correct: bool | None = None
    explanation: str = ""
    points: Decimal | None = None

    @property
    def answered(self) -> bool:
        return any(option.chosen for option in self.options)

    @property
    def multiple(self) -> bool:
        return self.kind == Question.Kind.MULTIPLE


@dataclass(frozen=True)
class Paper:
    attempt: Attempt
    questions: list[PaperQuestion] = field(default_factory=list)

    @property
    def answered(self) -> int:
        return sum(1 for question in self.questions if question.answered)

    @property
    def seconds_left(self) -> int:
        return max(0, int((self.attempt.deadline_at - timezone.now()).total_seconds()))


def _label(index: int) -> str:
    return chr(ord("A") + index)


def attempt_paper(attempt: Attempt, *, review: bool = False) -> Paper:
    """The paper in the order shown. Without `review` nothing in it says which options are
    correct or explains anything: this is all that reaches the browser before grading.
    With `review` (only for a graded attempt that allows it) it carries both."""
    if review and (attempt.is_open or not attempt.show_review):
        raise ValueError("the review is shown only after grading, when the course allows it")
    items = list(
        AttemptQuestion.objects.filter(attempt=attempt)
        .select_related("question")
        .order_by("position")
    )
    options = {
        option.pk: option
        for option in Option.objects.filter(question_id__in=[item.question_id for item in items])
    }
    questions = []
    for item in items:
        chosen = set(item.chosen)
        shown = [
            PaperOption(
                id=option_id,
                label=_label(index),
                text=options[option_id].text,
                chosen=option_id in chosen,
                correct=options[option_id].is_correct if review else None,
            )
            for index, option_id in enumerate(item.option_order)
            if option_id in options
        ]
        questions.append(
            PaperQuestion(
                position=item.position,
                kind=item.question.kind,
                kind_label=str(Question.Kind(item.question.kind).label),
                text=item.question.text,
                options=shown,
                saved_at=item.saved_at,
                correct=item.correct if review else None,
                explanation=item.question.explanation if review else "",
                points=item.points if review else None,
            )
        )
    return Paper(attempt=attempt, questions=questions)


@dataclass(frozen=True)
class AttemptResult:
    attempt: Attempt
    correct: int
    questions: int
    review: Paper | None


def attempt_result(attempt: Attempt) -> AttemptResult:
    items = AttemptQuestion.objects.filter(attempt=attempt)
    review = attempt_paper(attempt, review=True) if attempt.show_review else None
    return AttemptResult(
        attempt=attempt,
        correct=items.filter(correct=True).count(),
        questions=items.count(),
        review=review,
    )


def attempt_history(
    learner: Learner, *, plan_course: PlanCourse | None = None
) -> QuerySet[Attempt]:
    """The learner's attempts, newest first (of one course in a plan when given)."""
    attempts = Attempt.objects.filter(learner=learner).select_related("course", "plan_course__plan")
    if plan_course is not None:
        attempts = attempts.filter(plan_course=plan_course)
    return attempts.order_by("-started_at")


def resets_of(plan_course: PlanCourse) -> list[ProgressReset]:
    return list(ProgressReset.objects.filter(plan_course=plan_course).order_by("round"))


def bank_counts(course: Any) -> dict[str, int]:
    """How many active questions of each kind a course's bank has."""
    counts = dict.fromkeys(Question.Kind.values, 0)
    for row in (
        Question.objects.filter(course=course, is_active=True)
        .values("kind")
        .annotate(count=Count("id"))
    ):
        counts[row["kind"]] = row["count"]
    return counts
