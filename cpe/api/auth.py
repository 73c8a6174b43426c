"""Authentication and capability checks shared by the routers."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.errors import HttpError
from ninja.security import SessionAuth

from cpe.core.permissions import require_capability

session_auth = SessionAuth(csrf=True)


def require(request: HttpRequest, capability: str) -> Any:
    """The signed-in user, after checking a capability (403 otherwise).

    As on the pages, a temporary password given by an administrator opens nothing until
    its owner has chosen their own.
    """
    require_capability(request.auth, capability)
    if getattr(request.auth, "must_change_password", False):
        raise HttpError(
            403, _("Choose your own password first: yours was given by an administrator.")
        )
    return request.auth
