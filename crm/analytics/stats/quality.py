"""How good are these predictions?  Every prediction backtested on the company's own history.

The history is split at a past date (the *calibration end*, ``holdout_months`` before the as-of date).
The models are fitted on what was known at the split — each customer's purchases up to it — and their
predictions for the *holdout* (the split, the as-of date] are compared with what the customers then did,
each beside a naive guess that needs no model:

* **Churn / at risk** — the activity score P(alive) of each candidate purchase model (BG/NBD, which
  never doubts a one-time buyer, and MBG/NBD, in which a customer can also lapse right after the first
  purchase) against "did not buy again in the holdout", measured by AUC; the naive guess ranks customers
  by days since their last purchase (a recency-only rule).  The better model is the live churn model;
  the at-risk threshold is the one that best separates buyers from non-buyers on the split (maximum of
  sensitivity + specificity − 1, Youden's J), with its precision, recall and lift.  When the model does
  not beat the recency rule, the live flag *is* the recency rule with its own threshold in days.
* **Next-purchase timing** — for repeat customers who bought in the holdout, the days from the split to
  their first purchase in it against three predictions: the customer's own rhythm (last purchase + mean
  gap), the purchase model's median waiting time, and the naive guess (last purchase + the company's
  median gap).  Overdue predictions count as "due now".  The live lists use the one with the lowest
  mean absolute error.  One-time buyers have no rhythm: they get no date ("no pattern yet").
* **Purchases in the holdout** — expected repeat purchases against actual ones, by number of repeat
  purchases before the split (the conditional-expectation chart of Fader, Hardie & Lee 2005), beside
  the customer's own past rate carried forward.
* **Value in the holdout** — expected purchases × Gamma-Gamma expected spend against actual revenue, by
  decile of the prediction, beside the customer's own past revenue rate carried forward.

The naive rates use the customer's age at the split, but never less than the holdout length, so that a
customer who first bought a week before the split is not projected at 26 purchases in half a year.
"""

from dataclasses import dataclass

import numpy as np

from . import backtest, bgnbd, gamma_gamma, identify, mbgnbd
from .summary import _as_of_day, summarize, to_days

MODELS = {"bgnbd": bgnbd, "mbgnbd": mbgnbd}
DEFAULT_MODEL = "mbgnbd"
TIMING_BASELINE = "median_gap"
TIMING_METHODS = ("rhythm", "model", TIMING_BASELINE)
CHURN_MARGIN = 0.005  # the model must beat the recency rule's AUC by more than this to replace it


@dataclass
class Split:
    """Per-customer arrays at the split (only customers who had bought by then) and what happened after.

    ``x``, ``t_x``, ``T`` in periods; ``last_day`` and ``split_day`` in days since the epoch;
    ``monetary`` the mean repeat spend before the split; ``revenue`` the revenue before it;
    ``bought`` purchase days in the holdout; ``first_after`` days from the split to the first of them
    (NaN when none); ``revenue_after`` the holdout's revenue."""

    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    last_day: np.ndarray
    monetary: np.ndarray
    revenue: np.ndarray
    bought: np.ndarray
    first_after: np.ndarray
    revenue_after: np.ndarray
    split_day: int
    horizon: float  # holdout length in periods
    period_days: int

    @property
    def n(self):
        return len(self.x)

    def sample(self, size, seed=0):
        """A uniform random sample of ``size`` customers (fixed seed: the same data gives the same sample)."""
        if size >= self.n:
            return self
        pick = np.sort(np.random.default_rng(seed).choice(self.n, size=size, replace=False))
        fields = ("x", "t_x", "T", "last_day", "monetary", "revenue", "bought", "first_after", "revenue_after")
        return Split(**{f: getattr(self, f)[pick] for f in fields}, split_day=self.split_day,
                     horizon=self.horizon, period_days=self.period_days)


