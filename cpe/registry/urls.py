"""Registry pages: the officer's learner console, imports, and the learner's sign-in."""

from django.urls import path

from cpe.registry import views  # noqa: F401

app_name = "registry"

urlpatterns: list = []

# Imports of learners (issue 3, part 3).
from cpe.registry import import_views  # noqa: E402

urlpatterns += [
    path("staff/imports/", import_views.import_list, name="import_list"),
    path(
        "staff/imports/template.<str:file_format>",
        import_views.import_template,
        name="import_template",
    ),
    path("staff/imports/<uuid:import_id>/", import_views.import_detail, name="import_detail"),
    path(
        "staff/imports/<uuid:import_id>/errors.xlsx",
        import_views.import_errors_download,
        name="import_errors",
    ),
    path(
        "staff/imports/<uuid:import_id>/confirm/",
        import_views.import_confirm,
        name="import_confirm",
    ),
    path(
        "staff/imports/<uuid:import_id>/recheck/",
        import_views.import_recheck,
        name="import_recheck",
    ),
    path(
        "staff/imports/<uuid:import_id>/abandon/",
        import_views.import_abandon,
        name="import_abandon",
    ),
]
