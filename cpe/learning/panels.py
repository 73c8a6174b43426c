"""Panels that later apps add to learning's pages: the page of a course in a plan, the
learner's dashboard, and the staff page of a learner's study (the exam, for one).

Learning imports none of those apps: each registers a renderer when it is ready, and the
page shows what the renderers return, in the order they registered.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest
from django.utils.safestring import SafeString

from cpe.learning.models import PlanCourse
from cpe.registry.models import Learner

CoursePanel = Callable[[HttpRequest, PlanCourse], SafeString | str]
StaffStudyPanel = Callable[[HttpRequest, Learner], SafeString | str]
DashboardPanel = Callable[[HttpRequest, Learner], SafeString | str]

_panels: list[CoursePanel] = []
_staff_panels: list[StaffStudyPanel] = []
_dashboard_panels: list[DashboardPanel] = []


def register_course_panel(panel: CoursePanel) -> None:
    if panel not in _panels:
        _panels.append(panel)


def course_panels(request: HttpRequest, plan_course: PlanCourse) -> list[SafeString | str]:
    """The registered panels' HTML for this course (already escaped by their templates)."""
    return [html for html in (panel(request, plan_course) for panel in _panels) if html]


def register_staff_study_panel(panel: StaffStudyPanel) -> None:
    if panel not in _staff_panels:
        _staff_panels.append(panel)


def staff_study_panels(request: HttpRequest, learner: Learner) -> list[SafeString | str]:
    """The registered panels' HTML for the staff page of this learner's study."""
    return [html for html in (panel(request, learner) for panel in _staff_panels) if html]


def register_dashboard_panel(panel: DashboardPanel) -> None:
    if panel not in _dashboard_panels:
        _dashboard_panels.append(panel)


def dashboard_panels(request: HttpRequest, learner: Learner) -> list[SafeString | str]:
    """The registered panels' HTML for the learner's dashboard."""
    return [html for html in (panel(request, learner) for panel in _dashboard_panels) if html]
