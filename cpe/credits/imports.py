"""Officers' import of credits for many learners (XLSX or CSV), such as the list of people who
passed an exam: every row checked first, then all recorded or nothing.

Flow: `credit_import_start` keeps the upload on the private storage and queues a check; the
check reads the file with the learner import's reader (cpe.registry.imports), checks each
row with the rules of an officer's recording (`direct_record_problems`, the conversion
table's limits) and matches it with the ledger on learner + year + source + reference, so
the same file twice adds nothing. `credit_import_confirm` queues the apply, which records
the planned rows through `credit_record` in one transaction, each again under the learner's
lock: a row refused then (or recorded meanwhile) leaves nothing half-written.

A check or an apply that stops (an unexpected error, or a worker that died and was failed by
the housekeeping) leaves the import where the officer may check the file again or abandon
it, as the learner import does: `credit_import_stopped`. One left unconfirmed for a week
(checked, refused or stopped) is abandoned by the nightly `credit_imports_expire`, so its file
and the ID numbers in it do not stay on the server.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import partial
from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cpe.core.capabilities import Capability
from cpe.core.models import Job
from cpe.core.privacy import scrub_id_numbers
from cpe.core.selectors import waits_on_a_stopped_job
from cpe.core.services import Actor, audit_record, job_enqueue
from cpe.credits.conversion import KIND_LABELS, KINDS
from cpe.credits.models import CreditEntry, CreditImport
from cpe.credits.registration import (
    activity_key,
    direct_record_problems,
    entry_already_recorded,
    standing_entries,
)
from cpe.credits.services import credit_record
from cpe.regions.models import Region
from cpe.registry.crypto import mask_id_number
from cpe.registry.identity import normalise_id_number
from cpe.registry.imports import (
    MAX_UPLOAD_BYTES,
    UNCONFIRMED_REASON,
    Column,
    FileRefused,
    _header_key,
    _is_error_header,
    _text,
    _year,
    imports_expire,
    in_current_language,
    inspect_upload,
    read_sheet,
)
from cpe.registry.models import Learner
from cpe.registry.services import id_number_hash

CHECK = "credits.import_check"
APPLY = "credits.import_apply"
BATCH_SIZE = 1000
Progress = Callable[..., None]

COLUMNS: tuple[Column, ...] = (
    Column("id_number", "身份证号", "ID number", True, ("身份证号码", "居民身份证号码", "id")),
    Column("name", "姓名", "Name", True),
    Column("year", "年度", "Year", True, ("学年", "年份", "学分年度")),
    Column("kind", "学分类型", "Kind", True, ("类型", "登记类型", "来源", "source")),
    Column("category", "科目类别", "Category", False, ("类别", "科目")),
    Column("credits", "学分", "Credits", True, ("学分数",)),
    Column("reference", "凭证编号", "Reference", True, ("证书编号", "编号", "参考")),
    # Optional as a column, so older files still read; a row whose kind or source the
    # conversion table requires evidence for is refused without it.
    Column("evidence", "证明材料", "Evidence", False, ("证明材料编号", "证明文件", "evidence")),
    Column("reason", "备注", "Note", False, ("说明", "reason")),
)
COLUMN_BY_FIELD = {column.field: column for column in COLUMNS}

CATEGORIES = {
    _header_key(name): category
    for category, names in {
        CreditEntry.Category.PUBLIC: ("公需科目", "公需", "public"),
        CreditEntry.Category.PROFESSIONAL: ("专业科目", "专业", "professional"),
    }.items()
    for name in names
}


# Chinese names an officer's list may use, whatever language the platform's labels are in.
SOURCE_NAMES: dict[str, tuple[str, ...]] = {
    CreditEntry.Source.EXAM: ("考试", "考试通过", "资格考试"),
    CreditEntry.Source.DEGREE_COURSE: ("学历教育", "学位课程", "学历课程"),
    CreditEntry.Source.PROFESSIONAL_MEETING: ("学术会议", "专业会议", "会议"),
    CreditEntry.Source.RESEARCH_PROJECT: ("课题研究", "科研项目", "研究课题"),
    CreditEntry.Source.PAPER: ("论文", "发表论文"),
    CreditEntry.Source.BOOK: ("著作", "出版著作", "专著"),
    CreditEntry.Source.FACE_TO_FACE: ("面授培训", "面授", "培训"),
    CreditEntry.Source.OTHER: ("其他",),
}


def _kind_names() -> dict[str, tuple[str, str]]:
    """Every way a row may name what it records: a kind of the table (its code or name in
    either language) or a ledger source; to ("kind" or "source", the code)."""
    names: dict[str, tuple[str, str]] = {}
    for code, _label in settings.LANGUAGES:
        with translation.override(code):
            for source, label in CreditEntry.Source.choices:
                names[_header_key(str(label))] = ("source", source)
            for kind in KINDS:
                names[_header_key(str(KIND_LABELS[kind]))] = ("kind", kind)
    for source, aliases in SOURCE_NAMES.items():
        for alias in aliases:
            names[_header_key(alias)] = ("source", source)
    for source in CreditEntry.Source.values:
        names[_header_key(source)] = ("source", source)
    for kind in KINDS:
        names[_header_key(kind)] = ("kind", kind)
    return names


# --- Checking -----------------------------------------------------------------------------

RowErrors = dict[str, dict[str, list[str]]]


@dataclass
class _Context:
    district: Region
    learners: dict[str, Learner]  # by ID-number hash
    kinds: dict[str, tuple[str, str]]
    seen: dict[tuple[int, str, str], int]
    tables: dict[tuple, Any] = field(default_factory=dict)
    # (learner, source, normalised reference) of the batch's learners' standing entries
    recorded: set[tuple[int, str, str]] = field(default_factory=set)


def _row_problems(
    context: _Context, cells: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """One row's values and what is wrong with them, in the current language."""
    errors: dict[str, list[str]] = {}
    raw_id = _text(cells.get("id_number"))
    learner = None
    try:
        id_number = normalise_id_number(raw_id).value
    except ValidationError as invalid:
        errors["id_number"] = list(invalid.messages)
    else:
        learner = context.learners.get(id_number_hash(id_number))
        if learner is None or learner.district_id != context.district.pk:
            errors["id_number"] = [_("Nobody with this ID number is collected in your district.")]
            learner = None
        elif learner.status == Learner.Status.DEREGISTERED:
            errors["id_number"] = [_("This learner is deregistered.")]
            learner = None
    name = _text(cells.get("name"))
    if learner is not None and name.replace(" ", "") != learner.name.replace(" ", ""):
        errors["name"] = [_("The name is not the one collected with this ID number.")]
    year = _year(cells.get("year"))
    named = context.kinds.get(_header_key(_text(cells.get("kind"))))
    if named is None:
        errors["kind"] = [_("Write a kind from the conversion table, or a source of credits.")]
    category_cell = _text(cells.get("category"))
    category = CATEGORIES.get(_header_key(category_cell), "")
    if category_cell and not category:
        errors["category"] = [_("Write 公需科目 or 专业科目 (public or professional).")]
    values: dict[str, Any] = {}
    if learner is not None and named is not None:
        values, problems = direct_record_problems(
            learner=learner,
            year=year,
            kind=named[1] if named[0] == "kind" else "",
            source=named[1] if named[0] == "source" else "",
            category=category,
            credits=_text(cells.get("credits")),
            reference=_text(cells.get("reference")),
            evidence=_text(cells.get("evidence")),
            tables=context.tables,
        )
        for field_name, texts in problems.items():
            errors.setdefault(field_name, []).extend(texts)
        values |= {"learner": learner.pk, "year": year}
    return values, errors


