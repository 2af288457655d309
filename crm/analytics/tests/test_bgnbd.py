import numpy as np
import pytest
from scipy import special, stats

from crm.analytics.stats import bgnbd, mle, simulate
from crm.analytics.stats.compress import encode_rows
from crm.analytics.stats.summary import summarize

from .forward import compare_by_group

CDNOW = (0.243, 4.414, 0.793, 2.426)  # Fader, Hardie & Lee (2005), table 1


@pytest.fixture(scope="module")
def cdnow_summary(cdnow):
    customer, date, amount = cdnow
    # The published fit uses the first 39 weeks (1997-01-01 … 1997-09-30), time in weeks of 7 days, and
    # counts the sample's eight one-CD purchases at $0.00 as purchases.
    return summarize(customer, date, amount, as_of="1997-09-30", period="week", count_zero_days=True)


def test_cdnow_reproduces_the_published_estimates(cdnow_summary):
    s = cdnow_summary
    assert s.n == 2357
    assert int(s.frequency.sum()) == 2457  # repeat transactions in the calibration period
    fit = bgnbd.fit(s.frequency, s.recency, s.T)
    p = fit.params
    assert (round(p.r, 3), round(p.alpha, 3), round(p.a, 3), round(p.b, 3)) == CDNOW
    assert round(fit.log_likelihood, 1) == -9582.4
    assert fit.converged


def test_log_likelihood_matches_the_paper_formula_term_by_term():
    r, alpha, a, b = CDNOW
    x, t_x, T = np.array([0, 2, 26]), np.array([0, 30.43, 30.86]), np.array([38.86, 38.86, 31.0])
    a1 = special.gamma(r + x) * alpha**r / special.gamma(r)
    a2 = special.gamma(a + b) * special.gamma(b + x) / (special.gamma(b) * special.gamma(a + b + x))
    a3 = (1 / (alpha + T)) ** (r + x)
    a4 = np.where(x > 0, a / (b + x - 1) * (1 / (alpha + t_x)) ** (r + x), 0)
    assert bgnbd.log_likelihood(CDNOW, x, t_x, T) == pytest.approx(np.log(a1 * a2 * (a3 + a4)), rel=1e-12)


def test_analytic_gradient_matches_finite_differences(cdnow_summary):
    s = cdnow_summary
    objective = bgnbd._Objective(encode_rows(s.frequency, s.recency, s.T), penalizer=0.1)
    theta = np.log([0.3, 5.0, 0.7, 2.0])
    _, grad, ll = objective.value_and_grad(theta)
    assert ll == pytest.approx(bgnbd.log_likelihood(np.exp(theta), s.frequency, s.recency, s.T).sum(), rel=1e-12)
    h = 1e-6
    for k in range(4):
        e = np.zeros(4)
        e[k] = h
        numeric = (objective.value_and_grad(theta + e)[0] - objective.value_and_grad(theta - e)[0]) / (2 * h)
        assert grad[k] == pytest.approx(numeric, rel=1e-5, abs=1e-8)


def test_fit_on_compressed_rows_with_weights_equals_fit_on_every_customer(cdnow_summary):
    s = cdnow_summary
    full = bgnbd.fit(s.frequency, s.recency, s.T)
    enc = encode_rows(s.frequency, s.recency, s.T)
    weighted = bgnbd.fit(enc.column(0), enc.column(1), enc.column(2), weights=enc.counts)
    assert weighted.rows == full.rows < s.n
    assert weighted.log_likelihood == pytest.approx(full.log_likelihood, abs=1e-6)
    assert weighted.params.as_array() == pytest.approx(full.params.as_array(), rel=1e-6)


def test_penalizer_shrinks_the_parameters(cdnow_summary):
    s = cdnow_summary
    plain = bgnbd.fit(s.frequency, s.recency, s.T)
    shrunk = bgnbd.fit(s.frequency, s.recency, s.T, penalizer=0.1)
    assert np.sum(shrunk.params.as_array() ** 2) < np.sum(plain.params.as_array() ** 2)
    assert shrunk.log_likelihood < plain.log_likelihood


def test_p_alive_is_one_without_repeat_purchases_and_follows_the_formula():
    assert bgnbd.p_alive(CDNOW, [0, 0], [0, 0], [1.0, 50.0]).tolist() == [1.0, 1.0]
    r, alpha, a, b = CDNOW
    x, t_x, T = 2, 30.43, 38.86
    expected = 1 / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x))
    assert bgnbd.p_alive(CDNOW, [x], [t_x], [T])[0] == pytest.approx(expected, rel=1e-12)
    # A customer whose last purchase is long ago is less likely alive than one who just bought.
    recent, old = bgnbd.p_alive(CDNOW, [5, 5], [38, 5], [38.86, 38.86])
    assert recent > old


def test_conditional_expectation_agrees_with_independent_numerical_integration():
    # Integrate over the prior of (λ, p) on a grid (log λ, logit p), weighting each point by the likelihood
    # of its two branches (still active / dropped out after the last purchase), and average the expected
    # future purchases of an active customer, (1 − e^(−λpt))/p.  No hypergeometric function involved.
    r, alpha, a, b = CDNOW
    u = np.linspace(np.log(1e-60), np.log(20.0), 2500)
    v = np.linspace(-40, 12, 2000)
    lam, p = np.exp(u)[:, None], special.expit(v)[None, :]
    prior = (stats.gamma.pdf(lam, r, scale=1 / alpha) * lam) * (stats.beta.pdf(p, a, b) * p * (1 - p))
    for x, t_x, T, t in [(26, 30.86, 31.0, 39.0), (2, 30.43, 38.86, 39.0), (0, 0.0, 38.86, 10.0)]:
        alive = (1 - p) ** x * lam**x * np.exp(-lam * T)
        dead = (x > 0) * p * (1 - p) ** max(x - 1, 0) * lam**x * np.exp(-lam * t_x)
        numeric = np.sum(prior * alive * (1 - np.exp(-lam * p * t)) / p) / np.sum(prior * (alive + dead))
        assert bgnbd.expected_purchases(CDNOW, t, [x], [t_x], [T])[0] == pytest.approx(numeric, rel=1e-3)


