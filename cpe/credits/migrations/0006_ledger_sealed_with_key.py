"""Seal the existing credit ledger with the ledger key, so a deployment with data keeps verifying.

Each entry's plain SHA-256 becomes an HMAC-SHA256 under the first of LEDGER_KEYS, with that
key's id; the entry of an approved application with an evidence file gets the file's digest
as its evidence first (it is part of the seal); each learner gets a sealed chain head.

Only what verified before is sealed: an entry whose old hash did not match its fields keeps
that hash, and a link that did not name the entry before it stays as it was, so
`verify_ledger` reports after this migration what it reported before (sealing everything
would make an earlier edit look genuine). Backwards, entries get their plain SHA-256 again by
the same rule, and the heads go with their table (0005).

The digests are frozen here, as they were at this migration: the application's may change.
"""

import base64
import datetime
import hashlib
import hmac
import json
from decimal import Decimal

from django.conf import settings
from django.db import migrations
from django.utils import timezone

BATCH = 500  # learners per round: their entries are read, resealed and written together
TABLE = "credits_creditentry"
TRIGGER = "credits_creditentry_no_change"


def _utc(moment):
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _json(fields):
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _fields(entry, previous_hash):
    """The fields of the plain SHA-256 digest (cpe.credits.services before this migration)."""
    return {
        "learner": entry.learner_id,
        "year": entry.year,
        "category": entry.category,
        "credits": f"{Decimal(entry.credits):.1f}",
        "source": entry.source,
        "reference": entry.reference,
        "completion": entry.completion_id,
        "recorded_by": entry.recorded_by_id,
        "recorded_by_label": entry.recorded_by_label,
        "approved_by": entry.approved_by_id,
        "reason": entry.reason,
        "created_at": _utc(entry.created_at),
        "reverses": entry.reverses_id,
        "previous_hash": previous_hash,
    }


def _plain(entry, previous_hash):
    return hashlib.sha256(_json(_fields(entry, previous_hash)).encode("utf-8")).hexdigest()


def _keys():
    keys = {}
    for part in settings.LEDGER_KEYS.split(","):
        key_id, _, material = part.strip().partition(":")
        keys[key_id] = base64.b64decode(material, validate=True)
    return keys


def _keyed(key_id, key, entry, previous_hash):
    fields = _fields(entry, previous_hash) | {"evidence": entry.evidence, "key_id": key_id}
    return hmac.new(
        key, f"credit-entry\x00{_json(fields)}".encode(), hashlib.sha256
    ).hexdigest()


def _head_seal(key, head):
    fields = {
        "learner": head.learner_id,
        "entry_count": head.entry_count,
        "last_entry": head.last_entry_id,
        "last_hash": head.last_hash,
        "key_id": head.key_id,
    }
    return hmac.new(key, f"ledger-head\x00{_json(fields)}".encode(), hashlib.sha256).hexdigest()


def _reseal(entries, *, verifies, seal):
    """Give a learner's entries (in order) new links and hashes by `seal(entry, previous)`,
    where the old chain held by `verifies(entry)`; where it did not, leave it as it was."""
    expected_previous = ""
    new_previous = ""
    for entry in entries:
        link_held = entry.previous_hash == expected_previous
        fields_held = verifies(entry)
        expected_previous = entry.entry_hash
        if link_held:
            entry.previous_hash = new_previous
        if fields_held:
            entry.entry_hash = seal(entry, entry.previous_hash)
        new_previous = entry.entry_hash


def _learner_batches(CreditEntry):
    learners = list(
        CreditEntry.objects.order_by("learner_id").values_list("learner_id", flat=True).distinct()
    )
    for start in range(0, len(learners), BATCH):
        batch = learners[start : start + BATCH]
        entries = list(CreditEntry.objects.filter(learner_id__in=batch).order_by("learner_id", "id"))
        by_learner = {}
        for entry in entries:
            by_learner.setdefault(entry.learner_id, []).append(entry)
        yield entries, by_learner


def _with_trigger_off(schema_editor, work):
    postgresql = schema_editor.connection.vendor == "postgresql"
    if postgresql:
        # Checks of this transaction's foreign keys run now, so none is pending at ALTER TABLE.
        schema_editor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        schema_editor.execute(f"ALTER TABLE {TABLE} DISABLE TRIGGER {TRIGGER}")
    work()
    if postgresql:
        schema_editor.execute(f"ALTER TABLE {TABLE} ENABLE TRIGGER {TRIGGER}")


def seal_with_key(apps, schema_editor):
    CreditEntry = apps.get_model("credits", "CreditEntry")
    CreditApplication = apps.get_model("credits", "CreditApplication")
    LedgerHead = apps.get_model("credits", "LedgerHead")
    key_id, key = next(iter(_keys().items()))
    now = timezone.now()

    def work():
        for entries, by_learner in _learner_batches(CreditEntry):
            evidence = dict(
                CreditApplication.objects.filter(entry_id__in=[e.pk for e in entries])
                .exclude(evidence_sha256="")
                .values_list("entry_id", "evidence_sha256")
            )
            heads = []
            for learner_id, chain in by_learner.items():
                for entry in chain:
                    if entry.pk in evidence:
                        entry.evidence = f"sha256:{evidence[entry.pk]}"
                # The old hash is checked before the evidence or key id could matter to it.
                _reseal(
                    chain,
                    verifies=lambda e: _plain(e, e.previous_hash) == e.entry_hash,
                    seal=lambda e, previous: _keyed(key_id, key, e, previous),
                )
                for entry in chain:
                    entry.key_id = key_id
                head = LedgerHead(
                    learner_id=learner_id,
                    entry_count=len(chain),
                    last_entry_id=chain[-1].pk,
                    last_hash=chain[-1].entry_hash,
                    key_id=key_id,
                    updated_at=now,
                )
                head.head_hash = _head_seal(key, head)
                heads.append(head)
            CreditEntry.objects.bulk_update(
                entries, ["evidence", "previous_hash", "entry_hash", "key_id"], batch_size=1000
            )
            LedgerHead.objects.bulk_create(heads, batch_size=1000)

    _with_trigger_off(schema_editor, work)


def seal_without_key(apps, schema_editor):
    CreditEntry = apps.get_model("credits", "CreditEntry")
    keys = _keys()

    def verifies(entry):
        key = keys.get(entry.key_id)
        return key is not None and _keyed(entry.key_id, key, entry, entry.previous_hash) == (
            entry.entry_hash
        )

    def work():
        for entries, by_learner in _learner_batches(CreditEntry):
            for chain in by_learner.values():
                _reseal(chain, verifies=verifies, seal=_plain)
                for entry in chain:
                    entry.key_id = ""
            CreditEntry.objects.bulk_update(
                entries, ["previous_hash", "entry_hash", "key_id"], batch_size=1000
            )

    _with_trigger_off(schema_editor, work)


class Migration(migrations.Migration):
    dependencies = [("credits", "0005_ledger_keys_heads_and_evidence")]

    operations = [migrations.RunPython(seal_with_key, seal_without_key)]
