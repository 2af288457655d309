"""How each customer value figure was computed, in words: the one-line "why" of every figure on the
360° panel (:func:`explain`), the rule of each value class (:func:`class_rule`), the loyalty components
and their labels, the lifetime value bands of the distribution chart, and Kotler's table of relationship
levels.  Pure text builders over a ``CustomerMetrics`` row and the settings a snapshot used; the views
only arrange their output for the templates.
"""

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .choices import ValueClass
from .stats.rfm import SCORES

# What each loyalty component measures; weights come with the snapshot.
LOYALTY_COMPONENTS = {
    "repeat": gettext_lazy("repeat purchases"),
    "regularity": gettext_lazy("purchase regularity"),
    "share_of_wallet": gettext_lazy("share of wallet"),
    "price_insensitivity": gettext_lazy("price insensitivity (few promotion orders)"),
    "tenure": gettext_lazy("tenure"),
    "satisfaction": gettext_lazy("satisfaction"),
}


# Lifetime value bands for the distribution chart (currency units; the last band is open).
CLV_BANDS = (0, 100, 500, 1_000, 5_000, 10_000, 50_000, 100_000)


def band_label(low, high):
    """The label of the lifetime value band [low, high) (``high`` None: open-ended), e.g. "1k–5k"."""

    def short(v):
        return f"{v // 1000}k" if v >= 1000 else str(v)
    return f"{short(low)}–{short(high)}" if high is not None else f"≥ {short(low)}"


KOTLER_TABLE = (
    # (margin level, [many customers, medium, few]) — Kotler's table of relationship levels (R7.2).
    ("high", ("accountable", "proactive", "partnership")),
    ("medium", ("reactive", "accountable", "proactive")),
    ("low", ("basic", "reactive", "accountable")),
)


def class_rule(key, s):
    """The rule that puts a customer into value class ``key``, with the settings' numbers."""
    promo = percent(s.get("transaction_promo_share"))
    repeats = s.get("transaction_max_repeats")
    wallet = percent(s.get("quasi_wallet_share"))
    cost = percent(s.get("low_yield_cost_ratio"))
    rules = {
        ValueClass.TRANSACTION: _("Price-driven: at least %(promo)s of orders on promotion and at most %(n)s repeat "
                                  "purchases.") % {"promo": promo, "n": repeats},
        ValueClass.UNCLASSIFIED: _("Not a transaction customer, but only one purchase day: too little history to "
                                   "judge the relationship."),
        ValueClass.LOW_YIELD: _("Relationship customer whose cost to serve is above %(cost)s of its gross profit, "
                                "or without gross profit.") % {"cost": cost},
        ValueClass.CASH_FLOW: _("Relationship customer, profitable at a reasonable cost, with a share of wallet of "
                                "at least %(wallet)s: retain.") % {"wallet": wallet},
        ValueClass.QUASI_CASH_FLOW: _("Relationship customer, profitable at a reasonable cost, with a share of "
                                      "wallet below %(wallet)s: it also buys from competitors; grow the share.") % {
                                          "wallet": wallet},
    }
    return rules.get(key, "")


def percent(value, digits=0):
    """A share as a percentage with ``digits`` decimals ("—" when there is none)."""
    try:
        return f"{float(value) * 100:.{digits}f}%"
    except (TypeError, ValueError):
        return "—"


def loyalty_components(metrics, snapshot):
    """The loyalty components of one customer with their labels, values and the snapshot's weights."""
    loyalty = (snapshot.results or {}).get("loyalty") or {}
    weights = loyalty.get("weights") or {}
    components = metrics.loyalty_components or {}
    keys = list(weights) or [k for k in components if k in LOYALTY_COMPONENTS]
    return [{"key": key, "label": LOYALTY_COMPONENTS.get(key, key), "value": components.get(key),
             "weight": weights.get(key)} for key in keys if key in components]