def _check(context: _Context, number: int, cells: dict[str, Any]) -> tuple[str, dict, RowErrors]:
    """("new", "unchanged" or "error", the plan line, the errors in each language)."""
    values, errors = _row_problems(context, cells)
    first_row = None
    if not errors:
        key = (values["learner"], *activity_key(values["source"], values["reference"]))
        first_row = context.seen.get(key)
        if first_row is None:
            context.seen[key] = number
            line = {
                "row": number,
                "learner": values["learner"],
                "year": values["year"],
                "source": values["source"],
                "category": values["category"],
                "credits": str(values["credits"]),
                "reference": values["reference"],
                "evidence": values["evidence"],
                "reason": _text(cells.get("reason"))[:500],
            }
            return ("unchanged" if key in context.recorded else "new"), line, {}
    # The officer reads the errors in their language; the page may be read in another.
    texts: RowErrors = {}
    for code, _label in settings.LANGUAGES:
        with translation.override(code):
            again = _row_problems(context, cells)[1] if errors else {}
            if first_row is not None:
                again["reference"] = [
                    _("The same credits as row %(row)s of this file.") % {"row": first_row}
                ]
            for field_name, messages in again.items():
                texts.setdefault(field_name, {})[code] = [str(m) for m in messages]
    return "error", {}, texts


