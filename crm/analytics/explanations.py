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
from .stats import identify
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


# --- model checks: refused fits, the backtest and its verdicts ------------------------------------------------

class _Params(dict):
    """Message parameters: a parameter the refresh did not send reads "—" instead of failing."""

    def __missing__(self, key):
        return "—"


def _number_text(value):
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "—" if value is None else str(value)
    if number != number or number in (float("inf"), float("-inf")):
        return "—"
    if number == int(number) and abs(number) < 1e6:
        return f"{int(number):,}"
    return f"{number:.3g}" if abs(number) >= 1e6 or abs(number) < 1e-3 else f"{number:,.2f}"


# Why a fit was refused or the backtest could not run, keyed by the code the refresh stores.
MODEL_PROBLEMS = {
    **identify.MESSAGES,  # refused fits
    # the backtest
    "no_contrast": gettext_lazy("in the holdout period every customer bought again, or none did: there is "
                                "nothing to tell apart"),
}
MODEL_NAMES = {"purchase": gettext_lazy("Purchase model"), "spend": gettext_lazy("Spend model")}


def model_problem(problem):
    """``{"code", "params"}`` as a sentence in the user's language (unknown codes are named as they are)."""
    if not problem:
        return ""
    if isinstance(problem, str):
        problem = {"code": problem}
    code = problem.get("code") or ""
    params = _Params({k: _number_text(v) for k, v in (problem.get("params") or {}).items()})
    template = MODEL_PROBLEMS.get(code)
    if template is None:
        return _("reason “%(code)s”") % {"code": code}
    return str(template) % params


def refusals(results):
    """The refused fits of a snapshot's results as ``[{"key", "name", "code", "reason"}]``."""
    refused = ((results or {}).get("models") or {}).get("refusals") or {}
    return [{"key": key, "name": MODEL_NAMES.get(key, key), "code": (problem or {}).get("code", ""),
             "reason": model_problem(problem)} for key, problem in refused.items() if problem]


CHURN_RULES = {
    "model": gettext_lazy("A customer is flagged at risk when the purchase model's P(alive) is below %(threshold)s."),
    "recency": gettext_lazy("A customer is flagged at risk when the last purchase is %(days)s or more days ago "
                            "(the naive guess: it did better than the model, or the model was not fitted)."),
}
THRESHOLD_SOURCES = {
    "backtest": gettext_lazy("The threshold was chosen on the backtest."),
    "settings": gettext_lazy("The threshold comes from the analytics settings."),
    "default": gettext_lazy("The threshold is the default."),
}
TIMING_METHODS = {
    "rhythm": gettext_lazy("the customer's own rhythm (last purchase + their average gap)"),
    "model": gettext_lazy("the purchase model's median waiting time"),
    "median_gap": gettext_lazy("the company's median gap (last purchase + %(days)s days)"),
}


def churn_rule(churn):
    """How the at-risk flag of a snapshot was set, from ``results["churn"]`` ("" for older snapshots)."""
    if not churn:
        return ""
    threshold = churn.get("threshold")
    text = str(CHURN_RULES.get(churn.get("rule"), "")) % _Params(
        threshold=f"{threshold:.2f}" if isinstance(threshold, int | float) else "—",
        days=_number_text(churn.get("recency_days")))
    source = THRESHOLD_SOURCES.get(churn.get("threshold_source"))
    return f"{text} {source}" if source and text else text


def timing_method(timing):
    """How expected next purchases were dated, from ``results["timing"]`` ("" for older snapshots)."""
    if not timing or timing.get("method") not in TIMING_METHODS:
        return ""
    how = str(TIMING_METHODS[timing["method"]]) % _Params(days=_number_text(timing.get("median_gap_days")))
    return _("Next purchases are dated by %(how)s.") % {"how": how}


EXCLUSIONS = (
    ("zero_amount_orders", gettext_lazy("orders with a zero amount")),
    ("returned_orders", gettext_lazy("returned orders")),
    ("customers_without_purchase", gettext_lazy("customers with orders but no counted purchase")),
)


