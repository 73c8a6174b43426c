"""Registry pages: the officer's learner console, imports, and the learner's sign-in."""

from django.urls import path

from cpe.registry import import_views, signin_views, views

app_name = "registry"

urlpatterns = [
    path("staff/learners/", views.learner_list, name="learner_list"),
    path("staff/learners/new/", views.learner_create, name="learner_create"),
    path("staff/learners/transfers/", views.transfer_list, name="transfer_list"),
    path("staff/learners/<int:learner_id>/", views.learner_detail, name="learner_detail"),
    path("staff/learners/<int:learner_id>/edit/", views.learner_edit, name="learner_edit"),
    path("staff/learners/<int:learner_id>/reveal/", views.learner_reveal, name="learner_reveal"),
    path(
        "staff/learners/<int:learner_id>/transfer/",
        views.learner_transfer,
        name="learner_transfer",
    ),
    path(
        "staff/learners/<int:learner_id>/transfer/accept/",
        views.learner_transfer_accept_view,
        name="learner_transfer_accept",
    ),
    path(
        "staff/learners/<int:learner_id>/transfer/decline/",
        views.learner_transfer_decline_view,
        name="learner_transfer_decline",
    ),
    path(
        "staff/learners/<int:learner_id>/transfer/cancel/",
        views.learner_transfer_cancel_view,
        name="learner_transfer_cancel",
    ),
    path(
        "staff/learners/<int:learner_id>/deregister/",
        views.learner_deregister_view,
        name="learner_deregister",
    ),
    path(
        "staff/learners/<int:learner_id>/reinstate/",
        views.learner_reinstate_view,
        name="learner_reinstate",
    ),
    path(
        "staff/learners/<int:learner_id>/evidence/",
        views.evidence_upload,
        name="evidence_upload",
    ),
    path(
        "staff/learners/<int:learner_id>/evidence/<int:evidence_id>/",
        views.evidence_download,
        name="evidence_download",
    ),
    path(
        "staff/learners/<int:learner_id>/evidence/<int:evidence_id>/remove/",
        views.evidence_remove,
        name="evidence_remove",
    ),
    # The learner's sign-in (cpe/registry/signin_views.py).
    path("login/", signin_views.signin_view, name="signin"),
    path("login/first/", signin_views.signin_first_view, name="signin_first"),
    path("login/forgotten/", signin_views.signin_forgotten_view, name="signin_forgotten"),
    path("login/code/", signin_views.signin_code_view, name="signin_code"),
    path("login/code/resend/", signin_views.signin_code_resend_view, name="signin_code_resend"),
    path("login/password/", signin_views.signin_password_set_view, name="signin_password_set"),
    path("learn/profile/", signin_views.learner_profile_view, name="learner_profile"),
    # Imports of learners (cpe/registry/import_views.py).
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