def quintile_range(score):
    """A score s means the share p of customers strictly beyond lies in [(s−1)/5, s/5) (s = 5: ≥ 80%)."""
    return int((score - 1) * 100 / SCORES)


def explain(m, s):
    """One sentence per figure of ``m`` (a CustomerMetrics), in the user's language."""
    why = {}
    window = (_("in the last %(days)s days") % {"days": s.get("lookback_days")} if s.get("lookback_days")
              else _("in the whole history"))
    if m.r_score:
        days = m.days_since_last
        why["r"] = _("R %(score)s: last purchase %(days)s days ago, more recent than at least %(pct)s%% of "
                     "customers.") % {"score": m.r_score, "days": days if days is not None else "—",
                                      "pct": quintile_range(m.r_score)}
    if m.f_score:
        why["f"] = _("F %(score)s: %(n)s purchase days %(window)s, more than at least %(pct)s%% of customers.") % {
            "score": m.f_score, "n": m.transactions, "window": window, "pct": quintile_range(m.f_score)}
    if m.m_score:
        why["m"] = _("M %(score)s: revenue %(revenue)s %(window)s, more than at least %(pct)s%% of customers.") % {
            "score": m.m_score, "revenue": f"{m.revenue:,.2f}", "window": window, "pct": quintile_range(m.m_score)}
    if m.segment:
        why["segment"] = _("R %(r)s × F %(f)s falls in this segment's cells of the R×F grid.") % {
            "r": m.r_score, "f": m.f_score}
    if m.tier:
        before = m.profit_rank_share
        why["tier"] = _("Customers with a larger gross profit (%(profit)s here) bring %(share)s of all gross "
                        "profit; high-value below %(high)s, general below %(general)s.") % {
            "profit": f"{m.gross_profit:,.2f}", "share": percent(before, 1), "high": percent(s.get("high_value_share")),
            "general": percent(s.get("general_share"))}
    if m.value_class:
        why["class"] = _("%(rule)s Here: gross profit %(profit)s, share of wallet %(wallet)s, cost to serve "
                         "%(cost)s, %(promo)s of orders on promotion.") % {
            "rule": class_rule(m.value_class, s), "profit": f"{m.gross_profit:,.2f}",
            "wallet": percent(m.share_of_wallet), "cost": f"{m.cost_to_serve:,.2f}", "promo": percent(m.promo_share)}
    if m.p_alive is not None:
        why["p_alive"] = _("BG/NBD: %(x)s repeat purchases, the last %(days)s days ago; at risk below "
                           "%(threshold)s.") % {"x": m.frequency, "days": m.days_since_last,
                                                "threshold": f"{float(s.get('churn_threshold') or 0):.2f}"}
    if m.clv is not None:
        why["clv"] = _("Expected %(n)s purchases in %(months)s months × expected spend %(spend)s per purchase, "
                       "discounted at %(rate)s a year, on %(basis)s.") % {
            "n": f"{m.expected_purchases_horizon or 0:.2f}", "months": s.get("clv_horizon_months"),
            "spend": f"{m.expected_spend or 0:,.2f}", "rate": percent(s.get("annual_discount_rate")),
            "basis": _("gross margin") if s.get("clv_basis") == "margin" else _("revenue")}
    if m.loyalty is not None:
        why["loyalty"] = _("Weighted sum of the components below, 0–100.")
    if m.next_purchase_on:
        delta = (m.next_purchase_on - timezone.localdate()).days
        if m.frequency and m.first_purchase and m.last_purchase:
            gap = (m.last_purchase - m.first_purchase).days / m.frequency
            basis = _("the last purchase plus the customer's average gap of %(n)s days") % {"n": f"{gap:.0f}"}
        else:
            basis = _("the purchase model's median wait for a one-time buyer")
        if delta >= 0:
            why["next"] = _("In %(n)s days: %(basis)s.") % {"n": delta, "basis": basis}
        else:
            why["next"] = _("%(n)s days overdue: %(basis)s.") % {"n": -delta, "basis": basis}
    return why
