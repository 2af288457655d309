"""Every customer-value figure from one :class:`~.summary.CustomerSummary`, in one call.

Used by ``crm analyze`` and meant for the refresh job: scoring, tiers, both model fits and the
per-customer predictions, with the reasons a model could not be fitted kept as messages rather than
exceptions, so the descriptive figures (RFM, tiers) are available even when the data cannot support a
model (for instance when nobody has bought twice).
"""

from dataclasses import dataclass, field

import numpy as np

from . import backtest, clv, gamma_gamma, identify, quality, rfm, value

PERIODS_PER_YEAR = {"day": 365.0, "week": 365.0 / 7}


@dataclass
class Analysis:
    summary: object  # CustomerSummary
    r_score: np.ndarray
    f_score: np.ndarray
    m_score: np.ndarray
    segment: np.ndarray  # index into segment_table
    segment_table: tuple
    tier: np.ndarray  # 0 high-value, 1 general, 2 small
    thresholds: tuple
    horizon: float  # periods
    discount_rate: float  # per period
    margin: float
    bgnbd: object = None  # BGNBDFit or None
    gamma_gamma: object = None  # GammaGammaFit or None
    errors: dict = field(default_factory=dict)  # model name -> why it was not fitted (text, for the CLI)
    refusals: dict = field(default_factory=dict)  # "purchase" / "spend" -> {"code", "params"} (stored)
    model: str = quality.DEFAULT_MODEL  # the purchase model: "bgnbd" or "mbgnbd"
    timing: str = "rhythm"  # how the next purchase is dated (see quality.timing_days)
    median_gap: float | None = None  # the company's median gap between purchases, in periods
    p_alive: np.ndarray | None = None
    expected_next_period: np.ndarray | None = None
    expected_horizon: np.ndarray | None = None
    expected_spend: np.ndarray | None = None
    clv: np.ndarray | None = None
    next_purchase: np.ndarray | None = None  # periods from the as-of date (negative: overdue; NaN: one-time buyer)


def analyze(summary, *, horizon=None, annual_discount_rate=0.10, margin=1.0, thresholds=(0.80, 0.95),
            segment_table=rfm.DEFAULT_SEGMENTS, penalizer=0.0, model=quality.DEFAULT_MODEL, timing="rhythm"):
    """Score, tier and model the customers of ``summary``.

    ``horizon``: CLV horizon in periods (default one year); ``annual_discount_rate`` is turned into a
    per-period rate; ``margin``: 1 for revenue-based CLV, the gross margin rate for profit-based;
    ``model``: the purchase model ("mbgnbd" or "bgnbd"); ``timing``: how the next purchase is dated
    ("rhythm", "model" or "median_gap", see :mod:`.quality`).  A purchase-model fit that is not
    identifiable is refused (:mod:`.identify`): its figures stay empty and the reason is kept.
    """
    s = summary
    periods_per_year = PERIODS_PER_YEAR[s.period]
    if horizon is None:
        horizon = round(periods_per_year)
    rate = clv.per_period_rate(annual_discount_rate, periods_per_year)
    r_score, f_score, m_score = rfm.rfm_scores(s.days_since_last, s.transactions, s.revenue)
    result = Analysis(
        summary=s, r_score=r_score, f_score=f_score, m_score=m_score,
        segment=rfm.segments(r_score, f_score, segment_table), segment_table=segment_table,
        tier=value.tiers(s.gross_profit, thresholds), thresholds=thresholds,
        horizon=float(horizon), discount_rate=rate, margin=margin,
    )
    x, t_x, T = s.frequency, s.recency, s.T
    result.model, result.timing = model, timing
    if s.n:
        fit, refusal = quality.fit_purchase_model(model, x, t_x, T, penalizer)
    else:
        fit, refusal = None, identify.Refusal("no_history", {})
    if refusal is not None:
        result.refusals["purchase"] = refusal.as_dict()
        result.errors["bgnbd"] = str(refusal.message)
    else:
        module = quality.MODELS[model]
        with np.errstate(all="ignore"):
            next_period = module.expected_purchases(fit.params, 1.0, x, t_x, T)
            over_horizon = module.expected_purchases(fit.params, float(horizon), x, t_x, T)
        if not (np.all(np.isfinite(next_period)) and np.all(np.isfinite(over_horizon))):
            refusal = identify.Refusal("runaway", {"parameter": "E[purchases]", "value": "inf"})
            result.refusals["purchase"] = refusal.as_dict()
            result.errors["bgnbd"] = str(refusal.message)
        else:
            result.bgnbd = fit
            result.p_alive = module.p_alive(fit.params, x, t_x, T)
            result.expected_next_period, result.expected_horizon = next_period, over_horizon
    median_gap = backtest.median_gap(x, t_x)
    result.median_gap = median_gap
    days = quality.timing_days(timing, x=x, t_x=t_x, T=T, last_day=s.last_day, as_of_day=s.as_of_day,
                               period_days=s.period_days, params=result.bgnbd.params if result.bgnbd else None,
                               median_gap_periods=median_gap)
    result.next_purchase = (days - s.as_of_day) / s.period_days
    if int(np.sum(gamma_gamma.usable(x, s.monetary))) < 2:
        refusal = identify.Refusal("no_repeaters", {})
        result.refusals["spend"] = refusal.as_dict()
        result.errors["gamma_gamma"] = str(refusal.message)
    else:
        gg = gamma_gamma.fit(x, s.monetary, penalizer=penalizer)
        refusal = identify.refusal(gg, customers=gg.customers, repeaters=gg.customers)
        if refusal is not None:
            result.refusals["spend"] = refusal.as_dict()
            result.errors["gamma_gamma"] = str(refusal.message)
        elif gg.params.q <= 1:
            refusal = identify.Refusal("infinite_mean", {"q": f"{gg.params.q:.3f}"})
            result.refusals["spend"] = refusal.as_dict()
            result.errors["gamma_gamma"] = str(refusal.message)
            result.gamma_gamma = gg
        else:
            result.gamma_gamma = gg
            result.expected_spend = gamma_gamma.expected_spend(gg.params, x, s.monetary)
    if result.bgnbd is not None and result.expected_spend is not None:
        step = 1 if s.period == "week" else 7  # daily models are discounted week by week
        result.clv = clv.lifetime_value(result.bgnbd.params, result.expected_spend, x, t_x, T, horizon=horizon,
                                        discount_rate=rate, margin=margin, step=step,
                                        model=quality.MODELS[result.model])
    return result


def spend_frequency_correlation(x, monetary):
    """Pearson correlation of x and z̄ among repeat customers (Gamma-Gamma assumes it is near 0)."""
    keep = gamma_gamma.usable(x, monetary)
    if keep.sum() < 3:
        return None
    xs, zs = np.asarray(x, dtype=np.float64)[keep], np.asarray(monetary, dtype=np.float64)[keep]
    if xs.std() == 0 or zs.std() == 0:
        return None
    return float(np.corrcoef(xs, zs)[0, 1])
