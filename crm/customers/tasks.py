"""Background tasks of the customer archive (django-tasks)."""

from django_tasks import task


@task()
def reclaim_pool_task():
    """The daily customer pool run: customers nobody served for too long return to the pool, and owners
    are warned before that happens.  Registered as a periodic task in ``CustomersConfig.ready``."""
    from .services import reclaim_inactive_customers

    return reclaim_inactive_customers()
