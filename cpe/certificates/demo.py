"""Demo certificate: the demo learner's latest complete year has its certificate issued.

Every other complete year shows its download button too and is issued on first download.
Runs after the credits demo; issuing again gives the same certificate, so a rerun adds none.
"""

from __future__ import annotations

from cpe.certificates.models import Certificate
from cpe.certificates.services import certificate_issue
from cpe.core.services import Actor
from cpe.credits.models import YearStatus
from cpe.registry.demo import ACTIVATED
from cpe.registry.services import learner_find_by_id_number


def seed(actor: Actor) -> Certificate | None:
    learner = learner_find_by_id_number(ACTIVATED[0])
    if learner is None:
        return None
    latest = (
        YearStatus.objects.filter(learner=learner, status=YearStatus.Status.COMPLETE)
        .order_by("-year")
        .values_list("year", flat=True)
        .first()
    )
    if latest is None:
        return None
    return certificate_issue(actor=actor, learner=learner, year=latest)
