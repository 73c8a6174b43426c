"""Staff sessions that need a second factor count only once it was given at sign-in."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

from cpe.accounts.services import second_factor_satisfied


class SecondFactorMiddleware:
    """Signs out a staff session that skipped the code step.

    The staff sign-in is the only page that creates such sessions with the code, but a
    staff member could also type their password into the learner page or the admin's own
    form, or be given a role that needs a code while signed in. Checking here, after
    AuthenticationMiddleware, covers every page and the API at once. Learners cost nothing:
    their role is on the user already loaded.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated and user.is_staff_member and not second_factor_satisfied(request):
            logout(request)
        return self.get_response(request)
