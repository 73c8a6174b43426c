"""Exam pages of the learner: start, the paper, saving without JavaScript, submit, result,
history."""

from django.urls import path

from cpe.exams import settings_views, views

app_name = "exams"

urlpatterns = [
    path("study/<year:year>/courses/<str:code>/exam/start/", views.exam_start, name="start"),
    path("study/exams/", views.history, name="history"),
    path("study/exams/<uuid:attempt_id>/", views.attempt_page, name="attempt"),
    path("study/exams/<uuid:attempt_id>/save/", views.attempt_save, name="save"),
    path("study/exams/<uuid:attempt_id>/submit/", views.attempt_submit_view, name="submit"),
    path("study/exams/<uuid:attempt_id>/result/", views.result, name="result"),
    path(
        "staff/courses/<int:course_id>/exam-settings/",
        settings_views.exam_settings_edit,
        name="staff_exam_settings",
    ),
]
