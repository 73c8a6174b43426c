"""Every protected page and API call, asked by every role: the status code each must get.

Out-of-scope records answer 404 (their existence is not the caller's business); pages a
role may never open answer 403; anonymous callers are sent to sign in (302) or get 401.
"""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from cpe.catalog.testing import make_course
from cpe.certificates.services import certificate_issue
from cpe.certificates.testing import complete_year
from cpe.core.services import Actor, job_enqueue
from cpe.credits.imports import credit_import_start
from cpe.credits.testing import apply_for_credits
from cpe.exams.imports import question_import_start
from cpe.exams.services import attempt_start, attempt_submit
from cpe.exams.testing import make_bank
from cpe.exams.tests.bankdata import xlsx
from cpe.learning.services import year_plan_open
from cpe.learning.testing import complete_lessons, enrol, study_course
from cpe.learning.years import first_required_year
from cpe.public.services import notice_save
from cpe.regions.jobs import EXPORT_CONTACTS
from cpe.registry import import_samples
from cpe.registry.imports import learner_import_check, learner_import_start
from cpe.registry.services import learner_collect
from cpe.registry.testing import learner_details

ROLES = [
    "anonymous",
    "learner",
    "district_officer",
    "officer_elsewhere",
    "city_admin",
    "city_admin_elsewhere",
    "province_admin",
    "course_manager",
    "support",
    "auditor",
    "superuser",
]

STAFF = {r: 200 for r in ROLES if r not in ("anonymous", "learner")}


def row(anonymous: int, learner: int, **codes: int) -> dict[str, int]:
    """Expected codes for one view: every staff role 200 unless named otherwise."""
    expected = {"anonymous": anonymous, "learner": learner, **STAFF}
    expected.update(codes)
    return expected


ADMINS_ONLY = {
    "district_officer": 403,
    "officer_elsewhere": 403,
    "course_manager": 403,
    "support": 403,
}

# Roles that read learner records but never change them.
NOT_MANAGERS = {
    r: 403
    for r in (
        "city_admin",
        "city_admin_elsewhere",
        "province_admin",
        "course_manager",
        "support",
        "auditor",
    )
}
ELSEWHERE_404 = {"officer_elsewhere": 404, "city_admin_elsewhere": 404}
IMPORTERS = {
    **{r: 403 for r in STAFF},
    "anonymous": 302,
    "learner": 403,
    "district_officer": 200,
    "officer_elsewhere": 200,
}
JIANGAN_IMPORT = {**IMPORTERS, "officer_elsewhere": 404}
LEARNER_ONLY = {**{r: 403 for r in STAFF}, "anonymous": 302, "learner": 200}
# Course pages: course managers and the superuser; a POST answers with a redirect back.
COURSE_MANAGERS = {
    **{r: 403 for r in STAFF},
    "anonymous": 302,
    "learner": 403,
    "course_manager": 200,
    "superuser": 200,
}
COURSE_ACTIONS = {**COURSE_MANAGERS, "course_manager": 302, "superuser": 302}
EVERYONE = {r: 200 for r in ROLES}

# Officers reverse credits in their district; an unknown entry answers 404.
CREDIT_REVERSERS = {
    **{r: 403 for r in STAFF},
    "learner": 403,
    "district_officer": 404,
    "officer_elsewhere": 404,
    "superuser": 404,
}

# Offices' API keys: province administrators (and the superuser); an unknown key is 404.
OFFICE_KEY_MANAGERS = {
    **{r: 403 for r in STAFF},
    "anonymous": 302,
    "learner": 403,
    "province_admin": 200,
    "superuser": 200,
}

# Roles that may read the study rules (or nothing of them) but never change them.
POLICY_VIEWERS_ONLY = {
    r: 403
    for r in ("district_officer", "officer_elsewhere", "course_manager", "support", "auditor")
}

POLICY_EDITORS = ("city_admin", "city_admin_elsewhere", "province_admin", "superuser")

# Credit registration: read by staff who read credits; decided, recorded and imported by a
# district's officers; the conversion table edited by province and city administrators.
CREDIT_READERS = row(302, 403, course_manager=403, support=403)
CREDIT_DECIDERS = {
    **{r: 403 for r in STAFF},
    "learner": 403,
    "district_officer": 422,
    "officer_elsewhere": 404,
    "superuser": 422,
}
CREDIT_RECORDERS = {**IMPORTERS}
CONVERSION_EDITORS = {
    **{r: 403 for r in STAFF},
    "anonymous": 302,
    "learner": 403,
    "city_admin": 200,
    "province_admin": 200,
    "city_admin_elsewhere": 404,
    "superuser": 200,
}

