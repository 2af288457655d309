"""Backtest: how good were the predictions made at a past date?

The history is split at a past date, the *calibration end*.  Everything a model knew is measured up to
that date (the calibration figures); what each customer did afterwards (the *holdout*) is the truth the
predictions are checked against.  Every function takes numpy arrays aligned per customer and returns
plain Python numbers, lists and dicts ready for JSON; a figure that cannot be computed is ``None``.
Customers with a missing (non-finite) value are left out of a figure rather than counted as zero; each
function says which values it needs.

What the figures mean:

* **AUC** (``auc``) — take one customer who did and one who did not (for example one who bought again
  and one who lapsed): the AUC is the chance that the score ranks them the right way round, with a tie
  counting as half.  0.5 is no better than a coin, 1.0 ranks every pair correctly.  It needs no
  threshold, so it compares two scores fairly.
* **Flag figures** (``flag_metrics``) — a flag is a yes/no list, for example "at risk of churn".
  *Precision*: of the flagged customers, the share that really did it.  *Recall*: of the customers who
  did it, the share the flag caught.  *Base rate*: the share of all customers who did it — what a random
  list would hit.  *Lift* = precision ÷ base rate: how many times better than a random list of the same
  length.
* **Best threshold** (``best_threshold``) — the cut on a score that separates the two groups best by
  Youden's J = sensitivity + specificity − 1, where sensitivity is the share of positives flagged and
  specificity the share of negatives not flagged.  J is 0 for a useless cut and 1 for a perfect one.
* **Churn comparison** (``churn_comparison``) — the purchase model's activity score (P(alive)) against a
  naive one (how recently the customer bought), both judged on who lapsed in the holdout.  The model
  wins only when its AUC is higher by more than a small margin; otherwise the simpler rule is kept.
* **Timing errors** (``timing_errors``, ``compare_timing``) — how many days the predicted next purchase
  was off from the actual one: the mean and the median absolute error, and the share of customers
  predicted within 30 days.  A prediction already in the past at the split counts as "due now" (0 days).
* **Deciles** (``by_decile``) — customers ranked by predicted value, highest first, in ten equal groups:
  a good model's predicted and actual means fall together from group 1 to group 10.
* **By frequency** (``by_frequency_with_baseline``) — mean predicted, actual and naive-baseline
  purchases in the holdout by the number of repeat purchases before the split.
* **Mean absolute error (MAE) per customer** — the average of |predicted − actual| over customers; the
  smaller, the closer the predictions.

The naive baselines (``naive_rate_baseline``, ``median_gap``) are what a person would guess without a
model: "the customer keeps buying at their own past pace", "customers buy every so many days".  A model is
worth showing only where it beats them.
"""

import math

import numpy as np
from scipy.stats import rankdata

from .holdout import by_frequency

WITHIN_DAYS = 30  # the "within 30 days" share of timing_errors


