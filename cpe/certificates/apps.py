from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CertificatesConfig(AppConfig):
    name = "cpe.certificates"
    verbose_name = _("Certificates")

    def ready(self) -> None:
        # The download button on the learner's credits page, and the issued certificates on
        # the staff page of a learner's study (credits and learning must not import us).
        from cpe.certificates import jobs  # noqa: F401  (registers the batch job kind)
        from cpe.certificates.views import credits_year_panel, staff_certificates_panel
        from cpe.credits.panels import register_year_panel
        from cpe.learning.panels import register_staff_study_panel

        register_year_panel(credits_year_panel)
        register_staff_study_panel(staff_certificates_panel)
