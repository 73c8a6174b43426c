"""The credit ledger's seals: each entry's keyed hash, each learner's chain head, and the check
that finds what was changed behind the application's back (`manage.py verify_ledger`).

An entry's hash is an HMAC-SHA256, under the ledger key its `key_id` names, of its fields and
the previous entry's hash for the same learner. Without the key nobody can recompute it, so
an entry edited with SQL (and rehashed with plain SHA-256, or not at all) no longer verifies.
A chain alone cannot show that its newest entries were deleted, since what remains is still a
whole chain: the learner's `LedgerHead` counts the entries and names the last one and its
hash, under an HMAC of its own, and is written in the same transaction as each entry.

LEDGER_KEYS is "id:base64key[,id:base64key...]", newest first: the first seals new entries
and heads, every listed key verifies what it sealed. A key can be retired only once nothing
names it any more (a resealing command does not exist yet).
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from itertools import groupby
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cpe.core.crypto import FieldKeys, parse_keys
from cpe.credits import engine
from cpe.credits.models import LEDGER_KEY_ID_LENGTH, CreditEntry, LedgerHead, YearStatus
from cpe.regions.models import Region
from cpe.regions.policy import Policy, policy_for
from cpe.registry.models import Learner


class LedgerIntegrityError(Exception):
    """A learner's chain may not be extended: its head is missing or does not verify, and
    sealing a new head over it would hide what happened."""


@cache
def _parsed_keys(text: str) -> FieldKeys:
    return parse_keys(text, name="LEDGER_KEYS", max_id_length=LEDGER_KEY_ID_LENGTH)


def ledger_keys() -> FieldKeys:
    """The ledger keys by id; `current` seals new entries and heads."""
    return _parsed_keys(settings.LEDGER_KEYS)


def _seal(purpose: str, fields: dict[str, Any], key_id: str) -> str | None:
    """HMAC-SHA256 of the fields' canonical JSON under the key `key_id` (None: no such key).
    The purpose is part of the message, so an entry's seal never passes for a head's."""
    key = ledger_keys().keys.get(key_id)
    if key is None:
        return None
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hmac.new(key, f"{purpose}\x00{text}".encode(), hashlib.sha256).hexdigest()


def _utc(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def entry_digest(entry: CreditEntry) -> str | None:
    """The entry's seal under the key its `key_id` names (None when LEDGER_KEYS lacks it).

    Everything that gives the entry its meaning is in it, the evidence included, so changing
    any of it (or the order of the chain) changes the seal. The row's id is not: it is known
    only after the insert, and the link to the previous hash already fixes the order.
    """
    canonical = {
        "learner": entry.learner_id,
        "year": entry.year,
        "category": entry.category,
        "credits": f"{Decimal(entry.credits):.1f}",
        "source": entry.source,
        "reference": entry.reference,
        "evidence": entry.evidence,
        "completion": entry.completion_id,
        "recorded_by": entry.recorded_by_id,
        "recorded_by_label": entry.recorded_by_label,
        "approved_by": entry.approved_by_id,
        "reason": entry.reason,
        "created_at": _utc(entry.created_at),
        "reverses": entry.reverses_id,
        "previous_hash": entry.previous_hash,
        "key_id": entry.key_id,
    }
    return _seal("credit-entry", canonical, entry.key_id)


def head_digest(head: LedgerHead) -> str | None:
    """The head's seal under the key its `key_id` names (None when LEDGER_KEYS lacks it)."""
    canonical = {
        "learner": head.learner_id,
        "entry_count": head.entry_count,
        "last_entry": head.last_entry_id,
        "last_hash": head.last_hash,
        "key_id": head.key_id,
    }
    return _seal("ledger-head", canonical, head.key_id)


def _matches(seal: str | None, stored: str) -> bool:
    return seal is not None and hmac.compare_digest(seal, stored)


# --- Extending a chain (the caller holds the learner's lock and a transaction) -------------


