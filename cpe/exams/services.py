"""Writes owned by exams: question banks, exam rules, attempts, grading and resets."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from cpe.catalog.models import Course
from cpe.core.services import Actor, audit_record
from cpe.exams.models import Option, Question

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
