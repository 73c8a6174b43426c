"""The course manager's exam pages, under each course's staff page."""

from django.urls import path

from cpe.exams import staff_views as views

app_name = "exam_staff"

COURSE = "staff/courses/<int:course_id>/"

urlpatterns = [
    path("staff/courses/question-template.xlsx", views.question_template, name="template"),
    path(COURSE + "questions/", views.bank, name="bank"),
    path(COURSE + "questions/new/", views.question_new, name="question_new"),
    path(COURSE + "questions/<int:question_id>/edit/", views.question_edit, name="question_edit"),
    path(
        COURSE + "questions/<int:question_id>/retire/",
        views.question_retire,
        name="question_retire",
    ),
    path(
        COURSE + "questions/<int:question_id>/reactivate/",
        views.question_reactivate,
        name="question_reactivate",
    ),
    path(
        COURSE + "questions/<int:question_id>/delete/",
        views.question_remove,
        name="question_delete",
    ),
    path(COURSE + "questions/export.xlsx", views.question_export, name="export"),
    path(COURSE + "questions/import/", views.import_upload, name="import_upload"),
    path(COURSE + "questions/import/<uuid:import_id>/", views.import_detail, name="import_detail"),
    path(
        COURSE + "questions/import/<uuid:import_id>/confirm/",
        views.import_confirm,
        name="import_confirm",
    ),
    path(
        COURSE + "questions/import/<uuid:import_id>/abandon/",
        views.import_abandon,
        name="import_abandon",
    ),
    path(
        COURSE + "questions/import/<uuid:import_id>/errors.xlsx",
        views.import_errors,
        name="import_errors",
    ),
    path(COURSE + "exam-statistics/", views.statistics, name="statistics"),
]
