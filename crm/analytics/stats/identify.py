"""Whether a fitted model may be used: refusal of fits the data cannot identify.

A maximum-likelihood fit always returns numbers, even when the data cannot determine them.  One customer
who bought every month for a year fits BG/NBD with r and α in the tens of millions or more (a Poisson rate
known exactly, no heterogeneity) and a ≈ 5e-9 (nobody ever drops out); P(alive) from such a fit is
meaningless.
:func:`refusal` looks at the data size and at the fit and returns ``None`` when the fit may be used, or a
:class:`Refusal` that says why not.  The checks, in this order:

``too_few_customers``  fewer than MIN_CUSTOMERS = 30 customers.  Four parameters describe the spread of
    purchase rates and dropout across customers; with a few dozen customers they are guesses.  In
    simulations from reasonable parameters (r 0.25, α 4, a 0.8, b 2.5; ages up to two years) about 40 %
    of 30-customer fits run away; below 30 there is no point trying.
``too_few_repeaters``  fewer than MIN_REPEATERS = 10 customers with a repeat purchase.  Everything the
    models know about purchase rates and dropout comes from repeat purchases; 25 one-time buyers give
    a fit with α ≈ 2e8 and no standard errors.
``runaway``  a parameter above MAX_PARAMETER = 1e6 or below MIN_PARAMETER = 1e-6, or not finite (the
    parameter and its value are reported).  Fits that the data support have parameters between about
    0.05 and a few hundred (α is in periods: a few thousand with days as the period); a parameter that
    walks off to 1e7 or 1e-9 is the optimiser following a ridge to a degenerate limit (a Poisson model
    without heterogeneity, or no dropout).  This is the check that catches most bad fits: in the
    simulations above, nearly every refused fit was a runaway; none of 2,000 customers was refused.
    When few customers drop out (a 0.1, b 10) even 2,000 customers run away to the no-dropout limit in
    about one fit in six, and rightly so: the data then say little about dropout.
``not_converged``  the optimiser stopped without reaching a maximum (gradient not negligible).
``ill_conditioned``  the condition number of the observed information in log-parameters is above
    MAX_CONDITION = 1e10, or the standard errors are missing or not finite.  Fits that the data support
    have condition numbers of 1e2–1e3 (CDNOW: 165 for BG/NBD, 226 for MBG/NBD; 2,000 simulated customers:
    up to 5e2) and up to a few 1e6 for small samples of a few hundred; the monthly buyer above gives
    4e13–4e14.  1e10 also marks what the numbers can say: the information is taken by central
    differences of the gradient with step 1e-5, whose relative error is about 1e-10, so an eigenvalue
    below 1e-10 of the largest — and a standard error built on it — is noise.

The checks apply to BG/NBD and MBG/NBD fits (and to a Gamma-Gamma fit, whose parameters, standard errors
and condition number have the same shape); the fit must have been made with ``std_errors=True``.  A
refusal is stored as ``Refusal.as_dict()`` — plain strings and numbers — and shown later in the reader's
language with :func:`message`.
"""

from dataclasses import dataclass, field

import numpy as np
from django.utils.translation import gettext_lazy as _

MIN_CUSTOMERS = 30
MIN_REPEATERS = 10
MIN_PARAMETER = 1e-6
MAX_PARAMETER = 1e6
MAX_CONDITION = 1e10

MESSAGES = {
    "no_history": _("no customer has bought anything yet"),
    "no_repeaters": _("nobody has bought on two different days yet: the model learns from repeat purchases"),
    "too_few_customers": _("only %(n)s customers; at least %(min)s are needed to fit the model"),
    "too_few_repeaters": _("only %(n)s customers bought more than once; at least %(min)s are needed"),
    "runaway": _("the fit ran away (%(parameter)s = %(value)s): the data cannot determine the model"),
    "infinite_mean": _("q = %(q)s ≤ 1: the spend distribution has no finite mean, so expected spend is undefined"),
    "not_converged": _("the fit did not converge after %(iterations)s iterations"),
    "ill_conditioned": _("the fit is ill-conditioned (condition number %(condition)s): "
                         "the data cannot determine the parameters"),
}


@dataclass(frozen=True)
class Refusal:
    code: str  # a key of MESSAGES
    params: dict = field(default_factory=dict)  # the message's placeholders: plain numbers and strings

    @property
    def message(self):
        """The explanation in the active language."""
        return message(self.as_dict())

    def as_dict(self):
        return {"code": self.code, "params": dict(self.params)}


def message(stored):
    """The explanation of a stored refusal (``Refusal.as_dict()``), in the active language."""
    return str(MESSAGES[stored["code"]] % stored["params"])


def _number(value):
    """A parameter value as a short string, also for inf and NaN (which JSON cannot store as numbers)."""
    return f"{value:.3g}"


def refusal(fit, *, customers, repeaters):
    """``None`` when ``fit`` may be used, else the first :class:`Refusal` of the checks in the module docstring.

    ``customers`` is the number of customers the fit ran on, ``repeaters`` how many of them have at least
    one repeat purchase (x > 0).  ``fit`` must carry standard errors (``std_errors=True``).
    """
    if np.isnan(fit.condition):
        raise ValueError("refusal() needs a fit made with std_errors=True")
    customers, repeaters = int(customers), int(repeaters)
    if customers < MIN_CUSTOMERS:
        return Refusal("too_few_customers", {"n": customers, "min": MIN_CUSTOMERS})
    if repeaters < MIN_REPEATERS:
        return Refusal("too_few_repeaters", {"n": repeaters, "min": MIN_REPEATERS})
    for name, value in fit.params.as_dict().items():
        if not np.isfinite(value) or not MIN_PARAMETER <= value <= MAX_PARAMETER:
            return Refusal("runaway", {"parameter": name, "value": _number(value)})
    if not fit.converged:
        return Refusal("not_converged", {"iterations": int(fit.iterations)})
    errors = list(fit.std_errors.values())
    if (len(errors) != len(fit.params.as_dict()) or not np.all(np.isfinite(errors))
            or not fit.condition <= MAX_CONDITION):
        return Refusal("ill_conditioned", {"condition": _number(fit.condition)})
    return None
