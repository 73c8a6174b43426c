"""Credit pages: the learner's credits and the officer's reversal of an entry."""

from django.urls import path

from cpe.credits import views

app_name = "credits"

urlpatterns = [
    path("study/credits/", views.credits_dashboard, name="dashboard"),
    path(
        "staff/learners/<int:learner_id>/credits/<int:entry_id>/reverse/",
        views.staff_credit_reverse,
        name="staff_reverse",
    ),
]