MATRIX: dict[str, tuple] = {
    "learner home": (
        "get",
        "/learn/",
        {**{r: 403 for r in STAFF}, "anonymous": 302, "learner": 200},
    ),
    "staff console": ("get", "/staff/", row(302, 403)),
    "audit log": ("get", "/staff/audit/", row(302, 403, **ADMINS_ONLY)),
    "audit API": ("get", "/api/v1/audit", row(401, 403, **ADMINS_ONLY)),
    "notice list": (
        "get",
        "/staff/notices/",
        row(302, 403, **ADMINS_ONLY, auditor=403),
    ),
    "new notice": (
        "get",
        "/staff/notices/new/",
        row(302, 403, **ADMINS_ONLY, auditor=403),
    ),
    "a Wuhan notice": (
        "get",
        "/staff/notices/{notice}/",
        row(302, 403, **ADMINS_ONLY, auditor=403, city_admin_elsewhere=404),
    ),
    "bureau contacts": ("get", "/staff/contacts/", row(302, 403)),
    "edit Jiang'an contacts": (
        "get",
        "/staff/contacts/420102/",
        row(
            302,
            403,
            officer_elsewhere=404,
            city_admin_elsewhere=404,
            course_manager=403,
            support=403,
            auditor=403,
        ),
    ),
    "export contacts": (
        "post",
        "/staff/contacts/export/",
        {**{r: 302 for r in STAFF}, "anonymous": 302, "learner": 403},
    ),
    "job list": ("get", "/staff/jobs/", row(302, 403)),
    "job API list": ("get", "/api/v1/jobs", row(401, 403)),
    # A job started by the Jiang'an officer: theirs, and support's (who sees every job).
    "someone's job": (
        "get",
        "/staff/jobs/{job}/",
        {
            **{r: 404 for r in STAFF},
            "anonymous": 302,
            "learner": 403,
            "district_officer": 200,
            "support": 200,
            "superuser": 200,
        },
    ),
    "someone's job API": (
        "get",
        "/api/v1/jobs/{job}",
        {
            **{r: 404 for r in STAFF},
            "anonymous": 401,
            "learner": 403,
            "district_officer": 200,
            "support": 200,
            "superuser": 200,
        },
    ),
    "staff accounts": ("get", "/staff/users/", row(302, 403, **ADMINS_ONLY, auditor=403)),
    "new staff account": ("get", "/staff/users/new/", row(302, 403, **ADMINS_ONLY, auditor=403)),
    # The Jiang'an officer's account: managed by Wuhan's and Hubei's administrators.
    "an officer's account": (
        "get",
        "/staff/users/{officer}/",
        row(302, 403, **ADMINS_ONLY, auditor=403, city_admin_elsewhere=404),
    ),
    "change own password": (
        "get",
        "/account/password/",
        {**{r: 200 for r in ROLES}, "anonymous": 302},
    ),
    "learner list": ("get", "/staff/learners/", row(302, 403, course_manager=403)),
    "transfers": ("get", "/staff/learners/transfers/", row(302, 403, course_manager=403)),
    "collect a learner": ("get", "/staff/learners/new/", row(302, 403, **NOT_MANAGERS)),
    # A learner collected by Jiang'an: seen by those above it, changed by its own officer.
    "a Jiang'an learner": (
        "get",
        "/staff/learners/{learner}/",
        row(302, 403, **ELSEWHERE_404, course_manager=403),
    ),
    "edit a Jiang'an learner": (
        "get",
        "/staff/learners/{learner}/edit/",
        row(302, 403, **NOT_MANAGERS, officer_elsewhere=404),
    ),
    "deregister a Jiang'an learner": (
        "get",
        "/staff/learners/{learner}/deregister/",
        row(302, 403, **NOT_MANAGERS, officer_elsewhere=404),
    ),
    "show a Jiang'an learner's ID number": (
        "post",
        "/staff/learners/{learner}/reveal/",
        {
            **{r: 403 for r in STAFF},
            "anonymous": 302,
            "learner": 403,
            "district_officer": 200,
            "officer_elsewhere": 404,
        },
    ),
    "learner search API": ("get", "/api/v1/learners", row(401, 403, course_manager=403)),
    "a Jiang'an learner API": (
        "get",
        "/api/v1/learners/{learner}",
        row(401, 403, **ELSEWHERE_404, course_manager=403),
    ),
    "transfer a Jiang'an learner API": (
        "post",
        "/api/v1/learners/{learner}/transfer/cancel",
        # Nothing is waiting, so the officer's call is refused as a 422: allowed, but invalid.
        row(401, 403, **(NOT_MANAGERS | ELSEWHERE_404), district_officer=422, superuser=422),
    ),
    "own sign-in security": ("get", "/account/two-factor/", row(302, 403)),
    "set up own authenticator": ("get", "/account/two-factor/setup/", row(302, 403)),
    # Without a reason the form comes back with its error (200) for those who may reset.
    "reset an officer's authenticator": (
        "post",
        "/staff/users/{officer}/two-factor/reset/",
        row(302, 403, **ADMINS_ONLY, auditor=403, city_admin_elsewhere=404),
    ),
    # Imports: a district's officers only, into their own district (the superuser has no
    # district to import into); another district's import is not found.
    "learner imports": ("get", "/staff/imports/", IMPORTERS),
    "import template": ("get", "/staff/imports/template.xlsx", IMPORTERS),
    "a Jiang'an import": ("get", "/staff/imports/{import}/", JIANGAN_IMPORT),
    "a Jiang'an import's error rows": (
        "get",
        "/staff/imports/{import}/errors.xlsx",
        JIANGAN_IMPORT,
    ),
    "abandon a Jiang'an import": (
        "post",
        "/staff/imports/{import}/abandon/",
        {**JIANGAN_IMPORT, "district_officer": 302},
    ),
    "learner imports API": ("get", "/api/v1/learner-imports", {**IMPORTERS, "anonymous": 401}),
    "a Jiang'an import API": (
        "get",
        "/api/v1/learner-imports/{import}",
        {**JIANGAN_IMPORT, "anonymous": 401},
    ),
    "course catalog": ("get", "/courses/", EVERYONE),
    "a published course": ("get", "/courses/{course_code}/", EVERYONE),
    "catalog API": ("get", "/api/v1/courses", EVERYONE),
    "a published course API": ("get", "/api/v1/courses/{course_code}", EVERYONE),
    "courses (staff)": ("get", "/staff/courses/", COURSE_MANAGERS),
    "new course": ("get", "/staff/courses/new/", COURSE_MANAGERS),
    "a course (staff)": ("get", "/staff/courses/{course}/", COURSE_MANAGERS),
    "edit a course": ("get", "/staff/courses/{course}/edit/", COURSE_MANAGERS),
    "preview a course": ("get", "/staff/courses/{course}/preview/", COURSE_MANAGERS),
    "a course's exam settings": ("get", "/staff/courses/{course}/exam-settings/", COURSE_MANAGERS),
    "save a course's exam settings": (
        "post",
        "/staff/courses/{course}/exam-settings/",
        COURSE_ACTIONS,
    ),
    "exam settings API": (
        "get",
        "/api/v1/courses/HB-ZY-01/exam-settings",
        {**COURSE_MANAGERS, "anonymous": 401},
    ),
    "save exam settings API": (
        "put",
        "/api/v1/courses/HB-ZY-01/exam-settings",
        {**COURSE_MANAGERS, "anonymous": 401},
        {"exam_required": True, "own": {"pass_mark": 70}},
    ),
    "new lesson": ("get", "/staff/courses/{course}/lessons/new/", COURSE_MANAGERS),
    "edit a lesson": (
        "get",
        "/staff/courses/{course}/lessons/{lesson}/edit/",
        COURSE_MANAGERS,
    ),
    "a lesson's video (preview)": (
        "get",
        "/staff/courses/{course}/lessons/{lesson}/media/",
        COURSE_MANAGERS,
    ),
    "move a lesson": (
        "post",
        "/staff/courses/{course}/lessons/{lesson}/move/",
        COURSE_ACTIONS,
    ),
    "publish a course": ("post", "/staff/courses/{course}/publish/", COURSE_ACTIONS),
    "withdraw a course": ("post", "/staff/courses/{course}/withdraw/", COURSE_ACTIONS),
    "delete a lesson": (
        "post",
        "/staff/courses/{course}/lessons/{other_lesson}/delete/",
        COURSE_ACTIONS,
    ),
    "Django admin": ("get", "/admin/", {**{r: 302 for r in ROLES}, "superuser": 200}),
    # The learner's own record (the test learner is linked to a collected learner below).
    "learner profile": (
        "get",
        "/learn/profile/",
        {**{r: 403 for r in STAFF}, "anonymous": 302, "learner": 200},
    ),
    "learner profile API": (
        "get",
        "/api/v1/learner/profile",
        {**{r: 403 for r in STAFF}, "anonymous": 401, "learner": 200},
    ),
    # Study: the learner's own course, player, lesson file and history; staff read progress.
    "a course in the learner's plan": (
        "get",
        "/study/{year}/courses/{chosen_course}/",
        LEARNER_ONLY,
    ),
    "the lesson player": ("get", "/study/lessons/{chosen_lesson}/", LEARNER_ONLY),
    "a lesson's video": ("get", "/study/lessons/{chosen_lesson}/media/", LEARNER_ONLY),
    "study history": ("get", "/study/history/", LEARNER_ONLY),
    "start a lesson API": (
        "post",
        "/api/v1/learner/lessons/{chosen_lesson}/sessions",
        {**LEARNER_ONLY, "anonymous": 401},
    ),
    "study progress API": ("get", "/api/v1/learner/progress", {**LEARNER_ONLY, "anonymous": 401}),
    "a Jiang'an learner's study": (
        "get",
        "/staff/learners/{learner}/study/",
        row(302, 403, **ELSEWHERE_404, course_manager=403),
    ),
    # The learner's study: only learners, and only their own plans (the test learner has a
    # plan for their first required year; an unknown course in it is 404).
    "study dashboard": ("get", "/study/", LEARNER_ONLY),
    "a year's plan": ("get", "/study/{plan_year}/", LEARNER_ONLY),
    "open a year": ("post", "/study/{plan_year}/open/", {**LEARNER_ONLY, "learner": 302}),
    "choose courses": ("get", "/study/{plan_year}/choose/", LEARNER_ONLY),
    "add a course": ("post", "/study/{plan_year}/choose/add/", {**LEARNER_ONLY, "learner": 302}),
    "remove a course": (
        "post",
        "/study/{plan_year}/courses/NOPE/remove/",
        {**LEARNER_ONLY, "learner": 404},
    ),
    "year plans API": ("get", "/api/v1/learner/plans", {**LEARNER_ONLY, "anonymous": 401}),
    "a year plan API": (
        "get",
        "/api/v1/learner/plans/{plan_year}",
        {**LEARNER_ONLY, "anonymous": 401},
    ),
    "remove a course API": (
        "delete",
        "/api/v1/learner/plans/{plan_year}/courses/NOPE",
        {**LEARNER_ONLY, "anonymous": 401, "learner": 404},
    ),
    # Exams: the learner's own attempts only (another learner's answer 404, tested in exams).
    "start an exam": (
        "post",
        "/study/{year}/courses/{exam_course}/exam/start/",
        {**LEARNER_ONLY, "learner": 302},
    ),
    "exam history": ("get", "/study/exams/", LEARNER_ONLY),
    "an exam paper": ("get", "/study/exams/{attempt}/", LEARNER_ONLY),
    "save exam answers": ("post", "/study/exams/{attempt}/save/", {**LEARNER_ONLY, "learner": 302}),
    "submit an exam": ("post", "/study/exams/{attempt}/submit/", {**LEARNER_ONLY, "learner": 302}),
    "an exam result": ("get", "/study/exams/{graded_attempt}/result/", LEARNER_ONLY),
    "exam status API": (
        "get",
        "/api/v1/learner/plans/{year}/courses/{exam_course}/exam",
        {**LEARNER_ONLY, "anonymous": 401},
    ),
    "start an exam API": (
        "post",
        "/api/v1/learner/plans/{year}/courses/{exam_course}/exam/attempts",
        {**LEARNER_ONLY, "anonymous": 401},
    ),
    "exam history API": (
        "get",
        "/api/v1/learner/exam-attempts",
        {**LEARNER_ONLY, "anonymous": 401},
    ),
    "an exam paper API": (
        "get",
        "/api/v1/learner/exam-attempts/{attempt}",
        {**LEARNER_ONLY, "anonymous": 401},
    ),
    "save an exam answer API": (
        "put",
        "/api/v1/learner/exam-attempts/{attempt}/answers/1",
        {**LEARNER_ONLY, "anonymous": 401},
        {"chosen": []},
    ),
    "submit an exam API": (
        "post",
        "/api/v1/learner/exam-attempts/{attempt}/submit",
        {**LEARNER_ONLY, "anonymous": 401},
        {},
    ),
    "an exam result API": (
        "get",
        "/api/v1/learner/exam-attempts/{graded_attempt}/result",
        {**LEARNER_ONLY, "anonymous": 401},
    ),
    # The course manager's exam pages and calls (the question bank of a draft course).
    "question bank": ("get", "/staff/courses/{course}/questions/", COURSE_MANAGERS),
    "new question": ("get", "/staff/courses/{course}/questions/new/", COURSE_MANAGERS),
    "edit a question": (
        "get",
        "/staff/courses/{course}/questions/{question}/edit/",
        COURSE_MANAGERS,
    ),
    "retire a question": (
        "post",
        "/staff/courses/{course}/questions/{question}/retire/",
        COURSE_ACTIONS,
    ),
    "reuse a question": (
        "post",
        "/staff/courses/{course}/questions/{question}/reactivate/",
        COURSE_ACTIONS,
    ),
    "delete a question": (
        "post",
        "/staff/courses/{course}/questions/{question}/delete/",
        COURSE_ACTIONS,
    ),
    "exam statistics": ("get", "/staff/courses/{course}/exam-statistics/", COURSE_MANAGERS),
    "question template": ("get", "/staff/courses/question-template.xlsx", COURSE_MANAGERS),
    "export questions": ("get", "/staff/courses/{course}/questions/export.xlsx", COURSE_MANAGERS),
    "question imports": ("get", "/staff/courses/{course}/questions/import/", COURSE_MANAGERS),
    "a question import": (
        "get",
        "/staff/courses/{course}/questions/import/{question_import}/",
        COURSE_MANAGERS,
    ),
    "a question import's error rows": (
        "get",
        "/staff/courses/{course}/questions/import/{question_import}/errors.xlsx",
        COURSE_MANAGERS,
    ),
    "confirm a question import": (
        "post",
        "/staff/courses/{course}/questions/import/{question_import}/confirm/",
        COURSE_ACTIONS,
    ),
    "abandon a question import": (
        "post",
        "/staff/courses/{course}/questions/import/{question_import}/abandon/",
        COURSE_ACTIONS,
    ),
    "question bank API": (
        "get",
        "/api/v1/staff/courses/{course}/questions",
        {**COURSE_MANAGERS, "anonymous": 401},
    ),
    "a question API": (
        "get",
        "/api/v1/staff/courses/{course}/questions/{question}",
        {**COURSE_MANAGERS, "anonymous": 401},
    ),
    "add a question API": (
        "post",
        "/api/v1/staff/courses/{course}/questions",
        {**COURSE_MANAGERS, "anonymous": 401, "course_manager": 201, "superuser": 201},
        {
            "kind": "true_false",
            "text": "新题",
            "options": [{"text": "对", "correct": True}, {"text": "错"}],
        },
    ),
    "retire a question API": (
        "post",
        "/api/v1/staff/courses/{course}/questions/{question}/retire",
        {**COURSE_MANAGERS, "anonymous": 401},
    ),
    "a question import API": (
        "get",
        "/api/v1/staff/courses/{course}/question-imports/{question_import}",
        {**COURSE_MANAGERS, "anonymous": 401},
    ),
    "export questions API": (
        "get",
        "/api/v1/staff/courses/{course}/questions.xlsx",
        {**COURSE_MANAGERS, "anonymous": 401},
    ),
    "exam statistics API": (
        "get",
        "/api/v1/staff/courses/{course}/exam-statistics",
        {**COURSE_MANAGERS, "anonymous": 401},
    ),
    # The credit ledger: the learner's own credits; a learner's ledger for staff who read
    # credits in their region; reversing an entry (an unknown entry: 404 for officers).
    "my credits": ("get", "/study/credits/", LEARNER_ONLY),
    "my credits API": ("get", "/api/v1/learner/credits", {**LEARNER_ONLY, "anonymous": 401}),
    "a Jiang'an learner's credits API": (
        "get",
        "/api/v1/staff/learners/{learner}/credits",
        row(401, 403, **ELSEWHERE_404, course_manager=403, support=403),
    ),
    "reverse credits": (
        "post",
        "/staff/learners/{learner}/credits/0/reverse/",
        {**CREDIT_REVERSERS, "anonymous": 302},
    ),
    "reverse credits API": (
        "post",
        "/api/v1/staff/learners/{learner}/credits/0/reverse",
        {**CREDIT_REVERSERS, "anonymous": 401},
        {"reason": "登记有误"},
    ),
    # The public credit query: anyone, and a session changes nothing (nobody matches here).
    "public credit query": ("get", "/query/", EVERYONE),
    "public credit query API": (
        "post",
        "/api/v1/public/credit-query",
        {r: 404 for r in ROLES},
        {"id_number": "42010219800101159X", "name": "无此人"},
    ),
    "office API keys": ("get", "/staff/office-keys/", OFFICE_KEY_MANAGERS),
    "revoke an office key": (
        "post",
        "/staff/office-keys/0/revoke/",
        {**OFFICE_KEY_MANAGERS, "province_admin": 404, "superuser": 404},
    ),
    # Study rules: staff who work with learners read the rules of their region and above;
    # province and city administrators edit those in their region (Hubei is above Wuhan).
    "study rules": (
        "get",
        "/staff/rules/",
        row(302, 403, course_manager=403, support=403),
    ),
    "new Wuhan rules": (
        "get",
        "/staff/rules/420100/new/",
        row(302, 403, **POLICY_VIEWERS_ONLY, city_admin_elsewhere=404),
    ),
    "edit Hubei's 2018 rules": (
        "get",
        "/staff/rules/420000/2018/",
        row(302, 403, **POLICY_VIEWERS_ONLY, city_admin=404, city_admin_elsewhere=404),
    ),
    "Wuhan rules API": (
        "get",
        "/api/v1/staff/regions/420100/rules",
        row(401, 403, course_manager=403, support=403, city_admin_elsewhere=404),
    ),
    "set Wuhan rules API": (
        "put",
        "/api/v1/staff/regions/420100/rules/2030",
        row(401, 403, **POLICY_VIEWERS_ONLY, city_admin_elsewhere=404),
        {"heartbeat_seconds": 20},
    ),
    # No row of 2030: found by nobody, once the caller may edit Wuhan's rules at all.
    "run a recomputation of Wuhan's rules again": (
        "post",
        "/staff/rules/420100/2030/recompute/",
        row(302, 403, **POLICY_VIEWERS_ONLY, **{r: 404 for r in POLICY_EDITORS}),
    ),
    "run a recomputation of Wuhan's rules again API": (
        "post",
        "/api/v1/staff/regions/420100/rules/2030/recompute",
        row(401, 403, **POLICY_VIEWERS_ONLY, **{r: 404 for r in POLICY_EDITORS}),
        {"reason": "作业中断"},
    ),
    # Credit registration: the learner's applications; the queue for staff who read credits
    # (decisions by the district's officers); recording and imports by a district's officers
    # (the superuser has no district); the conversion table, edited by its administrators.
    "apply for credits": ("get", "/study/credits/apply/", LEARNER_ONLY),
    "a credit application form": ("get", "/study/credits/apply/exam_subject/", LEARNER_ONLY),
    "my application's evidence": (
        "get",
        "/study/credits/applications/{application}/evidence/",
        LEARNER_ONLY,
    ),
    "withdraw an application": (
        "post",
        "/study/credits/applications/0/withdraw/",
        {**LEARNER_ONLY, "learner": 404},
    ),
    "my credit applications API": (
        "get",
        "/api/v1/learner/credit-applications",
        {**LEARNER_ONLY, "anonymous": 401},
    ),
    "my conversion table API": (
        "get",
        "/api/v1/learner/credit-conversion",
        {**LEARNER_ONLY, "anonymous": 401},
    ),
    "credit applications (staff)": ("get", "/staff/credits/applications/", CREDIT_READERS),
    "a Jiang'an credit application": (
        "get",
        "/staff/credits/applications/{application}/",
        {**CREDIT_READERS, **ELSEWHERE_404},
    ),
    "a Jiang'an application's evidence": (
        "get",
        "/staff/credits/applications/{application}/evidence/",
        {**CREDIT_READERS, **ELSEWHERE_404},
    ),
    # Without the credits (approve) or a reason (reject) the page answers with its errors.
    "approve a Jiang'an application": (
        "post",
        "/staff/credits/applications/{application}/approve/",
        {**CREDIT_DECIDERS, "anonymous": 302},
    ),
    "reject a Jiang'an application": (
        "post",
        "/staff/credits/applications/{application}/reject/",
        {**CREDIT_DECIDERS, "anonymous": 302},
    ),
    "credit applications API (staff)": (
        "get",
        "/api/v1/staff/credit-applications",
        {**CREDIT_READERS, "anonymous": 401},
    ),
    "a Jiang'an credit application API": (
        "get",
        "/api/v1/staff/credit-applications/{application}",
        {**CREDIT_READERS, **ELSEWHERE_404, "anonymous": 401},
    ),
    "reject a Jiang'an application API": (
        "post",
        "/api/v1/staff/credit-applications/{application}/reject",
        {**CREDIT_DECIDERS, "anonymous": 401, "district_officer": 200, "superuser": 200},
        {"reason": "证书不清晰"},
    ),
    "record credits": ("get", "/staff/credits/record/", CREDIT_RECORDERS),
    "credit imports": ("get", "/staff/credits/imports/", CREDIT_RECORDERS),
    "credit import template": ("get", "/staff/credits/imports/template.xlsx", CREDIT_RECORDERS),
    "a Jiang'an credit import": (
        "get",
        "/staff/credits/imports/{credit_import}/",
        {**CREDIT_RECORDERS, "officer_elsewhere": 404},
    ),
    "record credits API": (
        "post",
        "/api/v1/staff/credit-entries",
        # An unknown learner: not found for the officers who may record.
        {**CREDIT_RECORDERS, "anonymous": 401, "district_officer": 404, "officer_elsewhere": 404},
        {"learner_id": 0, "year": 2025, "credits": "1", "reference": "x"},
    ),
    "a Jiang'an credit import API": (
        "get",
        "/api/v1/staff/credit-imports/{credit_import}",
        {**CREDIT_RECORDERS, "anonymous": 401, "officer_elsewhere": 404},
    ),
    # The import is still being checked: its officer is refused (422) until the check stops.
    "check a Jiang'an credit import again": (
        "post",
        "/staff/credits/imports/{credit_import}/recheck/",
        {**CREDIT_RECORDERS, "district_officer": 302, "officer_elsewhere": 404},
    ),
    "check a Jiang'an credit import again API": (
        "post",
        "/api/v1/staff/credit-imports/{credit_import}/recheck",
        {**CREDIT_RECORDERS, "anonymous": 401, "district_officer": 422, "officer_elsewhere": 404},
    ),
    "abandon a Jiang'an credit import API": (
        "post",
        "/api/v1/staff/credit-imports/{credit_import}/abandon",
        {**CREDIT_RECORDERS, "anonymous": 401, "district_officer": 422, "officer_elsewhere": 404},
    ),
    "conversion table": ("get", "/staff/credits/conversion/", CREDIT_READERS),
    "Wuhan's conversion table API": (
        "get",
        "/api/v1/staff/credit-conversion/420100/2025",
        {**CREDIT_READERS, "anonymous": 401, "city_admin_elsewhere": 404},
    ),
    "edit Wuhan's conversion table": (
        "get",
        "/staff/credits/conversion/420100/2025/paper_sole/",
        CONVERSION_EDITORS,
    ),
    "edit Wuhan's conversion table API": (
        "put",
        "/api/v1/staff/credit-conversion/420100/2025/paper_sole",
        {**CONVERSION_EDITORS, "anonymous": 401},
        {
            "credits_per_unit": "25",
            "min_credits": "10",
            "max_credits": "25",
            "detail_fields": ["title", "journal", "issn", "cn"],
        },
    ),
    # Certificates: the learner's own (a PDF, the learner API), staff who read credits in
    # their region, the batch for officers and administrators, verification for anyone.
    "my certificate": ("post", "/study/certificates/{year}/", LEARNER_ONLY),
    "my certificate API": (
        "post",
        "/api/v1/learner/certificates/{year}",
        {**LEARNER_ONLY, "anonymous": 401},
    ),
    "my certificate PDF API": (
        "get",
        "/api/v1/learner/certificates/{year}/pdf",
        {**LEARNER_ONLY, "anonymous": 401},
    ),
    "a Jiang'an learner's certificate": (
        "get",
        "/staff/learners/{learner}/certificates/{year}/",
        row(302, 403, **ELSEWHERE_404, course_manager=403, support=403),
    ),
    "a Jiang'an learner's certificate API": (
        "get",
        "/api/v1/staff/learners/{learner}/certificates/{year}/pdf",
        row(401, 403, **ELSEWHERE_404, course_manager=403, support=403),
    ),
    "certificate batch": (
        "get",
        "/staff/certificates/batch/",
        row(302, 403, course_manager=403, support=403, auditor=403),
    ),
    "Jiang'an certificate batch API": (
        "post",
        "/api/v1/staff/certificate-batches",
        {
            **{r: 202 for r in STAFF},
            **ELSEWHERE_404,
            "anonymous": 401,
            "learner": 403,
            "course_manager": 403,
            "support": 403,
            "auditor": 403,
        },
        {"district": "420102", "year": 2020},
    ),
    "verify a certificate": ("get", "/verify/{certificate}/", EVERYONE),
    "verify a certificate API": ("get", "/api/v1/certificates/{certificate}", EVERYONE),
    # Choosing a first password; a learner who has one is sent to the change page (302).
    "learner chooses a password": (
        "get",
        "/login/password/",
        {**{r: 403 for r in STAFF}, "anonymous": 302, "learner": 302},
    ),
}


