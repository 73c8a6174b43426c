"""Panels that later apps add to each year of the learner's credits page (the certificate).

Credits imports none of those apps: each registers a renderer when it is ready, and the
page shows what the renderers return for each year, in the order they registered.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest
from django.utils.safestring import SafeString

YearPanel = Callable[[HttpRequest, Any, Any], SafeString | str]

_year_panels: list[YearPanel] = []


def register_year_panel(panel: YearPanel) -> None:
    if panel not in _year_panels:
        _year_panels.append(panel)


def year_panels(request: HttpRequest, learner: Any, year: Any) -> list[SafeString | str]:
    """The registered panels' HTML for one year (a YearCredits) of the learner's credits."""
    return [html for html in (panel(request, learner, year) for panel in _year_panels) if html]
