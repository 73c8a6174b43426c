"""The roles of the platform and what each may do. Scope (which regions) is checked separately."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from cpe.core.capabilities import Capability


class Role(models.TextChoices):
    LEARNER = "learner", _("Learner")
    DISTRICT_OFFICER = "district_officer", _("District officer")
    CITY_ADMIN = "city_admin", _("City administrator")
    PROVINCE_ADMIN = "province_admin", _("Province administrator")
    COURSE_MANAGER = "course_manager", _("Course manager")
    SUPPORT = "support", _("Support staff")
    AUDITOR = "auditor", _("Auditor (read-only)")
    SUPERUSER = "superuser", _("Superuser")


_STAFF = {Capability.STAFF_CONSOLE, Capability.JOBS_VIEW, Capability.CONTACTS_VIEW}

CAPABILITIES: dict[str, frozenset[str]] = {
    Role.LEARNER: frozenset({Capability.STUDY}),
    Role.DISTRICT_OFFICER: frozenset(_STAFF | {Capability.CONTACTS_EDIT}),
    Role.CITY_ADMIN: frozenset(
        _STAFF | {Capability.CONTACTS_EDIT, Capability.NOTICES_MANAGE, Capability.AUDIT_VIEW}
    ),
    Role.PROVINCE_ADMIN: frozenset(
        _STAFF | {Capability.CONTACTS_EDIT, Capability.NOTICES_MANAGE, Capability.AUDIT_VIEW}
    ),
    Role.COURSE_MANAGER: frozenset(_STAFF),
    Role.SUPPORT: frozenset(_STAFF | {Capability.JOBS_DETAILS}),
    Role.AUDITOR: frozenset(_STAFF | {Capability.AUDIT_VIEW}),
    Role.SUPERUSER: frozenset(
        _STAFF
        | {
            Capability.CONTACTS_EDIT,
            Capability.NOTICES_MANAGE,
            Capability.AUDIT_VIEW,
            Capability.JOBS_DETAILS,
        }
    ),
}

# Roles bound to one region of a given level; the others may be platform-wide.
ROLE_REGION_LEVEL: dict[str, str] = {
    Role.LEARNER: "district",
    Role.DISTRICT_OFFICER: "district",
    Role.CITY_ADMIN: "city",
    Role.PROVINCE_ADMIN: "province",
}
STAFF_ROLES = frozenset(r for r in Role if r != Role.LEARNER)
