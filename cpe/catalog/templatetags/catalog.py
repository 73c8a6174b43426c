"""Template helpers of the catalog: lesson lengths, qualification levels, reading text."""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from cpe.catalog.models import Course
from cpe.catalog.services import plain_number
from cpe.core.markdown import render_markdown
from cpe.registry.models import QualificationLevel

register = template.Library()


@register.filter
def duration(seconds: int | None) -> str:
    """A lesson's length for people: "6 s", "12 min", "1 h 30 min"."""
    seconds = int(seconds or 0)
    if seconds < 60:
        return _("%(s)s s") % {"s": seconds}
    hours, rest = divmod(seconds, 3600)
    minutes = rest // 60
    if not hours:
        return _("%(m)s min") % {"m": minutes}
    if not minutes:
        return _("%(h)s h") % {"h": hours}
    return _("%(h)s h %(m)s min") % {"h": hours, "m": minutes}


@register.filter
def plain(value: Decimal | int | None) -> str:
    """Class hours and credits as people write them: 2, 1.5, 10."""
    return "" if value is None else plain_number(value)


@register.filter
def level_names(course: Course) -> str:
    """The qualification levels a course is meant for, or "every level"."""
    levels = course.target_level_list
    if not levels:
        return _("Every level")
    labels = dict(QualificationLevel.choices)
    return _(", ").join(str(labels[level]) for level in levels)


@register.filter
def reading_html(text: str) -> SafeString:
    """A reading lesson's Markdown as safe HTML (the same rules as notices)."""
    return mark_safe(render_markdown(text or ""))  # noqa: S308 - render_markdown sanitises
