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

        # The question bank, settings and statistics from a course's staff page.
        from cpe.catalog.staff_links import register_staff_course_links
        from cpe.exams.staff_views import course_links

        register_staff_course_links(course_links)
