"""Certificate pages: download, staff download and batch, and the public verification."""

from django.urls import path

from cpe.certificates import views

app_name = "certificates"

urlpatterns = [
    path(
        "study/certificates/<year:year>/",
        views.learner_certificate_download,
        name="download",
    ),
    path(
        "staff/learners/<int:learner_id>/certificates/<year:year>/",
        views.staff_certificate_download,
        name="staff_download",
    ),
    path("staff/certificates/batch/", views.staff_certificate_batch, name="staff_batch"),
    path("verify/", views.verify_start, name="verify_start"),
    path("verify/<str:number>/", views.verify, name="verify"),
]
