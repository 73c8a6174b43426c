"""The migration that seals the existing ledger with the ledger key: a ledger that verified
before verifies after, an entry edited before stays reported, evidence comes from the approved
application, every learner gets a head; backwards the plain hashes come back. And the one
that gives the existing entries their running sums."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from cpe.credits.chain import ledger_verify
from cpe.credits.models import CreditEntry, LedgerHead
from cpe.credits.services import year_status_recompute_all
from cpe.credits.testing import sha256_as_before
from cpe.learning.testing import collected_learner

BEFORE = [("credits", "0004_application_once_while_waiting")]
YEAR = timezone.localdate().year


def migrate(targets: list[tuple[str, str]] | None = None) -> MigrationExecutor:
    """Migrate to `targets`, or to the latest state (which the application's code reads)."""
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets if targets is not None else executor.loader.graph.leaf_nodes())
    return executor


def _old_chain(model, learner_id: int, amounts: list[int]) -> list:
    """Entries as the ledger wrote them before it was keyed."""
    entries, previous = [], ""
    for number, amount in enumerate(amounts):
        entry = model(
            learner_id=learner_id,
            year=YEAR,
            category="professional",
            credits=Decimal(amount),
            source="face_to_face",
            reference=f"R{number}",
            recorded_by_label="officer",
            created_at=timezone.now(),
            previous_hash=previous,
        )
        entry.entry_hash = sha256_as_before(entry)
        entry.save()
        entries.append(entry)
        previous = entry.entry_hash
    return entries


def _plain_chain_holds(model, learner_id: int) -> bool:
    previous = ""
    for entry in model.objects.filter(learner_id=learner_id).order_by("id"):
        if entry.previous_hash != previous or sha256_as_before(entry) != entry.entry_hash:
            return False
        previous = entry.entry_hash
    return True


def _edit_credits_with_sql(entry_id: int) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
        cursor.execute("UPDATE credits_creditentry SET credits = 60 WHERE id = %s", [entry_id])
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = DEFAULT")


@pytest.mark.django_db(transaction=True)
def test_the_existing_ledger_is_sealed_with_the_key_and_an_earlier_edit_stays_reported(regions):
    honest = collected_learner(district=regions["420102"], sequence=31)
    tampered = collected_learner(district=regions["420102"], sequence=32)
    digest = "ab" * 32
    try:
        old = migrate(BEFORE).loader.project_state(BEFORE).apps
        honest_entries = _old_chain(
            old.get_model("credits", "CreditEntry"), honest.pk, [30, 40, 20]
        )
        edited = _old_chain(old.get_model("credits", "CreditEntry"), tampered.pk, [10, 20])[0]
        _edit_credits_with_sql(edited.pk)
        old.get_model("credits", "CreditApplication").objects.create(
            learner_id=honest.pk,
            year=YEAR,
            kind="face_to_face",
            source="face_to_face",
            category="professional",
            credits_claimed=30,
            min_credits=3,
            max_credits=90,
            reference="R0",
            evidence_sha256=digest,
            state="approved",
            entry_id=honest_entries[0].pk,
        )
        migrate()
        sums = list(
            CreditEntry.objects.filter(learner_id__in=[honest.pk, tampered.pk])
            .order_by("id")
            .values_list("running_total", "running_professional")
        )
        year_status_recompute_all()
        problems = ledger_verify()
        heads = {head.learner_id: head for head in LedgerHead.objects.all()}
        first = CreditEntry.objects.get(pk=honest_entries[0].pk)
        # Backwards: plain SHA-256 again, the honest chain as the old code checks it.
        old = migrate(BEFORE).loader.project_state(BEFORE).apps
        plain_again = _plain_chain_holds(old.get_model("credits", "CreditEntry"), honest.pk)
    finally:
        # Back to the latest state whatever happened, for the tests that follow.
        migrate()
    assert [(p.learner_id, p.entry_id, p.kind) for p in problems] == [
        (tampered.pk, edited.pk, "seal")
    ]
    assert (heads[honest.pk].entry_count, heads[tampered.pk].entry_count) == (3, 2)
    assert heads[honest.pk].last_entry_id == honest_entries[-1].pk
    assert first.evidence == f"sha256:{digest}" and first.key_id
    # Every existing entry got the running sums of its year, in tenths (the edited entry's
    # from its credits as they stand: the seal, not the sums, reports the edit).
    assert sums == [(300, 300), (700, 700), (900, 900), (600, 600), (800, 800)]
    assert plain_again
