"""Customer value analytics: RFM, value tiers and 80/20, lifetime value and repurchase timing.

The models live in :mod:`crm.analytics.stats`, pure functions on numpy arrays with no Django import, so
the same code serves the refresh job, the ``crm analyze`` command and the tests.
"""
