"""The queue's entry points: one task that runs any recorded job, and the periodic ones."""

from __future__ import annotations

import logging

from django.core.management import call_command
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

logger = logging.getLogger(__name__)


@db_task(retries=0)
def job_run_task(job_id: str) -> None:
    from cpe.core.services import job_run

    job_run(job_id=job_id)


# Times are UTC: 19:30 UTC is 03:30 in Beijing, when nobody is studying.
@db_periodic_task(crontab(minute="30", hour="19"))
def housekeeping() -> None:
    from cpe.core.services import jobs_housekeep

    call_command("clearsessions")
    logger.info("Housekeeping: %s", jobs_housekeep())


@db_periodic_task(crontab(minute="*/10"))
def fail_stalled_jobs() -> None:
    from cpe.core.services import jobs_fail_stalled

    stalled = jobs_fail_stalled()
    if stalled:
        logger.warning("Jobs failed: their worker stopped, or they never started: %s", stalled)