def split_transactions(customer, date, amount, *, split, as_of=None, period="week"):
    """A :class:`Split` from parallel transaction arrays (as :func:`.summary.summarize` takes them): the
    customers who had bought by ``split``, summarised up to it, and their purchase days (days whose net
    amount is above zero), first purchase and revenue in (split, as_of]."""
    customer = np.asarray(customer)
    days = to_days(date)
    amount = np.asarray(amount, dtype=np.float64)
    split_day = _as_of_day(split)
    as_of_day = int(days.max()) if as_of is None else _as_of_day(as_of)
    if as_of_day <= split_day:
        raise ValueError("the as-of date must come after the split")
    cal = summarize(customer, days, amount, as_of=split_day, period=period)
    after = (days > split_day) & (days <= as_of_day)
    ids, c_days, c_amount = customer[after], days[after], amount[after]
    pos = np.searchsorted(cal.customer, ids) if cal.n else np.zeros(len(ids), dtype=np.int64)
    pos_ok = np.minimum(pos, max(cal.n - 1, 0))
    known = (pos < cal.n) & (cal.customer[pos_ok] == ids) if cal.n else np.zeros(len(ids), dtype=bool)
    pos, c_days, c_amount = pos[known].astype(np.int64), c_days[known], c_amount[known]
    revenue_after = np.bincount(pos, weights=c_amount, minlength=cal.n)
    # Net each customer-day; a day above zero is a purchase.
    span = as_of_day - split_day + 1
    key, inverse = np.unique(pos * span + (c_days - split_day), return_inverse=True)
    net = np.bincount(inverse.reshape(-1), weights=c_amount, minlength=len(key))
    bought_key = key[net > 0]
    who, offset = bought_key // span, bought_key % span
    bought = np.bincount(who, minlength=cal.n).astype(np.int64)
    first_after = np.full(cal.n, np.nan)
    np.fmin.at(first_after, who, offset.astype(np.float64))
    return Split(x=cal.frequency, t_x=cal.recency, T=cal.T, last_day=cal.last_day.astype(np.float64),
                 monetary=cal.monetary, revenue=cal.revenue, bought=bought, first_after=first_after,
                 revenue_after=revenue_after, split_day=split_day,
                 horizon=(as_of_day - split_day) / cal.period_days, period_days=cal.period_days)


def median_wait(params, x, T):
    """The purchase model's median time to the next purchase of an active customer, in periods: the
    posterior rate is Gamma(r+x, α+T), so P(no purchase in t) = ((α+T)/(α+T+t))^(r+x) and the median is
    (α+T)(2^(1/(r+x)) − 1).  Memoryless: it says "how soon", never "overdue"."""
    r, alpha = params.r, params.alpha
    return (alpha + np.asarray(T, dtype=np.float64)) * np.expm1(np.log(2.0) / (r + np.asarray(x, dtype=np.float64)))


def timing_days(method, *, x, t_x, T, last_day, as_of_day, period_days, params=None, median_gap_periods=None):
    """Expected next purchase as days since the epoch (NaN for one-time buyers, and where the method
    cannot say).  ``rhythm``: last purchase + the customer's mean gap; ``median_gap``: last purchase +
    the company's median gap; ``model``: the as-of date + the model's median waiting time."""
    x = np.asarray(x, dtype=np.float64)
    repeat = x > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "rhythm":
            offset = np.where(repeat, np.asarray(t_x) / x * period_days, np.nan)
            day = last_day + offset
        elif method == TIMING_BASELINE:
            gap = np.nan if median_gap_periods is None else median_gap_periods * period_days
            day = np.where(repeat, last_day + gap, np.nan)
        elif method == "model":
            if params is None:
                return np.full(len(x), np.nan)
            day = np.where(repeat, as_of_day + median_wait(params, x, T) * period_days, np.nan)
        else:
            raise ValueError(f"unknown timing method {method!r}")
    return np.rint(np.asarray(day, dtype=np.float64))


def fit_purchase_model(name, x, t_x, T, penalizer=0.0):
    """``(fit, refusal)`` of the named purchase model on (x, t_x, T)."""
    customers, repeaters = len(x), int(np.sum(x > 0))
    if repeaters == 0 or not np.any(T > 0):
        return None, identify.Refusal("no_repeaters", {})
    try:
        fit = MODELS[name].fit(x, t_x, T, penalizer=penalizer)
    except (ValueError, FloatingPointError, np.linalg.LinAlgError):
        return None, identify.Refusal("not_converged", {})
    return fit, identify.refusal(fit, customers=customers, repeaters=repeaters)


