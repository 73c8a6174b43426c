"""Panels that later apps add to the staff page of a course (the exam, for one).

The catalog imports none of those apps: each registers a renderer when it is ready, and the
course's staff page shows what the renderers return, in the order they registered.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest
from django.utils.safestring import SafeString

from cpe.catalog.models import Course

StaffCoursePanel = Callable[[HttpRequest, Course], SafeString | str]

_panels: list[StaffCoursePanel] = []


def register_staff_course_panel(panel: StaffCoursePanel) -> None:
    if panel not in _panels:
        _panels.append(panel)


def staff_course_panels(request: HttpRequest, course: Course) -> list[SafeString | str]:
    """The registered panels' HTML for this course (already escaped by their templates)."""
    return [html for html in (panel(request, course) for panel in _panels) if html]
