from django.urls import path

from cpe.core import views

app_name = "core"

urlpatterns = [
    path("staff/audit/", views.audit_list, name="audit_list"),
    path("staff/jobs/", views.job_list, name="job_list"),
    path("staff/jobs/<uuid:job_id>/", views.job_detail, name="job_detail"),
    path("staff/jobs/<uuid:job_id>/download/", views.job_download, name="job_download"),
    path("healthz", views.healthz, name="healthz"),
]
