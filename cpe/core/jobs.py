"""The registry of job kinds: each app declares the long work it can hand to the queue."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.utils.functional import Promise

if TYPE_CHECKING:
    from cpe.core.services import JobContext

JobHandler = Callable[["JobContext"], "dict[str, Any] | None"]


class JobError(Exception):
    """A failure whose message is meant for the person who started the job."""


@dataclass(frozen=True)
class JobKind:
    name: str
    label: str | Promise
    handler: JobHandler
    # A result file that only the person who asked for it may fetch (a district's
    # certificates, say), rather than everyone who may see the job in their region.
    result_for_requester_only: bool = False
    # A failure that says something is still wrong (statuses left stale, say) until someone
    # acts: the housekeeping keeps such a failed job instead of forgetting it after 90 days.
    keep_when_failed: bool = False


_KINDS: dict[str, JobKind] = {}


def job_kind(
    name: str,
    label: str | Promise,
    *,
    result_for_requester_only: bool = False,
    keep_when_failed: bool = False,
) -> Callable[[JobHandler], JobHandler]:
    """Declare a function as the handler of a job kind."""

    def register(handler: JobHandler) -> JobHandler:
        _KINDS[name] = JobKind(
            name=name,
            label=label,
            handler=handler,
            result_for_requester_only=result_for_requester_only,
            keep_when_failed=keep_when_failed,
        )
        return handler

    return register


def job_kind_get(name: str) -> JobKind:
    try:
        return _KINDS[name]
    except KeyError:
        raise LookupError(f"No job kind named {name!r} is registered.") from None


def job_kind_label(name: str) -> str:
    kind = _KINDS.get(name)
    return str(kind.label) if kind else name


def job_result_for_requester_only(name: str) -> bool:
    kind = _KINDS.get(name)
    return kind.result_for_requester_only if kind else False


def job_kinds_kept_when_failed() -> list[str]:
    return [kind.name for kind in _KINDS.values() if kind.keep_when_failed]
