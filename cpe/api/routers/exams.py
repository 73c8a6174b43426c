"""The learner's exam calls: where they stand, start (or resume) an attempt, the paper,
saving an answer, submitting, the result with its review, and the history.

The same services as the exam pages (cpe.exams). The paper never says which options are
correct, nor explains anything, until the attempt is graded; the result does when the
course allows a review.
"""

from datetime import datetime
from decimal import Decimal
from typing import Literal
from uuid import UUID

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status

from cpe.api.auth import require, session_auth
from cpe.api.errors import error_body
from cpe.core.capabilities import Capability
from cpe.core.services import Actor
from cpe.exams.models import Attempt
from cpe.exams.selectors import (
    ExamStatus,
    Paper,
    attempt_for_learner,
    attempt_history,
    attempt_paper,
    attempt_result,
    exam_status,
    plan_course_for_learner,
)
from cpe.exams.services import (
    ExamRefused,
    attempt_answer_save,
    attempt_close_expired,
    attempt_start,
    attempt_submit,
)
from cpe.learning.models import PlanCourse
from cpe.learning.study import StudyRefused, learner_for_user
from cpe.registry.models import Learner

router = Router(tags=["exams"], auth=session_auth)


class ErrorOut(Schema):
    code: str
    message: str
    fields: dict[str, list[str]]


REFUSALS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class RulesOut(Schema):
    questions: int = Field(description="Questions on a paper (as the bank allows now)")
    time_limit_minutes: int
    pass_mark: int = Field(description="Out of 100")
    attempts_per_year: int
    reset_on_exhaustion: bool = Field(
        description="Whether using up the attempts sends the learner back to the lessons"
    )
    show_review: bool


class AttemptSummaryOut(Schema):
    id: UUID
    year: int
    course: str
    number: int
    state: Literal["open", "graded"]
    started_at: datetime
    deadline_at: datetime
    submitted_at: datetime | None
    closed_by: str = Field(description="submitted, late, expired; empty while open")
    score: Decimal | None
    passed: bool | None


class ExamStatusOut(Schema):
    year: int
    course: str
    has_exam: bool
    state: Literal["no_exam", "complete", "in_progress", "available", "locked"]
    reason: str = Field(
        description="Why it is locked: lessons_incomplete, no_attempts_left, exam_not_ready, …"
    )
    message: str
    lessons_completed: bool
    course_completed: bool
    credits: Decimal
    attempts_used: int
    attempts_left: int
    resets: int = Field(description="How often the lessons were reset after attempts ran out")
    rules: RulesOut | None
    open_attempt: AttemptSummaryOut | None


class OptionOut(Schema):
    id: int
    label: str
    text: str
    chosen: bool


class QuestionOut(Schema):
    position: int
    kind: Literal["single", "multiple", "true_false"]
    text: str
    options: list[OptionOut]
    saved_at: datetime | None


class PaperOut(Schema):
    attempt: AttemptSummaryOut
    seconds_left: int
    answered: int
    questions: list[QuestionOut]


class AnswerIn(Schema):
    chosen: list[int] = Field(
        max_length=8, description="The option ids chosen (empty clears the answer)"
    )


class SubmitIn(Schema):
    answers: dict[int, list[int]] = Field(
        default_factory=dict,
        description="Last answers to save first, by question position (optional)",
    )


class SavedOut(Schema):
    position: int
    chosen: list[int]
    saved_at: datetime | None


class ReviewOptionOut(OptionOut):
    correct: bool


class ReviewQuestionOut(Schema):
    position: int
    kind: str
    text: str
    options: list[ReviewOptionOut]
    correct: bool
    points: Decimal
    explanation: str


class ResultOut(Schema):
    attempt: AttemptSummaryOut
    pass_mark: int
    correct: int
    questions: int
    course_completed: bool
    review: list[ReviewQuestionOut] | None = Field(
        description="Each question with the correct options and explanation (null when the "
        "course does not show them)"
    )


class HistoryOut(Schema):
    attempts: list[AttemptSummaryOut]


def _refused(refused: ExamRefused | StudyRefused) -> Status:
    return Status(refused.status, error_body(refused.code, refused.message, refused.fields))


