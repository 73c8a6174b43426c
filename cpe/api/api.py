"""The /api/v1/ application: one NinjaAPI, one router per app, one OpenAPI document."""

from __future__ import annotations

from ninja import NinjaAPI

from cpe.api.errors import install_error_handlers
from cpe.api.routers import (
    audit,
    certificates,
    courses,
    credit_registration,
    credits,
    exam_bank,
    exam_settings,
    exams,
    imports,
    jobs,
    learner,
    learners,
    notices,
    plans,
    policy,
    public,
    regions,
    study,
    system,
)

api = NinjaAPI(
    title="CPE API",
    version="1",
    description=(
        "The API of the continuing-education platform for accounting professionals. "
        "Errors come back as {code, message, fields}. Session-authenticated calls that "
        "change data send the CSRF token in the X-CSRFToken header."
    ),
    urls_namespace="api",
    openapi_url="/openapi.json",
    docs_url="/docs",
)
install_error_handlers(api)
api.add_router("/", system.router)
api.add_router("/regions", regions.router)
api.add_router("/notices", notices.router)
api.add_router("/jobs", jobs.router)
api.add_router("/audit", audit.router)
api.add_router("/learners", learners.router)
api.add_router("/learner-imports", imports.router)
api.add_router("/learner", learner.router)
api.add_router("/courses", courses.router)
api.add_router("/courses", exam_settings.router)
api.add_router("/learner/plans", plans.router)
api.add_router("/learner", study.router)
api.add_router("/learner", exams.router)
api.add_router("/learner", credits.router)
api.add_router("/staff/learners", credits.staff_router)
api.add_router("/staff/courses", exam_bank.router)
api.add_router("/public", public.router)
api.add_router("/staff/regions", policy.router)
api.add_router("/learner", credit_registration.learner_router)
api.add_router("/staff", credit_registration.staff_router)
api.add_router("/certificates", certificates.public_router)
api.add_router("/learner", certificates.learner_router)
api.add_router("/staff/learners", certificates.staff_router)
api.add_router("/staff/certificate-batches", certificates.batch_router)
