"""Background tasks of the customer value analysis (django-tasks)."""

from django_tasks import task


@task()
def refresh_task(snapshot_id: int):
    """Compute and publish one snapshot (queued by ``services.request_refresh``)."""
    from .services import run_refresh

    run_refresh(snapshot_id)


@task()
def nightly_refresh_task():
    """The nightly refresh: start a snapshot as of today and compute it here, in the worker.  Does
    nothing when a refresh is already running.  Registered in ``AnalyticsConfig.ready``."""
    from .services import run_refresh, start_refresh

    snapshot, created = start_refresh(actor=None)
    if created:
        run_refresh(snapshot.pk)
    return snapshot.pk
