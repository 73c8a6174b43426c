"""The year-plan API: the same rules as the pages, refusals that name the rule."""

from __future__ import annotations

from collections.abc import Callable

from django.test import Client
from django.utils import timezone

from cpe.catalog.models import Course
from cpe.core.services import Actor
from cpe.learning.models import LessonProgress, PlanCourse, YearPlan
from cpe.learning.services import plan_course_add, year_plan_open
from cpe.registry.models import Learner

CURRENT = timezone.localdate().year
BASE = "/api/v1/learner/plans"


def _client(learner: Learner) -> Client:
    client = Client()
    client.force_login(learner.user)
    return client


def test_the_years_list_says_which_year_may_be_opened_and_why_others_may_not(
    make_learner: Callable[..., Learner],
) -> None:
    learner = make_learner(qualification_year=CURRENT - 2)  # required: CURRENT-1, CURRENT

    body = _client(learner).get(BASE).json()

    assert body["current_year"] == CURRENT
    first, current = body["years"]
    assert (first["year"], first["state"], first["may_open"]) == (CURRENT - 1, "not_opened", True)
    assert current["state"] == "blocked"
    assert current["blocker"]["rule"] == "earlier_year_unfinished"
    assert current["blocker"]["year"] == CURRENT - 1


def test_opening_a_year_gives_201_then_200_with_the_same_plan(
    make_learner: Callable[..., Learner],
) -> None:
    learner = make_learner(qualification_year=CURRENT - 1)
    client = _client(learner)

    created = client.post(BASE, {"year": CURRENT}, content_type="application/json")
    again = client.post(BASE, {"year": CURRENT}, content_type="application/json")

    assert created.status_code == 201
    assert created.json()["payment"] == "free"
    assert created.json()["total_credits"]["required"] == 90
    assert again.status_code == 200
    assert YearPlan.objects.filter(learner=learner).count() == 1


def test_a_year_that_is_not_allowed_is_refused_naming_the_rule_and_the_year(
    make_learner: Callable[..., Learner],
) -> None:
    learner = make_learner(qualification_year=CURRENT - 3)

    response = _client(learner).post(BASE, {"year": CURRENT}, content_type="application/json")

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "earlier_year_unfinished"
    assert body["year"] == CURRENT - 2
    assert str(CURRENT - 2) in body["message"]
    assert not YearPlan.objects.filter(learner=learner).exists()


def test_a_malformed_year_is_422_with_the_field_named(
    make_learner: Callable[..., Learner],
) -> None:
    client = _client(make_learner())

    response = client.post(BASE, {"year": "next"}, content_type="application/json")

    assert response.status_code == 422
    assert "year" in response.json()["fields"]


def test_choosing_a_course_and_reading_the_plan(
    make_learner: Callable[..., Learner], make_course: Callable[..., Course]
) -> None:
    learner = make_learner(qualification_year=CURRENT - 1)
    year_plan_open(actor=Actor(user=learner.user), learner=learner, year=CURRENT)
    course = make_course(class_hours=4)
    client = _client(learner)

    added = client.post(
        f"{BASE}/{CURRENT}/courses", {"course_code": course.code}, content_type="application/json"
    )
    plan = client.get(f"{BASE}/{CURRENT}").json()

    assert added.status_code == 201
    assert float(added.json()["credits"]) == 12
    assert [c["code"] for c in plan["courses"]] == [course.code]
    assert float(plan["professional_credits"]["chosen"]) == 12
    assert plan["professional_credits"]["reachable"] is False
    assert plan["study_blocker"] is None


def test_a_course_in_another_year_is_refused_with_that_year(
    make_learner: Callable[..., Learner], make_course: Callable[..., Course], regions: dict
) -> None:
    from cpe.regions.services import region_policy_save

    region_policy_save(
        actor=Actor.for_system("tests"),
        region=regions["420000"],
        effective_from=2018,
        sequential_years=False,
    )
    learner = make_learner(qualification_year=CURRENT - 2)
    actor = Actor(user=learner.user)
    earlier = year_plan_open(actor=actor, learner=learner, year=CURRENT - 1)
    year_plan_open(actor=actor, learner=learner, year=CURRENT)
    course = make_course()
    plan_course_add(actor=actor, plan=earlier, course=course)

    response = _client(learner).post(
        f"{BASE}/{CURRENT}/courses", {"course_code": course.code}, content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "course_in_other_year"
    assert response.json()["year"] == CURRENT - 1


def test_an_unknown_course_or_a_plan_not_opened_is_404(
    make_learner: Callable[..., Learner], make_course: Callable[..., Course]
) -> None:
    learner = make_learner(qualification_year=CURRENT - 1)
    client = _client(learner)
    body = {"course_code": make_course().code}

    assert (
        client.post(f"{BASE}/{CURRENT}/courses", body, content_type="application/json").status_code
        == 404
    )
    year_plan_open(actor=Actor(user=learner.user), learner=learner, year=CURRENT)
    unknown = client.post(
        f"{BASE}/{CURRENT}/courses", {"course_code": "NOPE"}, content_type="application/json"
    )
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "course_not_found"
    assert not PlanCourse.objects.exists()


def test_removing_a_course_is_refused_once_study_time_counts(
    make_learner: Callable[..., Learner], make_course: Callable[..., Course]
) -> None:
    learner = make_learner(qualification_year=CURRENT - 1)
    actor = Actor(user=learner.user)
    plan = year_plan_open(actor=actor, learner=learner, year=CURRENT)
    studied = plan_course_add(actor=actor, plan=plan, course=make_course())
    fresh = plan_course_add(actor=actor, plan=plan, course=make_course())
    LessonProgress.objects.create(
        learner=learner, lesson=studied.course.lessons.get(), plan_course=studied, verified_ms=900
    )
    client = _client(learner)

    refused = client.delete(f"{BASE}/{CURRENT}/courses/{studied.course.code}")
    removed = client.delete(f"{BASE}/{CURRENT}/courses/{fresh.course.code}")

    assert refused.status_code == 400
    assert refused.json()["code"] == "course_studied"
    assert removed.status_code == 204
    assert list(PlanCourse.objects.values_list("pk", flat=True)) == [studied.pk]


def test_staff_have_no_year_plans(users: dict, client_for: Callable) -> None:
    response = client_for(users["district_officer"]).get(BASE)

    assert response.status_code == 403


def test_changes_need_the_csrf_token(make_learner: Callable[..., Learner]) -> None:
    learner = make_learner(qualification_year=CURRENT - 1)
    client = Client(enforce_csrf_checks=True)
    client.force_login(learner.user)

    response = client.post(BASE, {"year": CURRENT}, content_type="application/json")

    assert response.status_code == 403
    assert not YearPlan.objects.exists()
