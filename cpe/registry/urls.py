"""Registry pages: the officer's learner console, imports, and the learner's sign-in."""

from django.urls import path

from cpe.registry import views  # noqa: F401

app_name = "registry"

urlpatterns: list = []

# The learner's sign-in (cpe/registry/signin_views.py).
from cpe.registry import signin_views  # noqa: E402

urlpatterns += [
    path("login/", signin_views.signin_view, name="signin"),
    path("login/first/", signin_views.signin_first_view, name="signin_first"),
    path("login/forgotten/", signin_views.signin_forgotten_view, name="signin_forgotten"),
    path("login/code/", signin_views.signin_code_view, name="signin_code"),
    path("login/code/resend/", signin_views.signin_code_resend_view, name="signin_code_resend"),
    path("login/password/", signin_views.signin_password_set_view, name="signin_password_set"),
    path("learn/profile/", signin_views.learner_profile_view, name="learner_profile"),
]
