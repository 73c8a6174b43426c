"""Writes owned by exams: question banks, exam rules, attempts, grading and resets."""

from __future__ import annotations

import contextlib
import logging
import secrets
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from cpe.catalog.models import Course
from cpe.core.services import Actor, audit_record
from cpe.exams.models import Attempt, AttemptQuestion, ExamSettings, Option, ProgressReset, Question
from cpe.learning.models import PlanCourse
from cpe.learning.services import StudyRefused, plan_course_complete, plan_course_study_again
from cpe.learning.years import blocker_message, study_allowed
from cpe.regions.policy import policy_for
from cpe.registry.models import Learner

logger = logging.getLogger(__name__)

# The paper lists the kinds in this order, as printed exams do.
KIND_ORDER = [Question.Kind.SINGLE, Question.Kind.MULTIPLE, Question.Kind.TRUE_FALSE]

OPTION_TEXT_MAX = 500
OPTIONS_MAX = 8


class ExamRefused(Exception):
    """A change the exam rules forbid: `code` names the rule, `message` says it to the person,
    `status` is the HTTP status the API answers with, `fields` holds field errors."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status: int = 400,
        fields: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.fields = fields or {}


# --- Question banks -------------------------------------------------------------------


@dataclass(frozen=True)
class OptionIn:
    text: str
    is_correct: bool = False


def question_problems(*, kind: str, text: str, options: Sequence[OptionIn]) -> dict[str, list[str]]:
    """What is wrong with a question, by field ("kind", "text", "options"); empty: nothing.

    The rules: the text is required; at least two options, at most eight, none empty and no
    two the same (ignoring surrounding spaces and case); a single-choice question has exactly
    one correct option; a multiple-choice question has at least two correct options (one
    correct option would make it a single-choice question in disguise, and candidates are told
    that "multiple" means more than one) and so at least three options; a true/false question
    has exactly two options, one of them correct. The XLSX import checks each row with this.
    """
    problems: dict[str, list[str]] = {}

    def add(field: str, message: str) -> None:
        problems.setdefault(field, []).append(message)

    if kind not in Question.Kind.values:
        add("kind", _("Choose single choice, multiple choice or true/false."))
    if not text.strip():
        add("text", _("Write the question."))
    texts = [option.text.strip() for option in options]
    correct = sum(1 for option in options if option.is_correct)
    if len(options) < 2:
        add("options", _("A question needs at least two options."))
    if len(options) > OPTIONS_MAX:
        add("options", _("A question has at most %(count)s options.") % {"count": OPTIONS_MAX})
    if any(not option_text for option_text in texts):
        add("options", _("An option is empty."))
    if any(len(option_text) > OPTION_TEXT_MAX for option_text in texts):
        add(
            "options",
            _("An option is longer than %(count)s characters.") % {"count": OPTION_TEXT_MAX},
        )
    folded = [option_text.casefold() for option_text in texts if option_text]
    if len(set(folded)) < len(folded):
        add("options", _("Two options have the same text."))
    if kind == Question.Kind.SINGLE and correct != 1:
        add("options", _("A single-choice question has exactly one correct option."))
    elif kind == Question.Kind.MULTIPLE:
        if correct < 2:
            add("options", _("A multiple-choice question has at least two correct options."))
        if len(options) < 3:
            add("options", _("A multiple-choice question needs at least three options."))
    elif kind == Question.Kind.TRUE_FALSE and (len(options) != 2 or correct != 1):
        add(
            "options",
            _("A true/false question has exactly two options, one of them correct."),
        )
    return problems


@transaction.atomic
def question_create(
    *,
    actor: Actor,
    course: Course,
    kind: str,
    text: str,
    options: Sequence[OptionIn],
    explanation: str = "",
    position: int | None = None,
) -> Question:
    """Add a question to a course's bank, checked by `question_problems`."""
    problems = question_problems(kind=kind, text=text, options=options)
    if problems:
        first = next(iter(problems.values()))[0]
        raise ExamRefused("question_invalid", first, fields=problems)
    if position is None:
        last = Question.objects.filter(course=course).aggregate(last=Max("position"))["last"]
        position = 0 if last is None else last + 1
    question = Question.objects.create(
        course=course,
        kind=kind,
        text=text.strip(),
        explanation=explanation.strip(),
        position=position,
        created_by=actor.user,
    )
    Option.objects.bulk_create(
        Option(
            question=question,
            position=index,
            text=option.text.strip(),
            is_correct=option.is_correct,
        )
        for index, option in enumerate(options)
    )
    audit_record(
        actor=actor,
        action="question.create",
        target=question,
        after={
            "course": course.code,
            "kind": kind,
            "text": question.text,
            "options": [option.text.strip() for option in options],
            "correct": [index for index, option in enumerate(options) if option.is_correct],
        },
    )
    return question


