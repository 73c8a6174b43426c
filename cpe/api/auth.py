"""Authentication and capability checks shared by the routers."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja.security import SessionAuth

from cpe.core.permissions import require_capability

session_auth = SessionAuth(csrf=True)


def require(request: HttpRequest, capability: str) -> Any:
    """The signed-in user, after checking a capability (403 otherwise)."""
    require_capability(request.auth, capability)
    return request.auth