def ledger_head_for_append(*, learner_id: int) -> LedgerHead | None:
    """The learner's head before a new entry (None before the first one).

    Refused when the head is missing while entries exist, or does not verify: a new head
    sealed over either would make a deletion or an edit look whole again.
    """
    head = LedgerHead.objects.filter(learner_id=learner_id).first()
    if head is None:
        if CreditEntry.objects.filter(learner_id=learner_id).exists():
            raise LedgerIntegrityError(
                f"Learner {learner_id} has ledger entries but no chain head; "
                "run manage.py verify_ledger."
            )
        return None
    if not _matches(head_digest(head), head.head_hash):
        raise LedgerIntegrityError(
            f"The chain head of learner {learner_id} does not verify; run manage.py verify_ledger."
        )
    return head


def entry_seal(entry: CreditEntry, *, previous_hash: str) -> None:
    """Link a new (unsaved) entry to the chain and seal it with the current key."""
    entry.previous_hash = previous_hash
    entry.key_id = ledger_keys().current
    entry.entry_hash = entry_digest(entry) or ""


def ledger_head_advance(*, head: LedgerHead | None, entry: CreditEntry) -> LedgerHead:
    """Move the learner's head to a newly saved entry, sealed with the current key."""
    adding = head is None
    if head is None:
        head = LedgerHead(learner_id=entry.learner_id, entry_count=0)
    head.entry_count += 1
    head.last_entry_id = entry.pk
    head.last_hash = entry.entry_hash
    head.key_id = ledger_keys().current
    head.updated_at = timezone.now()
    head.head_hash = head_digest(head) or ""
    if adding:
        head.save(force_insert=True)
    else:
        head.save(
            update_fields=[
                "entry_count",
                "last_entry",
                "last_hash",
                "key_id",
                "updated_at",
                "head_hash",
            ]
        )
    return head


# --- The yearly status as the ledger gives it ------------------------------------------------


def outcome_values(outcome: engine.YearOutcome) -> dict[str, Any]:
    """The values a stored `YearStatus` keeps of the engine's outcome."""
    return {
        "status": outcome.status,
        "total_credits": outcome.total_credits,
        "professional_credits": outcome.professional_credits,
        "public_credits": outcome.public_credits,
        "met_at": outcome.met_at,
    }


def _status_text(values: dict[str, Any]) -> str:
    met_at = values["met_at"]
    met = f", met {_utc(met_at)}" if met_at else ""
    return (
        f"{values['status']} {Decimal(values['total_credits']):.1f} "
        f"(professional {Decimal(values['professional_credits']):.1f}, "
        f"public {Decimal(values['public_credits']):.1f}{met})"
    )


# --- Checking --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerProblem:
    """One thing wrong in a learner's ledger. `kind` is one of: link, seal, key, no_head,
    head_seal, count, tail, running, year_status."""

    learner_id: int
    entry_id: int | None
    problem: str
    kind: str = ""
    year: int | None = None

    def __str__(self) -> str:
        where = f"learner {self.learner_id}"
        if self.entry_id is not None:
            where += f" entry {self.entry_id}"
        if self.year is not None:
            where += f" year {self.year}"
        return f"{where}: {self.problem}"


def _chain_problems(learner_id: int, entries: list[CreditEntry]) -> list[LedgerProblem]:
    problems = []
    known = ledger_keys().keys
    previous_hash = ""
    for entry in entries:
        if entry.previous_hash != previous_hash:
            problems.append(
                LedgerProblem(
                    learner_id,
                    entry.pk,
                    "broken link: it does not name the hash of the entry before it "
                    "(an entry was removed, inserted or edited)",
                    "link",
                )
            )
        elif entry.key_id not in known:
            problems.append(
                LedgerProblem(
                    learner_id,
                    entry.pk,
                    f"sealed with the key id {entry.key_id!r}, which LEDGER_KEYS does not hold",
                    "key",
                )
            )
        elif not _matches(entry_digest(entry), entry.entry_hash):
            problems.append(
                LedgerProblem(
                    learner_id,
                    entry.pk,
                    "fields changed: its hash is not the ledger key's seal of its fields "
                    "(edited, or rehashed without the key)",
                    "seal",
                )
            )
        previous_hash = entry.entry_hash
    return problems


