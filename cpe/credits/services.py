"""Writes to the credit ledger: recording credits, reversing them, and the yearly status."""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from cpe.core.privacy import scrub_id_numbers
from cpe.core.services import Actor, audit_record
from cpe.credits import engine
from cpe.credits.chain import (
    entry_seal,
    ledger_head_advance,
    ledger_head_for_append,
    outcome_values,
)
from cpe.credits.conversion import _CONTROL
from cpe.credits.models import EVIDENCE_MAX_LENGTH, CreditEntry, YearStatus, YearStatusChange
from cpe.learning.models import CourseCompletion
from cpe.learning.years import first_required_year, required_years
from cpe.regions.hooks import PolicyScope
from cpe.regions.policy import Policy, policy_for
from cpe.registry.models import Learner

# --- The chain ------------------------------------------------------------------------


def _append(
    *,
    actor: Actor,
    learner: Learner,
    year: int,
    category: str,
    credits: Decimal,
    source: str,
    reference: str = "",
    evidence: str = "",
    completion: CourseCompletion | None = None,
    approved_by: Any = None,
    reason: str = "",
    reverses: CreditEntry | None = None,
    now: datetime.datetime | None = None,
) -> CreditEntry:
    """Append one entry to the learner's chain, move the chain's head to it and refresh the
    year's status.

    The caller holds a transaction. The learner's row lock makes appends for one learner
    wait for each other, so each entry links to the one before it (the head names it) and
    the head moves once per entry. It is a no-key lock: rows that merely reference the
    learner (heartbeats, completions) need not wait for it, and a study transaction that
    already inserted such a row cannot deadlock against it.
    """
    Learner.objects.select_for_update(no_key=True).only("pk").get(pk=learner.pk)
    head = ledger_head_for_append(learner_id=learner.pk)
    entry = CreditEntry(
        learner=learner,
        year=year,
        category=category,
        credits=credits,
        source=source,
        reference=reference[:100],
        evidence=evidence[:EVIDENCE_MAX_LENGTH],
        completion=completion,
        recorded_by=actor.user,
        recorded_by_label=actor.label[:150],
        approved_by=approved_by,
        # Free text, sealed as stored: an ID number typed into it is kept masked.
        reason=scrub_id_numbers(reason)[:500],
        reverses=reverses,
        created_at=now or timezone.now(),
    )
    # The year's entries, read once: for this entry's running sums, and with it for the status.
    earlier = list(_year_entries(learner_id=learner.pk, year=year))
    entry.running_total, entry.running_professional = _running_sums(entry, earlier)
    entry_seal(entry, previous_hash=head.last_hash if head is not None else "")
    entry.save()
    ledger_head_advance(head=head, entry=entry)
    year_status_refresh(learner=learner, year=year, entry=entry, entries=[*earlier, entry])
    return entry


def _tenths(credits: Decimal) -> int:
    return int(credits * 10)


def _year_entries(*, learner_id: int, year: int):
    """A learner's entries of one year, with what the engine and the running sums read."""
    return CreditEntry.objects.filter(learner_id=learner_id, year=year).only(
        "id", "category", "credits", "source", "created_at"
    )


def _running_sums(entry: CreditEntry, earlier: list[CreditEntry]) -> tuple[int | None, int | None]:
    """The year's credits as recorded up to and including `entry` (all, professional), in
    tenths, given the year's `earlier` entries; none for an entry recorded with a time
    before the year's latest: the sums of the entries after it cannot change, so they would
    leave it out. The caller holds the learner's lock, so no entry of the year is appended
    meanwhile, and `entry` (not saved yet) will have the largest id of them."""
    total = professional = 0
    for other in earlier:
        if other.created_at > entry.created_at:
            return None, None
        total += _tenths(other.credits)
        if other.category == CreditEntry.Category.PROFESSIONAL:
            professional += _tenths(other.credits)
    total += _tenths(entry.credits)
    if entry.category == CreditEntry.Category.PROFESSIONAL:
        professional += _tenths(entry.credits)
    return total, professional


# --- Recording and reversing ----------------------------------------------------------


def _credits_value(raw: Any) -> Decimal | None:
    try:
        value = Decimal(str(raw))
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def credits_value_problem(value: Decimal | None, annual_credits: int | None) -> str:
    """What is wrong with an entry's credits ("" when nothing is); the size is compared
    before rounding, since rounding a huge number raises rather than answers."""
    if value is None or value <= 0:
        return _("Credits must be a positive number.")
    if annual_credits is not None and value > annual_credits:
        return _("One entry cannot carry more than a whole year's %(credits)s credits.") % {
            "credits": annual_credits
        }
    if value >= 100000:
        return _("Too many credits for one entry.")
    if value != value.quantize(Decimal("0.1")):
        return _("Credits are recorded to one decimal place.")
    return ""


