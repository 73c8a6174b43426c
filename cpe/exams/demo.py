"""Demo question banks for the demo catalog's courses, so that a newcomer can take an exam.

Three courses of the demo learner's plan get real questions written for them; every other
demo course gets a small bank made from the points its reading covers. Runs after the
catalog's demo and before the learning demo; courses that already have questions are left
alone.
"""

from __future__ import annotations

from cpe.catalog import demo as catalog_demo
from cpe.catalog.models import Course
from cpe.core.services import Actor
from cpe.exams.models import Question
from cpe.exams.services import OptionIn, exam_settings_update, question_create

# kind, question, options ("+" before the text marks a correct one), explanation
BankRow = tuple[str, str, list[str], str]

SINGLE, MULTIPLE, TRUE_FALSE = "single", "multiple", "true_false"
TRUE_FALSE_OPTIONS = ("正确", "错误")

WRITTEN_BANKS: dict[str, list[BankRow]] = {
    "HB-GX-01": [
        (
            SINGLE,
            "《会计人员职业道德规范》提出的“三坚三守”中，不包括下列哪一项？",
            [
                "坚持诚信，守法奉公",
                "坚持准则，守责敬业",
                "坚持学习，守正创新",
                "+坚持效益，守成求稳",
            ],
            "“三坚三守”是：坚持诚信，守法奉公；坚持准则，守责敬业；坚持学习，守正创新。",
        ),
        (
            SINGLE,
            "单位负责人要求会计人员编造虚假会计资料，会计人员正确的做法是：",
            [
                "+拒绝办理，并按规定向有关部门报告",
                "按要求办理，责任由单位负责人承担",
                "办理后私下保留证据备查",
                "口头提醒后照常办理",
            ],
            "会计人员对违法的会计事项有权拒绝办理，并应按规定报告；照办同样要承担法律责任。",
        ),
        (
            SINGLE,
            "“坚持准则，守责敬业”主要要求会计人员：",
            [
                "+严格执行准则制度，保证会计信息真实、完整",
                "追求单位当期利润最大化",
                "尽可能少缴税款",
                "只对直接上级负责",
            ],
            "守责敬业的核心是依法依规办理会计事务，对会计信息的真实完整负责。",
        ),
        (
            SINGLE,
            "会计人员每年参加继续教育取得的学分不得少于：",
            ["+90 学分", "60 学分", "30 学分", "120 学分"],
            "每年不少于 90 学分，其中专业科目一般不少于总学分的三分之二。",
        ),
        (
            SINGLE,
            "会计人员的失信行为被记入信用记录后，可能带来的后果是：",
            [
                "+在评先评优、职称评审、资格考试等方面受到限制",
                "没有任何影响",
                "只在本单位内部通报一次",
                "一年后自动删除，不影响任何事项",
            ],
            "失信记录会作为评先评优、职称评审和考试报名等事项的参考，失信者将受到相应限制。",
        ),
        (
            MULTIPLE,
            "下列属于《会计人员职业道德规范》“三坚三守”内容的有：",
            [
                "+坚持诚信，守法奉公",
                "+坚持准则，守责敬业",
                "+坚持学习，守正创新",
                "坚持速度，守时交账",
            ],
            "“三坚三守”共三条，按时交账虽是工作要求，但不是规范的条目。",
        ),
        (
            MULTIPLE,
            "在单位诚信建设中，会计人员应当做到的有：",
            [
                "+如实记录经济业务",
                "+拒绝虚假票据入账",
                "为完成考核指标调节利润",
                "+发现违法会计行为按规定报告",
            ],
            "调节利润属于会计造假；其余三项都是会计人员维护诚信的基本做法。",
        ),
        (
            MULTIPLE,
            "下列属于会计领域严重失信行为的有：",
            [
                "+伪造、变造会计凭证",
                "+提供虚假财务会计报告",
                "按时完成继续教育",
                "+隐匿或故意销毁依法应当保存的会计资料",
            ],
            "伪造变造凭证、提供虚假报告、隐匿销毁会计资料都是会计法明令禁止的行为。",
        ),
        (
            TRUE_FALSE,
            "会计人员只要业务能力强，职业道德方面的要求可以适当放宽。",
            ["正确", "+错误"],
            "职业道德是对每一位会计人员的基本要求，与业务能力高低无关。",
        ),
        (
            TRUE_FALSE,
            "会计人员对单位违法的会计事项有权拒绝办理。",
            ["+正确", "错误"],
            "会计法赋予会计人员拒绝办理违法会计事项的权利。",
        ),
        (
            TRUE_FALSE,
            "继续教育取得的学分只在当年有效，不能结转到以后年度。",
            ["+正确", "错误"],
            "学分当年有效，超出部分不结转、不转让。",
        ),
    ],
    "HB-ZY-01": [
        (
            SINGLE,
            "收入准则规定的收入确认“五步法”中，第一步是：",
            [
                "+识别与客户订立的合同",
                "识别合同中的单项履约义务",
                "确定交易价格",
                "履行各单项履约义务时确认收入",
            ],
            "五步法依次为：识别合同、识别单项履约义务、确定交易价格、分摊交易价格、履约时确认收入。",
        ),
        (
            SINGLE,
            "企业应当在什么时点确认收入？",
            [
                "+履行了合同中的履约义务，即客户取得相关商品控制权时",
                "收到货款时",
                "签订合同时",
                "开具发票时",
            ],
            "收入准则以控制权转移为确认收入的标志，与收款、开票时点无关。",
        ),
        (
            SINGLE,
            "合同中包含两项或多项履约义务的，交易价格应当按照什么分摊至各单项履约义务？",
            [
                "+各单项履约义务所承诺商品的单独售价的相对比例",
                "各项商品成本的比例",
                "在各项履约义务之间平均分摊",
                "客户指定的比例",
            ],
            "交易价格按单独售价的相对比例分摊；单独售价无法直接观察的，应当合理估计。",
        ),
        (
            SINGLE,
            "收入准则中的“交易价格”是指：",
            [
                "+企业因向客户转让商品而预期有权收取的对价金额",
                "合同中列明的标价",
                "商品成本加合理利润",
                "已经收到的预收款项",
            ],
            "交易价格不包括代第三方收取的款项，以及企业预期将退还给客户的款项。",
        ),
        (
            SINGLE,
            "关于可变对价，下列说法正确的是：",
            [
                "+计入交易价格的可变对价，以累计已确认收入极可能不会发生重大转回的金额为限",
                "可变对价一律不计入交易价格",
                "可变对价按最高可能金额计入交易价格",
                "可变对价只能在收到款项后确认",
            ],
            "企业按期望值或最可能发生金额估计可变对价，并受“极可能不会发生重大转回”的限制。",
        ),
        (
            MULTIPLE,
            "下列属于收入确认“五步法”步骤的有：",
            [
                "+识别与客户订立的合同",
                "+确定交易价格",
                "+将交易价格分摊至各单项履约义务",
                "按发票金额确认收入",
            ],
            "按发票金额确认收入不是准则的步骤，收入以履约义务的履行为准。",
        ),
        (
            MULTIPLE,
            "满足下列哪些条件之一的，属于在某一时段内履行的履约义务？",
            [
                "+客户在企业履约的同时即取得并消耗企业履约所带来的经济利益",
                "+客户能够控制企业履约过程中在建的商品",
                "企业已经开具发票",
                "+企业履约所产出的商品具有不可替代用途，且企业有权就累计至今已完成的履约部分收取款项",
            ],
            "准则列明三种情形，满足其一即在某一时段内履行；开票与此无关。",
        ),
        (
            MULTIPLE,
            "确定交易价格时，企业应当考虑的因素有：",
            ["+可变对价", "+合同中存在的重大融资成分", "+非现金对价", "销售人员的提成比例"],
            "确定交易价格还应考虑应付客户对价；销售提成属于合同取得成本，不影响交易价格。",
        ),
        (
            TRUE_FALSE,
            "企业收到客户的预付款时，即应确认收入。",
            ["正确", "+错误"],
            "预收款项在履约前是合同负债，履行履约义务时才确认收入。",
        ),
        (
            TRUE_FALSE,
            "对于在某一时段内履行的履约义务，企业应当在该段时间内按照履约进度确认收入。",
            ["+正确", "错误"],
            "履约进度不能合理确定的，已经发生的成本预计能够得到补偿时，按已发生成本确认收入。",
        ),
        (
            TRUE_FALSE,
            "合同变更一律作为原合同的组成部分进行会计处理。",
            ["正确", "+错误"],
            "合同变更视情况作为单独合同、终止原合同并订立新合同，或作为原合同的组成部分处理。",
        ),
    ],
    "HB-ZY-02": [
        (
            SINGLE,
            "在租赁期开始日，承租人应当对租赁确认：",
            ["+使用权资产和租赁负债", "仅确认租金费用", "固定资产", "长期待摊费用"],
            "新租赁准则下承租人不再区分融资租赁和经营租赁，统一确认使用权资产和租赁负债。",
        ),
        (
            SINGLE,
            "租赁负债应当按照什么进行初始计量？",
            [
                "+租赁期开始日尚未支付的租赁付款额的现值",
                "租赁付款额的总额（不折现）",
                "租赁资产的公允价值",
                "首期租金金额",
            ],
            "折现率采用租赁内含利率；无法确定的，采用承租人增量借款利率。",
        ),
        (
            SINGLE,
            "对于短期租赁和低价值资产租赁，承租人可以选择：",
            [
                "+不确认使用权资产和租赁负债，租赁付款额在租赁期内按直线法等计入成本或损益",
                "必须确认使用权资产和租赁负债",
                "将全部租赁付款额一次计入当期损益",
                "作为融资租入固定资产核算",
            ],
            "这是准则给出的简化处理，选择后应当一致运用。",
        ),
        (
            SINGLE,
            "短期租赁是指在租赁期开始日，租赁期不超过多长时间的租赁？",
            ["+12 个月", "6 个月", "24 个月", "36 个月"],
            "租赁期不超过 12 个月的为短期租赁；包含购买选择权的租赁不属于短期租赁。",
        ),
        (
            SINGLE,
            "出租人应当在租赁开始日将租赁分为：",
            [
                "+融资租赁和经营租赁",
                "短期租赁和长期租赁",
                "动产租赁和不动产租赁",
                "内部租赁和外部租赁",
            ],
            "出租人仍按风险和报酬是否实质转移，区分融资租赁和经营租赁。",
        ),
        (
            MULTIPLE,
            "使用权资产的初始成本包括：",
            [
                "+租赁负债的初始计量金额",
                "+在租赁期开始日或之前支付的租赁付款额（扣除已享受的租赁激励）",
                "+承租人发生的初始直接费用",
                "租赁期内预计发生的水电费",
            ],
            "还包括拆卸、移除租赁资产及复原等预计将发生的成本；水电费属于日常费用。",
        ),
        (
            MULTIPLE,
            "判断一项合同是否为租赁或者包含租赁，应当考虑：",
            [
                "+是否存在已识别资产",
                "+客户是否有权获得使用期间因使用该资产所产生的几乎全部经济利益",
                "+客户是否有权主导该资产的使用",
                "合同是否约定了押金",
            ],
            "租赁的识别看已识别资产和对其使用的控制，押金与此无关。",
        ),
        (
            MULTIPLE,
            "下列情形中，承租人应当重新计量租赁负债的有：",
            [
                "+实质固定付款额发生变动",
                "+租赁期发生变化",
                "+购买选择权的评估结果发生变化",
                "市场利率小幅波动而租赁付款额未变",
            ],
            "租赁付款额未变时，市场利率的变动不引起租赁负债的重新计量。",
        ),
        (
            TRUE_FALSE,
            "承租人应当对使用权资产计提折旧。",
            ["+正确", "错误"],
            "能够合理确定租赁期届满时取得所有权的，在资产剩余使用寿命内计提折旧。",
        ),
        (
            TRUE_FALSE,
            "新租赁准则下，承租人对经营租赁仍将租金直接计入费用，不确认资产和负债（短期和低价值租赁除外）。",
            ["正确", "+错误"],
            "承租人不再区分经营租赁和融资租赁，除简化处理外都确认使用权资产和租赁负债。",
        ),
        (
            TRUE_FALSE,
            "出租人对融资租赁应当在租赁期开始日确认应收融资租赁款，并终止确认融资租赁资产。",
            ["+正确", "错误"],
            "应收融资租赁款按租赁投资净额作为入账价值。",
        ),
    ],
}


