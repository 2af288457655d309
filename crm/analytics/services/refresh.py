"""The refresh of the customer value analysis (R5, R6, R7): verbs that change state.

``request_refresh(actor=…)`` starts a refresh on demand (role action *manage settings*): it creates a
:class:`~.models.Snapshot` in status *running* and queues :func:`run_refresh` once the transaction
commits.  While one is running, asking again returns the running one — pressing the button twice is
safe.  The nightly periodic task (``crm.analytics.tasks``) does the same without an actor.

``run_refresh(snapshot_id)``, stage by stage (each stage updates the snapshot's ``stage`` and
``progress`` so the page can show it, and is timed into ``results["timings"]``):

1. *aggregate* — one pass over the orders in SQL (``aggregation.customer_history``), interactions per
   customer, the customer base, product sales and average stock;
2. *score* — RFM with the segment table from the database, tiers, BG/NBD and Gamma-Gamma fits,
   P(alive), expected purchases and spend, discounted lifetime value, next expected purchase, at-risk
   flag (``stats.analysis.analyze``), the holdout check, value-chain classes, share of wallet, loyalty,
   Kotler levels (``scoring``) — all vectorised over the customers;
3. *write* — one ``CustomerMetrics`` row per customer with purchases in the window, in bulk (COPY on
   PostgreSQL, large ``executemany`` batches elsewhere);
4. *publish* — in one transaction: value alerts for owners of customers that dropped out of the
   high-value tier since the previous complete snapshot, and the snapshot marked *complete* with its
   company-wide results.  Pages read only the latest complete snapshot (``queries.current_snapshot``),
   so a half-written one is never visible;
5. *prune* — snapshots beyond ``keep_snapshots`` are deleted.

A failure marks the snapshot *failed* with the error, deletes the rows it wrote, and leaves the
previous snapshot current.
"""

import datetime
import logging
import time
import traceback

import numpy as np
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.core.jobs import enqueue_on_commit
from crm.core.permissions import require

from ..choices import RefreshStage, SnapshotStatus
from ..models import AnalyticsSettings, Snapshot
from ..permissions import REFRESH
from .alerts import create_value_alerts
from .compute import compute
from .writers import delete_snapshot_metrics, write_metrics

logger = logging.getLogger(__name__)

# A snapshot still "running" after this long was interrupted (worker killed): a new request replaces it.
STALE_AFTER = datetime.timedelta(hours=6)


# --- starting a refresh ----------------------------------------------------------------------------------

def request_refresh(*, actor, as_of=None):
    """Start a refresh on demand and return its snapshot (the running one when a refresh is under way).

    Needs the *manage settings* action.  The work runs in the task worker after the commit."""
    require(actor, REFRESH)
    snapshot, created = start_refresh(actor=actor, as_of=as_of)
    if created:
        from ..tasks import refresh_task

        enqueue_on_commit(refresh_task, snapshot.pk)
    return snapshot


def start_refresh(*, actor=None, as_of=None):
    """``(snapshot, created)``: a new running snapshot, or the one already running."""
    with transaction.atomic():
        settings = AnalyticsSettings.objects.select_for_update().get(pk=AnalyticsSettings.load().pk)
        running = Snapshot.objects.filter(status=SnapshotStatus.RUNNING).order_by("-started_at", "-id").first()
        if running is not None:
            if timezone.now() - running.started_at < STALE_AFTER:
                return running, False
            _mark_failed(running.pk, _("Interrupted: the refresh did not finish."))
        snapshot = Snapshot.objects.create(
            as_of=as_of or timezone.localdate(), requested_by=actor if getattr(actor, "pk", None) else None,
            stage=RefreshStage.QUEUED, settings_used=settings_dict(settings))
    return snapshot, True


def settings_dict(settings):
    fields = [f.name for f in AnalyticsSettings._meta.concrete_fields
              if f.name not in ("id", "created_at", "updated_at")]
    return {name: _plain(getattr(settings, name)) for name in fields}


def _plain(v):
    return float(v) if hasattr(v, "as_tuple") else v


# --- running it -------------------------------------------------------------------------------------------

class Stages:
    """Progress on the snapshot row and timings of each stage."""

    def __init__(self, snapshot_id):
        self.snapshot_id = snapshot_id
        self.timings = {}
        self._stage, self._started = None, None

    def start(self, stage, percent):
        self.stop()
        self._stage, self._started = stage, time.perf_counter()
        if self.snapshot_id is not None:
            Snapshot.objects.filter(pk=self.snapshot_id).update(stage=stage, progress=percent)

    def stop(self):
        if self._stage is not None:
            self.timings[self._stage] = round(time.perf_counter() - self._started, 3)
            self._stage = None


def run_refresh(snapshot_id):
    """Compute and publish the snapshot ``snapshot_id`` (see the module docstring).  Running it again
    for a snapshot that is no longer running does nothing."""
    snapshot = Snapshot.objects.get(pk=snapshot_id)
    if snapshot.status != SnapshotStatus.RUNNING:
        return snapshot
    started = time.perf_counter()
    stages = Stages(snapshot.pk)
    try:
        settings = AnalyticsSettings.load()
        result = compute(snapshot.as_of, settings, stages=stages)
        stages.start(RefreshStage.WRITE, 70)
        write_metrics(snapshot.pk, result)
        stages.start(RefreshStage.PUBLISH, 95)
        with transaction.atomic():
            previous = Snapshot.objects.filter(status=SnapshotStatus.COMPLETE).order_by("-finished_at", "-id").first()
            alerts = create_value_alerts(previous, snapshot) if previous else 0
            stages.stop()
            results = jsonable({**result.results, "value_alerts": alerts, "timings": stages.timings,
                                "total_seconds": round(time.perf_counter() - started, 3)})
            Snapshot.objects.filter(pk=snapshot.pk).update(
                status=SnapshotStatus.COMPLETE, finished_at=timezone.now(), progress=100, stage=RefreshStage.COMPLETE,
                results=results, customers=result.n, settings_used=settings_dict(settings), error="")
        prune_snapshots(settings.keep_snapshots)
    except Exception as exc:
        logger.exception("analytics refresh %s failed", snapshot_id)
        _mark_failed(snapshot.pk, f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}")
        raise
    snapshot.refresh_from_db()
    return snapshot


def jsonable(value):
    """``value`` with numpy numbers as Python ones and NaN or infinity as None (JSON has neither)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _mark_failed(snapshot_id, error):
    delete_snapshot_metrics([snapshot_id])
    Snapshot.objects.filter(pk=snapshot_id).update(status=SnapshotStatus.FAILED, error=error[:4000],
                                                   finished_at=timezone.now())


def prune_snapshots(keep):
    """Keep the ``keep`` newest complete snapshots (and any running one); delete the rest."""
    keep = max(int(keep), 1)
    complete = list(Snapshot.objects.filter(status=SnapshotStatus.COMPLETE).order_by("-finished_at", "-id")
                    .values_list("pk", flat=True))
    kept = set(complete[:keep])
    oldest_kept = (Snapshot.objects.filter(pk__in=kept).order_by("started_at")
                   .values_list("started_at", flat=True).first())
    doomed = set(complete[keep:])
    if oldest_kept is not None:
        doomed |= set(Snapshot.objects.filter(status=SnapshotStatus.FAILED, started_at__lt=oldest_kept)
                      .values_list("pk", flat=True))
    if doomed:
        delete_snapshot_metrics(sorted(doomed))
        Snapshot.objects.filter(pk__in=doomed).delete()
    return len(doomed)
