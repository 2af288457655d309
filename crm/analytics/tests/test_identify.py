import dataclasses
import json

import numpy as np
import pytest
from django.utils import translation

from crm.analytics.stats import bgnbd, gamma_gamma, identify, mbgnbd, simulate
from crm.analytics.stats.summary import summarize

MODELS = [bgnbd, mbgnbd]
IDS = ["bgnbd", "mbgnbd"]


@pytest.fixture(scope="module")
def cdnow_summary(cdnow):
    customer, date, amount = cdnow
    # lifetimes counts the eight $0 purchases of the sample as purchases, as the published analyses do
    return summarize(customer, date, amount, as_of="1997-09-30", period="week", count_zero_days=True)


def _refusal(fit, x):
    x = np.asarray(x)
    return identify.refusal(fit, customers=len(x), repeaters=int((x > 0).sum()))


@pytest.mark.parametrize("model", MODELS, ids=IDS)
def test_cdnow_fits_are_used(model, cdnow_summary):
    s = cdnow_summary
    assert _refusal(model.fit(s.frequency, s.recency, s.T), s.frequency) is None


def test_cdnow_spend_fit_is_used(cdnow_summary):
    s = cdnow_summary
    fit = gamma_gamma.fit(s.frequency, s.monetary)
    assert 1 < fit.condition < identify.MAX_CONDITION
    assert identify.refusal(fit, customers=fit.customers, repeaters=fit.customers) is None


@pytest.mark.parametrize("model", MODELS, ids=IDS)
@pytest.mark.parametrize("period", ["week", "day"])
def test_one_customer_buying_monthly_for_a_year_is_refused(model, period):
    dates = np.array([f"2024-{month:02d}-15" for month in range(1, 13)], dtype="datetime64[D]")
    s = summarize(np.ones(12, dtype=int), dates, np.full(12, 10.0), as_of="2024-12-31", period=period)
    fit = model.fit(s.frequency, s.recency, s.T)
    refusal = _refusal(fit, s.frequency)
    assert refusal.as_dict() == {"code": "too_few_customers", "params": {"n": 1, "min": 30}}
    # Not only the size: the fit itself runs away (r and α in the tens of millions, a near 0), and its
    # information is singular to working precision.
    ran_away = identify.refusal(fit, customers=1000, repeaters=1000)
    assert ran_away.code == "runaway"
    assert ran_away.params["parameter"] in bgnbd.PARAM_NAMES
    assert fit.condition > identify.MAX_CONDITION


@pytest.mark.parametrize("model", MODELS, ids=IDS)
def test_customers_who_never_came_back_are_refused(model):
    T = np.linspace(1, 50, 25)
    fit = model.fit(np.zeros(25), np.zeros(25), T)
    assert _refusal(fit, np.zeros(25)).code == "too_few_customers"
    T = np.linspace(1, 50, 40)
    fit = model.fit(np.zeros(40), np.zeros(40), T)
    assert _refusal(fit, np.zeros(40)).as_dict() == {"code": "too_few_repeaters", "params": {"n": 0, "min": 10}}
    assert identify.refusal(fit, customers=1000, repeaters=1000) is not None  # and the fit is no good either


@pytest.mark.parametrize(("model", "sim"), [(bgnbd, simulate.simulate_bgnbd), (mbgnbd, simulate.simulate_mbgnbd)],
                         ids=IDS)
def test_simulated_customers_from_reasonable_parameters_are_used(model, sim):
    for seed in range(5):
        rng = np.random.default_rng(seed)
        T = rng.integers(1, 2 * 365 + 1, 2000) / 7
        x, t_x = sim((0.25, 4.0, 0.8, 2.5), T, rng)
        fit = model.fit(x, t_x, T)
        assert _refusal(fit, x) is None, seed


def test_each_check_on_its_own(cdnow_summary):
    s = cdnow_summary
    fit = bgnbd.fit(s.frequency, s.recency, s.T)
    n, repeaters = len(s.frequency), int((s.frequency > 0).sum())

    def refused(**changes):
        return identify.refusal(dataclasses.replace(fit, **changes), customers=n, repeaters=repeaters)

    assert refused(converged=False, iterations=1000).as_dict() == {"code": "not_converged",
                                                                   "params": {"iterations": 1000}}
    assert refused(condition=2e10).as_dict() == {"code": "ill_conditioned", "params": {"condition": "2e+10"}}
    assert refused(condition=float("inf")).params == {"condition": "inf"}
    assert refused(std_errors={}).code == "ill_conditioned"
    assert refused(std_errors={**fit.std_errors, "b": float("nan")}).code == "ill_conditioned"
    runaway = dataclasses.replace(fit.params, b=2e6)
    assert refused(params=runaway).as_dict() == {"code": "runaway", "params": {"parameter": "b", "value": "2e+06"}}
    assert refused(params=dataclasses.replace(fit.params, a=float("nan"))).params == {"parameter": "a",
                                                                                      "value": "nan"}
    assert identify.refusal(fit, customers=29, repeaters=29).code == "too_few_customers"
    assert identify.refusal(fit, customers=30, repeaters=9).code == "too_few_repeaters"
    assert identify.refusal(fit, customers=30, repeaters=10) is None


def test_a_fit_without_standard_errors_cannot_be_judged(cdnow_summary):
    s = cdnow_summary
    fit = bgnbd.fit(s.frequency, s.recency, s.T, std_errors=False)
    with pytest.raises(ValueError):
        identify.refusal(fit, customers=2357, repeaters=1000)


def test_a_refusal_is_stored_as_json_and_explained_later():
    refusal = identify.Refusal("too_few_repeaters", {"n": 3, "min": 10})
    stored = json.loads(json.dumps(refusal.as_dict()))
    with translation.override("en"):
        assert identify.message(stored) == refusal.message
        assert refusal.message == "only 3 customers bought more than once; at least 10 are needed"
        runaway = identify.Refusal("runaway", {"parameter": "r", "value": "3e+07"})
        assert "r = 3e+07" in runaway.message
    for code, text in identify.MESSAGES.items():
        # named placeholders, so translations may reorder them; every message formats with its params
        assert "%(" in str(text) or code in {"no_history", "no_repeaters"}, code
        assert "%s" not in str(text) and "%d" not in str(text), code
