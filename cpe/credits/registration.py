"""Credit registration: a learner's application with evidence, the district officer's decision,
and credits an officer records directly. Every credit reaches the ledger through
`credit_record`, so its checks (amount, year, category, source) hold here too.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext as _

from cpe.core.capabilities import Capability
from cpe.core.privacy import contains_id_number, scrub_id_numbers
from cpe.core.services import Actor, audit_record
from cpe.credits.conversion import (
    _CONTROL,
    DETAIL_FIELDS,
    DETAIL_MAX_LENGTH,
    ConversionTable,
    Rule,
    conversion_table,
)
from cpe.credits.models import CreditApplication, CreditEntry
from cpe.credits.services import (
    credit_record,
    credit_year_problem,
    credits_value_problem,
    evidence_problem,
)
from cpe.learning.years import this_year
from cpe.regions.policy import policy_for
from cpe.registry.crypto import mask_id_number
from cpe.registry.models import Learner
from cpe.registry.services import EVIDENCE_MAX_BYTES, evidence_content_type

State = CreditApplication.State
_ID_IN_TEXT = re.compile(r"\d{17}[\dXx]|\d{15}")
APPLICATION_FIELDS = [
    "year",
    "kind",
    "source",
    "category",
    "credits_claimed",
    "reference",
    "evidence_name",
    "evidence_sha256",
    "state",
]


def normalised_reference(text: str) -> str:
    """A reference as compared for duplicates: full-width forms, spacing and case ignored."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or "")).upper()[:100]


# Entries approved before the activity key carried "#<application> " before the reference.
_APPLICATION_PREFIX = re.compile(r"^#\d+\s+")


def activity_key(source: str, reference: str) -> tuple[str, str]:
    """What makes two credits the same activity: the source and the normalised reference,
    whatever the year, the kind or the way (application, direct recording, import)."""
    return source, normalised_reference(_APPLICATION_PREFIX.sub("", reference or ""))


def _not_deregistered(learner: Learner) -> None:
    if learner.status == Learner.Status.DEREGISTERED:
        raise ValidationError(
            {"learner": [_("This learner is deregistered: no credits are recorded for them.")]}
        )


def _recorded_already(existing: CreditEntry) -> ValidationError:
    return ValidationError(
        {
            "reference": [
                _("These credits were recorded already on %(date)s (entry %(entry)s).")
                % {
                    "date": timezone.localtime(existing.created_at).strftime("%Y-%m-%d"),
                    "entry": existing.pk,
                }
            ]
        }
    )


def _year_problem(learner: Learner, year: Any, tables: dict[tuple, Any] | None = None) -> str:
    """The ledger's own check of the year (`credit_year_problem`), so a year refused there is
    refused here first; `tables` keeps each district's rules for this year across rows."""
    if tables is None:
        return credit_year_problem(learner, year)
    key = ("current policy", learner.district_id, this_year())
    if key not in tables:
        tables[key] = policy_for(learner.district, this_year())
    return credit_year_problem(learner, year, current_policy=tables[key])


def _credits_value(raw: Any) -> Decimal | None:
    try:
        value = Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def _table_for(learner: Learner, year: int, tables: dict[tuple, Any] | None) -> ConversionTable:
    key = (learner.district_id, year)
    if tables is None or key not in tables:
        table = conversion_table(learner.district, year)
        if tables is not None:
            tables[key] = table
        return table
    return tables[key]


def rule_for(
    learner: Learner, year: int, kind: str, tables: dict[tuple, Any] | None = None
) -> Rule | None:
    """The active line of the learner's table for the year, or None (`tables` keeps the
    tables already read, for a caller checking many rows)."""
    rule = _table_for(learner, year, tables).get(kind)
    return rule if rule is not None and rule.is_active else None


def _clean_details(
    rule: Rule, details: dict[str, Any]
) -> tuple[dict[str, str], dict[str, list[str]]]:
    cleaned: dict[str, str] = {}
    errors: dict[str, list[str]] = {}
    for name in rule.detail_fields:
        spec = DETAIL_FIELDS[name]
        value = unicodedata.normalize("NFKC", str(details.get(name) or "")).strip()
        if not value:
            errors[name] = [_("Fill in %(field)s.") % {"field": spec.label}]
        elif _CONTROL.search(value):
            errors[name] = [_("Line breaks and control characters are not allowed here.")]
        elif len(value) > DETAIL_MAX_LENGTH:
            errors[name] = [_("At most %(count)s characters.") % {"count": DETAIL_MAX_LENGTH}]
        elif contains_id_number(value):
            errors[name] = [
                _("Leave ID numbers out of this field: the platform keeps them only encrypted.")
            ]
        elif spec.number and not (value.isascii() and value.isdecimal() and 1 <= int(value) <= 366):
            errors[name] = [_("Enter a whole number from 1 to 366.")]
        elif spec.pattern and not re.fullmatch(spec.pattern, value.upper()):
            errors[name] = [
                (
                    _("This is not a valid %(field)s.") % {"field": spec.label}
                    + " "
                    + str(spec.hint)
                ).strip()
            ]
        else:
            cleaned[name] = value.upper() if spec.pattern else value
    return cleaned, errors