def _learner(request: HttpRequest) -> Learner:
    require(request, Capability.STUDY)
    return learner_for_user(request.auth)


def _summary(attempt: Attempt) -> dict[str, object]:
    return {
        "id": attempt.pk,
        "year": attempt.year,
        "course": attempt.course.code,
        "number": attempt.number,
        "state": attempt.state,
        "started_at": attempt.started_at,
        "deadline_at": attempt.deadline_at,
        "submitted_at": attempt.submitted_at,
        "closed_by": attempt.closed_by,
        "score": attempt.score,
        "passed": attempt.passed,
    }


def _status(status: ExamStatus) -> dict[str, object]:
    plan_course = status.plan_course
    rules = status.rules
    return {
        "year": plan_course.plan.year,
        "course": plan_course.course.code,
        "has_exam": status.has_exam,
        "state": status.state,
        "reason": status.reason,
        "message": status.message,
        "lessons_completed": plan_course.lessons_completed_at is not None,
        "course_completed": plan_course.completed_at is not None,
        "credits": plan_course.credits,
        "attempts_used": status.attempts_used,
        "attempts_left": status.attempts_left,
        "resets": status.resets,
        "rules": {
            "questions": status.questions_on_paper,
            "time_limit_minutes": rules.time_limit_minutes,
            "pass_mark": rules.pass_mark,
            "attempts_per_year": rules.attempts_per_year,
            "reset_on_exhaustion": rules.reset_on_exhaustion,
            "show_review": rules.show_review,
        }
        if rules
        else None,
        "open_attempt": _summary(status.open_attempt) if status.open_attempt else None,
    }


def _paper(paper: Paper) -> dict[str, object]:
    return {
        "attempt": _summary(paper.attempt),
        "seconds_left": paper.seconds_left,
        "answered": paper.answered,
        "questions": [
            {
                "position": question.position,
                "kind": question.kind,
                "text": question.text,
                "options": [
                    {"id": o.id, "label": o.label, "text": o.text, "chosen": o.chosen}
                    for o in question.options
                ],
                "saved_at": question.saved_at,
            }
            for question in paper.questions
        ],
    }


def _own_attempt(learner: Learner, attempt_id: UUID) -> Attempt:
    attempt = attempt_for_learner(learner, attempt_id)
    if attempt is None:
        raise ExamRefused("not_found", _("There is no such exam attempt."), status=404)
    return attempt


@router.get("/plans/{year}/courses/{code}/exam", response={200: ExamStatusOut, **REFUSALS})
def exam_status_get(request: HttpRequest, year: int, code: str) -> object:
    """Where you stand with a course's exam: locked (and why), available, in progress, or
    complete; its rules and the attempts left."""
    try:
        learner = _learner(request)
        plan_course = plan_course_for_learner(learner, year=year, code=code)
        if plan_course is None:
            raise ExamRefused(
                "not_found", _("This course is not in your plan for that year."), status=404
            )
    except (ExamRefused, StudyRefused) as refused:
        return _refused(refused)
    return _status(exam_status(plan_course))


@router.post("/plans/{year}/courses/{code}/exam/attempts", response={200: PaperOut, **REFUSALS})
def exam_attempt_start(request: HttpRequest, year: int, code: str) -> object:
    """Start an attempt, or get back the one already open (from another tab or device): the
    paper is drawn and the time starts now. The paper carries no answers."""
    try:
        learner = _learner(request)
        plan_course = plan_course_for_learner(learner, year=year, code=code)
        if plan_course is None:
            raise ExamRefused(
                "not_found", _("This course is not in your plan for that year."), status=404
            )
        attempt = attempt_start(
            actor=Actor.from_request(request),
            learner=learner,
            plan_course=plan_course,
            user_agent=request.headers.get("User-Agent", ""),
        )
    except (ExamRefused, StudyRefused) as refused:
        return _refused(refused)
    return _paper(attempt_paper(attempt))


