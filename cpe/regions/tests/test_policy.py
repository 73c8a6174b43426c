from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from cpe.core.models import AuditEntry
from cpe.regions.models import Region
from cpe.regions.policy import Policy, policy_for
from cpe.regions.services import region_policy_save


def test_without_any_rules_the_national_defaults_apply(regions):
    Region.objects.get(code="420000").policies.all().delete()
    policy = policy_for(Region.objects.get(code="420102"), 2026)
    assert policy == Policy()
    assert (policy.annual_credits, policy.professional_credits) == (90, 60)
    assert policy.makeup_from is None


def test_a_district_inherits_its_provinces_rules(regions):
    policy = policy_for(Region.objects.get(code="420102"), 2026)
    assert policy.makeup_from == 2019
    assert policy.sequential_years is True
    assert policy.credits_for(Decimal("2.5")) == Decimal("7.5")
    assert policy.seconds_for(2) == 2 * 45 * 60


def test_the_nearest_region_with_rules_decides(regions, system_actor):
    wuhan = Region.objects.get(code="420100")
    region_policy_save(actor=system_actor, region=wuhan, effective_from=2024, heartbeat_seconds=30)
    assert policy_for(Region.objects.get(code="420102"), 2026).heartbeat_seconds == 30
    # Before Wuhan's row applies, Hubei's does.
    assert policy_for(Region.objects.get(code="420102"), 2023).heartbeat_seconds == 15


def test_the_latest_row_not_after_the_year_applies(regions, system_actor):
    hubei = Region.objects.get(code="420000")
    region_policy_save(actor=system_actor, region=hubei, effective_from=2025, annual_credits=120)
    district = Region.objects.get(code="420103")
    assert policy_for(district, 2024).annual_credits == 90
    assert policy_for(district, 2025).annual_credits == 120
    assert policy_for(district, 2030).annual_credits == 120
    # 2017 is before every Hubei row: the defaults, without make-up.
    assert policy_for(district, 2017).makeup_from is None


def test_saving_rules_is_audited_with_what_changed(regions, system_actor):
    hubei = Region.objects.get(code="420000")
    region_policy_save(
        actor=system_actor, region=hubei, effective_from=2018, attention_check_minutes=0
    )
    entry = AuditEntry.objects.filter(action="region_policy.update").latest("id")
    assert entry.changes == {
        "before": {"attention_check_minutes": 15},
        "after": {"attention_check_minutes": 0},
    }
    assert policy_for(hubei, 2026).attention_checks_on is False


def test_professional_credits_cannot_exceed_the_annual_requirement(regions, system_actor):
    with pytest.raises(ValidationError):
        region_policy_save(
            actor=system_actor,
            region=Region.objects.get(code="420100"),
            effective_from=2026,
            annual_credits=30,
            professional_credits=60,
        )
