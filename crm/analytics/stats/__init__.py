"""Customer value statistics as pure functions on numpy arrays (no pandas; no Django but the translatable
messages of identify).

    summary      transactions → per-customer frequency, recency, age, monetary value
    rfm          RFM scores 1–5 (tie-invariant quintiles) and the R×F segment table
    value        value tiers by cumulative share of gross profit, Lorenz curve, Gini, the 80/20 figure
    bgnbd        BG/NBD repeat-purchase model: fit, P(alive), expected purchases, P(purchase within t)
    mbgnbd       MBG/NBD, the same with dropout possible right after the first purchase (one-time buyers)
    identify     whether a fit may be used: refusal of fits the data cannot determine
    mle          shared maximum-likelihood helpers: optimiser, standard errors, condition number
    gamma_gamma  Gamma-Gamma spend model: fit, expected spend per transaction
    clv          discounted lifetime value, expected next purchase
    holdout      calibration / holdout check of the purchase model
    simulate     simulation from the BG/NBD, MBG/NBD and Gamma-Gamma models (tests, benchmarks)
    compress     distinct rows with counts, which makes fits on a million customers fast

See docs/analytics.md for the formulas and references.
"""
