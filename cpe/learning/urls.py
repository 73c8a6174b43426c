"""Learning pages: the learner's years and plans, course choice, the player."""

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path

from cpe.learning import plan_views

app_name = "learning"


def _study_part_placeholder(request: HttpRequest, **kwargs: object) -> HttpResponse:
    raise Http404


urlpatterns = [
    path("study/", plan_views.dashboard, name="dashboard"),
    path("study/<int:year>/", plan_views.year_plan, name="year_plan"),
    path("study/<int:year>/open/", plan_views.year_plan_open_view, name="year_plan_open"),
    path("study/<int:year>/choose/", plan_views.course_choose, name="course_choose"),
    path("study/<int:year>/choose/add/", plan_views.plan_course_add_view, name="plan_course_add"),
    path(
        "study/<int:year>/courses/<str:code>/remove/",
        plan_views.plan_course_remove_view,
        name="plan_course_remove",
    ),
    # The course page and the player belong to the study part (views.py); these names stand
    # in for them until it lands, so the plan pages can link to them.
    path("study/<int:year>/courses/<str:code>/", _study_part_placeholder, name="plan_course"),
    path("study/lessons/<int:lesson_id>/", _study_part_placeholder, name="lesson_play"),
]
