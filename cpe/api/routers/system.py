"""Health of the platform's parts."""

from django.http import HttpRequest
from ninja import Router, Schema, Status

from cpe.core.selectors import health_check

router = Router(tags=["system"])


class HealthOut(Schema):
    status: str
    checks: dict[str, str]


@router.get("/healthz", response={200: HealthOut, 503: HealthOut})
def healthz(request: HttpRequest) -> Status:
    checks = health_check()
    healthy = all(value == "ok" for value in checks.values())
    return Status(
        200 if healthy else 503, {"status": "ok" if healthy else "error", "checks": checks}
    )