def evidence_problem(evidence: str) -> str:
    """What is wrong with an evidence reference as written ("" when nothing is); whether
    one is required is the conversion table's to say (cpe.credits.registration)."""
    if len(evidence) > EVIDENCE_MAX_LENGTH or _CONTROL.search(evidence):
        return _("At most %(count)s characters on one line.") % {"count": EVIDENCE_MAX_LENGTH}
    return ""


def credit_year_problem(
    learner: Learner, year: Any, *, current_policy: Policy | None = None
) -> str:
    """What is wrong with the year credits are recorded for ("" when nothing is).

    Credits count only for a year the learner must still be able to complete, the years
    `required_years` lists: none after this one or before the learner's first required
    year, and none before the region's make-up start (without make-up, none before this
    year). A course completion is not checked here: its year was open when it was studied.
    `current_policy` is this year's rules where the caller has read them already.
    """
    years = required_years(learner, current_policy=current_policy)
    if isinstance(year, int) and not isinstance(year, bool) and year in years:
        return ""
    if not years:
        return _("No year can earn credits yet: continuing education starts in %(first)s.") % {
            "first": max(first_required_year(learner), timezone.localdate().year + 1)
        }
    return _(
        "Choose a year from %(first)s to %(last)s: under the region's rules only these years "
        "can still earn credits."
    ) % {"first": years[0], "last": years[-1]}


def credit_record(
    *,
    actor: Actor,
    learner: Learner,
    year: int,
    category: str,
    credits: Decimal | int | str,
    source: str,
    reference: str = "",
    evidence: str = "",
    approved_by: Any = None,
    reason: str = "",
    now: datetime.datetime | None = None,
) -> CreditEntry:
    """Record credits a learner earned outside a course on the platform (or an exam).

    Refused, with the field it concerns, for credits that are not positive, finer than a
    tenth, or more than a whole year's requirement; for a category or source the ledger
    does not know; for a year the learner may not earn credits for (`credit_year_problem`:
    the region's make-up rules decide how far back); and for evidence longer than its column
    or not on one line.
    """
    errors: dict[str, list[str]] = {}
    evidence = (evidence or "").strip()
    if evidence_problem(evidence):
        errors["evidence"] = [evidence_problem(evidence)]
    value = _credits_value(credits)
    policy = policy_for(learner.district, year) if isinstance(year, int) else None
    problem = credits_value_problem(value, policy.annual_credits if policy else None)
    if problem:
        errors["credits"] = [problem]
    current = policy if year == timezone.localdate().year else None
    year_problem = credit_year_problem(learner, year, current_policy=current)
    if year_problem:
        errors["year"] = [year_problem]
    if category not in CreditEntry.Category.values:
        errors["category"] = [_("Choose public or professional.")]
    if source not in CreditEntry.Source.values or source == CreditEntry.Source.PLATFORM_COURSE:
        # Platform courses reach the ledger only through their completion record.
        errors["source"] = [_("Choose where the credits come from.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        entry = _append(
            actor=actor,
            learner=learner,
            year=year,
            category=category,
            credits=value,
            source=source,
            reference=reference,
            evidence=evidence,
            approved_by=approved_by,
            reason=reason,
            now=now,
        )
        audit_record(
            actor=actor,
            action="credit.record",
            target=entry,
            after=_entry_summary(entry),
            reason=reason,
        )
    return entry


def credit_record_completion(*, actor: Actor, completion: CourseCompletion) -> CreditEntry:
    """The ledger entry of a completed course: exactly one per completion.

    Called by learning's `plan_course_complete` inside its transaction (see
    cpe.learning.hooks) and by `ledger_import_completions` for older completions. The
    credits and the year are those the plan fixed, so they are not checked again here.
    """
    existing = CreditEntry.objects.filter(completion=completion).first()
    if existing is not None:
        return existing
    # The entry is dated when the course was completed, which is when the credits were earned.
    now = completion.completed_at
    try:
        with transaction.atomic():
            entry = _append(
                actor=actor,
                learner=completion.learner,
                year=completion.year,
                category=completion.category,
                credits=Decimal(completion.credits),
                source=CreditEntry.Source.PLATFORM_COURSE,
                reference=completion.course.code,
                completion=completion,
                now=now,
            )
    except IntegrityError:
        # Another caller recorded it first; the one-to-one constraint kept it to one.
        return CreditEntry.objects.get(completion=completion)
    CourseCompletion.objects.filter(pk=completion.pk).update(consumed_at=timezone.now())
    return entry


def credit_reverse(
    *, actor: Actor, entry: CreditEntry, reason: str, now: datetime.datetime | None = None
) -> CreditEntry:
    """Take an entry's credits back with a reversing entry; the entry itself stays as it was.

    A reason is required. A reversal cannot be reversed, and an entry is reversed once.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why the credits are reversed.")]})
    with transaction.atomic():
        Learner.objects.select_for_update(no_key=True).only("pk").get(pk=entry.learner_id)
        entry = CreditEntry.objects.select_related("learner__district").get(pk=entry.pk)
        if entry.reverses_id is not None:
            raise ValidationError({"entry": [_("A reversing entry cannot itself be reversed.")]})
        if CreditEntry.objects.filter(reverses=entry).exists():
            raise ValidationError({"entry": [_("These credits have already been reversed.")]})
        reversal = _append(
            actor=actor,
            learner=entry.learner,
            year=entry.year,
            category=entry.category,
            credits=-entry.credits,
            source=entry.source,
            reference=entry.reference,
            reason=reason,
            reverses=entry,
            now=now,
        )
        audit_record(
            actor=actor,
            action="credit.reverse",
            target=entry,
            after=_entry_summary(reversal),
            reason=reason,
        )
    return reversal


def _entry_summary(entry: CreditEntry) -> dict[str, Any]:
    return {
        "entry": entry.pk,
        "year": entry.year,
        "category": entry.category,
        "credits": entry.credits,
        "source": entry.source,
        "reference": entry.reference,
        "evidence": entry.evidence,
        "reverses": entry.reverses_id,
    }


# --- Yearly status --------------------------------------------------------------------


def _apply_outcome(
    *,
    learner_id: int,
    year: int,
    outcome: engine.YearOutcome,
    entry: CreditEntry | None,
    current: YearStatus | None,
) -> YearStatus:
    before = current.status if current is not None else YearStatus.Status.NOT_STARTED
    values = outcome_values(outcome)
    if current is None:
        current = YearStatus.objects.create(learner_id=learner_id, year=year, **values)
    elif any(getattr(current, k) != v for k, v in values.items()):
        for key, value in values.items():
            setattr(current, key, value)
        current.save()
    if before != outcome.status:
        YearStatusChange.objects.create(
            learner_id=learner_id,
            year=year,
            from_status=before,
            to_status=outcome.status,
            entry=entry,
        )
    return current


def year_status_refresh(
    *,
    learner: Learner,
    year: int,
    entry: CreditEntry | None = None,
    entries: list[CreditEntry] | None = None,
) -> YearStatus:
    """Recompute the learner's status for `year` from the ledger (in the caller's
    transaction); `entries` are the year's entries where the caller has read them already."""
    policy = policy_for(learner.district, year)
    if entries is None:
        entries = list(_year_entries(learner_id=learner.pk, year=year))
    outcome = engine.year_outcome(entries, policy)
    current = (
        YearStatus.objects.select_for_update().filter(learner_id=learner.pk, year=year).first()
    )
    return _apply_outcome(
        learner_id=learner.pk, year=year, outcome=outcome, entry=entry, current=current
    )


