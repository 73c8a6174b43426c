"""Listeners that later apps register for learning's events: a course completed in a plan.

Learning imports none of those apps. `plan_course_complete` calls every registered listener
inside its own transaction, once per new completion, so a listener that fails undoes the
completion too (the credit ledger relies on that to record each completion exactly once).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

CompletionListener = Callable[..., Any]

_completion_listeners: list[CompletionListener] = []


def register_completion_listener(listener: CompletionListener) -> None:
    if listener not in _completion_listeners:
        _completion_listeners.append(listener)


def completion_recorded(*, actor: Any, completion: Any) -> None:
    """Tell every listener about a new course completion (called by plan_course_complete)."""
    for listener in _completion_listeners:
        listener(actor=actor, completion=completion)
