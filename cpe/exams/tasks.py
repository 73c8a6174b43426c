"""The exams' periodic job: attempts left open past their deadline are closed and graded."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

logger = logging.getLogger(__name__)


@db_periodic_task(crontab(minute="*"))
def exam_attempts_close_expired() -> None:
    from cpe.exams.services import attempts_close_expired

    closed = attempts_close_expired()
    if closed:
        logger.info("Closed and graded %s exam attempts past their deadline", closed)