def _head_problems(
    learner_id: int, entries: list[CreditEntry], head: LedgerHead | None
) -> list[LedgerProblem]:
    if head is None:
        if not entries:
            return []
        return [
            LedgerProblem(
                learner_id,
                entries[-1].pk,
                f"the learner has {len(entries)} entries but no chain head "
                "(it was deleted, or the entries were written outside the application)",
                "no_head",
            )
        ]
    if not _matches(head_digest(head), head.head_hash):
        return [
            LedgerProblem(
                learner_id,
                head.last_entry_id,
                "the chain head does not match its seal (edited, or resealed without the key)",
                "head_seal",
            )
        ]
    problems = []
    if head.entry_count != len(entries):
        problems.append(
            LedgerProblem(
                learner_id,
                head.last_entry_id,
                f"the chain head counts {head.entry_count} entries, the ledger has "
                f"{len(entries)} (entries were deleted or added outside the application)",
                "count",
            )
        )
    last = entries[-1] if entries else None
    if last is None or head.last_entry_id != last.pk or head.last_hash != last.entry_hash:
        ends = f"entry {last.pk}" if last else "no entry at all"
        problems.append(
            LedgerProblem(
                learner_id,
                head.last_entry_id,
                f"the chain head ends at this entry, the ledger at {ends} "
                "(the newest entries were deleted or replaced)",
                "tail",
            )
        )
    return problems


def _by_year(entries: list[CreditEntry]) -> dict[int, list[CreditEntry]]:
    by_year: dict[int, list[CreditEntry]] = {}
    for entry in entries:
        by_year.setdefault(entry.year, []).append(entry)
    return by_year


def _running_problems(learner_id: int, entries: list[CreditEntry]) -> list[LedgerProblem]:
    """Entries whose running sums are not the year's credits up to them in the order they
    were recorded. Only years where every entry carries its sums are checked: elsewhere the
    recomputation does not read them, and an entry dated before entries already recorded
    (which is why it has none) is missing from their sums, as they were written."""
    problems = []
    for year_entries in _by_year(entries).values():
        if any(
            entry.running_total is None or entry.running_professional is None
            for entry in year_entries
        ):
            continue
        total = professional = 0
        for entry in sorted(year_entries, key=lambda e: (e.created_at, e.pk)):
            tenths = int(entry.credits * 10)
            total += tenths
            if entry.category == CreditEntry.Category.PROFESSIONAL:
                professional += tenths
            if (entry.running_total, entry.running_professional) != (total, professional):
                problems.append(
                    LedgerProblem(
                        learner_id,
                        entry.pk,
                        f"its running sums are {entry.running_total / 10} and "
                        f"{entry.running_professional / 10} professional credits; the year's "
                        f"entries up to it add up to {total / 10} and {professional / 10} "
                        "(edited behind the application's back; the recomputation reads them)",
                        "running",
                        entry.year,
                    )
                )
    return problems


def _status_problems(
    learner_id: int,
    entries: list[CreditEntry],
    statuses: list[YearStatus],
    policy_of: Callable[[int], Policy],
) -> list[LedgerProblem]:
    """Years whose stored status is not what the engine gives from the ledger."""
    by_year = _by_year(entries)
    stored = {status.year: status for status in statuses}
    problems = []
    for year in sorted(set(by_year) | set(stored)):
        expected = outcome_values(engine.year_outcome(by_year.get(year, []), policy_of(year)))
        row = stored.get(year)
        if row is None:
            text = f"no stored yearly status; the ledger gives {_status_text(expected)}"
        elif any(getattr(row, name) != value for name, value in expected.items()):
            found = {name: getattr(row, name) for name in expected}
            text = (
                f"the stored yearly status is {_status_text(found)}, the ledger gives "
                f"{_status_text(expected)} (edited, or not recomputed since the rules changed: "
                "manage.py recompute_year_status)"
            )
        else:
            continue
        problems.append(LedgerProblem(learner_id, None, text, "year_status", year))
    return problems


