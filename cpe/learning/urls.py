"""Learning pages: study of a course in a plan, the player, history, and the staff view."""

from django.urls import path

from cpe.learning import study_views

app_name = "learning"

urlpatterns = [
    path("study/<int:year>/courses/<str:code>/", study_views.plan_course, name="plan_course"),
    path("study/lessons/<int:lesson_id>/", study_views.lesson_play, name="lesson_play"),
    path("study/lessons/<int:lesson_id>/media/", study_views.lesson_media, name="lesson_media"),
    path("study/history/", study_views.history, name="history"),
    path(
        "staff/learners/<int:learner_id>/study/",
        study_views.staff_learner_study,
        name="staff_learner_study",
    ),
]
