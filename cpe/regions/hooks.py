"""What later apps tell regions about study rules: the credit sources a cap can name, and
how many learner-years a change of rules affects and how to recompute them.

Regions imports none of those apps: the credit ledger registers these at start-up
(`cpe.credits.apps`), and the policy pages and services ask through here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PolicyScope:
    """The learner-years a row of rules decides: districts under `region_path`, years from
    `first_year` up to `last_year` (None: every later year), except where a nearer or later
    row decides instead (counted all the same: the count is an upper bound)."""

    region_path: str
    first_year: int
    last_year: int | None


# Returns how many learner-years (yearly statuses or years with ledger entries) lie in the scope.
AffectedCounter = Callable[[PolicyScope], int]
# Recomputes the yearly statuses in the scope; returns e.g. {"years": n, "changed": m}.
Recomputer = Callable[..., dict[str, Any]]

_credit_sources: list[tuple[str, Any]] = []
_affected_counter: list[AffectedCounter] = []
_recomputer: list[Recomputer] = []


def register_credit_sources(choices: list[tuple[str, Any]]) -> None:
    _credit_sources[:] = list(choices)


def credit_sources() -> list[tuple[str, Any]]:
    """(code, name) of every source a cap may name; empty when no ledger is installed."""
    return list(_credit_sources)


def register_policy_recomputation(*, counter: AffectedCounter, recomputer: Recomputer) -> None:
    _affected_counter[:] = [counter]
    _recomputer[:] = [recomputer]


def policy_affected_count(scope: PolicyScope) -> int:
    return _affected_counter[0](scope) if _affected_counter else 0


def policy_recompute(scope: PolicyScope, **kwargs: Any) -> dict[str, Any]:
    return _recomputer[0](scope, **kwargs) if _recomputer else {"years": 0, "changed": 0}
