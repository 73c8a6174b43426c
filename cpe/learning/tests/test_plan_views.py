"""The learner's study pages: dashboard, a year's plan, opening it, choosing courses."""

from __future__ import annotations

from collections.abc import Callable

from django.test import Client
from django.urls import reverse
from django.utils import timezone

from cpe.catalog.models import Course
from cpe.core.services import Actor
from cpe.learning.models import LessonProgress, PlanCourse, YearPlan
from cpe.learning.services import plan_course_add, year_plan_open
from cpe.registry.models import Learner

CURRENT = timezone.localdate().year


def _client(learner: Learner) -> Client:
    client = Client()
    client.force_login(learner.user)
    return client


def _open(learner: Learner, year: int = CURRENT) -> YearPlan:
    return year_plan_open(actor=Actor(user=learner.user), learner=learner, year=year)


def test_the_dashboard_offers_to_open_the_current_year(
    make_learner: Callable[..., Learner],
) -> None:
    learner = make_learner(qualification_year=CURRENT - 1)

    response = _client(learner).get(reverse("learning:dashboard"))

    assert response.status_code == 200
    assert reverse("learning:year_plan_open", args=[CURRENT]).encode() in response.content


def test_opening_the_current_year_leads_to_course_choice(
    make_learner: Callable[..., Learner],
) -> None:
    learner = make_learner(qualification_year=CURRENT - 1)

    response = _client(learner).post(reverse("learning:year_plan_open", args=[CURRENT]))

    assert response.status_code == 302
    assert response["Location"] == reverse("learning:course_choose", args=[CURRENT])
    assert YearPlan.objects.filter(learner=learner, year=CURRENT).exists()


def test_a_year_that_no_calendar_could_hold_is_not_found(
    make_learner: Callable[..., Learner],
) -> None:
    client = _client(make_learner(qualification_year=CURRENT - 1))

    assert client.get(f"/study/{CURRENT}/").status_code == 200
    for year in ("99999", "0", "1800", "32768"):
        assert client.get(f"/study/{year}/").status_code == 404
        assert client.post(f"/study/{year}/open/").status_code == 404
    assert not YearPlan.objects.exists()


def test_a_blocked_year_page_names_the_year_to_finish_first(
    make_learner: Callable[..., Learner],
) -> None:
    learner = make_learner(qualification_year=CURRENT - 3)
    client = _client(learner)

    response = client.post(reverse("learning:year_plan_open", args=[CURRENT]), follow=True)

    assert not YearPlan.objects.filter(learner=learner, year=CURRENT).exists()
    text = response.content.decode()
    assert str(CURRENT - 2) in text
    assert reverse("learning:year_plan", args=[CURRENT - 2]) in text


def test_the_dashboard_lists_each_required_year_and_where_to_continue(
    make_learner: Callable[..., Learner], make_course: Callable[..., Course]
) -> None:
    learner = make_learner(qualification_year=CURRENT - 2)
    plan = _open(learner, CURRENT - 1)
    chosen = plan_course_add(actor=Actor(user=learner.user), plan=plan, course=make_course())
    lesson = chosen.course.lessons.get()
    LessonProgress.objects.create(learner=learner, lesson=lesson, plan_course=chosen)

    response = _client(learner).get(reverse("learning:dashboard"))

    text = response.content.decode()
    assert f'data-year="{CURRENT - 1}" data-state="open"' in text
    assert f'data-year="{CURRENT}" data-state="blocked"' in text
    assert reverse("learning:lesson_play", args=[lesson.pk]) in text


def test_the_choice_page_lists_the_years_courses_and_adds_one(
    make_learner: Callable[..., Learner], make_course: Callable[..., Course]
) -> None:
    learner = make_learner(qualification_year=CURRENT - 1)
    _open(learner)
    offered = make_course("C-OFFERED", title="Tax law today")
    make_course("C-OLD", years=[2019])
    make_course("C-SENIOR", levels=["senior"])
    client = _client(learner)

    page = client.get(reverse("learning:course_choose", args=[CURRENT]), {"q": "tax"})
    text = page.content.decode()
    assert "C-OFFERED" in text
    assert "C-OLD" not in text and "C-SENIOR" not in text

    response = client.post(
        reverse("learning:plan_course_add", args=[CURRENT]),
        {"course": offered.code, "q": "tax"},
    )
    assert response.status_code == 302
    assert response["Location"].endswith("?q=tax")
    assert PlanCourse.objects.filter(learner=learner, course=offered).exists()


def test_the_plan_page_warns_when_professional_credits_are_out_of_reach(
    make_learner: Callable[..., Learner], make_course: Callable[..., Course]
) -> None:
    learner = make_learner(qualification_year=CURRENT - 1)
    plan = _open(learner)
    plan_course_add(
        actor=Actor(user=learner.user), plan=plan, course=make_course(category="public")
    )

    response = _client(learner).get(reverse("learning:year_plan", args=[CURRENT]))

    assert b'data-warning="professional"' in response.content
    assert b"<progress" in response.content
    assert (
        reverse(
            "learning:plan_course", args=[CURRENT, plan.plan_courses.get().course.code]
        ).encode()
        in response.content
    )


def test_removing_a_course_from_the_plan_page(
    make_learner: Callable[..., Learner], make_course: Callable[..., Course]
) -> None:
    learner = make_learner(qualification_year=CURRENT - 1)
    plan = _open(learner)
    course = make_course()
    plan_course_add(actor=Actor(user=learner.user), plan=plan, course=course)
    client = _client(learner)
    page = client.get(reverse("learning:year_plan", args=[CURRENT])).content.decode()
    assert ">移出</button>" in page  # taken out of the plan, not deleted

    response = client.post(reverse("learning:plan_course_remove", args=[CURRENT, course.code]))

    assert response.status_code == 302
    assert not PlanCourse.objects.filter(plan=plan).exists()


def test_another_learners_plan_is_not_found(
    make_learner: Callable[..., Learner], make_course: Callable[..., Course]
) -> None:
    owner = make_learner(qualification_year=CURRENT - 1)
    _open(owner)
    other = make_learner(qualification_year=CURRENT - 1)

    client = _client(other)
    assert client.get(reverse("learning:course_choose", args=[CURRENT])).status_code == 404
    response = client.post(
        reverse("learning:plan_course_add", args=[CURRENT]), {"course": make_course().code}
    )
    assert response.status_code == 404
    assert not PlanCourse.objects.exists()


def test_a_plan_waiting_for_payment_says_payment_is_not_available_yet(
    make_learner: Callable[..., Learner], regions: dict
) -> None:
    from decimal import Decimal

    from cpe.regions.services import region_policy_save

    region_policy_save(
        actor=Actor.for_system("tests"),
        region=regions["420102"],
        effective_from=2018,
        plan_fee=Decimal("30"),
    )
    learner = make_learner(qualification_year=CURRENT - 1)
    client = _client(learner)

    response = client.post(reverse("learning:year_plan_open", args=[CURRENT]), follow=True)

    assert b'id="payment"' in response.content
    assert YearPlan.objects.get(learner=learner).payment == YearPlan.Payment.PENDING
