"""Calibration / holdout check of the BG/NBD model.

Fit on the calibration period (transactions up to ``calibration_end``), predict each customer's repeat
purchases in the holdout period (``calibration_end``, ``observation_end``], and compare with what they
actually did — per customer and on average by number of repeat purchases in the calibration period
(FHL 2005, figure 4).  Only customers whose first purchase falls in the calibration period take part.
"""

from dataclasses import dataclass

import numpy as np

from . import bgnbd
from .summary import PERIOD_DAYS, _as_of_day, holdout_counts, summarize


@dataclass(frozen=True)
class HoldoutResult:
    customer: np.ndarray
    frequency: np.ndarray  # repeat purchases in the calibration period
    predicted: np.ndarray  # expected repeat purchases in the holdout period
    actual: np.ndarray  # repeat purchases (distinct days) in the holdout period
    fit: bgnbd.BGNBDFit
    horizon: float  # holdout length in periods
    buckets: dict  # labels, customers, mean_predicted, mean_actual — for a chart

    @property
    def total_predicted(self):
        return float(self.predicted.sum())

    @property
    def total_actual(self):
        return int(self.actual.sum())


def by_frequency(frequency, predicted, actual, max_bucket=7):
    """Mean predicted and actual holdout purchases per calibration frequency 0, 1, …, ``max_bucket``+."""
    bucket = np.minimum(np.asarray(frequency, dtype=np.int64), max_bucket)
    customers = np.bincount(bucket, minlength=max_bucket + 1)
    pred = np.bincount(bucket, weights=predicted, minlength=max_bucket + 1)
    act = np.bincount(bucket, weights=actual, minlength=max_bucket + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_pred, mean_act = pred / customers, act / customers
    return {
        "labels": [str(i) for i in range(max_bucket)] + [f"{max_bucket}+"],
        "customers": [int(c) for c in customers],
        "mean_predicted": [float(v) if c else None for v, c in zip(mean_pred, customers, strict=True)],
        "mean_actual": [float(v) if c else None for v, c in zip(mean_act, customers, strict=True)],
    }


def calibration_holdout(customer, date, *, calibration_end, observation_end, period="day", max_bucket=7,
                        penalizer=0.0, amount=None):
    """Fit BG/NBD on the calibration period and compare predictions with the holdout period.

    With ``amount``, only purchase occasions count (days whose net amount is > 0, see :mod:`.summary`) in
    both periods; without it every day with a row is a purchase.
    """
    customer = np.asarray(customer)
    cal_day, obs_day = _as_of_day(calibration_end), _as_of_day(observation_end)
    if obs_day <= cal_day:
        raise ValueError("the observation end must come after the calibration end")
    cal = summarize(customer, date, np.ones(len(customer)) if amount is None else amount, as_of=cal_day,
                    period=period)
    fit = bgnbd.fit(cal.frequency, cal.recency, cal.T, penalizer=penalizer)
    horizon = (obs_day - cal_day) / PERIOD_DAYS[period]
    predicted = bgnbd.expected_purchases(fit.params, horizon, cal.frequency, cal.recency, cal.T)
    actual = holdout_counts(customer, date, ids=cal.customer, calibration_end=cal_day, observation_end=obs_day,
                            amount=amount)
    return HoldoutResult(customer=cal.customer, frequency=cal.frequency, predicted=predicted, actual=actual,
                         fit=fit, horizon=horizon,
                         buckets=by_frequency(cal.frequency, predicted, actual, max_bucket))
