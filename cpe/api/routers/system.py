"""Health of the platform's parts."""

from django.http import HttpRequest
from ninja import Router, Schema, Status

from cpe.core.selectors import health_report

router = Router(tags=["system"])


class HealthOut(Schema):
    status: str
    checks: dict[str, str]


@router.get("/healthz", response={200: HealthOut, 503: HealthOut})
def healthz(request: HttpRequest) -> Status:
    return Status(*health_report())
