"""The learner's credits page and API, and the ledger on the staff page of a learner's study."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.utils import timezone, translation

from cpe.accounts.roles import Role
from cpe.core.models import AuditEntry
from cpe.credits.models import CreditEntry, YearStatus
from cpe.credits.testing import SYSTEM, record
from cpe.learning.testing import collected_learner

pytestmark = pytest.mark.django_db


@pytest.fixture
def learner_with_credits(regions, make_user):
    user = make_user(Role.LEARNER, "420102")
    learner = collected_learner(district=regions["420102"], sequence=7, user=user)
    record(learner, 45)
    record(learner, 20, category=CreditEntry.Category.PUBLIC)
    return learner


def test_the_credits_page_shows_the_years_totals_and_what_is_missing(
    learner_with_credits, client_for
):
    client = client_for(learner_with_credits.user)
    page = client.get("/study/credits/").content.decode()
    assert "还差15个专业科目学分" in page
    assert "65" in page and 'data-status="in_progress"' in page
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # the language switcher's choice
    english = client.get("/study/credits/")
    assert "15 more professional credits" in english.content.decode()
    assert "10 more credits of either category" in english.content.decode()


def test_the_study_dashboard_links_to_the_credits(learner_with_credits, client_for):
    page = client_for(learner_with_credits.user).get("/study/").content.decode()
    assert 'href="/study/credits/"' in page


def test_the_credits_api_gives_the_years_and_entries(learner_with_credits, client_for):
    body = client_for(learner_with_credits.user).get("/api/v1/learner/credits").json()
    year = body["years"][0]
    assert year["status"] == "in_progress"
    assert float(year["total_credits"]) == 65
    assert float(year["missing_professional_credits"]) == 15
    assert float(year["missing_other_credits"]) == 10
    assert [float(e["credits"]) for e in body["entries"]] == [20, 45]


def test_the_credits_api_is_in_the_openapi_document(client_for):
    paths = client_for(None).get("/api/v1/openapi.json").json()["paths"]
    assert "/api/v1/learner/credits" in paths
    assert "/api/v1/staff/learners/{learner_id}/credits/{entry_id}/reverse" in paths


def test_an_officer_sees_the_ledger_and_reverses_an_entry_with_a_reason(
    learner_with_credits, users, client_for
):
    officer = client_for(users["district_officer"])
    entry = CreditEntry.objects.filter(learner=learner_with_credits).first()
    page = officer.get(f"/staff/learners/{learner_with_credits.pk}/study/").content.decode()
    assert 'id="credits"' in page and f"/credits/{entry.pk}/reverse/" in page
    url = f"/staff/learners/{learner_with_credits.pk}/credits/{entry.pk}/reverse/"
    officer.post(url, {"reason": ""})
    assert not CreditEntry.objects.filter(reverses=entry).exists()
    response = officer.post(url, {"reason": "培训证明不实"})
    assert response.status_code == 302
    reversal = CreditEntry.objects.get(reverses=entry)
    assert reversal.recorded_by == users["district_officer"]
    audit = AuditEntry.objects.get(action="credit.reverse")
    assert (audit.actor, audit.reason) == (users["district_officer"], "培训证明不实")
    # Neither the reversed entry nor its reversal offers to be reversed any more.
    page = officer.get(f"/staff/learners/{learner_with_credits.pk}/study/").content.decode()
    assert f"/credits/{entry.pk}/reverse/" not in page
    assert f"/credits/{reversal.pk}/reverse/" not in page
    other = CreditEntry.objects.filter(learner=learner_with_credits, reverses=None).exclude(
        pk=entry.pk
    )
    assert f"/credits/{other.get().pk}/reverse/" in page


def test_the_credits_read_is_four_queries_however_many_years_and_entries(
    regions, django_assert_num_queries
):
    from cpe.credits.selectors import learner_credit_overview
    from cpe.registry.models import Learner

    learner = collected_learner(district=regions["420102"], qualification_year=2015)
    this_year = timezone.localdate().year
    for year in range(this_year - 3, this_year + 1):
        record(learner, 30, year=year)
        record(learner, 20, year=year, category=CreditEntry.Category.PUBLIC)
    learner = Learner.objects.select_related("district").get(pk=learner.pk)
    # statuses, entries, the region's rules and their caps
    with django_assert_num_queries(4):
        credits = learner_credit_overview(learner)
    assert len(credits.entries) == 8
    assert [year.year for year in credits.years][:4] == list(range(this_year, this_year - 4, -1))
    assert credits.years[-1].year == 2019  # Hubei's make-up start: every year since is required


def test_an_auditor_reads_the_ledger_but_has_no_reverse_action(
    learner_with_credits, users, client_for
):
    page = client_for(users["auditor"]).get(f"/staff/learners/{learner_with_credits.pk}/study/")
    assert 'id="credits"' in page.content.decode()
    assert "/reverse/" not in page.content.decode()
    support = client_for(users["support"]).get(f"/staff/learners/{learner_with_credits.pk}/study/")
    assert 'id="credits"' not in support.content.decode()


def test_the_reverse_api_answers_field_errors_and_refuses_a_reversal_of_a_reversal(
    learner_with_credits, users, client_for
):
    officer = client_for(users["district_officer"])
    entry = CreditEntry.objects.filter(learner=learner_with_credits).first()
    base = f"/api/v1/staff/learners/{learner_with_credits.pk}/credits"
    empty = officer.post(
        f"{base}/{entry.pk}/reverse", {"reason": " "}, content_type="application/json"
    )
    assert empty.status_code == 422 and "reason" in empty.json()["fields"]
    done = officer.post(
        f"{base}/{entry.pk}/reverse", {"reason": "错误"}, content_type="application/json"
    )
    assert done.status_code == 201 and float(done.json()["credits"]) < 0
    again = officer.post(
        f"{base}/{done.json()['id']}/reverse", {"reason": "再撤"}, content_type="application/json"
    )
    assert again.status_code == 422 and "entry" in again.json()["fields"]
    status = YearStatus.objects.get(learner=learner_with_credits)
    assert float(status.total_credits) == 65 - float(entry.credits)


def test_staff_of_another_district_cannot_reverse(learner_with_credits, users, client_for):
    entry = CreditEntry.objects.filter(learner=learner_with_credits).first()
    response = client_for(users["officer_elsewhere"]).post(
        f"/staff/learners/{learner_with_credits.pk}/credits/{entry.pk}/reverse/",
        {"reason": "x"},
    )
    assert response.status_code == 404
    assert CreditEntry.objects.count() == 2


def test_a_system_reversal_shows_on_the_learners_page(learner_with_credits, client_for):
    from cpe.credits.services import credit_reverse

    entry = CreditEntry.objects.filter(learner=learner_with_credits).first()
    credit_reverse(actor=SYSTEM, entry=entry, reason="重复")
    page = client_for(learner_with_credits.user).get("/study/credits/").content.decode()
    assert "重复" in page


# --- What is missing, in plain words: every case ----------------------------------------


def _years(learner):
    from cpe.credits.selectors import learner_credit_years

    return {year.year: year for year in learner_credit_years(learner)}


@pytest.fixture
def wuhan_caps(regions):
    from django.utils import timezone

    from cpe.regions.models import RegionPolicy, RegionPolicyCap

    row = RegionPolicy.objects.create(
        region=regions["420100"], effective_from=timezone.localdate().year - 5
    )
    RegionPolicyCap.objects.create(policy=row, source="face_to_face", max_credits=30)
    return row


def test_only_professional_credits_are_missing(regions):
    learner = collected_learner(district=regions["420102"])
    record(learner, 40)
    record(learner, 50, category=CreditEntry.Category.PUBLIC)
    with translation.override("en"):
        (year,) = _years(learner).values()
        assert year.missing_text == ["20 more professional credits"]


def test_only_credits_of_either_category_are_missing(regions):
    learner = collected_learner(district=regions["420102"])
    record(learner, 60)
    record(learner, 10, category=CreditEntry.Category.PUBLIC)
    with translation.override("zh-hans"):
        (year,) = _years(learner).values()
        assert year.missing_text == ["还差20个学分（公需或专业科目均可）"]


def test_both_kinds_are_missing_for_a_year_not_started(regions, client_for, make_user):
    user = make_user(Role.LEARNER, "420102")
    learner = collected_learner(district=regions["420102"], user=user)
    client = client_for(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    body = client.get("/api/v1/learner/credits").json()
    assert body["years"][0]["missing"] == [
        "60 more professional credits",
        "30 more credits of either category",
    ]
    assert body["years"][0]["capped"] == []
    assert learner.pk


def test_a_complete_year_misses_nothing(regions):
    learner = collected_learner(district=regions["420102"])
    record(learner, 60)
    record(learner, 30, category=CreditEntry.Category.PUBLIC)
    (year,) = _years(learner).values()
    assert year.missing_text == []
    assert year.status == YearStatus.Status.COMPLETE


def test_credits_over_a_cap_are_named_as_not_counting(regions, wuhan_caps, client_for, make_user):
    user = make_user(Role.LEARNER, "420102")
    learner = collected_learner(district=regions["420102"], user=user)
    record(learner, 50, source="face_to_face")
    client = client_for(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    year = client.get("/api/v1/learner/credits").json()["years"][0]
    assert float(year["professional_credits"]) == 30
    assert year["missing"] == [
        "30 more professional credits",
        "30 more credits of either category",
    ]
    assert year["capped"] == [
        "Face-to-face training counts at most 30 credits a year: 20 of your credits from it "
        "do not count."
    ]
    page = client.get("/study/credits/").content.decode()
    assert "20 of your credits from it do not count" in page


def test_a_reached_cap_says_more_credits_from_it_would_not_count(regions, wuhan_caps):
    learner = collected_learner(district=regions["420102"])
    record(learner, 30, source="face_to_face")
    with translation.override("zh-hans"):
        (year,) = _years(learner).values()
        assert year.cap_text == ["面授培训每年最多计30学分：已达上限，此类学分再多也不再计入。"]
    # Once the year is complete, a reached cap is no longer worth a word.
    record(learner, 60, source="paper")
    (year,) = _years(learner).values()
    assert year.cap_text == []
