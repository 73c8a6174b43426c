"""Writes of the course manager's question bank: editing, retiring and deleting questions.
Questions are created by services.question_create, whose `question_problems` is the one rule
every path (form, API, XLSX import) applies; exam settings are checked against the bank by
services.exam_settings_update."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from cpe.catalog.models import Course
from cpe.core.services import Actor, audit_record
from cpe.exams.models import AttemptQuestion, Option, Question
from cpe.exams.services import ExamRefused, OptionIn, question_create, question_problems

_SPACES = re.compile(r"\s+")


def normalised_text(text: str) -> str:
    """A question's text as the import matches it: full-width forms folded (NFKC), runs of
    spaces made one, case ignored. Two rows equal under this are the same question."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip().casefold()


def same_question(course: Course, text: str, *, other_than: int | None = None) -> Question | None:
    """The course's question with this text under normalisation, if there is one."""
    wanted = normalised_text(text)
    candidates = Question.objects.filter(course=course).exclude(pk=other_than).only("pk", "text")
    return next((q for q in candidates if normalised_text(q.text) == wanted), None)


def _refuse_duplicate(course: Course, text: str, *, other_than: int | None = None) -> None:
    existing = same_question(course, text, other_than=other_than)
    if existing is not None:
        message = _(
            "The bank already has this question (number %(number)s%(retired)s): edit that one."
        ) % {"number": existing.pk, "retired": "" if existing.is_active else _(", retired")}
        raise ExamRefused("question_duplicate", message, status=409, fields={"text": [message]})


def question_add(
    *,
    actor: Actor,
    course: Course,
    kind: str,
    text: str,
    options: Sequence[OptionIn],
    explanation: str = "",
) -> Question:
    """Write a new question into a course's bank from the form or the API: question_create,
    after making sure the bank has no question with the same text (the XLSX import would
    otherwise match a later file's row with either of the two)."""
    with transaction.atomic():
        Course.objects.select_for_update().filter(pk=course.pk).first()
        _refuse_duplicate(course, text)
        return question_create(
            actor=actor,
            course=course,
            kind=kind,
            text=text,
            options=options,
            explanation=explanation,
        )


def question_on_papers(question: Question) -> bool:
    """Whether the question was ever drawn into an attempt's paper."""
    return AttemptQuestion.objects.filter(question=question).exists()


def _options_of(question: Question) -> list[OptionIn]:
    return [OptionIn(option.text, option.is_correct) for option in question.options.all()]


def _same_options(current: Sequence[OptionIn], wanted: Sequence[OptionIn]) -> bool:
    return [(o.text.strip(), o.is_correct) for o in current] == [
        (o.text.strip(), o.is_correct) for o in wanted
    ]


def _snapshot(question: Question, options: Sequence[OptionIn]) -> dict[str, Any]:
    return {
        "kind": question.kind,
        "text": question.text,
        "explanation": question.explanation,
        "options": [option.text.strip() for option in options],
        "correct": [index for index, option in enumerate(options) if option.is_correct],
    }


@transaction.atomic
def question_update(
    *,
    actor: Actor,
    question: Question,
    kind: str,
    text: str,
    options: Sequence[OptionIn],
    explanation: str = "",
) -> Question:
    """Change a question, checked by the same rule as question_create.

    A question that was on a paper keeps its kind and options: past papers are graded and
    reviewed by them. Its wording and explanation may still be corrected; to change the
    answer, retire it and write a new question.
    """
    question = Question.objects.select_for_update().get(pk=question.pk)
    problems = question_problems(kind=kind, text=text, options=options)
    if problems:
        first = next(iter(problems.values()))[0]
        raise ExamRefused("question_invalid", first, fields=problems)
    _refuse_duplicate(question.course, text, other_than=question.pk)
    current = _options_of(question)
    options_change = kind != question.kind or not _same_options(current, options)
    if options_change and question_on_papers(question):
        message = _(
            "This question was already on exam papers, so its kind and options stay as they "
            "are. Retire it and write a new question instead."
        )
        raise ExamRefused("question_on_papers", message, status=409, fields={"options": [message]})
    before = _snapshot(question, current)
    question.kind = kind
    question.text = text.strip()
    question.explanation = explanation.strip()
    question.save(update_fields=["kind", "text", "explanation", "updated_at"])
    if options_change:
        question.options.all().delete()
        Option.objects.bulk_create(
            Option(
                question=question,
                position=index,
                text=option.text.strip(),
                is_correct=option.is_correct,
            )
            for index, option in enumerate(options)
        )
    after = _snapshot(question, options)
    if after != before:
        audit_record(
            actor=actor,
            action="question.update",
            target=question,
            before=before,
            after={"course": question.course.code, **after},
        )
    return question


@transaction.atomic
def question_set_active(*, actor: Actor, question: Question, active: bool) -> Question:
    """Retire a question (new papers no longer draw it; old papers keep it) or bring it back."""
    question = Question.objects.select_for_update().select_related("course").get(pk=question.pk)
    if question.is_active == active:
        return question
    question.is_active = active
    question.save(update_fields=["is_active", "updated_at"])
    audit_record(
        actor=actor,
        action="question.reactivate" if active else "question.retire",
        target=question,
        before={"is_active": not active},
        after={"course": question.course.code, "is_active": active},
    )
    return question


@transaction.atomic
def question_delete(*, actor: Actor, question: Question) -> None:
    """Delete a question that was never on a paper (a typo caught in time); one that was on
    a paper can only be retired."""
    question = Question.objects.select_for_update().select_related("course").get(pk=question.pk)
    if question_on_papers(question):
        raise ExamRefused(
            "question_on_papers",
            _("This question was already on exam papers: retire it instead of deleting it."),
            status=409,
        )
    audit_record(
        actor=actor,
        action="question.delete",
        target=question,
        before={"course": question.course.code, **_snapshot(question, _options_of(question))},
    )
    question.delete()
