"""Demo staff accounts, one for each staff role, all with the same password (printed by
`make run`). The demo learners are collected learners: cpe/registry/demo.py."""

from __future__ import annotations

from cpe.accounts.models import User
from cpe.accounts.roles import Role
from cpe.accounts.services import user_create
from cpe.core.services import Actor
from cpe.regions.models import Region

DEMO_PASSWORD = "cpe-demo-2026"

# user name, role, region code (or None), name
DEMO_USERS = [
    ("officer.jiangan", Role.DISTRICT_OFFICER, "420102", "江岸区财政局 李科员"),
    ("officer.hongshan", Role.DISTRICT_OFFICER, "420111", "洪山区财政局 王科员"),
    ("city.wuhan", Role.CITY_ADMIN, "420100", "武汉市会计考办 陈主任"),
    ("province.hubei", Role.PROVINCE_ADMIN, "420000", "湖北省财政厅 刘处长"),
    ("courses", Role.COURSE_MANAGER, None, "课程管理员"),
    ("support", Role.SUPPORT, None, "平台客服"),
    ("auditor", Role.AUDITOR, "420000", "审计员"),
    ("admin", Role.SUPERUSER, None, "系统管理员"),
]


def seed(actor: Actor) -> list[tuple[str, str]]:
    """Create the missing demo users; existing ones are left as they are."""
    created = []
    for username, role, region_code, name in DEMO_USERS:
        if User.objects.filter(username=username).exists():
            continue
        region = Region.objects.get(code=region_code) if region_code else None
        user_create(
            actor=actor,
            username=username,
            password=DEMO_PASSWORD,
            role=role,
            region=region,
            display_name=name,
        )
        created.append((username, str(role.label)))
    return created