# --- Exam rules -----------------------------------------------------------------------


@dataclass(frozen=True)
class ExamRules:
    """A course's exam rules for a year: its own settings over its region's defaults."""

    single_count: int
    multiple_count: int
    true_false_count: int
    shuffle_options: bool
    pass_mark: int
    time_limit_minutes: int
    attempts_per_year: int
    reset_on_exhaustion: bool
    show_review: bool

    def count_for(self, kind: str) -> int:
        return {
            Question.Kind.SINGLE: self.single_count,
            Question.Kind.MULTIPLE: self.multiple_count,
            Question.Kind.TRUE_FALSE: self.true_false_count,
        }[kind]


RULE_FIELDS = [
    "single_count",
    "multiple_count",
    "true_false_count",
    "shuffle_options",
    "pass_mark",
    "time_limit_minutes",
    "attempts_per_year",
    "reset_on_exhaustion",
    "show_review",
]


def region_exam_rules(course: Course, year: int) -> ExamRules:
    """The course region's exam rules for `year`, before the course's own settings."""
    policy = policy_for(course.region, year)
    return ExamRules(**{name: getattr(policy, f"exam_{name}") for name in RULE_FIELDS})


def exam_rules(course: Course, year: int) -> ExamRules:
    """The rules of `course`'s exam in `year`: each empty setting takes the region's value."""
    region = region_exam_rules(course, year)
    own = ExamSettings.objects.filter(course=course).first()
    values: dict[str, Any] = {}
    for name in RULE_FIELDS:
        mine = getattr(own, name, None) if own is not None else None
        values[name] = mine if mine is not None else getattr(region, name)
    return ExamRules(**values)


COUNT_FIELDS = {
    "single_count": Question.Kind.SINGLE,
    "multiple_count": Question.Kind.MULTIPLE,
    "true_false_count": Question.Kind.TRUE_FALSE,
}


def exam_settings_problems(
    *, course: Course, exam_required: bool, values: dict[str, Any], year: int
) -> dict[str, list[str]]:
    """What the course's bank cannot supply of these settings, by field; empty: nothing.

    A number the course sets cannot exceed the questions of that kind in use. The region's
    number (an empty field) may: the paper then draws what there is, and the bank pages warn.
    With an exam, a paper draws at least one question. Without one nothing is checked.
    """
    if not exam_required:
        return {}
    region = region_exam_rules(course, year)
    available = dict.fromkeys(Question.Kind.values, 0)
    for kind in Question.objects.filter(course=course, is_active=True).values_list(
        "kind", flat=True
    ):
        available[kind] += 1
    problems: dict[str, list[str]] = {}
    total = 0
    for field_name, kind in COUNT_FIELDS.items():
        wanted = values.get(field_name)
        if wanted is None:
            total += min(getattr(region, field_name), available[kind])
            continue
        total += wanted
        if wanted > available[kind]:
            problems.setdefault(field_name, []).append(
                _(
                    "The bank has %(available)s questions of this kind in use: a paper cannot "
                    "draw %(wanted)s."
                )
                % {"available": available[kind], "wanted": wanted}
            )
    if total == 0 and not problems and sum(available.values()):
        problems.setdefault("single_count", []).append(_("An exam draws at least one question."))
    return problems


