"""A demo catalog for Hubei: public and professional courses offered from 2019 to this year,
each with a short real video (cpe/catalog/demo_media/) and reading material, published
through the same services a course manager uses (so each passes the length check)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from django.core.files import File
from django.utils import timezone

from cpe.catalog.models import Course, Lesson
from cpe.catalog.services import CourseDetails, course_create, course_publish, lesson_add
from cpe.core.services import Actor
from cpe.regions.models import Region

DEMO_MEDIA = Path(__file__).resolve().parent / "demo_media"
PROVINCE = "420000"
MAKEUP_FROM = 2019
ALL = ()

# code, title, category, class hours, instructor, levels (empty: all), first year, summary,
# the points each class hour's reading covers.
DEMO_COURSES: list[tuple[str, str, str, int, str, tuple[str, ...], int, str, list[str]]] = [
    (
        "HB-GX-01",
        "会计职业道德与诚信建设",
        "public",
        2,
        "周立群",
        ALL,
        MAKEUP_FROM,
        "会计人员职业道德规范的内容、典型失信案例的教训，以及单位诚信建设的做法。",
        ["坚持诚信、守法奉公", "坚持准则、守责敬业", "坚持学习、守正创新", "失信惩戒与信用记录"],
    ),
    (
        "HB-GX-02",
        "《中华人民共和国会计法》修订要点",
        "public",
        2,
        "陈敏",
        ALL,
        2024,
        "2024 年修订的会计法在会计信息质量、内部控制和法律责任方面的主要变化。",
        ["修订背景与总体思路", "单位负责人的责任", "会计监督与内部控制", "法律责任的加重"],
    ),
    (
        "HB-GX-03",
        "数字化转型与财务共享服务",
        "public",
        2,
        "刘洋",
        ALL,
        MAKEUP_FROM,
        "财务共享中心的建设路径、流程再造和数字化工具在日常核算中的应用。",
        ["财务共享的模式选择", "流程标准化与再造", "电子发票与电子会计档案", "数据治理"],
    ),
    (
        "HB-GX-04",
        "数据安全与个人信息保护",
        "public",
        2,
        "王建华",
        ALL,
        2021,
        "财务工作中涉及的数据安全法、个人信息保护法要求与日常防护措施。",
        ["数据分类分级", "个人信息处理规则", "常见泄露场景与防护", "应急处置"],
    ),
    (
        "HB-GX-05",
        "内部控制基本规范导读",
        "public",
        2,
        "赵琳",
        ALL,
        MAKEUP_FROM,
        "企业内部控制基本规范的五要素，以及在中小单位落地的简便做法。",
        ["内部环境", "风险评估与控制活动", "信息与沟通", "内部监督"],
    ),
    (
        "HB-GX-06",
        "人工智能在财务工作中的应用",
        "public",
        2,
        "孙浩",
        ALL,
        2024,
        "大模型与自动化工具在报销审核、对账、报表分析中的用法与风险边界。",
        ["可以交给机器的工作", "提示词与结果核对", "自动化对账实例", "风险与责任"],
    ),
    (
        "HB-ZY-01",
        "企业会计准则第 14 号——收入",
        "professional",
        3,
        "李明",
        ("junior", "intermediate", "senior", "professor"),
        MAKEUP_FROM,
        "收入确认五步法模型逐步讲解，配合合同识别、履约义务拆分的实务案例。",
        ["识别与客户订立的合同", "识别单项履约义务", "确定并分摊交易价格", "履约进度与收入确认"],
    ),
    (
        "HB-ZY-02",
        "企业会计准则第 21 号——租赁",
        "professional",
        3,
        "黄蓉",
        ("intermediate", "senior", "professor"),
        MAKEUP_FROM,
        "承租人使用权资产和租赁负债的计量、租赁变更与转租的会计处理。",
        ["租赁的识别与分拆", "使用权资产与租赁负债", "租赁变更", "出租人的会计处理"],
    ),
    (
        "HB-ZY-03",
        "金融工具确认和计量",
        "professional",
        4,
        "吴刚",
        ("intermediate", "senior", "professor"),
        MAKEUP_FROM,
        "金融资产三分类、预期信用损失模型和套期会计的要点与常见误区。",
        ["金融资产的分类", "摊余成本与实际利率法", "预期信用损失", "金融负债与权益工具"],
    ),
    (
        "HB-ZY-04",
        "增值税政策与实务",
        "professional",
        3,
        "郑晓",
        ALL,
        MAKEUP_FROM,
        "增值税税率、进项抵扣、留抵退税政策及申报表填报实务。",
        ["纳税人与税率", "进项税额抵扣", "留抵退税", "申报表填报"],
    ),
    (
        "HB-ZY-05",
        "企业所得税汇算清缴",
        "professional",
        3,
        "钱进",
        ALL,
        MAKEUP_FROM,
        "汇算清缴的流程、常见纳税调整项目和优惠政策的享受条件。",
        ["收入类调整", "扣除类调整", "资产类调整", "税收优惠"],
    ),
    (
        "HB-ZY-06",
        "政府会计制度实务",
        "professional",
        3,
        "冯雪",
        ALL,
        MAKEUP_FROM,
        "行政事业单位财务会计与预算会计“平行记账”的核算方法与报表编制。",
        ["双功能、双基础、双报告", "平行记账", "年末结转", "报表编制"],
    ),
    (
        "HB-ZY-07",
        "管理会计工具：全面预算管理",
        "professional",
        2,
        "何静",
        ("intermediate", "senior", "professor"),
        MAKEUP_FROM,
        "全面预算的编制、执行、调整与考核，结合制造企业案例。",
        ["预算编制方法", "预算执行与控制", "预算调整", "预算考核"],
    ),
    (
        "HB-ZY-08",
        "合并财务报表编制",
        "professional",
        4,
        "高峰",
        ("intermediate", "senior", "professor"),
        MAKEUP_FROM,
        "合并范围的确定、内部交易抵销和长期股权投资与权益的抵销分录。",
        ["合并范围与控制", "调整分录", "内部交易抵销", "合并现金流量表"],
    ),
    (
        "HB-ZY-09",
        "财务报表分析",
        "professional",
        2,
        "林珊",
        ALL,
        MAKEUP_FROM,
        "偿债能力、营运能力、盈利能力指标的计算与解读，识别报表异常信号。",
        ["偿债能力分析", "营运能力分析", "盈利能力分析", "异常信号"],
    ),
    (
        "HB-ZY-10",
        "行政事业单位内部控制",
        "professional",
        2,
        "罗兰",
        ALL,
        MAKEUP_FROM,
        "单位层面和业务层面内部控制的建设要求与评价方法。",
        ["单位层面控制", "预算与收支控制", "采购与资产控制", "内部控制评价"],
    ),
    (
        "HB-ZY-11",
        "个人所得税专项附加扣除",
        "professional",
        2,
        "谢东",
        ("none", "junior", "intermediate"),
        MAKEUP_FROM,
        "综合所得预扣预缴、专项附加扣除项目和年度汇算的办理要点。",
        ["综合所得的计算", "专项附加扣除", "预扣预缴", "年度汇算"],
    ),
    (
        "HB-ZY-12",
        "小企业会计准则实务",
        "professional",
        2,
        "韩梅",
        ("none", "junior"),
        MAKEUP_FROM,
        "小企业会计准则下常见业务的核算与报表编制，适合基层会计人员。",
        ["资产的核算", "负债与所有者权益", "收入、费用与利润", "财务报表"],
    ),
]


def _reading_text(title: str, hour: int, points: list[str]) -> str:
    lines = [f"## {title}：第 {hour} 讲", "", "本讲要点：", ""]
    lines += [f"- {point}" for point in points]
    lines += [
        "",
        "请在本页停留学习，达到最短学习时间后本讲即完成。学习时请对照讲义整理笔记，"
        "遇到与本单位业务相关的内容，可结合实际做法思考。",
        "",
        "> 本讲义为演示数据。",
    ]
    return "\n".join(lines)


def seed(actor: Actor) -> list[Course]:
    """Create and publish the demo courses that are missing; existing ones are left alone."""
    province = Region.objects.get(code=PROVINCE)
    this_year = timezone.localdate().year
    made = []
    for code, title, category, hours, instructor, levels, first, summary, points in DEMO_COURSES:
        if Course.objects.filter(code=code).exists():
            continue
        course = course_create(
            actor=actor,
            region=province,
            details=CourseDetails(
                code=code,
                title=title,
                category=category,
                class_hours=Decimal(hours),
                instructor=instructor,
                summary=summary,
                target_levels=levels,
                years=tuple(range(first, this_year + 1)),
            ),
        )
        with (DEMO_MEDIA / f"{code.lower()}.mp4").open("rb") as handle:
            lesson_add(
                actor=actor,
                course=course,
                title="导学视频",
                kind=Lesson.Kind.VIDEO,
                video=File(handle, name=f"{code.lower()}.mp4"),
            )
        for hour in range(1, hours + 1):
            lesson_add(
                actor=actor,
                course=course,
                title=f"第 {hour} 讲 讲义",
                kind=Lesson.Kind.READING,
                reading_text=_reading_text(title, hour, points),
                minimum_minutes=45,
            )
        made.append(course_publish(actor=actor, course=course))
    return made