def _generated_bank(code: str, title: str, points: list[str], others: list[str]) -> list[BankRow]:
    """A small bank from the points a course's reading covers; the wrong options are the
    points of other demo courses."""
    covered = "；".join(points)
    return [
        (
            SINGLE,
            f"下列哪一项是《{title}》第 {index + 1} 讲的要点？",
            [f"+{points[index]}", *others[index * 3 : index * 3 + 3]],
            f"本课程各讲的要点依次是：{covered}。",
        )
        for index in range(2)
    ] + [
        (
            MULTIPLE,
            f"下列哪些是《{title}》讲授的要点？",
            [f"+{points[2]}", others[6], f"+{points[3]}", others[7]],
            f"本课程各讲的要点依次是：{covered}。",
        ),
        (
            TRUE_FALSE,
            f"学完《{title}》的全部课时并通过考试，才能取得本课程的学分。",
            ["+正确", "错误"],
            "课程完成的条件是全部课时学完且考试合格；没有考试的课程，学完即完成。",
        ),
        (
            TRUE_FALSE,
            f"《{title}》取得的学分可以结转到下一年度使用。",
            ["正确", "+错误"],
            "学分只在取得的年度有效，不结转到以后年度。",
        ),
    ]


def _options(marked: list[str]) -> list[OptionIn]:
    return [OptionIn(text.lstrip("+"), is_correct=text.startswith("+")) for text in marked]


def bank_for(code: str) -> list[BankRow]:
    if code in WRITTEN_BANKS:
        return WRITTEN_BANKS[code]
    rows = {row[0]: row for row in catalog_demo.DEMO_COURSES}
    _code, title, *_rest, points = rows[code]
    others = [point for other, row in rows.items() if other != code for point in row[-1]]
    # A different slice of the other courses' points for each course.
    start = (sum(map(ord, code)) * 7) % len(others)
    rotated = others[start:] + others[:start]
    return _generated_bank(code, title, points, rotated)


def seed(actor: Actor) -> list[Course]:
    """Give each demo course without questions its bank, and switch its exam on."""
    seeded = []
    for row in catalog_demo.DEMO_COURSES:
        course = Course.objects.filter(code=row[0]).first()
        if course is None or Question.objects.filter(course=course).exists():
            continue
        for kind, text, marked, explanation in bank_for(course.code):
            question_create(
                actor=actor,
                course=course,
                kind=kind,
                text=text,
                options=_options(marked),
                explanation=explanation,
            )
        if not course.exam_required:
            exam_settings_update(actor=actor, course=course, exam_required=True, values={})
        seeded.append(course)
    return seeded