def _evidence(upload: File | None) -> tuple[bytes, str]:
    if upload is None:
        return b"", ""
    if not upload.size:
        raise ValidationError({"evidence": [_("The file is empty.")]})
    if upload.size > EVIDENCE_MAX_BYTES:
        message = _("The file is %(size)s; the most allowed is 10 MB.")
        raise ValidationError({"evidence": [message % {"size": filesizeformat(upload.size)}]})
    upload.seek(0)
    content = upload.read()
    try:
        content_type = evidence_content_type(content)
    except ValidationError as refused:
        raise ValidationError({"evidence": refused.messages}) from None
    return content, content_type


def _duplicate_message(first: CreditApplication) -> str:
    return _("You applied for this already: application %(number)s of %(date)s (%(state)s).") % {
        "number": first.pk,
        "date": timezone.localtime(first.created_at).strftime("%Y-%m-%d"),
        "state": first.get_state_display(),
    }


def _find_duplicate(
    learner: Learner, year: int, kind: str, reference: str
) -> CreditApplication | None:
    return (
        CreditApplication.objects.filter(
            learner=learner,
            year=year,
            kind=kind,
            reference=reference,
            state__in=[State.PENDING, State.APPROVED],
        )
        # Credits taken back leave the activity free to be applied for again.
        .exclude(entry__reversed_by__isnull=False)
        .order_by("id")
        .first()
    )


def credit_application_submit(
    *,
    actor: Actor,
    learner: Learner,
    year: Any,
    kind: str,
    details: dict[str, Any],
    category: str = "",
    evidence: File | None = None,
) -> CreditApplication:
    """A learner applies for credits earned outside the platform, with evidence.

    Refused, by field: a year the learner may not earn credits for (`credit_year_problem`:
    not required, after this year, or before the region's make-up start), a kind the table
    does not have (or not now), a missing or malformed detail, a category not chosen where
    the table leaves it open, no evidence where the table requires it, a file that is not a
    whole PDF, JPEG or PNG of at most 10 MB, and the same activity applied for again (the
    refusal names the first application).
    """
    if actor.user is None or learner.user_id != actor.user.pk:
        raise PermissionDenied
    errors: dict[str, list[str]] = {}
    year_problem = _year_problem(learner, year)
    if year_problem:
        errors["year"] = [year_problem]
    rule = None if year_problem else rule_for(learner, year, kind)
    if rule is None and not year_problem:
        errors["kind"] = [_("Choose a kind of activity from the table.")]
    if rule is None:
        raise ValidationError(errors)
    cleaned, detail_errors = _clean_details(rule, details)
    errors.update(detail_errors)
    category = rule.category or category
    if category not in CreditEntry.Category.values:
        errors["category"] = [_("Choose public or professional.")]
    if rule.evidence_required and evidence is None:
        errors["evidence"] = [
            _("Attach the evidence: a scan or photo of the certificate, notice or publication.")
        ]
    if errors:
        raise ValidationError(errors)
    content, content_type = _evidence(evidence)
    reference = normalised_reference(cleaned.get(rule.reference_field, ""))
    units = Decimal(cleaned.get("days", 1)) if rule.unit == "day" else Decimal(1)
    application = CreditApplication(
        learner=learner,
        year=year,
        kind=rule.kind,
        source=rule.source,
        category=category,
        units=units,
        credits_claimed=rule.credits_for(units),
        min_credits=rule.min_credits,
        max_credits=rule.max_credits,
        details=cleaned,
        reference=reference,
    )
    with transaction.atomic():
        # The learner's lock makes two submissions of one activity wait for each other.
        Learner.objects.select_for_update(no_key=True).only("pk").get(pk=learner.pk)
        first = _find_duplicate(learner, year, rule.kind, reference)
        if first is not None:
            raise ValidationError({rule.reference_field: [_duplicate_message(first)]})
        if content:
            name = Path(evidence.name or "evidence").name  # type: ignore[union-attr]
            name = _ID_IN_TEXT.sub(lambda m: mask_id_number(m.group(0)), name)[-200:]
            application.evidence_name = name
            application.evidence_type = content_type
            application.evidence_size = len(content)
            application.evidence_sha256 = hashlib.sha256(content).hexdigest()
            application.evidence.save(name, ContentFile(content), save=False)
        try:
            with transaction.atomic():
                application.save()
            audit_record(
                actor=actor,
                action="credit_application.submit",
                target=application,
                after=_summary(application),
            )
        except IntegrityError:
            if application.evidence:
                application.evidence.delete(save=False)
            first = _find_duplicate(learner, year, rule.kind, reference)
            message = _duplicate_message(first) if first else _("You applied for this already.")
            raise ValidationError({rule.reference_field: [message]}) from None
        except Exception:
            if application.evidence:
                application.evidence.delete(save=False)
            raise
    return application


