"""The payment step of opening a year plan, behind a backend chosen by
settings.PLAN_PAYMENT_BACKEND (like the SMS backends).

Regions that charge nothing never reach a backend: their plans open as FREE. Where a
region sets a fee, the backend is asked to start a payment; the plan waits as PENDING
until `year_plan_payment_confirm` is called (by the backend's callback view, which the
work that adds a real payment provider writes). The default backend takes no payments,
and the plan page says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from cpe.learning.models import YearPlan


@dataclass(frozen=True)
class PaymentStart:
    """What a backend answers: where to send the learner to pay (None: nowhere yet)."""

    redirect_url: str | None = None


class BasePaymentBackend:
    #: Whether learners can pay through this backend at all.
    available: bool = False

    def start(self, *, plan: YearPlan, amount: Decimal) -> PaymentStart:
        raise NotImplementedError


class UnavailableBackend(BasePaymentBackend):
    """No payment provider yet: a plan with a fee waits, and its page says why."""

    available = False

    def start(self, *, plan: YearPlan, amount: Decimal) -> PaymentStart:
        return PaymentStart(redirect_url=None)


def payment_backend() -> BasePaymentBackend:
    return import_string(settings.PLAN_PAYMENT_BACKEND)()
