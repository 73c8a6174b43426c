"""Demo notices for the home page."""

from __future__ import annotations

from cpe.core.services import Actor
from cpe.public.models import Notice
from cpe.public.services import notice_save
from cpe.regions.models import Region

NOTICES = [
    (
        "2026年度会计人员继续教育网络学习须知",
        True,
        "420100",
        """本平台为武汉市会计专业技术人员免费提供网络继续教育。

**谁需要学习**：在本市机关、企业、事业单位和社会团体从事会计工作的人员，无论是否取得会计专业技术资格。

**学分要求**：

- 每年不少于 **90 学分**（30 学时，每学时 3 学分）；
- 其中专业科目不少于 **60 学分**；
- 学分只在取得的年度有效，不能结转到以后年度。

**怎样学习**：已完成信息采集的人员登录平台，选择年度和课程，看完课程视频并通过课程考试，即可取得学分。
完成后无需到现场登记，平台会定期把完成情况报送省会计人员管理系统。

尚未进行信息采集的人员，请带单位工作证明和会计专业技术资格证书到所在区财政局办理，
联系方式见[帮助与联系方式](/help/)页面。""",
    ),
    (
        "关于补学以前年度继续教育的说明",
        False,
        "420100",
        """从 2019 年度起，因故未在当年完成继续教育的人员，可以在平台上补学该年度的课程。

补学取得的学分计入被补学的年度。请注意：**须先完成上一年度的学习，才能参加下一年度的学习**。""",
    ),
    (
        "年底学习高峰提醒",
        False,
        None,
        """每年 12 月是学习高峰。请尽早安排学习，避免在年底最后几天集中观看课程。

如遇视频无法播放或学习时长不计入，请拨打平台客服电话。""",
    ),
]


def seed(actor: Actor) -> None:
    for title, pinned, region_code, body in NOTICES:
        if Notice.objects.filter(title=title).exists():
            continue
        region = Region.objects.get(code=region_code) if region_code else None
        notice_save(actor=actor, title=title, body=body, region=region, pinned=pinned, publish=True)