@transaction.atomic
def exam_settings_update(
    *, actor: Actor, course: Course, exam_required: bool, values: dict[str, Any]
) -> ExamSettings:
    """Set whether a course ends with an exam and its own rules (None: the region's rule).

    The rules apply to attempts started from now on; an attempt keeps the pass mark it
    started with. Switching the exam off completes the course for everyone whose lessons
    are complete already: nothing else would.
    """
    course = Course.objects.select_for_update().get(pk=course.pk)
    own, _created = ExamSettings.objects.get_or_create(course=course)
    before = {"exam_required": course.exam_required, **{n: getattr(own, n) for n in RULE_FIELDS}}
    unknown = set(values) - set(RULE_FIELDS)
    if unknown:
        raise ValueError(f"unknown exam settings: {sorted(unknown)}")
    for name, value in values.items():
        setattr(own, name, value)
    own.updated_by = actor.user
    own.full_clean(exclude=["course"])
    problems = exam_settings_problems(
        course=course,
        exam_required=exam_required,
        values={name: getattr(own, name) for name in COUNT_FIELDS},
        year=timezone.localdate().year,
    )
    if problems:
        raise ValidationError(problems)
    own.save()
    switched_off = course.exam_required and not exam_required
    if course.exam_required != exam_required:
        course.exam_required = exam_required
        course.save(update_fields=["exam_required", "updated_at"])
    after = {"exam_required": course.exam_required, **{n: getattr(own, n) for n in RULE_FIELDS}}
    audit_record(actor=actor, action="exam_settings.update", target=own, before=before, after=after)
    if switched_off:
        waiting = PlanCourse.objects.filter(
            course=course, lessons_completed_at__isnull=False, completed_at__isnull=True
        )
        for plan_course in waiting.iterator():
            plan_course_complete(actor=actor, plan_course=plan_course)
    return own


# --- Attempts -------------------------------------------------------------------------


def _not_found() -> ExamRefused:
    return ExamRefused("not_found", _("There is no such exam attempt."), status=404)


def attempts_used(plan_course: PlanCourse, round_number: int) -> int:
    return Attempt.objects.filter(plan_course=plan_course, round=round_number).count()


def current_round(plan_course: PlanCourse) -> int:
    return ProgressReset.objects.filter(plan_course=plan_course).count() + 1


def _draw(course: Course, rules: ExamRules) -> list[Question]:
    """Questions for a new paper: at random within each kind, from the active questions."""
    chooser = secrets.SystemRandom()
    paper: list[Question] = []
    for kind in KIND_ORDER:
        wanted = rules.count_for(kind)
        if wanted <= 0:
            continue
        ids = list(
            Question.objects.filter(course=course, kind=kind, is_active=True).values_list(
                "pk", flat=True
            )
        )
        picked = chooser.sample(ids, min(wanted, len(ids)))
        by_id = Question.objects.prefetch_related("options").in_bulk(picked)
        paper.extend(by_id[pk] for pk in picked)
    return paper


def _option_order(question: Question, shuffle: bool) -> list[int]:
    order = [option.pk for option in question.options.all()]
    # "True" before "false" reads better than a shuffled pair, and shuffling two options
    # hides nothing.
    if shuffle and question.kind != Question.Kind.TRUE_FALSE:
        secrets.SystemRandom().shuffle(order)
    return order


def exam_blocker(plan_course: PlanCourse, rules: ExamRules | None = None) -> tuple[str, str] | None:
    """Why a new attempt cannot start now, as (code, message); None: it can."""
    course = plan_course.course
    if not course.exam_required:
        return "no_exam", _("This course has no exam: completing its lessons completes it.")
    if plan_course.completed_at is not None:
        return "already_passed", _("You have passed this course's exam already.")
    blocker = study_allowed(plan_course.learner, plan_course.plan)
    if blocker is not None:
        return blocker.rule, blocker_message(blocker)
    if plan_course.lessons_completed_at is None:
        return "lessons_incomplete", _(
            "The exam opens when every lesson of the course is complete."
        )
    rules = rules or exam_rules(course, plan_course.plan.year)
    if attempts_used(plan_course, current_round(plan_course)) >= rules.attempts_per_year:
        return "no_attempts_left", _(
            "You have used all %(count)s attempts at this exam for the year."
        ) % {"count": rules.attempts_per_year}
    if not Question.objects.filter(course=course, is_active=True).exists():
        return "exam_not_ready", _(
            "The exam of this course is not ready yet. Please try again later."
        )
    return None