def _batches(rows: Iterator[tuple[int, tuple[Any, ...]]]) -> Iterator[list]:
    batch: list = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH_SIZE:
            yield batch
            batch = []
    if batch:
        yield batch


def _learners(batch: list[tuple[int, dict[str, Any]]]) -> dict[str, Learner]:
    digests = []
    for _number, cells in batch:
        try:
            digests.append(id_number_hash(normalise_id_number(_text(cells.get("id_number"))).value))
        except ValidationError:
            continue
    learners = Learner.objects.filter(id_number_hash__in=digests).select_related("district")
    return {learner.id_number_hash: learner for learner in learners}


def _recorded(learners: Any) -> set[tuple[int, str, str]]:
    """What the ledger already holds for these learners, as import rows are matched on it."""
    rows = standing_entries([learner.pk for learner in learners]).values_list(
        "learner_id", "source", "reference"
    )
    return {(learner, *activity_key(source, reference)) for learner, source, reference in rows}


def credit_import_check(*, credit_import: CreditImport, progress: Progress) -> CreditImport:
    """Read the file and check every row; keeps the plan and the errors on the import."""
    plan: list[dict[str, Any]] = []
    error_rows: list[dict[str, Any]] = []
    counts = {"new": 0, "unchanged": 0, "error": 0}
    context = _Context(credit_import.district, {}, _kind_names(), {})
    try:
        with credit_import.upload.open("rb") as source:
            sheet = read_sheet(source, credit_import.file_format, COLUMNS)
            progress(0, total=sheet.estimated_rows, message=_("Checking the rows"))
            done = 0
            for raw in _batches(sheet.rows):
                batch = [
                    (
                        number,
                        {
                            field_name: values[index]
                            for index, field_name in sheet.columns.items()
                            if index < len(values)
                        },
                    )
                    for number, values in raw
                ]
                context.learners = _learners(batch)
                context.recorded = _recorded(context.learners.values())
                for number, cells in batch:
                    outcome, line, errors = _check(context, number, cells)
                    counts[outcome] += 1
                    if outcome == "error":
                        error_rows.append(
                            {
                                "row": number,
                                "id_number": _masked(_text(cells.get("id_number"))),
                                "name": _text(cells.get("name"))[:50],
                                "errors": errors,
                            }
                        )
                    else:
                        plan.append(line | {"outcome": outcome})
                done += len(batch)
                progress(done)
    except FileRefused as refused:
        _finish_check(credit_import, CreditImport.State.REFUSED, message=str(refused))
        raise
    total = sum(counts.values())
    if total == 0:
        refused = FileRefused(gettext_lazy("The file has the column names but no rows."))
        _finish_check(credit_import, CreditImport.State.REFUSED, message=str(refused))
        raise refused
    _finish_check(
        credit_import,
        CreditImport.State.CHECKED,
        plan=plan,
        error_rows=error_rows,
        total_rows=total,
        new_count=counts["new"],
        unchanged_count=counts["unchanged"],
        error_count=counts["error"],
    )
    credit_import.refresh_from_db()
    return credit_import