def run(split, *, models=tuple(MODELS), penalizer=0.0, sample_size=None):
    """Backtest every prediction on ``split`` (a :class:`Split`); a JSON-ready dict (see the module)."""
    out = {"customers": int(split.n), "horizon_periods": float(split.horizon), "sample": None, "error": None}
    if sample_size and split.n > sample_size:
        out["sample"] = {"size": int(sample_size), "of": int(split.n)}
        split = split.sample(sample_size)
    s = split
    lapsed = s.bought == 0
    if s.n < identify.MIN_CUSTOMERS:  # too few to measure anything, let alone choose a threshold
        out["error"] = {"code": "too_few_customers", "params": {"n": int(s.n), "min": identify.MIN_CUSTOMERS}}
        return out
    if lapsed.all() or not lapsed.any():
        out["error"] = {"code": "no_contrast", "params": {"n": int(s.n)}}
        return out

    # --- churn: each candidate model's P(alive) against "did not buy again" --------------------------
    days_since = (s.split_day - s.last_day).astype(np.float64)
    candidates, fits = [], {}
    for name in models:
        fit, refusal = fit_purchase_model(name, s.x, s.t_x, s.T, penalizer)
        entry = {"model": name, "auc": None, "refusal": refusal.as_dict() if refusal else None}
        if refusal is None:
            p = MODELS[name].p_alive(fit.params, s.x, s.t_x, s.T)
            entry["auc"] = backtest.auc(p, ~lapsed)
            fits[name] = (fit, p)
        candidates.append(entry)
    usable = [c for c in candidates if c["auc"] is not None]
    best = max(usable, key=lambda c: c["auc"])["model"] if usable else None
    model_score = fits[best][1] if best else np.zeros(s.n)  # no model: a constant score, the rule wins
    compared = backtest.churn_comparison(model_score, -days_since, lapsed, margin=CHURN_MARGIN)
    model_side, base_side = compared["model"], compared["baseline"]
    base_threshold = base_side.get("threshold")
    out["churn"] = {
        "models": candidates, "model": best, "lapsed_share": float(lapsed.mean()),
        "auc": model_side["auc"] if best else None, "baseline_auc": base_side["auc"],
        "winner": compared["winner"] if best else "baseline",
        "threshold": model_side.get("threshold") if best else None,
        # the rule flags "score ≤ t" with score = −days: days since the last purchase ≥ −t
        "baseline_threshold_days": None if base_threshold is None else float(-base_threshold),
        "flag": model_side["flag"] if best else None, "baseline_flag": base_side["flag"],
        "lift_over_baseline": compared["lift_over_baseline"] if best else None,
    }

    # --- timing: repeat customers who bought in the holdout ---------------------------------------------
    gap = backtest.median_gap(s.x, s.t_x)
    params = fits[best][0].params if best else None
    preds = {}
    for method in TIMING_METHODS:
        if method == "model" and params is None:
            continue  # no purchase model: nothing to compare
        day = timing_days(method, x=s.x, t_x=s.t_x, T=s.T, last_day=s.last_day, as_of_day=s.split_day,
                          period_days=s.period_days, params=params, median_gap_periods=gap)
        preds[method] = day - s.split_day
    mask = (s.x > 0) & np.isfinite(s.first_after)
    timing = backtest.compare_timing(preds, s.first_after, mask, baseline=TIMING_BASELINE)
    timing["median_gap_days"] = None if gap is None else float(gap * s.period_days)
    out["timing"] = timing

    # --- purchases and value in the holdout ----------------------------------------------------------
    floor_T = np.maximum(s.T, s.horizon)
    naive_purchases = backtest.naive_rate_baseline(s.x, floor_T, s.horizon)
    naive_value = s.revenue / floor_T * s.horizon
    if best is None:
        out["purchases"] = out["value"] = None
    else:
        fit = fits[best][0]
        expected = MODELS[best].expected_purchases(fit.params, s.horizon, s.x, s.t_x, s.T)
        out["purchases"] = _flat(backtest.by_frequency_with_baseline(s.x, expected, s.bought, naive_purchases))
        out["value"] = None
        if int(np.sum(gamma_gamma.usable(s.x, s.monetary))) >= 2:
            gg = gamma_gamma.fit(s.x, s.monetary, penalizer=penalizer, std_errors=False)
            if gg.params.q > 1:
                spend = gamma_gamma.expected_spend(gg.params, s.x, s.monetary)
                value = _flat(backtest.by_decile(expected * spend, s.revenue_after, naive_value))
                value["deciles"] = [
                    {"decile": i + 1, "customers": c, "mean_predicted": p, "mean_actual": a, "mean_baseline": b}
                    for i, (c, p, a, b) in enumerate(zip(value["customers"], value["mean_predicted"],
                                                         value["mean_actual"], value["mean_baseline"], strict=True))]
                out["value"] = value
    out["verdicts"] = verdicts(out)
    return out


def _flat(part):
    """The totals and errors of a bucketed comparison at the top level, as the page reads them."""
    totals = part.get("totals") or {}
    return {**part, "total_predicted": totals.get("predicted"), "total_actual": totals.get("actual"),
            "total_baseline": totals.get("baseline"), "mae": part.get("mae_predicted"),
            "baseline_mae": part.get("mae_baseline")}


def verdicts(out):
    """"better" / "worse" / "same" / "unavailable" for each prediction against its naive guess."""
    churn = out.get("churn") or {}
    timing = out.get("timing") or {}
    methods = {m["key"]: m for m in timing.get("methods", [])}
    best_other = min((m["mae_days"] for m in methods.values()
                      if not m.get("baseline") and m.get("mae_days") is not None), default=None)
    result = {
        # within the margin that decides the winner it is "the same" (and the simpler rule is used)
        "churn": backtest.verdict(churn.get("auc"), churn.get("baseline_auc"), lower_is_better=False,
                                  margin=CHURN_MARGIN),
        "timing": backtest.verdict(best_other, (methods.get(TIMING_BASELINE) or {}).get("mae_days")),
    }
    for key in ("purchases", "value"):
        part = out.get(key) or {}
        result[key] = backtest.verdict(part.get("mae"), part.get("baseline_mae"))
    return result