def attempt_start(
    *,
    actor: Actor,
    learner: Learner,
    plan_course: PlanCourse,
    now: datetime | None = None,
    user_agent: str = "",
) -> Attempt:
    """Start an attempt at the course's exam, or return the one already open.

    Refresh, back, a second tab or a second device all land here: the plan course's row lock
    orders concurrent starts, and the one-open-attempt constraint refuses a second open
    attempt even without it. An open attempt whose time has run out is graded first.
    """
    now = now or timezone.now()
    if plan_course.learner_id != learner.pk:
        raise ExamRefused("not_found", _("This course is not in your plans."), status=404)
    _close_if_expired(learner=learner, course_id=plan_course.course_id, now=now)
    try:
        with transaction.atomic():
            chosen = (
                PlanCourse.objects.select_for_update()
                .select_related("plan__learner__district", "course__region", "learner__district")
                .get(pk=plan_course.pk)
            )
            open_attempt = Attempt.objects.filter(
                learner=learner, course_id=chosen.course_id, state=Attempt.State.OPEN
            ).first()
            if open_attempt is not None:
                return open_attempt
            rules = exam_rules(chosen.course, chosen.plan.year)
            refused = exam_blocker(chosen, rules)
            if refused is not None:
                raise ExamRefused(refused[0], refused[1], status=409)
            questions = _draw(chosen.course, rules)
            if not questions:
                raise ExamRefused(
                    "exam_not_ready",
                    _("The exam of this course is not ready yet. Please try again later."),
                    status=409,
                )
            last = Attempt.objects.filter(plan_course=chosen).aggregate(last=Max("number"))
            attempt = Attempt.objects.create(
                learner=learner,
                plan_course=chosen,
                course=chosen.course,
                year=chosen.plan.year,
                number=(last["last"] or 0) + 1,
                round=current_round(chosen),
                started_at=now,
                deadline_at=now + timedelta(minutes=rules.time_limit_minutes),
                pass_mark=rules.pass_mark,
                show_review=rules.show_review,
                user_agent=user_agent[:200],
            )
            AttemptQuestion.objects.bulk_create(
                AttemptQuestion(
                    attempt=attempt,
                    question=question,
                    position=index + 1,
                    option_order=_option_order(question, rules.shuffle_options),
                )
                for index, question in enumerate(questions)
            )
            audit_record(
                actor=actor,
                action="exam_attempt.start",
                target=attempt,
                after={
                    "course": chosen.course.code,
                    "year": attempt.year,
                    "number": attempt.number,
                    "round": attempt.round,
                    "questions": len(questions),
                    "deadline": attempt.deadline_at,
                    "rules": asdict(rules),
                },
            )
            return attempt
    except IntegrityError:
        # Another request started it between our look and our insert: that one is the attempt.
        existing = Attempt.objects.filter(
            learner=learner, course_id=plan_course.course_id, state=Attempt.State.OPEN
        ).first()
        if existing is None:
            raise
        return existing


def _locked_attempt(learner: Learner, attempt_id: Any) -> Attempt:
    try:
        key = attempt_id if isinstance(attempt_id, uuid.UUID) else uuid.UUID(str(attempt_id))
    except ValueError:
        raise _not_found() from None
    attempt = (
        Attempt.objects.select_for_update()
        .select_related("course__region", "learner__district")
        .filter(pk=key, learner=learner)
        .first()
    )
    if attempt is None:
        raise _not_found()
    return attempt


def _closed_refusal(attempt: Attempt) -> ExamRefused:
    return ExamRefused(
        "attempt_closed",
        _("This attempt has already been submitted and graded."),
        status=409,
    )


def _deadline_refusal(attempt: Attempt) -> ExamRefused:
    return ExamRefused(
        "deadline_passed",
        _(
            "The time for this attempt ran out at %(time)s. It was graded on the answers "
            "saved by then."
        )
        % {"time": timezone.localtime(attempt.deadline_at).strftime("%H:%M:%S")},
        status=409,
    )


def _clean_choice(item: AttemptQuestion, kind: str, chosen: Iterable[Any]) -> list[int]:
    try:
        picked = sorted({int(value) for value in chosen})
    except (TypeError, ValueError):
        raise ExamRefused(
            "option_not_on_paper",
            _("That option is not one of this question's options."),
            fields={"chosen": [_("Choose among the question's options.")]},
        ) from None
    if any(option_id not in item.option_order for option_id in picked):
        raise ExamRefused(
            "option_not_on_paper",
            _("That option is not one of this question's options."),
            fields={"chosen": [_("Choose among the question's options.")]},
        )
    if kind != Question.Kind.MULTIPLE and len(picked) > 1:
        raise ExamRefused(
            "one_option_only",
            _("Choose one option for this question."),
            fields={"chosen": [_("Choose one option.")]},
        )
    return picked