def _finish_check(credit_import: CreditImport, state: str, **fields: Any) -> None:
    # Only while still being checked: an officer may have abandoned it, or checked it again,
    # after the housekeeping took this check for dead.
    CreditImport.objects.filter(pk=credit_import.pk, state=CreditImport.State.CHECKING).update(
        state=state, updated_at=timezone.now(), **fields
    )


def _masked(raw: str) -> str:
    return mask_id_number(raw) if len(raw) >= 8 else ("*" * len(raw))


# --- Starting, confirming, applying -------------------------------------------------------


def _require_officer(actor: Actor, district: Region) -> None:
    user = actor.user
    if user is None or not user.has_capability(Capability.CREDITS_REGISTER):
        raise PermissionDenied
    if user.region_id != district.pk:
        raise PermissionDenied


def upload_too_large_message() -> str:
    return _("The file is larger than %(size)s MB. Split it into several files.") % {
        "size": MAX_UPLOAD_BYTES // (1024 * 1024)
    }


def credit_import_start(*, actor: Actor, district: Region, upload: UploadedFile) -> CreditImport:
    """Keep an officer's file and queue its check; nothing reaches the ledger yet."""
    _require_officer(actor, district)
    if upload.size and upload.size > MAX_UPLOAD_BYTES:
        raise ValidationError({"file": [upload_too_large_message()]})
    head = upload.read(64 * 1024)
    upload.seek(0)
    try:
        file_format = inspect_upload(upload.name or "", head)
    except FileRefused as refused:
        raise ValidationError({"file": [str(refused)]}) from None
    # People name files after someone's ID number: kept masked.
    file_name = scrub_id_numbers(PurePath(upload.name or f"credits.{file_format}").name)
    with transaction.atomic():
        credit_import = CreditImport(
            district=district,
            file_name=file_name[:200],
            file_format=file_format,
            created_by=actor.user,
        )
        credit_import.upload.save("upload", upload, save=False)
        credit_import.save()
        audit_record(
            actor=actor,
            action="credit_import.upload",
            target=credit_import,
            after={"file": credit_import.file_name},
        )
        credit_import.job = _queue(actor, credit_import, CHECK)
        credit_import.save(update_fields=["job"])
    return credit_import


def _queue(actor: Actor, credit_import: CreditImport, kind: str) -> Job:
    return job_enqueue(
        kind=kind,
        actor=actor,
        params={"import": str(credit_import.pk), "ip": actor.ip},
        region_path=credit_import.district.path,
    )


def _locked(credit_import: CreditImport, state: str) -> CreditImport:
    locked = (
        CreditImport.objects.select_for_update().select_related("district").get(pk=credit_import.pk)
    )
    if locked.state != state:
        raise ValidationError(
            {"state": [_("This import is %(state)s.") % {"state": locked.get_state_display()}]}
        )
    return locked


def credit_import_confirm(
    *, actor: Actor, credit_import: CreditImport, valid_rows_only: bool = False
) -> CreditImport:
    """Queue the recording of a checked file: all its rows, or (while some have errors)
    nothing unless the officer takes only the valid rows."""
    _require_officer(actor, credit_import.district)
    with transaction.atomic():
        credit_import = _locked(credit_import, CreditImport.State.CHECKED)
        if credit_import.error_count and not valid_rows_only:
            raise ValidationError(
                {
                    "file": [
                        _(
                            "%(count)s rows have errors, so nothing was recorded. Fix them and "
                            "upload the file again, or record only the valid rows."
                        )
                        % {"count": credit_import.error_count}
                    ]
                }
            )
        credit_import.state = CreditImport.State.APPLYING
        credit_import.valid_rows_only = valid_rows_only
        credit_import.message = ""
        credit_import.job = _queue(actor, credit_import, APPLY)
        credit_import.save(
            update_fields=["state", "valid_rows_only", "message", "job", "updated_at"]
        )
        audit_record(
            actor=actor,
            action="credit_import.confirm",
            target=credit_import,
            after={"valid_rows_only": valid_rows_only, "rows": credit_import.new_count},
        )
    return credit_import


