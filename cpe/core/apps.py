from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "cpe.core"
    verbose_name = _("Platform core")

    def ready(self) -> None:
        # Register the job kinds and periodic jobs with the queue.
        from cpe.core import tasks  # noqa: F401