def _summary(application: CreditApplication) -> dict[str, Any]:
    return {name: getattr(application, name) for name in APPLICATION_FIELDS} | {
        "application": application.pk,
        "credits_granted": application.credits_granted,
    }


def _locked(application: CreditApplication) -> CreditApplication:
    return (
        CreditApplication.objects.select_for_update(of=("self",))
        .select_related("learner__district")
        .get(pk=application.pk)
    )


def _already_decided(application: CreditApplication) -> ValidationError:
    return ValidationError(
        {
            "state": [
                _("This application is no longer waiting: it is %(state)s.")
                % {"state": application.get_state_display()}
            ]
        }
    )


def credit_application_withdraw(
    *, actor: Actor, application: CreditApplication
) -> CreditApplication:
    """The learner takes back an application that is still waiting."""
    with transaction.atomic():
        application = _locked(application)
        if actor.user is None or application.learner.user_id != actor.user.pk:
            raise PermissionDenied
        if application.state != State.PENDING:
            raise _already_decided(application)
        before = _summary(application)
        application.state = State.WITHDRAWN
        application.decided_at = timezone.now()
        application.save(update_fields=["state", "decided_at"])
        audit_record(
            actor=actor,
            action="credit_application.withdraw",
            target=application,
            before=before,
            after=_summary(application),
        )
    return application


def _require_registrar(actor: Actor, learner: Learner) -> None:
    """Only an officer of the learner's district (or a platform superuser) decides."""
    user = actor.user
    if user is None or not user.has_capability(Capability.CREDITS_REGISTER):
        raise PermissionDenied
    if not actor.may_act_in(learner.district.path):
        raise PermissionDenied


def credit_application_approve(
    *,
    actor: Actor,
    application: CreditApplication,
    credits: Any = None,
    reason: str = "",
) -> CreditApplication:
    """Grant the credits of a waiting application: one ledger entry, in the same transaction
    as the application's change. The table's credits unless the officer changes them within
    the table's limits, which needs a reason. Approving twice (a double click, two officers)
    finds the application decided under its row lock, and refuses."""
    reason = (reason or "").strip()
    with transaction.atomic():
        application = _locked(application)
        _require_registrar(actor, application.learner)
        if application.state != State.PENDING:
            raise _already_decided(application)
        _not_deregistered(application.learner)
        amount = application.credits_claimed if credits in (None, "") else _credits_value(credits)
        if amount is None or not application.min_credits <= amount <= application.max_credits:
            raise ValidationError(
                {
                    "credits": [
                        _("Grant from %(low)s to %(high)s credits, as the table allows.")
                        % {
                            "low": _number(application.min_credits),
                            "high": _number(application.max_credits),
                        }
                    ]
                }
            )
        if amount != application.credits_claimed and not reason:
            raise ValidationError(
                {
                    "reason": [
                        _("Say why the credits differ from the table's %(credits)s.")
                        % {"credits": _number(application.credits_claimed)}
                    ]
                }
            )
        # Under the learner's lock, so an import or a recording of the same activity waits.
        Learner.objects.select_for_update(no_key=True).only("pk").get(pk=application.learner_id)
        existing = entry_already_recorded(
            learner_id=application.learner_id,
            source=application.source,
            reference=application.reference,
        )
        if existing is not None:
            raise _recorded_already(existing)
        before = _summary(application)
        entry = credit_record(
            actor=actor,
            learner=application.learner,
            year=application.year,
            category=application.category,
            credits=amount,
            source=application.source,
            reference=application_reference(application),
            evidence=application_evidence(application),
            approved_by=actor.user,
            # The application stays traceable here (and by its entry link), not in the key.
            reason=f"#{application.pk} {reason}".strip(),
        )
        application.state = State.APPROVED
        application.decided_at = timezone.now()
        application.decided_by = actor.user
        application.credits_granted = amount
        application.decision_reason = scrub_id_numbers(reason)[:500]
        application.entry = entry
        application.save()
        audit_record(
            actor=actor,
            action="credit_application.approve",
            target=application,
            before=before,
            after=_summary(application),
            reason=reason,
        )
    return application


