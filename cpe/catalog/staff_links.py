"""Links that later apps add to a course's staff page (the question bank, for one).

The catalog imports none of those apps: each registers a function when it is ready, and the
staff page shows the (label, URL) pairs they return, in the order they registered.
"""

from __future__ import annotations

from collections.abc import Callable

from cpe.catalog.models import Course

StaffCourseLinks = Callable[[Course], list[tuple[str, str]]]

_providers: list[StaffCourseLinks] = []


def register_staff_course_links(provider: StaffCourseLinks) -> None:
    if provider not in _providers:
        _providers.append(provider)


def staff_course_links(course: Course) -> list[tuple[str, str]]:
    return [link for provider in _providers for link in provider(course)]