class _RowRefused(Exception):
    def __init__(self, row: int, messages: list[str]) -> None:
        self.row, self.messages = row, messages


def credit_import_apply(*, actor: Actor, credit_import: CreditImport, progress: Progress) -> int:
    """Record the planned rows in one transaction; returns how many entries were made.

    Each row is matched with the ledger again under the learner's lock (recorded meanwhile:
    skipped), and `credit_record` checks it again; a row it refuses records nothing at all
    and the import goes back to checked, naming the row.
    """
    recorded = 0
    lines = [line for line in credit_import.plan if line.get("outcome") == "new"]
    progress(0, total=len(lines), message=_("Recording the credits"))
    learners: dict[int, Learner] = {}
    try:
        with transaction.atomic():
            credit_import = _locked(credit_import, CreditImport.State.APPLYING)
            for done, line in enumerate(lines, start=1):
                learner = learners.get(line["learner"])
                if learner is None:
                    learner = Learner.objects.select_related("district").get(pk=line["learner"])
                    learners[learner.pk] = learner
                Learner.objects.select_for_update(no_key=True).only("pk").get(pk=learner.pk)
                if entry_already_recorded(
                    learner_id=learner.pk,
                    source=line["source"],
                    reference=line["reference"],
                ):
                    continue
                try:
                    credit_record(
                        actor=actor,
                        learner=learner,
                        year=line["year"],
                        category=line["category"],
                        credits=Decimal(line["credits"]),
                        source=line["source"],
                        reference=line["reference"],
                        # Plans checked before entries carried evidence have none.
                        evidence=line.get("evidence", ""),
                        approved_by=actor.user,
                        reason=line["reason"],
                    )
                except ValidationError as refused:
                    raise _RowRefused(line["row"], refused.messages) from None
                recorded += 1
                if done % 200 == 0:
                    progress(done)
            credit_import.state = CreditImport.State.APPLIED
            credit_import.applied_at = timezone.now()
            credit_import.recorded_count = recorded
            credit_import.plan = []
            credit_import.save()
            audit_record(
                actor=actor,
                action="credit_import.apply",
                target=credit_import,
                after={
                    "file": credit_import.file_name,
                    "recorded": recorded,
                    "skipped_with_errors": credit_import.error_count,
                },
            )
            _delete_upload_on_commit(credit_import)
    except _RowRefused as refused:
        message = _("Row %(row)s: %(errors)s Nothing was recorded.") % {
            "row": refused.row,
            "errors": " ".join(refused.messages),
        }
        CreditImport.objects.filter(pk=credit_import.pk).update(
            state=CreditImport.State.CHECKED, message=message[:500], updated_at=timezone.now()
        )
        raise ValidationError(message) from None
    return recorded


def _delete_upload_on_commit(credit_import: CreditImport) -> None:
    name, storage = credit_import.upload.name, credit_import.upload.storage
    if name:
        transaction.on_commit(lambda: storage.delete(name))
    CreditImport.objects.filter(pk=credit_import.pk).update(upload="")


# --- Stopped imports ----------------------------------------------------------------------

BUSY = (CreditImport.State.CHECKING, CreditImport.State.APPLYING)

STOPPED_MESSAGES = {
    CHECK: gettext_lazy(
        "The check stopped before it finished (an unexpected error, or the server restarted). "
        "Nothing was recorded: check the file again, or abandon the import."
    ),
    APPLY: gettext_lazy(
        "The recording stopped before it finished (an unexpected error, or the server "
        "restarted). Nothing was recorded: check the file again, or abandon the import."
    ),
}


def credit_import_stopped(credit_import: CreditImport) -> bool:
    """Whether the import's check or recording stopped for good: marked failed by its job, or
    still waiting on a job that failed or whose worker died (the housekeeping failed it)."""
    return credit_import.state == CreditImport.State.FAILED or waits_on_a_stopped_job(
        state=credit_import.state, busy=BUSY, job=credit_import.job
    )