def exclusions(results):
    """``[(label, count)]`` of the rows a refresh did not count as purchases, and the returned amount."""
    found = (results or {}).get("exclusions") or {}
    rows = [(label, found[key]) for key, label in EXCLUSIONS if found.get(key)]
    return {"rows": rows, "returned_amount": found.get("returned_amount") or None}


# The plain-language key of the quality page: what each measure means, in one sentence.
MEASURES = (
    ("auc", gettext_lazy("AUC: the chance that a customer who did not buy in the holdout period is ranked as more "
                         "at risk than one who did (0.5 is a coin toss, 1 is perfect).")),
    ("precision", gettext_lazy("Precision: of the customers flagged at risk, the share that really bought nothing.")),
    ("recall", gettext_lazy("Recall: of the customers who really bought nothing, the share that was flagged.")),
    ("lift", gettext_lazy("Lift: precision divided by the share of all customers who bought nothing; above 1 the "
                          "flag finds lapsed customers better than picking at random.")),
    ("mae", gettext_lazy("MAE (mean absolute error): the average distance between prediction and what happened; "
                         "smaller is better.")),
)
BASELINES = {
    "churn": gettext_lazy("flag customers whose last purchase is %(days)s or more days ago"),
    "timing": gettext_lazy("last purchase plus the company's median gap between purchases (%(days)s days)"),
    "purchases": gettext_lazy("each customer's own past purchase rate carried forward"),
    "value": gettext_lazy("each customer's own past spending rate carried forward"),
}


def _pair(model, baseline, digits=2, percent_=False):
    def fmt(v):
        if not isinstance(v, int | float):
            return "—"
        return percent(v) if percent_ else f"{v:,.{digits}f}"
    return {"model": fmt(model), "baseline": fmt(baseline)}


def verdict(section, verdict_key, backtest):
    """The plain-language verdict of one quality section: ``{"key", "text"}``.  ``verdict_key`` is
    "better", "worse", "same" or "unavailable"; the sentence gives the figures it rests on and, for churn
    and timing, what the live lists use."""
    backtest = backtest or {}
    if verdict_key not in ("better", "worse", "same"):
        return {"key": "unavailable", "text": _("There is not enough data to compare the model with the naive guess "
                                                "here.")}
    if section == "churn":
        churn = backtest.get("churn") or {}
        figures = _("AUC %(model)s against %(baseline)s") % _pair(churn.get("auc"), churn.get("baseline_auc"))
        uses_model = churn.get("winner") == "model"
    elif section == "timing":
        timing = backtest.get("timing") or {}
        methods = {m.get("key"): m for m in timing.get("methods") or []}
        chosen = methods.get(timing.get("chosen")) or {}
        base = methods.get("median_gap") or {}
        figures = _("off by %(model)s days on average against %(baseline)s") % _pair(
            chosen.get("mae_days"), base.get("mae_days"), digits=1)
        uses_model = timing.get("chosen") not in (None, "median_gap")
    else:
        part = backtest.get(section) or {}
        figures = _("MAE %(model)s against %(baseline)s") % _pair(part.get("mae"), part.get("baseline_mae"))
        uses_model = None
    if verdict_key == "better":
        text = _("The model beats the naive guess: %(figures)s.") % {"figures": figures}
        if uses_model is False:
            text += " " + _("The lists still use the guess.")
    elif uses_model is None:
        text = _("The model does not beat the naive guess: %(figures)s. Read its figures with care.") % {
            "figures": figures}
    elif uses_model:
        text = _("The model does not beat the naive guess, but the lists use the model: %(figures)s.") % {
            "figures": figures}
    else:
        text = _("The model does not beat the naive guess, so the lists use the guess: %(figures)s.") % {
            "figures": figures}
    return {"key": verdict_key, "text": text}


TIMING_LABELS = {
    "rhythm": gettext_lazy("own rhythm"),
    "model": gettext_lazy("purchase model"),
    "median_gap": gettext_lazy("company median gap (naive guess)"),
}
CHURN_MODEL_LABELS = {"bgnbd": "BG/NBD", "mbgnbd": "MBG/NBD", "pareto_nbd": "Pareto/NBD"}