def _num(value):
    """A plain float for JSON, or None when the value is missing or not finite."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _gain_exceeds(gain, margin):
    """Whether ``gain`` is more than ``margin``, ignoring floating-point noise below 1e-12 (0.800 − 0.795
    is 0.005000000000000004 in binary and must not beat a margin of 0.005)."""
    return round(gain, 12) > margin


def _ratio(numerator, denominator):
    return float(numerator) / float(denominator) if denominator else None


def _scored(score, label):
    """Scores as floats and labels as booleans, customers without a finite score left out."""
    score = np.asarray(score, dtype=np.float64)
    label = np.asarray(label, dtype=bool)
    if score.shape != label.shape:
        raise ValueError("score and label must have the same shape")
    keep = np.isfinite(score)
    return score[keep], label[keep]


def auc(score, label):
    """ROC AUC of ``score`` for the boolean ``label``: the chance that a random positive customer scores
    higher than a random negative one, ties counting one half (Mann–Whitney U with average ranks).

    Customers without a finite score are left out.  None when either class is empty.
    """
    score, label = _scored(score, label)
    positives = int(np.count_nonzero(label))
    negatives = len(label) - positives
    if not positives or not negatives:
        return None
    ranks = rankdata(score)  # 1 … n, ties get the average rank
    u = ranks[label].sum() - positives * (positives + 1) / 2.0
    return float(u / (positives * negatives))


def flag_metrics(flag, label):
    """How good a yes/no flag is at finding the customers with ``label``.

    ``flagged``: customers flagged; ``share_flagged``: their share of all customers; ``precision``: share
    of the flagged who have the label (None when nobody is flagged); ``recall``: share of the labelled who
    are flagged (None when nobody has the label); ``base_rate``: share of all customers with the label;
    ``lift``: precision ÷ base rate (None when either is None or the base rate is 0).
    """
    flag = np.asarray(flag, dtype=bool)
    label = np.asarray(label, dtype=bool)
    if flag.shape != label.shape:
        raise ValueError("flag and label must have the same shape")
    n = flag.size
    flagged = int(np.count_nonzero(flag))
    positives = int(np.count_nonzero(label))
    hits = int(np.count_nonzero(flag & label))
    precision = _ratio(hits, flagged)
    base_rate = _ratio(positives, n)
    return {
        "flagged": flagged,
        "share_flagged": _ratio(flagged, n),
        "precision": precision,
        "recall": _ratio(hits, positives),
        "base_rate": base_rate,
        "lift": precision / base_rate if precision is not None and base_rate else None,
    }


def flag_at(score, threshold, *, higher_means_positive=False):
    """The flag of ``best_threshold``'s convention: ``score <= threshold`` when a low score means the
    label (P(alive) low → churn), ``score >= threshold`` otherwise.  A missing score or threshold flags
    nobody."""
    score = np.asarray(score, dtype=np.float64)
    if threshold is None:
        return np.zeros(score.shape, dtype=bool)
    return score >= threshold if higher_means_positive else score <= threshold


def best_threshold(score, label, *, higher_means_positive=False, min_share=0.0):
    """The threshold on ``score`` that maximises Youden's J = sensitivity + specificity − 1 for ``label``.

    Convention: the threshold is always one of the observed score values and the flag **includes** it —
    customers with ``score <= threshold`` are flagged when ``higher_means_positive`` is False (a low
    P(alive) means churn), ``score >= threshold`` when it is True (see ``flag_at``).  The flag depends on
    the score value only, so customers with equal scores always get the same flag.  Only thresholds that
    flag at least ``min_share`` of the customers are considered.  When several thresholds reach the same
    J, the one that flags the fewest customers wins (the shortest list with the best separation).

    J is compared exactly in integers (J·P·N = TP·N − FP·P).  Customers without a finite score are left
    out.  Returns ``threshold``, ``j``, ``sensitivity`` and ``specificity``, all None when either class is
    empty.
    """
    if not 0.0 <= min_share <= 1.0:
        raise ValueError("min_share must lie between 0 and 1")
    score, label = _scored(score, label)
    positives = int(np.count_nonzero(label))
    negatives = len(label) - positives
    empty = {"threshold": None, "j": None, "sensitivity": None, "specificity": None}
    if not positives or not negatives:
        return empty
    # Order the values so that the flagged set of the k-th distinct value is the first k+1 values.
    key = -score if higher_means_positive else score
    values, inverse = np.unique(key, return_inverse=True)
    tp = np.cumsum(np.bincount(inverse, weights=label, minlength=len(values))).astype(np.int64)
    flagged = np.cumsum(np.bincount(inverse, minlength=len(values))).astype(np.int64)
    fp = flagged - tp
    j_scaled = tp * negatives - fp * positives
    j_scaled = np.where(flagged >= min_share * len(label), j_scaled, np.iinfo(np.int64).min)
    best = int(np.argmax(j_scaled))  # the first maximum: the fewest customers flagged
    threshold = -values[best] if higher_means_positive else values[best]
    return {
        "threshold": float(threshold),
        "j": float(j_scaled[best] / (positives * negatives)),
        "sensitivity": float(tp[best] / positives),
        "specificity": float((negatives - fp[best]) / negatives),
    }


def churn_comparison(model_score, baseline_score, lapsed, *, margin=0.005, min_share=0.0):
    """Compare two activity scores (higher = more likely still buying) at predicting ``lapsed``.

    ``model_score`` is for example P(alive), ``baseline_score`` minus the days since the last purchase.
    Both are judged on the same customers, those with a finite value of both scores.

    For each: ``auc`` — how well the score ranks customers who bought again above those who lapsed (the
    AUC of the score for "not lapsed"; equally the AUC of minus the score for "lapsed"); the best
    threshold for flagging "likely lapsed" (customers with a score at or below it, ``best_threshold``
    with ``higher_means_positive=False``) with its ``j``, ``sensitivity`` and ``specificity``; and
    ``flag``, the ``flag_metrics`` of that flag for "lapsed".

    ``lift_over_baseline``: the precision of the model's flag ÷ the precision of the baseline's flag.
    ``winner``: "model" only when the model's AUC exceeds the baseline's by more than ``margin`` (give or
    take 1e-12 of floating-point noise); a tie or a missing AUC goes to the baseline, which is simpler to
    explain.
    """
    model_score = np.asarray(model_score, dtype=np.float64)
    baseline_score = np.asarray(baseline_score, dtype=np.float64)
    lapsed = np.asarray(lapsed, dtype=bool)
    if not model_score.shape == baseline_score.shape == lapsed.shape:
        raise ValueError("the scores and lapsed must have the same shape")
    keep = np.isfinite(model_score) & np.isfinite(baseline_score)
    lapsed = lapsed[keep]

    def judge(score):
        score = score[keep]
        best = best_threshold(score, lapsed, higher_means_positive=False, min_share=min_share)
        return {"auc": auc(score, ~lapsed), **best, "flag": flag_metrics(flag_at(score, best["threshold"]), lapsed)}

    model, baseline = judge(model_score), judge(baseline_score)
    model_precision, baseline_precision = model["flag"]["precision"], baseline["flag"]["precision"]
    lift = model_precision / baseline_precision if model_precision is not None and baseline_precision else None
    wins = model["auc"] is not None and (
        baseline["auc"] is None or _gain_exceeds(model["auc"] - baseline["auc"], margin))
    return {
        "customers": int(lapsed.size),
        "lapsed": int(np.count_nonzero(lapsed)),
        "margin": float(margin),
        "model": model,
        "baseline": baseline,
        "lift_over_baseline": lift,
        "winner": "model" if wins else "baseline",
    }


def timing_errors(predicted_days, actual_days, mask):
    """How far the predicted days to the next purchase were from the actual days, in days.

    Over the customers where ``mask`` is true and both values are finite.  A negative prediction (the
    customer was already overdue at the split) counts as 0, "due now".  ``mae_days``: mean absolute error;
    ``median_ae_days``: median absolute error; ``within_30_days``: share of customers with an error of at
    most 30 days.  The figures are None when no customer qualifies.
    """
    predicted = np.asarray(predicted_days, dtype=np.float64)
    actual = np.asarray(actual_days, dtype=np.float64)
    mask = np.asarray(mask, dtype=bool)
    if not predicted.shape == actual.shape == mask.shape:
        raise ValueError("predicted_days, actual_days and mask must have the same shape")
    use = mask & np.isfinite(predicted) & np.isfinite(actual)
    error = np.abs(np.maximum(predicted[use], 0.0) - actual[use])
    if not error.size:
        return {"customers": 0, "mae_days": None, "median_ae_days": None, "within_30_days": None}
    return {
        "customers": int(error.size),
        "mae_days": _num(error.mean()),
        "median_ae_days": _num(np.median(error)),
        "within_30_days": float(np.count_nonzero(error <= WITHIN_DAYS) / error.size),
    }


def compare_timing(candidates, actual_days, mask, baseline):
    """Compare several ways of predicting the days to the next purchase on the same customers.

    ``candidates`` maps a method's key to its predicted days.  Every method is evaluated on the same
    customers — masked in, with a finite actual value and a finite prediction from *every* method — so
    their errors compare.  ``methods`` lists ``timing_errors`` of each in the order given, with its
    ``key`` and whether it is the ``baseline``.  ``chosen`` is the key with the lowest mean absolute
    error; the baseline wins ties (differences below 1e-12 days count as ties), and wins when no customer
    can be evaluated.
    """
    if baseline not in candidates:
        raise ValueError(f"the baseline {baseline!r} is not among the candidates")
    actual = np.asarray(actual_days, dtype=np.float64)
    common = np.asarray(mask, dtype=bool) & np.isfinite(actual)
    predictions = {key: np.asarray(values, dtype=np.float64) for key, values in candidates.items()}
    for values in predictions.values():
        common &= np.isfinite(values)
    methods = [{"key": key, **timing_errors(values, actual, common), "baseline": key == baseline}
               for key, values in predictions.items()]
    chosen, best = baseline, next(m["mae_days"] for m in methods if m["key"] == baseline)
    if best is not None:
        for method in methods:
            if method["mae_days"] is not None and _gain_exceeds(best - method["mae_days"], 0.0):
                chosen, best = method["key"], method["mae_days"]
    return {"methods": methods, "chosen": chosen}


def _mae(predicted, actual):
    return _num(np.mean(np.abs(predicted - actual))) if predicted.size else None


def _means(sums, counts):
    return [float(s / c) if c else None for s, c in zip(sums, counts, strict=True)]


def by_decile(predicted, actual, baseline=None, deciles=10):
    """Predicted against actual value by decile of the prediction ("12-month value by decile").

    Customers are sorted by ``predicted``, highest first (decile 1 = the highest predictions), and split
    into ``deciles`` groups of equal size as ``np.array_split`` does: when the number of customers does not
    divide evenly, the first groups get one customer more.  Customers with the same prediction may fall on
    both sides of a boundary; the sort is stable, so among them the earlier in the input come first.
    Customers with a non-finite predicted, actual (or baseline) value are left out.

    Returns ``labels`` ("1" …), ``customers``, ``mean_predicted``, ``mean_actual`` and ``mean_baseline``
    per decile (None for an empty group, and ``mean_baseline`` None without a baseline), ``totals``
    (customers and the sums of predicted, actual and baseline), and ``mae_predicted`` / ``mae_baseline``:
    the mean absolute error per customer against the actual value.
    """
    if deciles < 1:
        raise ValueError("deciles must be at least 1")
    predicted = np.asarray(predicted, dtype=np.float64)
    actual = np.asarray(actual, dtype=np.float64)
    keep = np.isfinite(predicted) & np.isfinite(actual)
    if baseline is not None:
        baseline = np.asarray(baseline, dtype=np.float64)
        keep &= np.isfinite(baseline)
    order = np.argsort(-predicted[keep], kind="stable")
    predicted, actual = predicted[keep][order], actual[keep][order]
    n = predicted.size
    sizes = np.full(deciles, n // deciles) + (np.arange(deciles) < n % deciles)  # np.array_split's sizes
    group = np.repeat(np.arange(deciles), sizes)
    customers = np.bincount(group, minlength=deciles)
    result = {
        "labels": [str(i + 1) for i in range(deciles)],
        "customers": [int(c) for c in customers],
        "mean_predicted": _means(np.bincount(group, weights=predicted, minlength=deciles), customers),
        "mean_actual": _means(np.bincount(group, weights=actual, minlength=deciles), customers),
        "mean_baseline": None,
        "totals": {"customers": int(n), "predicted": float(predicted.sum()), "actual": float(actual.sum()),
                   "baseline": None},
        "mae_predicted": _mae(predicted, actual),
        "mae_baseline": None,
    }
    if baseline is not None:
        baseline = baseline[keep][order]
        result["mean_baseline"] = _means(np.bincount(group, weights=baseline, minlength=deciles), customers)
        result["totals"]["baseline"] = float(baseline.sum())
        result["mae_baseline"] = _mae(baseline, actual)
    return result


def by_frequency_with_baseline(frequency, predicted, actual, baseline, max_bucket=7):
    """``holdout.by_frequency`` with a naive baseline beside the model.

    Per calibration frequency 0, 1, …, ``max_bucket``+: ``customers``, ``mean_predicted``, ``mean_actual``
    and ``mean_baseline``; ``totals`` (customers and the sums of predicted, actual and baseline) and the
    mean absolute error per customer of the prediction (``mae_predicted``) and of the baseline
    (``mae_baseline``).  Customers with a non-finite value in any of the four arrays are left out.
    """
    frequency = np.asarray(frequency, dtype=np.float64)
    predicted = np.asarray(predicted, dtype=np.float64)
    actual = np.asarray(actual, dtype=np.float64)
    baseline = np.asarray(baseline, dtype=np.float64)
    keep = np.isfinite(frequency) & np.isfinite(predicted) & np.isfinite(actual) & np.isfinite(baseline)
    frequency, predicted, actual, baseline = frequency[keep], predicted[keep], actual[keep], baseline[keep]
    result = by_frequency(frequency, predicted, actual, max_bucket)
    result["mean_baseline"] = by_frequency(frequency, baseline, actual, max_bucket)["mean_predicted"]
    result["totals"] = {"customers": int(predicted.size), "predicted": float(predicted.sum()),
                        "actual": float(actual.sum()), "baseline": float(baseline.sum())}
    result["mae_predicted"] = _mae(predicted, actual)
    result["mae_baseline"] = _mae(baseline, actual)
    return result


def verdict(model_error, baseline_error, *, lower_is_better=True, margin=0.0):
    """A plain-language verdict on a model's figure against the baseline's: "better", "worse", "same", or
    "unavailable" when either figure is missing.

    With ``lower_is_better`` (errors) the model is better when its figure is lower than the baseline's by
    more than ``margin``; otherwise (AUC, precision) when it is higher by more than ``margin``.  A
    difference of at most ``margin`` (give or take 1e-12 of floating-point noise) is "same".
    """
    model, base = _num(model_error), _num(baseline_error)
    if model is None or base is None:
        return "unavailable"
    gain = base - model if lower_is_better else model - base
    if _gain_exceeds(gain, margin):
        return "better"
    if _gain_exceeds(-gain, margin):
        return "worse"
    return "same"


def naive_rate_baseline(x, T, horizon):
    """The naive guess of purchases in the next ``horizon`` periods: the customer keeps the pace of the
    calibration period, x / T × horizon (0 when T is 0, NaN when T is missing).  An array aligned with
    ``x``."""
    x, T = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(T, dtype=np.float64))
    guess = np.full(x.shape, np.nan)
    guess[T == 0] = 0.0
    known = T > 0
    guess[known] = x[known] / T[known] * horizon
    return guess


def median_gap(x, recency):
    """The company's median gap between purchases, in the periods of ``recency``.

    A customer with x ≥ 1 repeat purchases made x gaps between the first and the last purchase, on average
    recency / x long.  Each customer's gaps are taken at that average and each gap counts once: the median
    is the median of recency / x repeated x times over the repeat customers (``x`` counts purchases, so it
    is rounded to whole numbers).  None when nobody repeated.
    """
    x = np.rint(np.asarray(x, dtype=np.float64))
    recency = np.asarray(recency, dtype=np.float64)
    use = np.isfinite(x) & np.isfinite(recency) & (x >= 1)
    weight = x[use].astype(np.int64)
    if not weight.size:
        return None
    gap = recency[use] / weight
    order = np.argsort(gap, kind="stable")
    gap, cumulative = gap[order], np.cumsum(weight[order])
    total = int(cumulative[-1])
    # The two middle positions (0-based) of the repeated list; the gap at position k is the first whose
    # cumulative weight exceeds k.
    low, high = np.searchsorted(cumulative, [(total - 1) // 2, total // 2], side="right")
    return float((gap[low] + gap[high]) / 2.0)
