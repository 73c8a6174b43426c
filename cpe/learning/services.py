"""Writes owned by learning: year plans, course choice, verified study time."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from cpe.core.services import Actor, audit_record
from cpe.learning.models import PlanCourse, YearPlan
from cpe.regions.policy import policy_for


def plan_credits(plan: YearPlan) -> tuple[Decimal, Decimal]:
    """Credits of the courses completed in the plan: (total, professional)."""
    totals = PlanCourse.objects.filter(plan=plan, completed_at__isnull=False).aggregate(
        total=Sum("credits"),
        professional=Sum("credits", filter=Q(category="professional")),
    )
    return totals["total"] or Decimal(0), totals["professional"] or Decimal(0)


@transaction.atomic
def year_plan_refresh_completion(*, actor: Actor, plan: YearPlan) -> bool:
    """Mark the plan complete once its completed courses meet the year's rules.

    Called whenever a course in the plan completes. Returns whether the plan is complete.
    The credit ledger (a later issue) takes this over; the rule stays the region's data.
    """
    plan = YearPlan.objects.select_for_update().select_related("learner__district").get(pk=plan.pk)
    if plan.completed_at is not None:
        return True
    policy = policy_for(plan.learner.district, plan.year)
    total, professional = plan_credits(plan)
    if total >= policy.annual_credits and professional >= policy.professional_credits:
        plan.completed_at = timezone.now()
        plan.save(update_fields=["completed_at"])
        audit_record(
            actor=actor,
            action="year_plan.complete",
            target=plan,
            after={"year": plan.year, "credits": total, "professional_credits": professional},
        )
        return True
    return False
