"""Customer value statistics as pure functions on numpy arrays (no Django, no pandas).

    summary      transactions → per-customer frequency, recency, age, monetary value
    rfm          RFM scores 1–5 (tie-invariant quintiles) and the R×F segment table
    value        value tiers by cumulative share of gross profit, Lorenz curve, Gini, the 80/20 figure
    bgnbd        BG/NBD repeat-purchase model: fit, P(alive), expected purchases
    gamma_gamma  Gamma-Gamma spend model: fit, expected spend per transaction
    clv          discounted lifetime value, expected next purchase
    holdout      calibration / holdout check of the purchase model
    simulate     simulation from both models (tests, benchmarks)
    compress     distinct rows with counts, which makes fits on a million customers fast

See docs/analytics.md for the formulas and references.
"""
