from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CreditsConfig(AppConfig):
    name = "cpe.credits"
    verbose_name = _("Credits")

    def ready(self) -> None:
        # A completed course becomes a ledger entry in the same transaction (learning must
        # not import credits, so it calls the listener this app registers).
        from cpe.credits.services import credit_record_completion
        from cpe.learning.hooks import register_completion_listener

        register_completion_listener(credit_record_completion)
