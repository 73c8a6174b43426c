"""Learning pages: the learner's years and plans, course choice, study of a course, the
player, history, and the staff view of a learner's study."""

from django.urls import path

from cpe.learning import plan_views, study_views

app_name = "learning"

urlpatterns = [
    path("study/", plan_views.dashboard, name="dashboard"),
    path("study/<year:year>/", plan_views.year_plan, name="year_plan"),
    path("study/<year:year>/open/", plan_views.year_plan_open_view, name="year_plan_open"),
    path("study/<year:year>/choose/", plan_views.course_choose, name="course_choose"),
    path("study/<year:year>/choose/add/", plan_views.plan_course_add_view, name="plan_course_add"),
    path(
        "study/<year:year>/courses/<str:code>/remove/",
        plan_views.plan_course_remove_view,
        name="plan_course_remove",
    ),
    path("study/<year:year>/courses/<str:code>/", study_views.plan_course, name="plan_course"),
    path("study/lessons/<int:lesson_id>/", study_views.lesson_play, name="lesson_play"),
    path("study/lessons/<int:lesson_id>/media/", study_views.lesson_media, name="lesson_media"),
    path("study/history/", study_views.history, name="history"),
    path(
        "staff/learners/<int:learner_id>/study/",
        study_views.staff_learner_study,
        name="staff_learner_study",
    ),
]
