from django.apps import AppConfig
from django.urls import register_converter
from django.utils.translation import gettext_lazy as _

from cpe.core.converters import YearConverter


class CoreConfig(AppConfig):
    name = "cpe.core"
    verbose_name = _("Platform core")

    def ready(self) -> None:
        # Register the job kinds and periodic jobs with the queue.
        from cpe.core import tasks  # noqa: F401

        # `<year:year>` in the apps' URLconfs, registered before any of them is read.
        register_converter(YearConverter, "year")
