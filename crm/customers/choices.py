from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

# The kinds of timeline event and to-do the customers app contributes (registered in apps.py).
OWNERSHIP_EVENT = "ownership"
POOL_WARNING_TODO = "pool_warning"


class CustomerKind(models.TextChoices):
    COMPANY = "company", _("company")
    INDIVIDUAL = "individual", _("individual")


class CustomerStatus(models.TextChoices):
    PROSPECT = "prospect", _("prospect")
    ACTIVE = "active", pgettext_lazy("customer status", "active")
    DORMANT = "dormant", _("dormant")
    LOST = "lost", _("lost")


class CustomerType(models.TextChoices):
    """Seed 000: transaction customers buy on price alone; relationship customers stay (R5.3)."""

    UNKNOWN = "unknown", _("not classified")
    TRANSACTION = "transaction", _("transaction customer")
    RELATIONSHIP = "relationship", _("relationship customer")


class Source(models.TextChoices):
    REFERRAL = "referral", _("referral")
    WEBSITE = "website", _("website")
    EXHIBITION = "exhibition", _("trade show")
    COLD_CALL = "cold_call", _("cold call")
    ADVERTISING = "advertising", _("advertising")
    PARTNER = "partner", _("channel partner")
    EXISTING = "existing", _("existing relationship")
    OTHER = "other", _("other")


class Industry(models.TextChoices):
    MANUFACTURING = "manufacturing", _("manufacturing")
    WHOLESALE_RETAIL = "wholesale_retail", _("wholesale and retail")
    CONSTRUCTION = "construction", _("construction")
    ENERGY = "energy", _("energy and utilities")
    LOGISTICS = "logistics", _("transport and logistics")
    IT = "it", _("information technology")
    TELECOM = "telecom", _("telecommunications")
    FINANCE = "finance", _("finance and insurance")
    REAL_ESTATE = "real_estate", _("real estate")
    HEALTHCARE = "healthcare", _("healthcare")
    EDUCATION = "education", _("education")
    HOSPITALITY = "hospitality", _("hotels and catering")
    AGRICULTURE = "agriculture", _("agriculture")
    GOVERNMENT = "government", _("government and public bodies")
    OTHER = "other", _("other")


class PurchaseRole(models.TextChoices):
    DECISION_MAKER = "decision_maker", _("decision maker")
    INFLUENCER = "influencer", _("influencer")
    BUYER = "buyer", _("buyer")
    USER = "user", pgettext_lazy("purchase role", "user")
    GATEKEEPER = "gatekeeper", _("gatekeeper")
    FINANCE = "finance", _("finance / payment")
    OTHER = "other", _("other")


class RelationshipLevel(models.TextChoices):
    """Kotler's five levels of relationship (seed 003, R7.1)."""

    BASIC = "basic", _("basic")
    REACTIVE = "reactive", _("reactive")
    ACCOUNTABLE = "accountable", _("accountable")
    PROACTIVE = "proactive", _("proactive")
    PARTNERSHIP = "partnership", _("partnership")


# The 34 provincial-level divisions of China, by their usual short form in addresses.
PROVINCES = [
    "北京市", "天津市", "上海市", "重庆市", "河北省", "山西省", "辽宁省", "吉林省", "黑龙江省",
    "江苏省", "浙江省", "安徽省", "福建省", "江西省", "山东省", "河南省", "湖北省", "湖南省",
    "广东省", "海南省", "四川省", "贵州省", "云南省", "陕西省", "甘肃省", "青海省", "台湾省",
    "内蒙古自治区", "广西壮族自治区", "西藏自治区", "宁夏回族自治区", "新疆维吾尔自治区",
    "香港特别行政区", "澳门特别行政区",
]
Province = models.TextChoices("Province", [(p, p) for p in PROVINCES])
