from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistryConfig(AppConfig):
    name = "cpe.registry"
    verbose_name = _("Learner registry")

    def ready(self) -> None:
        # A malformed encryption key must stop start-up, not the first information collection.
        from cpe.registry.crypto import field_keys

        field_keys()
        from cpe.registry import jobs  # noqa: F401  (registers the job kinds)
