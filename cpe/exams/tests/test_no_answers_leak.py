"""No response of the exam flow, page or API, says which options are correct or explains a
question before the attempt is graded."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client
from django.urls import reverse

from cpe.exams.models import Attempt, AttemptQuestion, Option, Question
from cpe.learning.testing import complete_lessons

pytestmark = pytest.mark.django_db
API = "/api/v1/learner"
# What would give an answer away in markup or JSON.
TELLTALE_MARKUP = re.compile(r"is_correct|data-correct|option-correct|correct answer|正确答案")
OPTION_KEYS = {"id", "label", "text", "chosen"}


def json_options(value: object) -> list[dict]:
    """Every option object anywhere in a JSON document."""
    found: list[dict] = []
    if isinstance(value, dict):
        if "label" in value and "chosen" in value:
            found.append(value)
        for item in value.values():
            found.extend(json_options(item))
    elif isinstance(value, list):
        for item in value:
            found.extend(json_options(item))
    return found


def test_no_response_before_grading_carries_correct_options_or_explanations(make_enrolment):
    made = make_enrolment()
    explanations = list(
        Question.objects.filter(course=made.course).values_list("explanation", flat=True)
    )
    year, code = made.plan.year, made.course.code
    client = Client()
    client.force_login(made.learner.user)
    token = client.get(f"{API}/csrf").json()["csrf_token"]
    responses = []

    def keep(response):
        responses.append(response)
        return response

    keep(client.get(reverse("learning:plan_course", args=[year, code])))
    complete_lessons(made.plan_course)
    keep(client.get(reverse("learning:plan_course", args=[year, code])))
    keep(client.get(reverse("learning:year_plan", args=[year])))
    keep(client.get(f"{API}/plans/{year}/courses/{code}/exam"))
    started = keep(client.post(reverse("exams:start", args=[year, code])))
    keep(client.get(started["Location"]))
    attempt = Attempt.objects.get()
    api_paper = keep(
        client.post(f"{API}/plans/{year}/courses/{code}/exam/attempts", HTTP_X_CSRFTOKEN=token)
    )
    keep(client.get(f"{API}/exam-attempts/{attempt.pk}"))
    items = list(AttemptQuestion.objects.filter(attempt=attempt))
    for item in items:
        correct = list(
            Option.objects.filter(question=item.question, is_correct=True).values_list(
                "pk", flat=True
            )
        )
        keep(
            client.put(
                f"{API}/exam-attempts/{attempt.pk}/answers/{item.position}",
                {"chosen": correct},
                content_type="application/json",
                HTTP_X_CSRFTOKEN=token,
            )
        )
    keep(client.post(reverse("exams:save", args=[attempt.pk]), {"positions": ["1"]}))
    keep(client.get(reverse("exams:attempt", args=[attempt.pk])))
    keep(client.get(f"{API}/exam-attempts/{attempt.pk}/result"))  # refused while open
    keep(client.get(f"{API}/exam-attempts"))
    keep(client.get(reverse("exams:history")))
    keep(client.get(reverse("learning:plan_course", args=[year, code])))

    assert api_paper.status_code == 200
    assert len(responses) == 14 + len(items)
    for response in responses:
        body = response.content.decode()
        for explanation in explanations:
            assert explanation not in body, response.request["PATH_INFO"]
        assert not TELLTALE_MARKUP.search(body), response.request["PATH_INFO"]
        if response.get("Content-Type", "").startswith("application/json"):
            document = json.loads(body)
            assert '"correct"' not in body, response.request["PATH_INFO"]
            for option in json_options(document):
                assert set(option) == OPTION_KEYS
        elif "<input" in body:
            # Every option of the paper is marked up alike, right or wrong.
            inputs = re.findall(r'<input type="(?:radio|checkbox)"[^>]*>', body)
            for markup in inputs:
                assert re.fullmatch(
                    r'<input type="(radio|checkbox)" name="q\d+" value="\d+"( checked)?>', markup
                ), markup

    # The same detector finds the answers once the attempt is graded and reviewed.
    client.post(reverse("exams:submit", args=[attempt.pk]))
    review = client.get(reverse("exams:result", args=[attempt.pk])).content.decode()
    assert any(explanation in review for explanation in explanations)
    assert TELLTALE_MARKUP.search(review)
