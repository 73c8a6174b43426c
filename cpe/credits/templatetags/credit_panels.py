"""`{% credit_year_panels learner year %}`: the HTML that later apps register for a year."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.safestring import SafeString, mark_safe

from cpe.credits.panels import year_panels

register = template.Library()


@register.simple_tag(takes_context=True)
def credit_year_panels(context: dict[str, Any], learner: Any, year: Any) -> SafeString:
    request = context.get("request")
    if request is None:
        return mark_safe("")
    # Each panel's HTML comes from its own template, already escaped there.
    return mark_safe("".join(year_panels(request, learner, year)))  # noqa: S308