def _apply_answers(
    attempt: Attempt, answers: dict[int, Iterable[Any]], now: datetime
) -> list[AttemptQuestion]:
    """Check every answer (position → option ids) against the paper, then save them all.
    One bad answer refuses the lot, with nothing saved."""
    items = {
        item.position: item
        for item in AttemptQuestion.objects.filter(attempt=attempt).select_related("question")
    }
    cleaned: list[tuple[AttemptQuestion, list[int]]] = []
    for position, chosen in answers.items():
        item = items.get(position)
        if item is None:
            raise ExamRefused(
                "question_not_on_paper",
                _("There is no question %(number)s on this paper.") % {"number": position},
                status=400,
            )
        cleaned.append((item, _clean_choice(item, item.question.kind, chosen)))
    changed = []
    for item, picked in cleaned:
        if item.chosen != picked or item.saved_at is None:
            item.chosen = picked
            item.saved_at = now
            changed.append(item)
    AttemptQuestion.objects.bulk_update(changed, ["chosen", "saved_at"])
    return changed


def attempt_answer_save(
    *,
    actor: Actor,
    learner: Learner,
    attempt_id: Any,
    answers: dict[int, Iterable[Any]],
    now: datetime | None = None,
) -> Attempt:
    """Save answers (question position → chosen option ids; empty clears) of an open attempt
    before its deadline. Autosave sends one at a time; the page without JavaScript sends all.
    Not audited: the submission records the answers as graded."""
    now = now or timezone.now()
    with transaction.atomic():
        attempt = _locked_attempt(learner, attempt_id)
        if not attempt.is_open:
            raise _closed_refusal(attempt)
        if now > attempt.deadline_at:
            expired = True
        else:
            expired = False
            _apply_answers(attempt, answers, now)
    if expired:
        _grade_locked_by_id(attempt.pk, Attempt.Closed.EXPIRED, now, actor)
        raise _deadline_refusal(attempt)
    return attempt


def attempt_submit(
    *,
    actor: Actor,
    learner: Learner,
    attempt_id: Any,
    answers: dict[int, Iterable[Any]] | None = None,
    now: datetime | None = None,
) -> Attempt:
    """Submit an attempt (with any last answers) and grade it.

    After the deadline the submission's answers are refused and the attempt is graded on
    what was saved by the deadline (closed as late); the caller is told so with a 409. A
    second submission is refused with nothing changed.
    """
    now = now or timezone.now()
    with transaction.atomic():
        attempt = _locked_attempt(learner, attempt_id)
        if not attempt.is_open:
            raise _closed_refusal(attempt)
        late = now > attempt.deadline_at
        if not late:
            if answers:
                _apply_answers(attempt, answers, now)
            return _grade(attempt, Attempt.Closed.SUBMITTED, now, actor)
        _grade(attempt, Attempt.Closed.LATE, now, actor)
    raise _deadline_refusal(attempt)


def _grade_locked_by_id(
    attempt_id: Any, closed_by: str, now: datetime, actor: Actor
) -> Attempt | None:
    with transaction.atomic():
        attempt = (
            Attempt.objects.select_for_update()
            .select_related("course__region", "learner__district")
            .filter(pk=attempt_id, state=Attempt.State.OPEN)
            .first()
        )
        if attempt is None:
            return None
        return _grade(attempt, closed_by, now, actor)


def _close_if_expired(*, learner: Learner, course_id: int, now: datetime) -> None:
    expired = Attempt.objects.filter(
        learner=learner, course_id=course_id, state=Attempt.State.OPEN, deadline_at__lt=now
    ).values_list("pk", flat=True)
    for attempt_id in list(expired):
        _grade_locked_by_id(
            attempt_id, Attempt.Closed.EXPIRED, now, Actor.for_system("exam-deadline")
        )


def _points(count: int) -> Decimal:
    return (Decimal(100) / count).quantize(Decimal("0.01")) if count else Decimal(0)