def credit_import_state(credit_import: CreditImport) -> tuple[str, str]:
    """(code, name) of the state the officer acts on: a stopped import reads as failed."""
    if credit_import_stopped(credit_import):
        return CreditImport.State.FAILED, str(CreditImport.State.FAILED.label)
    return credit_import.state, credit_import.get_state_display()


def credit_import_message(credit_import: CreditImport) -> str:
    """What the officer reads above the import, in their language."""
    if credit_import.message or not credit_import_stopped(credit_import):
        return credit_import.message
    job = credit_import.job
    return str(STOPPED_MESSAGES.get(job.kind if job else "", STOPPED_MESSAGES[APPLY]))


def credit_import_may_be_checked_again(credit_import: CreditImport) -> bool:
    """Checked (the ledger may have changed since), or stopped; never without its file."""
    checked_or_stopped = credit_import.state == CreditImport.State.CHECKED or (
        credit_import_stopped(credit_import)
    )
    return bool(credit_import.upload) and checked_or_stopped


def credit_import_may_be_abandoned(credit_import: CreditImport) -> bool:
    if credit_import.state in (CreditImport.State.CHECKED, CreditImport.State.REFUSED):
        return True
    return credit_import_stopped(credit_import)


def _refuse_in_state(credit_import: CreditImport) -> ValidationError:
    label = credit_import_state(credit_import)[1]
    return ValidationError({"state": [_("This import is %(state)s.") % {"state": label}]})


def credit_import_recheck(*, actor: Actor, credit_import: CreditImport) -> CreditImport:
    """Check the kept file again and queue that check: after the check or the recording
    stopped, or after a row was refused at recording (the ledger changed since the check).

    The import row is locked first: a recording still running (taken for dead too early)
    holds that lock until it ends, and then the import is recorded, not stopped.
    """
    _require_officer(actor, credit_import.district)
    with transaction.atomic():
        locked = CreditImport.objects.select_for_update().get(pk=credit_import.pk)
        if not credit_import_may_be_checked_again(locked):
            raise _refuse_in_state(locked)
        before = {"state": credit_import_state(locked)[0]}
        locked.state = CreditImport.State.CHECKING
        locked.message = ""
        locked.valid_rows_only = False
        locked.job = _queue(actor, locked, CHECK)
        locked.save(update_fields=["state", "message", "valid_rows_only", "job", "updated_at"])
        audit_record(
            actor=actor,
            action="credit_import.recheck",
            target=locked,
            before=before,
            after={"state": locked.state},
        )
    return locked


def credit_import_abandon(*, actor: Actor, credit_import: CreditImport) -> CreditImport:
    """Drop a checked, refused or stopped import and delete its file. Locked first, like
    `credit_import_recheck`, so a recording that is in fact still running wins."""
    _require_officer(actor, credit_import.district)
    with transaction.atomic():
        locked = CreditImport.objects.select_for_update().get(pk=credit_import.pk)
        if not credit_import_may_be_abandoned(locked):
            raise _refuse_in_state(locked)
        _abandon(locked, actor=actor)
    return locked


def _abandon(credit_import: CreditImport, *, actor: Actor, reason: str = "") -> None:
    abandoned_from = credit_import_state(credit_import)[0]
    credit_import.state = CreditImport.State.ABANDONED
    credit_import.plan = []
    credit_import.save(update_fields=["state", "plan", "updated_at"])
    _delete_upload_on_commit(credit_import)
    audit_record(
        actor=actor,
        action="credit_import.abandon",
        target=credit_import,
        after={"file": credit_import.file_name, "from_state": abandoned_from},
        reason=reason,
    )


# Checked, refused or failed; being checked or recorded too, for when that stopped for good.
UNCONFIRMED = (
    CreditImport.State.CHECKING,
    CreditImport.State.CHECKED,
    CreditImport.State.REFUSED,
    CreditImport.State.APPLYING,
    CreditImport.State.FAILED,
)


