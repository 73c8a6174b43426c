"""The audit log, for auditors and administrators, with the same filters as the staff page."""

from datetime import date, datetime
from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.pagination import PageNumberPagination, paginate

from cpe.api.auth import require, session_auth
from cpe.core.capabilities import Capability
from cpe.core.models import AuditEntry
from cpe.core.selectors import AuditFilters, audit_search

router = Router(tags=["audit"], auth=session_auth)


class AuditQuery(Schema):
    person: str = ""
    action: str = ""
    record: str = ""
    date_from: date | None = None
    date_to: date | None = None


class AuditOut(Schema):
    id: int
    created_at: datetime
    actor_label: str
    action: str
    target_type: str
    target_id: str
    target_label: str
    changes: dict[str, Any]
    reason: str
    ip: str | None


@router.get("", response=list[AuditOut])
@paginate(PageNumberPagination, page_size=50)
def audit_list(request: HttpRequest, filters: Query[AuditQuery]) -> QuerySet[AuditEntry]:
    user = require(request, Capability.AUDIT_VIEW)
    return audit_search(user=user, filters=AuditFilters(**filters.dict()))
