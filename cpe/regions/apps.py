from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegionsConfig(AppConfig):
    name = "cpe.regions"
    verbose_name = _("Regions and contacts")

    def ready(self) -> None:
        from cpe.regions import jobs  # noqa: F401  (registers the job kinds)
