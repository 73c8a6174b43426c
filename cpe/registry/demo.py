"""Demo learners collected by Jiang'an: one who has already signed in (password
`cpe-demo-2026`) and two who have not (their first sign-in's code shows in the terminal)."""

from __future__ import annotations

from cpe.accounts.demo import DEMO_PASSWORD
from cpe.accounts.models import User
from cpe.accounts.roles import Role
from cpe.accounts.services import user_create
from cpe.core.services import Actor
from cpe.regions.models import Region
from cpe.registry.services import LearnerDetails, learner_collect, learner_find_by_id_number

# ID number, name, mobile, employer, qualification level and year, user name when activated.
DEMO_LEARNERS = [
    (
        "420102198503120024",
        "张晓梅",
        "13800000001",
        "武汉长江会计师事务所（演示）",
        "intermediate",
        2015,
        "learner",
    ),
    (
        "420102199007180030",
        "李文博",
        "13800000002",
        "武汉江岸商贸有限公司（演示）",
        "junior",
        2019,
        "",
    ),
    (
        "420102197804050045",
        "王芳",
        "13800000003",
        "武汉江滩物业管理有限公司（演示）",
        "none",
        None,
        "",
    ),
]
ACTIVATED = DEMO_LEARNERS[0]
NOT_ACTIVATED = DEMO_LEARNERS[1]


def seed(actor: Actor) -> None:
    """Collect the demo learners that are missing; an existing record is left as it is."""
    district = Region.objects.get(code="420102")
    for id_number, name, mobile, employer, level, year, username in DEMO_LEARNERS:
        if learner_find_by_id_number(id_number) is not None:
            continue
        learner = learner_collect(
            actor=actor,
            district=district,
            details=LearnerDetails(
                id_number=id_number,
                name=name,
                mobile=mobile,
                employer_name=employer,
                qualification_level=level,
                qualification_year=year,
            ),
        )
        if not username:
            continue
        # The demo's activated learner keeps the user name `learner` that the README names.
        user = User.objects.filter(username=username).first() or user_create(
            actor=actor,
            username=username,
            password=DEMO_PASSWORD,
            role=Role.LEARNER,
            region=district,
            display_name=name,
        )
        learner.user = user
        learner.save(update_fields=["user", "updated_at"])
