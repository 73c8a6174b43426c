from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CreditsConfig(AppConfig):
    name = "cpe.credits"
    verbose_name = _("Credits")

    def ready(self) -> None:
        # A malformed ledger key must stop start-up, not the first credit recorded.
        from cpe.credits.chain import ledger_keys

        ledger_keys()
        # A completed course becomes a ledger entry in the same transaction (learning must
        # not import credits, so it calls the listener this app registers).
        from cpe.credits.models import CreditEntry
        from cpe.credits.services import (
            credit_record_completion,
            policy_scope_count,
            policy_scope_recompute,
        )
        from cpe.credits.views import staff_credits_panel
        from cpe.learning.hooks import register_completion_listener
        from cpe.learning.panels import register_staff_study_panel
        from cpe.regions.hooks import register_credit_sources, register_policy_recomputation

        register_completion_listener(credit_record_completion)
        # The rules pages (regions) name the ledger's sources in caps, count the years a
        # change of rules decides and have them recomputed, without importing credits.
        register_credit_sources(
            [
                (code, label)
                for code, label in CreditEntry.Source.choices
                if code != CreditEntry.Source.PLATFORM_COURSE
            ]
        )
        register_policy_recomputation(counter=policy_scope_count, recomputer=policy_scope_recompute)
        # The ledger on the staff page of a learner's study, with the reverse action.
        register_staff_study_panel(staff_credits_panel)
        from cpe.credits import jobs  # noqa: F401  (registers the import's job kinds)
        from cpe.credits.registration_views import (
            dashboard_applications_panel,
            staff_applications_panel,
        )
        from cpe.learning.panels import register_dashboard_panel

        # Credit applications on the learner's dashboard and on the staff study page.
        register_dashboard_panel(dashboard_applications_panel)
        register_staff_study_panel(staff_applications_panel)
