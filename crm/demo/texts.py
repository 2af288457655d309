"""What the demo's interactions, to-dos and orders say, in the words of a Chinese sales team.

Summaries are rendered once into a pool per (kind, relationship content) with random fill-ins, and
rows pick from the pool by index: millions of interactions cost no per-row formatting.
"""

import numpy as np

# Interaction kinds with their share, share of inbound contacts, and duration range in minutes
# (None: no duration, e.g. e-mail).
KINDS = [
    ("call", 44, 0.35, (3, 25)),
    ("visit", 17, 0.05, (30, 120)),
    ("email", 15, 0.4, None),
    ("meeting", 8, 0.2, (40, 150)),
    ("forum", 2, 0.0, (90, 210)),
    ("survey", 4, 0.1, (10, 40)),
    ("website", 4, 1.0, None),
    ("portal", 3, 1.0, None),
    ("other", 3, 0.5, (5, 30)),
]
KIND_CODES = [k[0] for k in KINDS]
KIND_WEIGHTS = np.array([k[1] for k in KINDS], dtype=float)
INBOUND_SHARE = np.array([k[2] for k in KINDS])
DURATION_LOW = np.array([(k[3] or (0, 0))[0] for k in KINDS])
DURATION_HIGH = np.array([(k[3] or (0, 0))[1] for k in KINDS])
HAS_DURATION = np.array([k[3] is not None for k in KINDS])

CONTENTS = ["contact", "liaison", "communication", "feedback", "cooperation", "evaluation", "adjustment"]

# Content weights per phase of the relationship: before the first order, around an order, while
# buying, after the customer stopped buying.
PHASE_CONTENT_WEIGHTS = {
    "prospect": [5, 3, 3, 1, 1, 0.3, 0.2],
    "order": [0.5, 1, 4, 1, 5, 0.5, 1],
    "buying": [1, 3, 3, 2, 2, 1.5, 1],
    "lapsed": [1, 3, 2, 3, 0.5, 1.5, 2],
}
PHASES = list(PHASE_CONTENT_WEIGHTS)

FILL = {
    "cat": ["轴承", "紧固件", "电动工具", "劳保用品", "润滑油", "阀门管件", "电气元件", "仪器仪表", "手动工具",
            "焊接材料", "切割片", "气缸"],
    "prod": ["6204深沟球轴承", "M8镀锌螺栓", "锂电冲击钻", "KN95口罩", "46号抗磨液压油", "DN50不锈钢球阀", "交流接触器",
             "数字万用表", "套筒扳手套装", "J422焊条", "树脂切割片", "标准气缸", "安全鞋", "锂基润滑脂", "小型断路器"],
    "n": ["20", "30", "50", "100", "200", "300", "500"],
    "d": ["3", "5", "7", "10", "15"],
    "pct": ["2", "3", "5", "8"],
    "who": ["采购经理", "设备主管", "技术总监", "仓库主管", "总经理", "财务"],
}

TEMPLATES = {
    "contact": [
        "初次电话联系，对方{who}接听，介绍了公司{cat}产品线，约好下周寄样品目录。",
        "通过展会名片联系上，客户目前用的是外地供应商，对本地现货{cat}感兴趣。",
        "陌拜，客户厂区在扩建，{who}留了微信，答应有需求先找我们询价。",
        "客户官网留言咨询{prod}，已回电了解用量，月需求约{n}件。",
        "老客户介绍过来的新客户，先加了微信，发了{cat}报价单。",
    ],
    "liaison": [
        "节前问候，顺便确认{cat}库存情况，客户说下月初可能补货。",
        "例行回访，了解设备运行情况，{who}反映{prod}使用正常。",
        "给{who}送了新版产品目录和台历，聊了下今年的采购计划。",
        "微信联系{who}，提醒上批{prod}的质保期快到了。",
        "邀请客户参加我们公司的新品推介会，对方表示会派人参加。",
    ],
    "communication": [
        "沟通{prod}的技术参数，客户要求提供材质证明和检测报告。",
        "客户询价{prod}{n}件，报价已发，对方在和另外两家比价。",
        "跟{who}确认交货期，客户要求{d}天内到货，已和仓库确认可以安排。",
        "讨论年度框架协议，客户希望{cat}统一打包采购，账期60天。",
        "客户对{prod}的价格有异议，解释了品牌和质保差异，对方表示再考虑。",
        "和{who}沟通下季度用量预测，预计{cat}采购量增加三成左右。",
    ],
    "feedback": [
        "客户反馈上批{prod}有{n}件包装破损，已登记，安排补发。",
        "{who}反映送货司机态度不好，已向物流部门反馈并致歉。",
        "客户反馈{prod}使用寿命比原来的品牌短，要求技术人员上门查看。",
        "客户表示对我们的响应速度满意，希望以后加急单也能当天发货。",
        "收到客户对发票开具错误的反馈，已通知财务重新开具。",
    ],
    "cooperation": [
        "客户确认订单，{prod}{n}件，要求{d}天内送到厂里。",
        "与{who}敲定本季度{cat}的采购清单，下周签合同。",
        "客户同意试用我们的{prod}，先下{n}件的小单。",
        "中标客户的年度{cat}供应项目，讨论了分批送货的安排。",
        "客户追加订单，{prod}再要{n}件，价格按上次执行。",
        "参加客户的供应商大会，确定明年继续合作，重点是{cat}。",
    ],
    "evaluation": [
        "年度供应商评估，客户给我们打了B+，扣分项是交货及时率。",
        "满意度回访：客户对产品质量满意，价格方面希望再优惠{pct}%。",
        "请{who}填写了服务满意度问卷，总体评价良好。",
        "客户内部评审，我们的{cat}进入合格供应商名录。",
        "回访了解客户对{prod}的评价，认为性价比高，会继续采购。",
    ],
    "adjustment": [
        "客户要求调整付款方式，由月结改为货到付款，已报财务审批。",
        "根据客户反馈调整了{cat}的报价，老客户统一优惠{pct}%。",
        "客户采购负责人换人，已重新对接新的{who}。",
        "客户减少了{cat}的采购量，原因是新产线推迟，约定三个月后再跟进。",
        "为客户调整送货时间到上午，避开厂区午休。",
    ],
}

