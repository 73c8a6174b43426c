"""Demo regions and contacts: Hubei, Wuhan and its 13 districts (GB/T 2260 codes)."""

from __future__ import annotations

from cpe.core.services import Actor
from cpe.regions.models import Region
from cpe.regions.services import (
    bureau_save,
    region_policy_save,
    region_upsert,
    support_contact_save,
)

WUHAN_DISTRICTS = [
    ("420102", "江岸区", "Jiang'an District"),
    ("420103", "江汉区", "Jianghan District"),
    ("420104", "硚口区", "Qiaokou District"),
    ("420105", "汉阳区", "Hanyang District"),
    ("420106", "武昌区", "Wuchang District"),
    ("420107", "青山区", "Qingshan District"),
    ("420111", "洪山区", "Hongshan District"),
    ("420112", "东西湖区", "Dongxihu District"),
    ("420113", "汉南区", "Hannan District"),
    ("420114", "蔡甸区", "Caidian District"),
    ("420115", "江夏区", "Jiangxia District"),
    ("420116", "黄陂区", "Huangpi District"),
    ("420117", "新洲区", "Xinzhou District"),
]

# The platform's playback help lines, as the Wuhan learning notice lists them.
SUPPORT_LINES = ["400-628-6677", "400-627-5566", "027-85777762"]

HOURS = "工作日 9:00–12:00，14:00–17:30"
HOURS_EN = "Working days 9:00–12:00 and 14:00–17:30"


def seed(actor: Actor) -> None:
    hubei = region_upsert(actor=actor, code="420000", name="湖北省", name_en="Hubei Province")
    wuhan = region_upsert(actor=actor, code="420100", name="武汉市", name_en="Wuhan", parent=hubei)
    bureau_save(
        actor=actor,
        region=wuhan,
        name="武汉市会计考办",
        name_en="Wuhan Accounting Examination Office",
        address="武汉市江岸区市民之家财政服务窗口（演示地址）",
        address_en="Finance desk, Citizens' Service Centre, Jiang'an, Wuhan (demo address)",
        phones="027-85799000",
        office_hours=HOURS,
        office_hours_en=HOURS_EN,
    )
    for number, (code, name, name_en) in enumerate(WUHAN_DISTRICTS, start=1):
        district = region_upsert(actor=actor, code=code, name=name, name_en=name_en, parent=wuhan)
        short_en = name_en.replace(" District", "")
        bureau_save(
            actor=actor,
            region=district,
            name=f"{name}财政局",
            name_en=f"{short_en} District Finance Bureau",
            address=f"武汉市{name}政务服务中心财政窗口（演示地址）",
            address_en=f"Finance desk, Government Service Centre, {name_en}, Wuhan (demo address)",
            phones=f"027-858{number:05d}",
            office_hours=HOURS,
            office_hours_en=HOURS_EN,
        )
    # Hubei's rules since 2018: 90 credits a year, 60 professional; make-up study from 2019,
    # earlier years first.
    region_policy_save(
        actor=actor, region=hubei, effective_from=2018, makeup_from=2019, sequential_years=True
    )
    for position, phone in enumerate(SUPPORT_LINES):
        support_contact_save(
            actor=actor,
            topic="playback",
            phone=phone,
            position=position,
            hours="每天 8:30–22:00",
            hours_en="Every day 8:30–22:00",
        )


def demo_region(code: str) -> Region:
    return Region.objects.get(code=code)
