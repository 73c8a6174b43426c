"""Catalog pages: the public catalog and the course manager's staff pages."""

from django.urls import path

from cpe.catalog import views

app_name = "catalog"

urlpatterns = [
    path("courses/", views.catalog, name="catalog"),
    path("courses/<str:code>/", views.course_detail, name="course_detail"),
    path("staff/courses/", views.staff_course_list, name="staff_course_list"),
    path("staff/courses/new/", views.staff_course_create, name="staff_course_create"),
    path("staff/courses/<int:course_id>/", views.staff_course_detail, name="staff_course_detail"),
    path("staff/courses/<int:course_id>/edit/", views.staff_course_edit, name="staff_course_edit"),
    path(
        "staff/courses/<int:course_id>/publish/",
        views.staff_course_publish,
        name="staff_course_publish",
    ),
    path(
        "staff/courses/<int:course_id>/withdraw/",
        views.staff_course_withdraw,
        name="staff_course_withdraw",
    ),
    path(
        "staff/courses/<int:course_id>/preview/",
        views.staff_course_preview,
        name="staff_course_preview",
    ),
    path(
        "staff/courses/<int:course_id>/lessons/new/",
        views.staff_lesson_create,
        name="staff_lesson_create",
    ),
    path(
        "staff/courses/<int:course_id>/lessons/<int:lesson_id>/edit/",
        views.staff_lesson_edit,
        name="staff_lesson_edit",
    ),
    path(
        "staff/courses/<int:course_id>/lessons/<int:lesson_id>/delete/",
        views.staff_lesson_delete,
        name="staff_lesson_delete",
    ),
    path(
        "staff/courses/<int:course_id>/lessons/<int:lesson_id>/move/",
        views.staff_lesson_move,
        name="staff_lesson_move",
    ),
    path(
        "staff/courses/<int:course_id>/lessons/<int:lesson_id>/media/",
        views.staff_lesson_media,
        name="staff_lesson_media",
    ),
]
