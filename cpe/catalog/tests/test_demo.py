"""The demo catalog: enough published courses for a learner to reach every year's credits."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.utils import timezone

from cpe.catalog import demo
from cpe.catalog.models import Course
from cpe.regions import demo as regions_demo
from cpe.regions.policy import policy_for


def test_the_demo_catalog_is_published_through_the_services_and_loads_once(regions, system_actor):
    regions_demo.seed(system_actor)  # Hubei's rules, as seed_demo loads them first
    made = demo.seed(system_actor)
    assert len(made) == len(demo.DEMO_COURSES) >= 14
    assert demo.seed(system_actor) == []
    assert Course.objects.filter(status=Course.Status.PUBLISHED).count() == len(made)
    for course in made:
        video = course.lessons.get(kind="video")
        assert video.duration_seconds == 6
        assert video.video.storage.exists(video.video.name)


def test_a_learner_can_reach_every_years_credits_from_the_demo_catalog(regions, system_actor):
    regions_demo.seed(system_actor)
    demo.seed(system_actor)
    hubei = regions["420000"]
    for year in range(2019, timezone.localdate().year + 1):
        policy = policy_for(hubei, year)
        credits: dict[str, Decimal] = defaultdict(Decimal)
        for course in Course.objects.filter(years__year=year):
            credits[course.category] += policy.credits_for(course.class_hours)
        assert credits["professional"] >= policy.professional_credits, year
        assert sum(credits.values()) >= policy.annual_credits, year
