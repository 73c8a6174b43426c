from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ExamsConfig(AppConfig):
    name = "cpe.exams"
    verbose_name = _("Exams")

    def ready(self) -> None:
        # The exam block on the page of a course in a plan (learning must not import exams).
        from cpe.catalog.panels import register_staff_course_panel
        from cpe.exams.settings_views import staff_attempts_panel, staff_exam_panel
        from cpe.exams.staff_views import staff_bank_panel
        from cpe.exams.views import exam_panel
        from cpe.learning.panels import register_course_panel, register_staff_study_panel

        register_course_panel(exam_panel)
        # The exam block on a course's staff page, with its settings.
        register_staff_course_panel(staff_exam_panel)
        # Then the question bank's: its pages, import and export, and the statistics.
        register_staff_course_panel(staff_bank_panel)
        # A learner's attempts on the staff page of their study.
        register_staff_study_panel(staff_attempts_panel)
