"""The refresh of the customer value analysis (R5, R6, R7), by job.

* :mod:`.refresh` — asking for a refresh, running it stage by stage, the snapshot's life (progress,
  failure, publishing) and pruning old snapshots;
* :mod:`.compute` — aggregating and scoring every customer, the holdout check, the composition tables
  and the product analyses (no writes);
* :mod:`.writers` — the metric rows' columns and their bulk writers (PostgreSQL and others), deleting
  a snapshot's rows;
* :mod:`.alerts` — value alerts for customers that left the high-value tier.

The "how was this computed" texts the pages show live in :mod:`crm.analytics.explanations`.
"""

from .alerts import create_value_alerts
from .compute import LORENZ_POINTS, Result, composition, compute, product_analyses, segment_table
from .refresh import (
    STALE_AFTER,
    jsonable,
    prune_snapshots,
    request_refresh,
    run_refresh,
    settings_dict,
    start_refresh,
)
from .writers import METRIC_COLUMNS, WRITE_BATCH, delete_snapshot_metrics, metric_columns, write_metrics

__all__ = [
    "LORENZ_POINTS", "METRIC_COLUMNS", "STALE_AFTER", "WRITE_BATCH", "Result", "composition", "compute",
    "create_value_alerts", "delete_snapshot_metrics", "jsonable", "metric_columns", "product_analyses",
    "prune_snapshots", "request_refresh", "run_refresh", "segment_table", "settings_dict", "start_refresh",
    "write_metrics",
]
