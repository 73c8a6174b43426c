"""Names of the things a role may do. Roles (accounts) grant them; views check them."""


class Capability:
    STUDY = "study"
    STAFF_CONSOLE = "staff.console"
    AUDIT_VIEW = "audit.view"
    NOTICES_MANAGE = "notices.manage"
    CONTACTS_VIEW = "contacts.view"
    CONTACTS_EDIT = "contacts.edit"
    JOBS_VIEW = "jobs.view"
    JOBS_DETAILS = "jobs.details"  # every job in scope, with the technical text of failures
    USERS_MANAGE = "users.manage"  # staff accounts within one's scope
    LEARNERS_VIEW = "learners.view"  # learner records within one's scope, masked
    LEARNERS_MANAGE = "learners.manage"  # collect, edit, import, transfer, deregister
    LEARNERS_REVEAL = "learners.reveal"  # see a learner's full ID number (audited)
    COURSES_MANAGE = "courses.manage"  # draft, edit, preview and publish courses and lessons
    STUDY_PROGRESS_VIEW = "study.progress"  # a learner's lesson progress and heartbeat record
    CREDITS_VIEW = "credits.view"  # a learner's credit ledger and yearly status in one's scope
    CREDITS_REVERSE = "credits.reverse"  # take credits back with a reversing entry (audited)
    OFFICE_KEYS_MANAGE = "office_keys.manage"  # issue and revoke API keys of other offices
    POLICY_VIEW = "policy.view"  # the study rules per region and year
    POLICY_EDIT = "policy.edit"  # change them in one's region (audited; recomputation)
    CREDITS_REGISTER = "credits.register"  # decide applications, record and import credits
    CONVERSION_EDIT = "credits.conversion"  # edit one's region's conversion table (audited)
    CERTIFICATES_BATCH = "certificates.batch"  # a district's certificates of a year as one ZIP

    @classmethod
    def all(cls) -> frozenset[str]:
        return frozenset(
            value for name, value in vars(cls).items() if name.isupper() and isinstance(value, str)
        )
