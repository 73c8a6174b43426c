"""Registry pages: the officer's learner console, imports, and the learner's sign-in."""

from django.urls import path  # noqa: F401

from cpe.registry import views  # noqa: F401

app_name = "registry"

urlpatterns: list = []
