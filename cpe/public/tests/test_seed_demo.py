from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from cpe.accounts.models import User
from cpe.core.models import AuditEntry
from cpe.public.models import Notice
from cpe.regions.models import Bureau, Region, SupportContact


def _counts() -> tuple[int, ...]:
    return tuple(
        m.objects.count() for m in (Region, Bureau, SupportContact, User, Notice, AuditEntry)
    )


def test_the_demo_data_loads_and_a_second_run_changes_nothing(db, settings):
    settings.DEBUG = True
    call_command("seed_demo", "--quiet-logins")
    first = _counts()
    assert User.objects.filter(username="officer.jiangan", region__code="420102").exists()
    assert Notice.objects.published().count() == 3
    assert Bureau.objects.filter(region__parent__code="420100").count() == 13
    call_command("seed_demo", "--quiet-logins")
    assert _counts() == first


def test_the_demo_data_refuses_a_production_server(db, settings):
    settings.DEBUG = False
    with pytest.raises(CommandError):
        call_command("seed_demo")
    assert not User.objects.exists()
