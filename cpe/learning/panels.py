"""Panels that later apps add to the page of a course in a plan (the exam, for one).

Learning imports none of those apps: each registers a renderer when it is ready, and the
course page shows what the renderers return, in the order they registered.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest
from django.utils.safestring import SafeString

from cpe.learning.models import PlanCourse

CoursePanel = Callable[[HttpRequest, PlanCourse], SafeString | str]

_panels: list[CoursePanel] = []


def register_course_panel(panel: CoursePanel) -> None:
    if panel not in _panels:
        _panels.append(panel)


def course_panels(request: HttpRequest, plan_course: PlanCourse) -> list[SafeString | str]:
    """The registered panels' HTML for this course (already escaped by their templates)."""
    return [html for html in (panel(request, plan_course) for panel in _panels) if html]
