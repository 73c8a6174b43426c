"""Figures for course managers: how each question fares on graded papers and how the course's
exam goes. Everything is summed by the database in a fixed number of queries, however many
attempts there are.

Two figures per question:
- difficulty: the share of its answers that were right (0.9: nine in ten got it right);
- discrimination: the point-biserial correlation between answering it right and the score on
  the rest of the paper (the attempt's score without this question's points). Near +1: the
  candidates who get it right are the ones who do well elsewhere, as a good question should.
  Near 0: it tells strong and weak candidates apart no better than chance. Below 0: weaker
  candidates get it right more often than stronger ones, which usually means a wrong answer
  key. A question nearly everyone gets right with little discrimination may have leaked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Avg, Case, Count, F, FloatField, IntegerField, Q, Sum, Value, When
from django.db.models.functions import Cast

from cpe.catalog.models import Course
from cpe.exams.models import Attempt, AttemptQuestion, Question

# Fewer answers than this and the discrimination says more about chance than the question.
MIN_ANSWERS = 20
LOW_DISCRIMINATION = 0.2
# Right this often, a question tells nobody apart; with low discrimination it may have leaked.
VERY_EASY = 0.95
SCORE_BANDS = 10


@dataclass(frozen=True)
class QuestionFigures:
    question: Question
    answered: int
    correct: int
    discrimination: float | None

    @property
    def difficulty(self) -> float | None:
        """The share of answers that were right (None: never answered)."""
        return self.correct / self.answered if self.answered else None

    @property
    def percent_correct(self) -> int | None:
        return round(100 * self.difficulty) if self.difficulty is not None else None

    @property
    def enough_answers(self) -> bool:
        return self.answered >= MIN_ANSWERS

    @property
    def flag(self) -> str:
        """negative, low, leaked or "" (nothing to look at, or too few answers to say)."""
        if not self.enough_answers:
            return ""
        if self.discrimination is not None and self.discrimination < 0:
            return "negative"
        difficulty = self.difficulty or 0
        if difficulty >= VERY_EASY and (
            self.discrimination is None or self.discrimination < LOW_DISCRIMINATION
        ):
            return "leaked"
        if self.discrimination is not None and self.discrimination < LOW_DISCRIMINATION:
            return "low"
        return ""


def point_biserial(
    *, n: int, right: int, total: float, squares: float, right_total: float
) -> float | None:
    """Pearson's correlation between right (1) / wrong (0) and a score, from sums alone:
    n answers, `right` of them right, the scores' sum and sum of squares, and the sum of
    the scores of the right ones. None when either side is empty or the scores never vary."""
    if n == 0 or right in (0, n):
        return None
    spread = n * squares - total * total
    if spread <= 1e-9:
        return None
    return (n * right_total - right * total) / math.sqrt(right * (n - right) * spread)


def question_figures(course: Course, *, year: int | None = None) -> list[QuestionFigures]:
    """Every question of the course's bank (retired ones too) with its figures over the
    graded attempts (of `year` when given). Two queries."""
    attempts = Q(attempt__course=course, attempt__state=Attempt.State.GRADED)
    if year is not None:
        attempts &= Q(attempt__year=year)
    rest = Cast(F("attempt__score") - F("points"), FloatField())
    sums = {
        row["question_id"]: row
        for row in AttemptQuestion.objects.filter(attempts)
        .values("question_id")
        .annotate(
            n=Count("pk"),
            right=Count("pk", filter=Q(correct=True)),
            total=Sum(rest),
            squares=Sum(rest * rest),
            right_total=Sum(rest, filter=Q(correct=True)),
        )
        .order_by()
    }
    figures = []
    for question in Question.objects.filter(course=course).order_by("position", "id"):
        row = sums.get(question.pk)
        if row is None:
            figures.append(QuestionFigures(question, 0, 0, None))
            continue
        figures.append(
            QuestionFigures(
                question=question,
                answered=row["n"],
                correct=row["right"],
                discrimination=point_biserial(
                    n=row["n"],
                    right=row["right"],
                    total=row["total"] or 0.0,
                    squares=row["squares"] or 0.0,
                    right_total=row["right_total"] or 0.0,
                ),
            )
        )
    return figures


@dataclass(frozen=True)
class ScoreBand:
    low: int
    high: int
    count: int
    percent: float  # of the graded attempts, for the bar's length
    passing: bool  # every score in the band passes


@dataclass(frozen=True)
class CourseFigures:
    graded: int
    open: int
    learners: int
    passed: int
    average_score: Decimal | None
    bands: list[ScoreBand]
    first_attempts: int
    first_attempts_passed: int

    @property
    def pass_rate(self) -> int | None:
        return round(100 * self.passed / self.graded) if self.graded else None

    @property
    def first_pass_rate(self) -> int | None:
        if not self.first_attempts:
            return None
        return round(100 * self.first_attempts_passed / self.first_attempts)


def course_figures(
    course: Course, *, year: int | None = None, pass_mark: int = 60
) -> CourseFigures:
    """Attempts, pass rate, average score and the scores in bands of ten. Two queries."""
    attempts = Attempt.objects.filter(course=course)
    if year is not None:
        attempts = attempts.filter(year=year)
    graded = Q(state=Attempt.State.GRADED)
    band = Case(
        *(When(score__lt=(index + 1) * 10, then=Value(index)) for index in range(SCORE_BANDS - 1)),
        default=Value(SCORE_BANDS - 1),
        output_field=IntegerField(),
    )
    totals = attempts.aggregate(
        graded_count=Count("pk", filter=graded),
        open_count=Count("pk", filter=Q(state=Attempt.State.OPEN)),
        learner_count=Count("learner", distinct=True, filter=graded),
        passed_count=Count("pk", filter=graded & Q(passed=True)),
        average_score=Avg("score", filter=graded),
        first_count=Count("pk", filter=graded & Q(number=1)),
        first_passed_count=Count("pk", filter=graded & Q(number=1, passed=True)),
    )
    counts = dict.fromkeys(range(SCORE_BANDS), 0)
    for row in (
        attempts.filter(graded)
        .annotate(band=band)
        .values("band")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        counts[row["band"]] = row["n"]
    total = totals["graded_count"] or 0
    bands = [
        ScoreBand(
            low=index * 10,
            high=100 if index == SCORE_BANDS - 1 else index * 10 + 9,
            count=counts[index],
            percent=100 * counts[index] / total if total else 0.0,
            passing=index * 10 >= pass_mark,
        )
        for index in range(SCORE_BANDS)
    ]
    average = totals["average_score"]
    return CourseFigures(
        graded=total,
        open=totals["open_count"] or 0,
        learners=totals["learner_count"] or 0,
        passed=totals["passed_count"] or 0,
        average_score=Decimal(str(average)).quantize(Decimal("0.1"))
        if average is not None
        else None,
        bands=bands,
        first_attempts=totals["first_count"] or 0,
        first_attempts_passed=totals["first_passed_count"] or 0,
    )


def attempt_years(course: Course) -> list[int]:
    """The years with attempts at this course's exam, newest first (for the year filter)."""
    return list(
        Attempt.objects.filter(course=course)
        .values_list("year", flat=True)
        .distinct()
        .order_by("-year")
    )
