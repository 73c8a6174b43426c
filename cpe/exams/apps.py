from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExamsConfig(AppConfig):
    name = "cpe.exams"
    verbose_name = _("Exams")

    def ready(self) -> None:
        # The exam block on the page of a course in a plan (learning must not import exams).
        from cpe.exams.views import exam_panel
        from cpe.learning.panels import register_course_panel

        register_course_panel(exam_panel)