# Kind-specific openings, so a visit does not read like a call.
KIND_PREFIX = {
    "call": ["电话沟通：", "", "", "电话回访："],
    "visit": ["上门拜访：", "到客户现场：", "拜访{who}："],
    "email": ["邮件往来：", "邮件："],
    "meeting": ["会议纪要：", "双方会议："],
    "forum": ["客户座谈会：邀请{n}家客户参加，", "区域客户座谈会："],
    "survey": ["问卷调研：", "客户调研："],
    "website": ["官网留言：", "在线咨询："],
    "portal": ["客户门户提交：", "门户留言："],
    "other": ["微信沟通：", "展会交流："],
}

ORDER_NOTES = ["", "", "", "", "", "", "", "", "加急，尽量当天发货", "需开增值税专用发票", "分两批送货",
               "送货前电话联系仓库", "按框架协议价格执行", "月结", "货到付款", "随货附质检报告"]

FOLLOW_UP = "跟进：{summary}"

CANCEL_REASONS = ["客户预算调整，订单取消", "客户改用其他供应商", "交货期不满足，客户取消", "重复下单，取消一张"]
RETURN_REASONS = ["规格不符，客户退货", "包装破损，整单退回", "质量问题退货", "客户项目取消，协商退货"]

KEEP_ALIVE = ["例行回访，客户暂无采购计划，保持联系。", "电话问候，客户说最近生产任务少，有需求再联系。",
              "回访老客户，对方采购负责人出差，约下月再聊。"]
CLAIMED = ["从公海领取后首次联系，重新介绍了公司和{cat}产品。", "接手客户后电话拜访，了解到客户仍在采购{cat}。"]


def _render(template, rng):
    out = template
    for key, values in FILL.items():
        token = "{" + key + "}"
        while token in out:
            out = out.replace(token, values[int(rng.integers(len(values)))], 1)
    return out


class SummaryPool:
    """``size`` rendered summaries for every (kind, content); ``pick`` returns indexes into ``texts``."""

    def __init__(self, rng: np.random.Generator, size: int = 40):
        self.size = size
        self.texts = []
        for kind in KIND_CODES:
            for content in CONTENTS:
                for _ in range(size):
                    prefix = KIND_PREFIX[kind][int(rng.integers(len(KIND_PREFIX[kind])))]
                    body = TEMPLATES[content][int(rng.integers(len(TEMPLATES[content])))]
                    self.texts.append(_render(prefix + body, rng))
        self._array = None

    @property
    def array(self):
        if self._array is None or len(self._array) != len(self.texts):
            self._array = np.array(self.texts, dtype=object)
        return self._array

    def add(self, text: str) -> int:
        """One more summary (e.g. a fixed sentence); returns its index."""
        self.texts.append(text)
        return len(self.texts) - 1

    def pick(self, rng, kind_idx, content_idx):
        return (kind_idx * len(CONTENTS) + content_idx) * self.size + rng.integers(0, self.size, size=len(kind_idx))

    def render(self, rng, template):
        return _render(template, rng)
