"""Credit pages: the learner's credits and the officer's reversal of an entry; credit
registration (applications, decisions, direct recording, imports, the conversion table)."""

from django.urls import path

from cpe.credits import registration_views as registration
from cpe.credits import views

app_name = "credits"

urlpatterns = [
    path("study/credits/", views.credits_dashboard, name="dashboard"),
    path(
        "staff/learners/<int:learner_id>/credits/<int:entry_id>/reverse/",
        views.staff_credit_reverse,
        name="staff_reverse",
    ),
    path("study/credits/apply/", registration.apply_choose, name="apply_choose"),
    path("study/credits/apply/<slug:kind>/", registration.apply, name="apply"),
    path(
        "study/credits/applications/<int:application_id>/withdraw/",
        registration.application_withdraw,
        name="application_withdraw",
    ),
    path(
        "study/credits/applications/<int:application_id>/evidence/",
        registration.application_evidence,
        name="application_evidence",
    ),
    path(
        "staff/credits/applications/",
        registration.staff_applications,
        name="staff_applications",
    ),
    path(
        "staff/credits/applications/<int:application_id>/",
        registration.staff_application,
        name="staff_application",
    ),
    path(
        "staff/credits/applications/<int:application_id>/evidence/",
        registration.staff_application_evidence,
        name="staff_application_evidence",
    ),
    path(
        "staff/credits/applications/<int:application_id>/approve/",
        registration.staff_application_approve,
        name="staff_application_approve",
    ),
    path(
        "staff/credits/applications/<int:application_id>/reject/",
        registration.staff_application_reject,
        name="staff_application_reject",
    ),
    path("staff/credits/record/", registration.staff_record, name="staff_record"),
    path("staff/credits/imports/", registration.staff_imports, name="staff_imports"),
    path(
        "staff/credits/imports/template.<str:file_format>",
        registration.staff_import_template,
        name="staff_import_template",
    ),
    path(
        "staff/credits/imports/<uuid:import_id>/",
        registration.staff_import,
        name="staff_import",
    ),
    path(
        "staff/credits/imports/<uuid:import_id>/errors.xlsx",
        registration.staff_import_errors,
        name="staff_import_errors",
    ),
    path(
        "staff/credits/imports/<uuid:import_id>/confirm/",
        registration.staff_import_confirm,
        name="staff_import_confirm",
    ),
    path(
        "staff/credits/imports/<uuid:import_id>/recheck/",
        registration.staff_import_recheck,
        name="staff_import_recheck",
    ),
    path(
        "staff/credits/imports/<uuid:import_id>/abandon/",
        registration.staff_import_abandon,
        name="staff_import_abandon",
    ),
    path("staff/credits/conversion/", registration.conversion, name="conversion"),
    path(
        "staff/credits/conversion/<str:region_code>/<int:year>/<slug:kind>/",
        registration.conversion_edit,
        name="conversion_edit",
    ),
]