def application_reference(application: CreditApplication) -> str:
    """The ledger entry's reference: what the application is about, as an import or a direct
    recording of the same activity would write it, so they match."""
    return application.reference[:100]


def application_evidence(application: CreditApplication) -> str:
    """The ledger entry's evidence: the digest of the file the officer saw, so the entry
    names exactly that file (blank when the table asked for none and none came)."""
    if not application.evidence_sha256:
        return ""
    return f"sha256:{application.evidence_sha256}"


def credit_application_reject(
    *, actor: Actor, application: CreditApplication, reason: str
) -> CreditApplication:
    """Refuse a waiting application; the reason is shown to the learner."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why the application is rejected.")]})
    with transaction.atomic():
        application = _locked(application)
        _require_registrar(actor, application.learner)
        if application.state != State.PENDING:
            raise _already_decided(application)
        before = _summary(application)
        application.state = State.REJECTED
        application.decided_at = timezone.now()
        application.decided_by = actor.user
        application.decision_reason = scrub_id_numbers(reason)[:500]
        application.save()
        audit_record(
            actor=actor,
            action="credit_application.reject",
            target=application,
            before=before,
            after=_summary(application),
            reason=reason,
        )
    return application


def credit_application_evidence_open(*, actor: Actor, application: CreditApplication) -> File:
    """Open the evidence for the learner themselves or staff who read credits in the learner's
    region; every opening is audited. The file is never served by URL."""
    user = actor.user
    own = user is not None and application.learner.user_id == user.pk
    staff = (
        user is not None
        and user.has_capability(Capability.CREDITS_VIEW)
        and actor.may_act_in(application.learner.district.path)
    )
    if not (own or staff) or not application.evidence:
        raise PermissionDenied
    audit_record(
        actor=actor,
        action="credit_application.evidence_view",
        target=application,
        after={"evidence": application.evidence_name, "sha256": application.evidence_sha256},
    )
    return application.evidence.open("rb")


def _number(value: Decimal) -> str:
    return format(Decimal(value).normalize(), "f")


# --- Officers recording credits directly --------------------------------------------------


def standing_entries(learner_ids: list[int]) -> QuerySet[CreditEntry]:
    """Entries that still count: neither a reversal nor reversed."""
    return CreditEntry.objects.filter(
        learner_id__in=learner_ids, reverses__isnull=True, reversed_by__isnull=True
    )


def entry_already_recorded(*, learner_id: int, source: str, reference: str) -> CreditEntry | None:
    """The standing entry that already credits this learner for the activity (source and
    normalised reference, any year): what makes the same credits twice add nothing."""
    wanted = activity_key(source, reference)
    for entry in standing_entries([learner_id]).filter(source=source).order_by("id"):
        if activity_key(entry.source, entry.reference) == wanted:
            return entry
    return None


def direct_record_problems(
    *,
    learner: Learner,
    year: Any,
    kind: str,
    source: str,
    category: str,
    credits: Any,
    reference: str,
    evidence: str = "",
    tables: dict[tuple, Any] | None = None,
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The values an officer's recording resolves to (source, category, credits, evidence)
    and what is wrong with them, by field: the table's limits for a kind, a reference, and
    evidence where the table requires it (`evidence_required`, the learner's rule too)."""
    errors: dict[str, list[str]] = {}
    resolved: dict[str, Any] = {"source": source, "category": category}
    year_problem = _year_problem(learner, year, tables)
    if year_problem:
        errors["year"] = [year_problem]
    value = _credits_value(credits)
    annual = None
    if not year_problem:
        policy_key = ("policy", learner.district_id, year)
        if tables is None or policy_key not in tables:
            annual = policy_for(learner.district, year).annual_credits
            if tables is not None:
                tables[policy_key] = annual
        else:
            annual = tables[policy_key]
    # The ledger's own check, so a row checked here is one credit_record accepts.
    amount_problem = credits_value_problem(value, annual)
    if amount_problem:
        errors["credits"] = [amount_problem]
    rule = None
    if kind and not year_problem:
        rule = rule_for(learner, year, kind, tables)
        if rule is None:
            errors["kind"] = [_("Choose a kind of activity from the table.")]
        else:
            resolved["source"] = rule.source
            resolved["category"] = rule.category or category
            if not amount_problem and not (rule.min_credits <= value <= rule.max_credits):
                errors["credits"] = [
                    _("For this kind the table allows %(low)s to %(high)s credits.")
                    % {"low": _number(rule.min_credits), "high": _number(rule.max_credits)}
                ]
    elif not kind and source not in CreditEntry.Source.values:
        errors["kind"] = [_("Choose a kind of activity from the table, or a source.")]
    if not kind and source == CreditEntry.Source.PLATFORM_COURSE:
        errors["kind"] = [_("Courses on this platform are credited when they are completed.")]
    # A kind's category is known only once its table (the year's) is.
    category_known = not kind or rule is not None
    if (
        category_known
        and "kind" not in errors
        and resolved["category"] not in (CreditEntry.Category.values)
    ):
        errors["category"] = [_("Choose public or professional.")]
    reference = (reference or "").strip()
    if not reference:
        errors["reference"] = [
            _("Give a reference, such as the certificate number or the list's name.")
        ]
    elif len(reference) > 100 or _CONTROL.search(reference):
        errors["reference"] = [_("At most 100 characters on one line.")]
    evidence = (evidence or "").strip()
    if evidence_problem(evidence):
        errors["evidence"] = [evidence_problem(evidence)]
    elif not evidence and not year_problem and "kind" not in errors:
        table = _table_for(learner, year, tables)
        if evidence_required(table, kind=kind, source=resolved["source"]):
            errors["evidence"] = [
                _(
                    "The conversion table requires evidence for these credits: give the "
                    "number or name of the document they rest on."
                )
            ]
    resolved["credits"] = value
    resolved["reference"] = reference
    resolved["evidence"] = evidence
    return resolved, errors