def test_expected_purchases_of_a_new_customer_match_simulation():
    rng = np.random.default_rng(12)
    x, _ = simulate.simulate_bgnbd(CDNOW, np.full(400_000, 39.0), rng)
    assert bgnbd.expected_purchases_new(CDNOW, 39.0) == pytest.approx(x.mean(), rel=0.02)


def test_expected_purchases_stay_finite_for_very_frequent_buyers():
    values = bgnbd.expected_purchases(CDNOW, 39, [26, 500, 3000], [30.86, 30.9, 30.9], [31.0, 31.0, 31.0])
    assert np.all(np.isfinite(values)) and np.all(values >= 0)
    assert bgnbd.expected_purchases(CDNOW, 0, [3], [2.0], [5.0])[0] == 0


def test_parameter_recovery_from_simulated_customers():
    """20,000 customers simulated from known parameters; the estimates land within 4 standard errors.

    The MLE is asymptotically normal with covariance the inverse observed information, so each estimate is
    within 4 SE with probability 0.99994; the seed is fixed, so the test is deterministic.  The standard
    errors themselves must be small (under 15 % of the value), so the check has teeth.
    """
    truth = {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}
    rng = np.random.default_rng(2024)
    T = rng.integers(1, 78 * 7 + 1, 20_000) / 7  # customers acquired over 78 weeks, ages in whole days
    x, t_x = simulate.simulate_bgnbd(tuple(truth.values()), T, rng)
    fit = bgnbd.fit(x, t_x, T)
    for name, true_value in truth.items():
        estimate, se = getattr(fit.params, name), fit.std_errors[name]
        assert se < 0.15 * true_value, name
        assert abs(estimate - true_value) < 4 * se, (name, estimate, se)


def test_p_purchase_within_follows_the_formula():
    r, alpha, a, b = CDNOW
    x, t_x, T, t = 2, 30.43, 38.86, 13.0
    expected = bgnbd.p_alive(CDNOW, [x], [t_x], [T])[0] * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x))
    assert bgnbd.p_purchase_within(CDNOW, t, [x], [t_x], [T])[0] == pytest.approx(expected, rel=1e-12)
    # A one-time buyer is alive for BG/NBD, so it is the Gamma(r, α+T) mixture's chance of an event in t.
    assert bgnbd.p_purchase_within(CDNOW, t, [0], [0], [T])[0] == pytest.approx(
        1 - ((alpha + T) / (alpha + T + t)) ** r, rel=1e-12)
    assert bgnbd.p_purchase_within(CDNOW, 0.0, [x], [t_x], [T])[0] == 0


def test_conditional_predictions_match_monte_carlo():
    """400,000 customers simulated to T and 13 periods beyond (tests/forward.py); in groups chosen by their
    history, P(alive), p_purchase_within and expected_purchases match the simulated means within 4
    Monte-Carlo standard errors (each group has over 10,000 customers).
    """
    for (group, what), (simulated, predicted, se) in compare_by_group(bgnbd, "bgnbd", CDNOW).items():
        assert se < 0.02, (group, what)
        assert simulated == pytest.approx(predicted, abs=4 * se + 1e-12), (group, what)


def test_condition_number_of_the_information(cdnow_summary):
    s = cdnow_summary
    fit = bgnbd.fit(s.frequency, s.recency, s.T)
    hessian = mle.information(lambda th: bgnbd._Objective(encode_rows(s.frequency, s.recency, s.T), 0.0)
                              .value_and_grad(th)[1], np.log(fit.params.as_array()), fit.customers)
    eigenvalues = np.linalg.eigvalsh(hessian)
    assert np.all(eigenvalues > 0)  # a maximum
    assert fit.condition == pytest.approx(eigenvalues.max() / eigenvalues.min(), rel=1e-6)
    assert 10 < fit.condition < 1e4  # well determined: 165
    assert np.isnan(bgnbd.fit(s.frequency, s.recency, s.T, std_errors=False).condition)
    # Time in days instead of weeks moves log α by a constant: the information in log-parameters, and so
    # the condition number, do not change.
    days = bgnbd.fit(s.frequency, s.recency * 7, s.T * 7)
    assert days.condition == pytest.approx(fit.condition, rel=1e-3)


def test_singular_information_gives_no_standard_errors_and_infinite_condition():
    errors, condition = mle.std_errors(np.array([[1.0, 1.0], [1.0, 1.0]]), np.zeros(2), ("u", "v"))
    assert errors == {} and condition == np.inf
    errors, condition = mle.std_errors(np.array([[4.0, 0.0], [0.0, 1.0]]), np.log([2.0, 3.0]), ("u", "v"))
    assert errors == pytest.approx({"u": 2.0 * 0.5, "v": 3.0 * 1.0}) and condition == pytest.approx(4.0)
