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

_ADMIN = {
    Capability.CONTACTS_EDIT,
    Capability.NOTICES_MANAGE,
    Capability.AUDIT_VIEW,
    Capability.USERS_MANAGE,
}

CAPABILITIES: dict[str, frozenset[str]] = {
    Role.LEARNER: frozenset({Capability.STUDY}),
    Role.DISTRICT_OFFICER: frozenset(
        _STAFF
        | {
            Capability.CONTACTS_EDIT,
            Capability.LEARNERS_VIEW,
            Capability.LEARNERS_MANAGE,
            Capability.LEARNERS_REVEAL,
            Capability.STUDY_PROGRESS_VIEW,
            Capability.CREDITS_VIEW,
            Capability.CREDITS_REVERSE,
            Capability.POLICY_VIEW,
            Capability.CREDITS_REGISTER,
            Capability.CERTIFICATES_BATCH,
        }
    ),
    Role.CITY_ADMIN: frozenset(
        _STAFF
        | _ADMIN
        | {Capability.LEARNERS_VIEW, Capability.STUDY_PROGRESS_VIEW, Capability.CREDITS_VIEW}
        | {Capability.POLICY_VIEW, Capability.POLICY_EDIT}
        | {Capability.CONVERSION_EDIT}
        | {Capability.CERTIFICATES_BATCH}
    ),
    Role.PROVINCE_ADMIN: frozenset(
        _STAFF
        | _ADMIN
        | {Capability.LEARNERS_VIEW, Capability.STUDY_PROGRESS_VIEW, Capability.CREDITS_VIEW}
        | {Capability.OFFICE_KEYS_MANAGE}
        | {Capability.POLICY_VIEW, Capability.POLICY_EDIT}
        | {Capability.CONVERSION_EDIT}
        | {Capability.CERTIFICATES_BATCH}
    ),
    Role.COURSE_MANAGER: frozenset(_STAFF | {Capability.COURSES_MANAGE}),
    # Support answers learners' questions ("my video does not count"), so it reads their
    # records (masked) and their study progress in its scope.
    Role.SUPPORT: frozenset(
        _STAFF | {Capability.JOBS_DETAILS, Capability.LEARNERS_VIEW, Capability.STUDY_PROGRESS_VIEW}
    ),
    Role.AUDITOR: frozenset(
        _STAFF
        | {
            Capability.AUDIT_VIEW,
            Capability.LEARNERS_VIEW,
            Capability.STUDY_PROGRESS_VIEW,
            Capability.CREDITS_VIEW,
            Capability.POLICY_VIEW,
        }
    ),
    Role.SUPERUSER: Capability.all() - {Capability.STUDY},
}

# Which roles each administrator may give, always inside their own region.
GRANTABLE_ROLES: dict[str, tuple[str, ...]] = {
    Role.CITY_ADMIN: (Role.DISTRICT_OFFICER, Role.AUDITOR),
    Role.PROVINCE_ADMIN: (Role.CITY_ADMIN, Role.DISTRICT_OFFICER, Role.AUDITOR),
    Role.SUPERUSER: tuple(r for r in Role if r != Role.LEARNER),
}

# Roles bound to one region of a given level; the others may be platform-wide.
ROLE_REGION_LEVEL: dict[str, str] = {
    Role.LEARNER: "district",
    Role.DISTRICT_OFFICER: "district",
    Role.CITY_ADMIN: "city",
    Role.PROVINCE_ADMIN: "province",
}
STAFF_ROLES = frozenset(r for r in Role if r != Role.LEARNER)
