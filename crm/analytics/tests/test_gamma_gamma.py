import numpy as np
import pytest

from crm.analytics.stats import gamma_gamma, simulate
from crm.analytics.stats.summary import summarize


def test_cdnow_reproduces_the_published_estimates(cdnow):
    customer, date, amount = cdnow
    s = summarize(customer, date, amount, as_of="1997-09-30", period="week")
    fit = gamma_gamma.fit(s.frequency, s.monetary)
    assert fit.customers == 946  # customers with at least one repeat purchase
    p = fit.params
    assert (round(p.p, 2), round(p.q, 2), round(p.gamma, 2)) == (6.25, 3.74, 15.44)
    assert fit.converged


def test_log_likelihood_and_gradient():
    x, z = np.array([1.0, 3.0, 10.0]), np.array([20.0, 35.5, 12.0])
    p, q, g = 6.25, 3.74, 15.44
    from scipy.special import gamma as G

    density = (G(p * x + q) / (G(p * x) * G(q)) * g**q * z ** (p * x - 1) * x ** (p * x)
               / (g + x * z) ** (p * x + q))
    assert gamma_gamma.log_likelihood((p, q, g), x, z) == pytest.approx(np.log(density), rel=1e-10)
    theta, w = np.log([p, q, g]), np.ones(3)
    _, grad, _ = gamma_gamma._value_and_grad(theta, x, z, w, 3.0, 0.0)
    h = 1e-6
    for k in range(3):
        e = np.zeros(3)
        e[k] = h
        numeric = (gamma_gamma._value_and_grad(theta + e, x, z, w, 3.0, 0.0)[0]
                   - gamma_gamma._value_and_grad(theta - e, x, z, w, 3.0, 0.0)[0]) / (2 * h)
        assert grad[k] == pytest.approx(numeric, rel=1e-5)


def test_expected_spend_is_a_weighted_mean_of_population_and_own_mean():
    params = gamma_gamma.GammaGammaParams(6.25, 3.74, 15.44)
    population = params.p * params.gamma / (params.q - 1)
    x, z = 2, 50.0
    weight = params.p * x / (params.p * x + params.q - 1)
    expected = (1 - weight) * population + weight * z
    assert gamma_gamma.expected_spend(params, [x], [z])[0] == pytest.approx(expected)
    assert gamma_gamma.expected_spend(params, [0], [0])[0] == pytest.approx(population)


def test_parameter_recovery_from_simulated_customers():
    """Same reasoning as for BG/NBD: estimates within 4 standard errors, errors under 15 % of the value."""
    truth = {"p": 6.0, "q": 4.0, "gamma": 15.0}
    rng = np.random.default_rng(99)
    x = rng.poisson(2.0, 20_000)
    z = simulate.simulate_gamma_gamma(tuple(truth.values()), x, rng)
    fit = gamma_gamma.fit(x, z)
    for name, true_value in truth.items():
        estimate, se = getattr(fit.params, name), fit.std_errors[name]
        assert se < 0.15 * true_value, name
        assert abs(estimate - true_value) < 4 * se, (name, estimate, se)


def test_too_few_repeat_customers_is_an_error():
    with pytest.raises(ValueError):
        gamma_gamma.fit([0, 0, 1], [0, 0, 10])