def _learner_problems(
    learner_id: int,
    entries: list[CreditEntry],
    statuses: list[YearStatus],
    head: LedgerHead | None,
    policy_of: Callable[[int], Policy],
) -> list[LedgerProblem]:
    return (
        _chain_problems(learner_id, entries)
        + _head_problems(learner_id, entries, head)
        + _running_problems(learner_id, entries)
        + _status_problems(learner_id, entries, statuses, policy_of)
    )


class _Policies:
    """The rules of each learner's district and year, read once each while the check walks
    the learners in order of id."""

    BATCH = 2000

    def __init__(self) -> None:
        self._districts: dict[int, int | None] = {}
        self._regions: dict[int, Region] = {}
        self._policies: dict[tuple[int | None, int], Policy] = {}

    def _district_of(self, learner_id: int) -> int | None:
        if learner_id not in self._districts:
            rows = (
                Learner.objects.filter(pk__gte=learner_id)
                .order_by("pk")
                .values_list("pk", "district_id")[: self.BATCH]
            )
            self._districts = dict(rows)
        return self._districts.get(learner_id)

    def for_learner(self, learner_id: int) -> Callable[[int], Policy]:
        district_id = self._district_of(learner_id)

        def policy_of(year: int) -> Policy:
            key = (district_id, year)
            if key not in self._policies:
                region = None
                if district_id is not None:
                    if district_id not in self._regions:
                        self._regions[district_id] = Region.objects.get(pk=district_id)
                    region = self._regions[district_id]
                self._policies[key] = policy_for(region, year)
            return self._policies[key]

        return policy_of


def _by_learner(rows: Iterable[Any]) -> Iterator[tuple[int, list[Any]]]:
    for learner_id, group in groupby(rows, key=lambda row: row.learner_id):
        yield learner_id, list(group)


def _merged(*streams: Iterable[Any]) -> Iterator[tuple[int, list[list[Any]]]]:
    """Streams sorted by learner, walked together: each learner once, with its rows of each."""
    iterators = [_by_learner(stream) for stream in streams]
    current = [next(iterator, None) for iterator in iterators]
    while any(item is not None for item in current):
        learner_id = min(item[0] for item in current if item is not None)
        groups: list[list[Any]] = []
        for index, item in enumerate(current):
            if item is not None and item[0] == learner_id:
                groups.append(item[1])
                current[index] = next(iterators[index], None)
            else:
                groups.append([])
        yield learner_id, groups


def _recheck(learner_id: int, policies: _Policies) -> list[LedgerProblem]:
    """The learner's problems again, read together under the learner's lock: the streaming
    pass reads entries, heads and statuses at slightly different moments, and an entry
    appended in between is no problem."""
    with transaction.atomic():
        Learner.objects.select_for_update(no_key=True).only("pk").filter(pk=learner_id).first()
        entries = list(CreditEntry.objects.filter(learner_id=learner_id).order_by("id"))
        statuses = list(YearStatus.objects.filter(learner_id=learner_id).order_by("year"))
        head = LedgerHead.objects.filter(learner_id=learner_id).first()
        return _learner_problems(
            learner_id, entries, statuses, head, policies.for_learner(learner_id)
        )


def ledger_verify() -> list[LedgerProblem]:
    """Everything wrong in the ledger, learner by learner: an entry whose link does not name
    the entry before it, or whose seal is not the ledger key's seal of its fields; a chain
    head that does not verify, or whose count or last entry the ledger no longer has (a
    deleted tail, or a whole chain); an entry whose running sums do not add up; and a year
    whose stored status is not what the engine computes from the ledger."""
    policies = _Policies()
    problems: list[LedgerProblem] = []
    streams = (
        CreditEntry.objects.order_by("learner_id", "id").iterator(chunk_size=2000),
        YearStatus.objects.order_by("learner_id", "year").iterator(chunk_size=2000),
        LedgerHead.objects.order_by("learner_id").iterator(chunk_size=2000),
    )
    for learner_id, (entries, statuses, heads) in _merged(*streams):
        head = heads[0] if heads else None
        found = _learner_problems(
            learner_id, entries, statuses, head, policies.for_learner(learner_id)
        )
        if found:
            found = _recheck(learner_id, policies)
        problems.extend(found)
    return problems
