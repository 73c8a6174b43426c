"""Exam statistics for course managers, computed on hand-built attempts with known answers
and compared with figures worked out independently (Python's statistics.correlation)."""

from __future__ import annotations

import statistics
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cpe.exams import statistics as exam_statistics
from cpe.exams.statistics import course_figures, point_biserial, question_figures
from cpe.exams.testing import make_bank
from cpe.exams.tests.bankdata import exam_course, graded_attempts

pytestmark = pytest.mark.django_db

# Eight candidates, five single-choice questions of 20 points each: who got which right.
# Question 1 and 3 go with the total as they should; question 2 tells nobody apart; question
# 4 leans the wrong way and question 5 is answered right by the weakest candidates only.
PATTERNS = [
    [1, 1, 1, 1, 0],
    [1, 1, 1, 0, 0],
    [1, 1, 0, 1, 0],
    [1, 0, 1, 0, 1],
    [0, 1, 0, 0, 1],
    [1, 0, 0, 0, 1],
    [0, 0, 0, 1, 1],
    [0, 0, 0, 0, 1],
]


def expected_discrimination(question: int) -> float:
    """Pearson's r of right/wrong with the score on the other questions, worked out here."""
    right = [pattern[question] for pattern in PATTERNS]
    rest = [20 * (sum(pattern) - pattern[question]) for pattern in PATTERNS]
    return statistics.correlation(right, rest)


@pytest.fixture
def course(regions):
    course = exam_course(regions["420000"])
    make_bank(course, single=5, multiple=0, true_false=0)
    graded_attempts(course, regions["420102"], [[bool(x) for x in p] for p in PATTERNS])
    return course


def test_each_questions_share_of_right_answers_and_discrimination_match_the_hand_figures(
    course,
) -> None:
    figures = question_figures(course)
    assert [item.answered for item in figures] == [8] * 5
    assert [item.correct for item in figures] == [5, 4, 3, 3, 5]
    assert [item.difficulty for item in figures] == [0.625, 0.5, 0.375, 0.375, 0.625]
    for index, item in enumerate(figures):
        assert item.discrimination == pytest.approx(expected_discrimination(index), abs=1e-9)
    # The same, written out: questions 1 and 5 by hand.
    assert figures[0].discrimination == pytest.approx(0.2692, abs=1e-4)
    assert figures[4].discrimination == pytest.approx(-0.8904, abs=1e-4)


def test_questions_with_low_or_negative_discrimination_are_flagged(course, monkeypatch) -> None:
    # Flags wait for enough answers: eight are too few by default...
    assert [item.flag for item in question_figures(course)] == [""] * 5
    # ...and with the threshold at eight, the doubtful questions stand out.
    monkeypatch.setattr(exam_statistics, "MIN_ANSWERS", 8)
    flags = [item.flag for item in question_figures(course)]
    assert flags == ["", "low", "", "negative", "negative"]


def test_a_question_everybody_gets_right_is_flagged_as_possibly_leaked(regions, monkeypatch):
    course = exam_course(regions["420000"])
    make_bank(course, single=2, multiple=0, true_false=0)
    graded_attempts(course, regions["420102"], [[True, True], [True, False], [True, False]])
    monkeypatch.setattr(exam_statistics, "MIN_ANSWERS", 3)
    first, second = question_figures(course)
    assert first.difficulty == 1.0 and first.discrimination is None
    assert first.flag == "leaked"
    assert second.flag == ""


def test_the_course_figures_count_attempts_passes_and_scores_in_bands(course) -> None:
    summary = course_figures(course, pass_mark=60)
    assert (summary.graded, summary.learners, summary.open) == (8, 8, 0)
    assert (summary.passed, summary.pass_rate) == (4, 50)
    assert summary.average_score == Decimal("50.0")
    assert {band.low: band.count for band in summary.bands if band.count} == {
        20: 1,
        40: 3,
        60: 3,
        80: 1,
    }
    assert [band.passing for band in summary.bands][5:7] == [False, True]
    assert summary.first_pass_rate == 50


def test_a_year_without_attempts_has_empty_figures(course) -> None:
    summary = course_figures(course, year=2001)
    assert (summary.graded, summary.pass_rate, summary.average_score) == (0, None, None)
    assert all(item.answered == 0 for item in question_figures(course, year=2001))


def test_point_biserial_has_no_value_without_both_kinds_of_answer() -> None:
    assert point_biserial(n=3, right=3, total=90, squares=2700, right_total=90) is None
    assert point_biserial(n=0, right=0, total=0, squares=0, right_total=0) is None


def test_the_figures_cost_the_same_queries_for_few_or_many_attempts(regions) -> None:
    def queries(patterns: list[list[bool]], sequence: int) -> int:
        course = exam_course(regions["420000"])
        make_bank(course, single=3, multiple=0, true_false=0)
        graded_attempts(course, regions["420102"], patterns, start_sequence=sequence)
        with CaptureQueriesContext(connection) as captured:
            question_figures(course)
            course_figures(course)
        return len(captured)

    few = queries([[True, False, True]], 600)
    many = queries([[True, False, True], [False, True, True]] * 6, 700)
    assert few == many <= 4