@router.get("/exam-attempts", response={200: HistoryOut, **REFUSALS})
def exam_attempt_history(request: HttpRequest) -> object:
    """Your exam attempts, newest first."""
    try:
        learner = _learner(request)
    except StudyRefused as refused:
        return _refused(refused)
    return {"attempts": [_summary(a) for a in attempt_history(learner)[:200]]}


@router.get("/exam-attempts/{attempt_id}", response={200: PaperOut, **REFUSALS})
def exam_attempt_paper(request: HttpRequest, attempt_id: UUID) -> object:
    """The paper of an attempt with your saved answers (never the correct ones). An open
    attempt whose time ran out is graded first, on the answers saved by then."""
    try:
        learner = _learner(request)
        attempt = _own_attempt(learner, attempt_id)
    except (ExamRefused, StudyRefused) as refused:
        return _refused(refused)
    if attempt.is_open and attempt_close_expired(attempt=attempt):
        attempt.refresh_from_db()
    return _paper(attempt_paper(attempt))


@router.put("/exam-attempts/{attempt_id}/answers/{position}", response={200: SavedOut, **REFUSALS})
def exam_answer_save(
    request: HttpRequest, attempt_id: UUID, position: int, payload: AnswerIn
) -> object:
    """Save the answer to one question (autosave). Refused after the deadline, after the
    attempt was submitted, and for options that are not this question's on your paper."""
    try:
        learner = _learner(request)
        attempt_answer_save(
            actor=Actor.from_request(request),
            learner=learner,
            attempt_id=attempt_id,
            answers={position: payload.chosen},
        )
    except (ExamRefused, StudyRefused) as refused:
        return _refused(refused)
    item = attempt_for_learner(learner, attempt_id).paper.get(position=position)  # type: ignore[union-attr]
    return {"position": position, "chosen": item.chosen, "saved_at": item.saved_at}


@router.post("/exam-attempts/{attempt_id}/submit", response={200: ResultOut, **REFUSALS})
def exam_attempt_submit(
    request: HttpRequest, attempt_id: UUID, payload: SubmitIn | None = None
) -> object:
    """Submit the attempt (saving any last answers first) and get the result. After the
    deadline: 409 `deadline_passed`, the answers sent are not saved, and the attempt is
    graded on what was saved by then. A second submission: 409 `attempt_closed`."""
    try:
        learner = _learner(request)
        attempt = attempt_submit(
            actor=Actor.from_request(request),
            learner=learner,
            attempt_id=attempt_id,
            answers=payload.answers if payload else None,
        )
    except (ExamRefused, StudyRefused) as refused:
        return _refused(refused)
    return _result(attempt)


@router.get("/exam-attempts/{attempt_id}/result", response={200: ResultOut, **REFUSALS})
def exam_attempt_result(request: HttpRequest, attempt_id: UUID) -> object:
    """Score, pass or fail, and the review (correct options and explanations) when the course
    shows it. 409 `attempt_open` while the attempt is still open."""
    try:
        learner = _learner(request)
        attempt = _own_attempt(learner, attempt_id)
        if attempt.is_open and not attempt_close_expired(attempt=attempt):
            raise ExamRefused(
                "attempt_open", _("Submit the attempt first to see its result."), status=409
            )
    except (ExamRefused, StudyRefused) as refused:
        return _refused(refused)
    attempt.refresh_from_db()
    return _result(attempt)


def _result(attempt: Attempt) -> dict[str, object]:
    outcome = attempt_result(attempt)
    completed = PlanCourse.objects.filter(
        pk=attempt.plan_course_id, completed_at__isnull=False
    ).exists()
    return {
        "attempt": _summary(attempt),
        "pass_mark": attempt.pass_mark,
        "correct": outcome.correct,
        "questions": outcome.questions,
        "course_completed": completed,
        "review": [
            {
                "position": q.position,
                "kind": q.kind,
                "text": q.text,
                "options": [
                    {
                        "id": o.id,
                        "label": o.label,
                        "text": o.text,
                        "chosen": o.chosen,
                        "correct": bool(o.correct),
                    }
                    for o in q.options
                ],
                "correct": bool(q.correct),
                "points": q.points or Decimal(0),
                "explanation": q.explanation,
            }
            for q in outcome.review.questions
        ]
        if outcome.review
        else None,
    }