def year_status_recompute_all(
    *, region_path: str = "", first_year: int | None = None, last_year: int | None = None
) -> dict[str, int]:
    """Recompute the yearly statuses from the ledger, set-based in the database (see
    cpe.credits.recompute), for every learner or those of a region and a range of years.

    Returns how many rows changed, how many of them changed status, and how many were
    refreshed again because an entry arrived during the recomputation.
    """
    from cpe.credits.recompute import year_status_recompute_sql

    return year_status_recompute_sql(
        region_path=region_path, first_year=first_year, last_year=last_year
    ).as_dict()


def policy_scope_count(scope: PolicyScope) -> int:
    """How many learner-years with credits lie where a row of rules applies (every year with
    an entry has its status row, written with the entry)."""
    statuses = YearStatus.objects.filter(
        learner__district__path__startswith=scope.region_path, year__gte=scope.first_year
    )
    if scope.last_year is not None:
        statuses = statuses.filter(year__lte=scope.last_year)
    return statuses.count()


def policy_scope_recompute(scope: PolicyScope) -> dict[str, int]:
    """Recompute the yearly statuses where a changed row of rules applies."""
    return year_status_recompute_all(
        region_path=scope.region_path, first_year=scope.first_year, last_year=scope.last_year
    )


# --- Older completions ----------------------------------------------------------------


def ledger_import_completions(*, actor: Actor) -> int:
    """Bring course completions recorded before the ledger existed into it; returns how many."""
    count = 0
    pending = (
        CourseCompletion.objects.filter(credit_entry__isnull=True)
        .select_related("course", "learner__district")
        .order_by("completed_at", "id")
    )
    for completion in pending.iterator(chunk_size=500):
        with transaction.atomic():
            credit_record_completion(actor=actor, completion=completion)
        count += 1
    return count
