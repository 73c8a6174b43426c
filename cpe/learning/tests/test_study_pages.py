"""The study pages: a course in a plan, the player, the lesson's file, history, staff view."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone

from cpe.accounts.roles import Role
from cpe.core.services import Actor
from cpe.learning.study import HeartbeatIn, heartbeat_record, study_session_start
from cpe.learning.testing import enrolment, study_course
from cpe.regions.services import region_policy_save

ACTOR = Actor.for_system("tests")
VIDEO_BYTES = bytes(range(256)) * 40  # 10,240 bytes standing in for an MP4


@pytest.fixture
def study(regions, make_user, settings):
    settings.COURSE_MEDIA_STREAM = True
    region_policy_save(
        actor=ACTOR, region=regions["420000"], effective_from=2018, attention_check_minutes=0
    )
    user = make_user(Role.LEARNER, "420102")
    enrolled = enrolment(
        district=regions["420102"], user=user, lessons=[("video", 60), ("reading", 30)]
    )
    video = enrolled.lessons[0]
    video.video.save("lesson.mp4", ContentFile(VIDEO_BYTES))
    return enrolled


@pytest.fixture
def learner_client(study, client_for):
    return client_for(study.learner.user)


def play(study, seconds: int) -> None:
    now = timezone.now() - timedelta(seconds=seconds + 1)
    session = study_session_start(
        actor=ACTOR, learner=study.learner, lesson_id=study.lesson.pk, now=now
    ).session
    for n in range(1, seconds // 15 + 1):
        heartbeat_record(
            actor=ACTOR,
            learner=study.learner,
            session_id=session.pk,
            beat=HeartbeatIn(seq=n, position=15 * n, state="playing"),
            now=now + timedelta(seconds=15 * n),
        )


def test_the_course_page_lists_the_lessons_with_their_verified_progress(study, learner_client):
    play(study, 30)
    response = learner_client.get(f"/study/{study.plan.year}/courses/{study.course.code}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert study.lessons[0].title in page and study.lessons[1].title in page
    assert 'value="50"' in page  # 30 of 60 seconds verified


def test_a_course_not_in_the_learners_plan_for_that_year_is_not_found(study, learner_client):
    response = learner_client.get(f"/study/{study.plan.year - 1}/courses/{study.course.code}/")
    assert response.status_code == 404


def test_the_player_page_plays_inline_on_phones_and_loads_the_player_module(study, learner_client):
    response = learner_client.get(f"/study/lessons/{study.lesson.pk}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "playsinline" in page
    assert "learning/player.js" in page
    assert f'data-src="/study/lessons/{study.lesson.pk}/media/"' in page


def test_the_reading_page_shows_the_text(study, learner_client):
    response = learner_client.get(f"/study/lessons/{study.lessons[1].pk}/")
    assert "阅读材料" in response.content.decode()


def test_the_video_is_served_with_range_requests_to_a_learner_who_has_it_in_a_plan(
    study, learner_client
):
    url = f"/study/lessons/{study.lesson.pk}/media/"
    whole = learner_client.get(url)
    assert whole.status_code == 200
    assert b"".join(whole.streaming_content) == VIDEO_BYTES
    part = learner_client.get(url, HTTP_RANGE="bytes=100-199")
    assert part.status_code == 206
    assert part["Content-Range"] == f"bytes 100-199/{len(VIDEO_BYTES)}"
    assert b"".join(part.streaming_content) == VIDEO_BYTES[100:200]


def test_the_video_of_a_course_not_in_the_learners_plans_is_not_served(
    study, regions, learner_client
):
    stranger = study_course(region=regions["420000"], lessons=[("video", 60)])
    lesson = stranger.lessons.get()
    lesson.video.save("other.mp4", ContentFile(VIDEO_BYTES))
    assert learner_client.get(f"/study/lessons/{lesson.pk}/media/").status_code == 404
    assert learner_client.get(f"/study/lessons/{lesson.pk}/").status_code == 404


def test_the_history_lists_the_sessions_with_their_verified_time(study, learner_client):
    play(study, 45)
    page = learner_client.get("/study/history/").content.decode()
    assert study.lesson.title in page
    assert "45 s" in page


def test_staff_see_each_lesson_and_the_heartbeat_record_with_verdicts(study, users, client_for):
    play(study, 30)
    response = client_for(users["support"]).get(f"/staff/learners/{study.learner.pk}/study/")
    assert response.status_code == 200
    page = response.content.decode()
    assert study.lesson.title in page
    assert "verdict-credited" in page
    assert page.count("verdict-credited") == 2


def test_the_registry_learner_page_links_to_the_study_page_for_those_who_may_see_it(
    study, users, client_for
):
    link = f"/staff/learners/{study.learner.pk}/study/"
    page = client_for(users["district_officer"]).get(f"/staff/learners/{study.learner.pk}/")
    assert link in page.content.decode()