def _grade(attempt: Attempt, closed_by: str, now: datetime, actor: Actor) -> Attempt:
    """Grade a locked open attempt: each question right or wrong (a multiple-choice question
    is right only with exactly its correct options), the score out of 100, passed when it
    reaches the pass mark it started with. Answers saved after the deadline do not exist:
    saving refuses them. Then complete the course, or reset it when the attempts are used up.
    """
    items = list(
        AttemptQuestion.objects.filter(attempt=attempt)
        .select_related("question")
        .order_by("position")
    )
    correct_ids: dict[int, set[int]] = {}
    for option in Option.objects.filter(
        question_id__in=[item.question_id for item in items], is_correct=True
    ):
        correct_ids.setdefault(option.question_id, set()).add(option.pk)
    each = _points(len(items))
    right = 0
    for item in items:
        item.correct = bool(item.chosen) and set(item.chosen) == correct_ids.get(
            item.question_id, set()
        )
        item.points = each if item.correct else Decimal(0)
        right += item.correct
    AttemptQuestion.objects.bulk_update(items, ["correct", "points"])
    score = (Decimal(100) * right / len(items)) if items else Decimal(0)
    attempt.score = score.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    attempt.passed = attempt.score >= attempt.pass_mark
    attempt.state = Attempt.State.GRADED
    attempt.closed_by = closed_by
    attempt.graded_at = now
    if closed_by != Attempt.Closed.EXPIRED:
        attempt.submitted_at = now
    attempt.save(
        update_fields=["score", "passed", "state", "closed_by", "graded_at", "submitted_at"]
    )
    audit_record(
        actor=actor,
        action="exam_attempt.grade",
        target=attempt,
        after={
            "course": attempt.course.code,
            "number": attempt.number,
            "closed_by": closed_by,
            "answered": sum(1 for item in items if item.chosen),
            "correct": right,
            "questions": len(items),
            "score": attempt.score,
            "pass_mark": attempt.pass_mark,
            "passed": attempt.passed,
        },
    )
    plan_course = PlanCourse.objects.select_related("plan", "course__region").get(
        pk=attempt.plan_course_id
    )
    if attempt.passed:
        # Refused only if the lessons were reset meanwhile: the attempt keeps its grade.
        with contextlib.suppress(StudyRefused):
            plan_course_complete(actor=actor, plan_course=plan_course, attempt=attempt, now=now)
    else:
        _reset_when_used_up(actor=actor, attempt=attempt, plan_course=plan_course, now=now)
    return attempt


def _reset_when_used_up(
    *, actor: Actor, attempt: Attempt, plan_course: PlanCourse, now: datetime
) -> None:
    rules = exam_rules(plan_course.course, plan_course.plan.year)
    used = attempts_used(plan_course, attempt.round)
    if used < rules.attempts_per_year or not rules.reset_on_exhaustion:
        return
    try:
        with transaction.atomic():
            reset = ProgressReset.objects.create(
                plan_course=plan_course, round=attempt.round, attempts_used=used, reset_at=now
            )
    except IntegrityError:
        return  # this round was reset already
    try:
        cleared = plan_course_study_again(
            actor=actor,
            plan_course=plan_course,
            reason=_("All %(count)s exam attempts of the year were used without a pass.")
            % {"count": used},
            now=now,
        )
    except StudyRefused:
        return
    audit_record(
        actor=actor,
        action="exam.progress_reset",
        target=attempt,
        after={
            "course": plan_course.course.code,
            "year": plan_course.plan.year,
            "round": reset.round,
            "attempts_used": used,
            "lessons_cleared": cleared,
        },
    )


def attempt_close_expired(*, attempt: Attempt, now: datetime | None = None) -> bool:
    """Grade one attempt left open past its deadline now rather than at the job's next run
    (the attempt page does, when a learner comes back late). Returns whether it did."""
    now = now or timezone.now()
    if attempt.deadline_at >= now:
        return False
    closed = _grade_locked_by_id(
        attempt.pk, Attempt.Closed.EXPIRED, now, Actor.for_system("exam-deadline")
    )
    return closed is not None


def attempts_close_expired(
    *, now: datetime | None = None, batch: int = 500, budget_seconds: float = 50
) -> int:
    """Grade the attempts left open past their deadline on what was saved by then (the
    periodic job, every minute). Batches of `batch` until none is left or the minute's
    budget is spent (the next run goes on). Each attempt in its own transaction: one that
    fails is logged and stops no other."""
    now = now or timezone.now()
    actor = Actor.for_system("exam-deadline")
    started = time.monotonic()
    closed = 0
    failed: set[Any] = set()
    while time.monotonic() - started < budget_seconds:
        ids = list(
            Attempt.objects.filter(state=Attempt.State.OPEN, deadline_at__lt=now)
            .exclude(pk__in=failed)
            .order_by("deadline_at")
            .values_list("pk", flat=True)[:batch]
        )
        if not ids:
            break
        for attempt_id in ids:
            try:
                if _grade_locked_by_id(attempt_id, Attempt.Closed.EXPIRED, now, actor):
                    closed += 1
            except Exception:
                logger.exception("Could not grade the expired exam attempt %s", attempt_id)
                failed.add(attempt_id)
    return closed