def evidence_required(table: ConversionTable, *, kind: str, source: str) -> bool:
    """Whether credits of a kind (or, recorded by source, of any kind with that source) need
    evidence: the table's `evidence_required`, as for a learner's application. A source the
    table has no line for needs it, as every line of the national table does."""
    if kind:
        rule = table.get(kind)
        return rule is None or rule.evidence_required
    lines = [rule for rule in table.rules if rule.source == source]
    return not lines or any(rule.evidence_required for rule in lines)


def credit_record_direct(
    *,
    actor: Actor,
    learner: Learner,
    year: Any,
    credits: Any,
    reference: str,
    kind: str = "",
    source: str = "",
    category: str = "",
    evidence: str = "",
    reason: str = "",
) -> CreditEntry:
    """An officer records credits for one learner of their district: a kind from the table
    (its source, category and limits) or a source with a category, and the evidence where
    the table requires it. The same credits twice (learner, year, source and reference) are
    refused, naming the entry that has them."""
    _require_registrar(actor, learner)
    _not_deregistered(learner)
    resolved, errors = direct_record_problems(
        learner=learner,
        year=year,
        kind=kind,
        source=source,
        category=category,
        credits=credits,
        reference=reference,
        evidence=evidence,
    )
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        Learner.objects.select_for_update(no_key=True).only("pk").get(pk=learner.pk)
        existing = entry_already_recorded(
            learner_id=learner.pk,
            source=resolved["source"],
            reference=resolved["reference"],
        )
        if existing is not None:
            raise _recorded_already(existing)
        return credit_record(
            actor=actor,
            learner=learner,
            year=year,
            category=resolved["category"],
            credits=resolved["credits"],
            source=resolved["source"],
            reference=resolved["reference"],
            evidence=resolved["evidence"],
            approved_by=actor.user,
            reason=(reason or "").strip(),
        )


# --- Reads --------------------------------------------------------------------------------


def applications_for_learner(learner: Learner) -> QuerySet[CreditApplication]:
    return CreditApplication.objects.filter(learner=learner).select_related("entry", "decided_by")


def applications_for_staff(*, user: Any, state: str = "") -> QuerySet[CreditApplication]:
    """Applications of learners in the user's region (none without a scope), oldest waiting
    first."""
    scope = user.scope_path if getattr(user, "is_authenticated", False) else None
    applications = CreditApplication.objects.select_related("learner__district", "decided_by")
    if scope is None:
        return applications.none()
    if scope:
        applications = applications.filter(learner__district__path__startswith=scope)
    if state in State.values:
        applications = applications.filter(state=state)
    return applications.order_by("created_at", "id")
