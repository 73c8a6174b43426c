"""The conversion table as data: national values by default, the nearest region's latest table,
and its editing by province and city administrators with audit and field errors."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from hypothesis import given
from hypothesis import strategies as st

from cpe.core.models import AuditEntry
from cpe.core.services import Actor
from cpe.credits.conversion import (
    NATIONAL_TABLE,
    conversion_rule_problems,
    conversion_rule_save,
    conversion_table,
)
from cpe.credits.models import ConversionRule

pytestmark = pytest.mark.django_db

LINE = {
    "category": "professional",
    "credits_per_unit": "25",
    "unit": "item",
    "min_credits": "10",
    "max_credits": "25",
    "evidence_required": True,
    "detail_fields": ["title", "journal", "issn", "cn"],
    "is_active": True,
}


def test_without_rows_the_national_values_apply(regions):
    table = conversion_table(regions["420102"], 2024)
    assert table.region is None
    assert table.get("exam_subject").credits_per_unit == 90
    assert table.get("professional_meeting").credits_for(3) == 30
    assert table.get("paper_first").credits_per_unit == 20
    assert table.get("book_other").credits_per_unit == 60
    assert table.get("research_member").credits_per_unit == 60


def test_the_nearest_region_with_rows_and_its_latest_year_not_after_decide(regions, users):
    province = Actor(user=users["province_admin"])
    city = Actor(user=users["city_admin"])
    conversion_rule_save(
        actor=province, region=regions["420000"], year=2020, kind="paper_sole", values=LINE
    )
    conversion_rule_save(
        actor=city,
        region=regions["420100"],
        year=2023,
        kind="paper_sole",
        values=LINE | {"credits_per_unit": "28", "max_credits": "28"},
    )
    assert conversion_table(regions["420102"], 2021).get("paper_sole").credits_per_unit == 25
    assert conversion_table(regions["420102"], 2024).get("paper_sole").credits_per_unit == 28
    assert conversion_table(regions["420502"], 2024).get("paper_sole").credits_per_unit == 25
    assert conversion_table(regions["420102"], 2019).region is None
    # The first change copies the whole table, so every kind stays in it.
    assert ConversionRule.objects.filter(
        region=regions["420100"], effective_from=2023
    ).count() == len(NATIONAL_TABLE)


def test_a_change_is_audited_with_the_values_before_and_after(regions, users):
    conversion_rule_save(
        actor=Actor(user=users["city_admin"]),
        region=regions["420100"],
        year=2025,
        kind="paper_sole",
        values=LINE,
    )
    audit = AuditEntry.objects.get(action="credit_conversion.change")
    assert audit.changes["before"]["credits_per_unit"] == "30.0"
    assert audit.changes["after"]["credits_per_unit"] == "25.0"


def test_it_refuses_limits_that_do_not_hold_and_writes_nothing(regions, users):
    with pytest.raises(ValidationError) as refused:
        conversion_rule_save(
            actor=Actor(user=users["city_admin"]),
            region=regions["420100"],
            year=2025,
            kind="paper_sole",
            values=LINE | {"min_credits": "-1", "max_credits": "200", "detail_fields": []},
        )
    assert {"min_credits", "max_credits", "detail_fields"} <= set(refused.value.message_dict)
    assert not ConversionRule.objects.exists()


def test_only_administrators_of_the_region_edit_its_table(regions, users):
    for role, code in (
        ("district_officer", "420102"),
        ("city_admin_elsewhere", "420100"),
        ("city_admin", "420000"),
    ):
        with pytest.raises(PermissionDenied):
            conversion_rule_save(
                actor=Actor(user=users[role]),
                region=regions[code],
                year=2025,
                kind="paper_sole",
                values=LINE,
            )
    assert not ConversionRule.objects.exists()


@given(
    low=st.decimals(min_value=-10, max_value=200, places=1),
    high=st.decimals(min_value=-10, max_value=200, places=1),
)
def test_accepted_limits_are_positive_ordered_and_within_a_year(low: Decimal, high: Decimal):
    values = LINE | {"min_credits": str(low), "max_credits": str(high), "credits_per_unit": "5"}
    problems = conversion_rule_problems(values, annual_credits=90)
    accepted = not ({"min_credits", "max_credits"} & set(problems))
    assert accepted == (0 < low <= high <= 90)


def test_the_table_page_shows_the_table_and_the_edit_form_saves_it(regions, users, client_for):
    city = client_for(users["city_admin"])
    page = city.get("/staff/credits/conversion/?year=2025").content.decode()
    assert 'data-kind="exam_subject"' in page and 'data-action="edit"' in page
    url = "/staff/credits/conversion/420100/2025/paper_sole/"
    form = city.get(url)
    assert form.status_code == 200
    data = {k: v for k, v in LINE.items() if k != "evidence_required"} | {
        "reference_field": "title"
    }
    bad = city.post(url, data | {"min_credits": "30"})
    assert bad.status_code == 422 and "has-error" in bad.content.decode()
    saved = city.post(url, data)
    assert saved.status_code == 302
    row = ConversionRule.objects.get(
        region=regions["420100"], effective_from=2025, kind="paper_sole"
    )
    assert row.credits_per_unit == 25 and row.evidence_required is False
    assert row.detail_fields[0] == "title"
    officer = client_for(users["district_officer"])
    assert 'data-action="edit"' not in officer.get("/staff/credits/conversion/").content.decode()
    assert officer.get(url).status_code == 403
