"""The registry's periodic work, found by huey's task discovery."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

logger = logging.getLogger(__name__)


# 19:45 UTC is 03:45 in Beijing, just after the core housekeeping.
@db_periodic_task(crontab(minute="45", hour="19"))
def sign_in_codes_housekeeping() -> None:
    from cpe.registry.signin import sign_in_codes_purge

    logger.info("Deleted %s old sign-in codes", sign_in_codes_purge())