@pytest.fixture
def targets(users, regions, settings, tmp_path) -> dict[str, str]:
    notice = notice_save(
        actor=Actor(user=users["city_admin"]),
        title="武汉通知",
        body="正文",
        region=regions["420100"],
        publish=True,
    )
    job = job_enqueue(
        kind=EXPORT_CONTACTS,
        actor=Actor(user=users["district_officer"]),
        region_path=regions["420102"].path,
    )
    learner = learner_collect(
        actor=Actor(user=users["district_officer"]),
        district=regions["420102"],
        details=learner_details(),
    )
    # Qualified last year: this year is the learner's first required year, open for study.
    learner.user = users["learner"]
    learner.qualification_year = timezone.localdate().year - 1
    learner.save(update_fields=["user", "qualification_year"])
    plan = year_plan_open(
        actor=Actor(user=users["learner"]), learner=learner, year=first_required_year(learner)
    )
    settings.COURSE_MEDIA_STREAM = True
    chosen = study_course(region=regions["420000"], lessons=[("video", 60)])
    chosen_lesson = chosen.lessons.get()
    chosen_lesson.video.save("lesson.mp4", ContentFile(b"\x00" * 64))
    plan_course = enrol(learner, chosen)
    # Two courses with exams, lessons complete: one attempt open, one graded.
    attempts = []
    for _number in range(2):
        exam_course = study_course(
            region=regions["420000"], lessons=[("reading", 60)], exam_required=True
        )
        make_bank(exam_course, single=2, multiple=0, true_false=0)
        exam_plan_course = complete_lessons(enrol(learner, exam_course))
        attempts.append(
            attempt_start(
                actor=Actor(user=users["learner"]), learner=learner, plan_course=exam_plan_course
            )
        )
    attempt_submit(actor=Actor(user=users["learner"]), learner=learner, attempt_id=attempts[1].pk)
    settings.MEDIA_ROOT = str(tmp_path / "media")
    people = list(import_samples.people(3))
    people[1][2] = "123"  # one row with an error, so the error file exists
    learner_import = learner_import_start(
        actor=Actor(user=users["district_officer"]),
        district=regions["420102"],
        upload=SimpleUploadedFile("people.xlsx", import_samples.xlsx_bytes(people)),
    )
    learner_import_check(learner_import=learner_import, progress=lambda *a, **k: None)
    manager = Actor(user=users["course_manager"])
    course = make_course(manager, regions["420000"], code="HB-ZY-01")
    published = make_course(manager, regions["420000"], code="HB-ZY-02", publish=True)
    video, reading = course.lessons.all()
    question = make_bank(course, single=1, multiple=0, true_false=0)[0]
    question_import = question_import_start(
        actor=manager,
        course=course,
        upload=SimpleUploadedFile(
            "bank.xlsx", xlsx([["单选题", "答案不对的题", ["甲", "乙"], "C", ""]])
        ),
    )
    application = apply_for_credits(learner, year=plan.year)
    credit_import = credit_import_start(
        actor=Actor(user=users["district_officer"]),
        district=regions["420102"],
        upload=SimpleUploadedFile("credits.csv", "身份证号,姓名\r\n".encode()),
    )
    # The learner's year complete in the ledger, with its certificate issued.
    complete_year(learner)
    certificate = certificate_issue(
        actor=Actor(user=users["learner"]), learner=learner, year=timezone.localdate().year
    )
    return {
        "application": str(application.pk),
        "credit_import": str(credit_import.pk),
        "certificate": certificate.number,
        "course": str(course.pk),
        "lesson": str(video.pk),
        "other_lesson": str(reading.pk),
        "course_code": published.code,
        "learner": str(learner.pk),
        "import": str(learner_import.pk),
        "notice": str(notice.pk),
        "job": str(job.pk),
        "officer": str(users["district_officer"].pk),
        "year": str(plan_course.plan.year),
        "chosen_course": chosen.code,
        "chosen_lesson": str(chosen_lesson.pk),
        "plan_year": str(plan.year),
        "exam_course": attempts[0].course.code,
        "attempt": str(attempts[0].pk),
        "graded_attempt": str(attempts[1].pk),
        "question": str(question.pk),
        "question_import": str(question_import.pk),
    }


@pytest.mark.parametrize("view", list(MATRIX))
@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_the_expected_answer(view, role, users, targets, client_for):
    method, url, expected, *body = MATRIX[view]
    client = client_for(None if role == "anonymous" else users[role])
    if body:  # a JSON body that a call needs, so that the body's checks pass
        response = getattr(client, method)(
            url.format(**targets), body[0], content_type="application/json"
        )
    else:
        response = getattr(client, method)(url.format(**targets))
    assert response.status_code == expected[role], (
        f"{role} on {view} ({url}): {response.status_code}, expected {expected[role]}"
    )


def test_the_matrix_names_every_role_for_every_view():
    for view, (_method, _url, expected, *_body) in MATRIX.items():
        assert set(expected) == set(ROLES), view