def credit_imports_expire(*, actor: Actor, now: datetime | None = None) -> int:
    """Abandon the imports left unconfirmed for a week (as the learner imports are), so their
    uploaded files and the ID numbers in them do not stay on the server. Run nightly by the
    queue; an import still being checked or recorded is left alone."""
    return imports_expire(
        CreditImport.objects.filter(state__in=UNCONFIRMED).select_related("district", "job"),
        now=now,
        may_be_abandoned=credit_import_may_be_abandoned,
        abandon=partial(_abandon, actor=actor, reason=UNCONFIRMED_REASON),
    )


# --- Files --------------------------------------------------------------------------------

TEMPLATE_NOTES = [
    "每行一条学分记录，第一行为列名，请勿修改列名。只读取第一个工作表。",
    "身份证号、姓名：本区已采集的学员，姓名与采集信息一致。",
    "年度：学分计入的年度（四位数字），须为该学员应参加继续教育的年度，且不晚于今年。",
    "学分类型：学分折算表中的类型名称（如“全国会计类考试通过一个科目”），或学分来源"
    "（如“面授培训”“其他”）。",
    "科目类别：公需科目或专业科目；折算表已规定类别的类型可不填。",
    "学分：按折算表的上下限填写，最多一位小数。",
    "凭证编号：证书编号、名单名称等；同一学员、年度、来源和凭证编号只登记一次，重复导入不会重复计分。",
    "证明材料：学分所依据的证明材料编号或名称（如合格名单的文号、证书编号、会议通知文号），"
    "最多 200 字；学分折算表要求提供证明材料的类型和来源必须填写。",
    "备注：可不填。",
    "每个文件最多 200,000 行、20 MB。支持 .xlsx 和 .csv（UTF-8 或 GB18030）。",
]


def _workbook(header: list[str], rows: list[list[Any]]) -> bytes:
    import openpyxl
    from openpyxl.styles import Font

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "学分"
    sheet.append(header)
    for index in range(1, len(header) + 1):
        letter = openpyxl.utils.get_column_letter(index)
        sheet.cell(row=1, column=index).font = Font(bold=True)
        sheet.column_dimensions[letter].width = 24
    for values in rows:
        sheet.append(values)
    for cells in sheet.iter_rows(min_row=2):
        for cell in cells:
            cell.number_format = "@"  # text, so that Excel keeps all 18 digits of an ID number
    sheet.freeze_panes = "A2"
    notes = workbook.create_sheet("填写说明")
    for line in TEMPLATE_NOTES:
        notes.append([line])
    notes.column_dimensions["A"].width = 110
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def template_xlsx() -> bytes:
    """The empty template with the Chinese headers and a sheet of notes."""
    return _workbook([column.chinese for column in COLUMNS], [])


def template_csv() -> bytes:
    return ("\ufeff" + ",".join(column.chinese for column in COLUMNS) + "\r\n").encode("utf-8")


def row_error_lines(errors: RowErrors) -> list[tuple[str, list[str]]]:
    """(column name, messages) of one error row, in the reader's language."""
    return [
        (COLUMN_BY_FIELD[name].label if name in COLUMN_BY_FIELD else name, in_current_language(t))
        for name, t in errors.items()
    ]


def error_rows_xlsx(credit_import: CreditImport) -> bytes:
    """The rows with errors as uploaded, with a column naming every error: fix them there
    and upload that file again (the rows already recorded then count as unchanged)."""
    reasons = {
        row["row"]: "；".join(
            f"{label}：{' '.join(texts)}" for label, texts in row_error_lines(row["errors"])
        )
        for row in credit_import.error_rows
    }
    with credit_import.upload.open("rb") as source:
        sheet = read_sheet(source, credit_import.file_format, COLUMNS)
        header = [_text(v) for v in sheet.header if not _is_error_header(v)]
        width = len(header)
        rows = [
            [_text(v) for v in (*values[:width], *([None] * (width - len(values[:width]))))]
            + [reasons[number]]
            for number, values in sheet.rows
            if number in reasons
        ]
    return _workbook([*header, "错误"], rows)
