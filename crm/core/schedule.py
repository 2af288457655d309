"""Periodic tasks: a registry of django-tasks tasks with their interval, and the step that queues the due ones.

Django's tasks API queues work but has no clock.  Apps register their periodic tasks here from
``AppConfig.ready()`` (core knows no domain app)::

    schedule.register("customers.reclaim_pool", reclaim_pool_task, every=datetime.timedelta(days=1))

and ``crm run_periodic`` — every minute from cron or a systemd timer, or from the loop that ``crm serve``
starts — calls :func:`run_due`, which puts every task whose interval has elapsed on the queue.  The work
itself runs in the task worker, like any other task.

Each task has a :class:`~crm.core.models.PeriodicRun` row holding when it was last queued.  The row is
advanced with a compare-and-set update (``WHERE last_enqueued_at = <the value read>``), so when the
command runs twice, or from two machines at once, exactly one of them queues the task.
"""

import datetime
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone

from .jobs import enqueue_on_commit


@dataclass(frozen=True)
class PeriodicTask:
    name: str
    task: object  # a django-tasks Task
    every: datetime.timedelta


_registry: dict[str, PeriodicTask] = {}


def register(name: str, task, *, every: datetime.timedelta) -> PeriodicTask:
    """Run ``task`` (without arguments) every ``every``; ``name`` is its stable key in the database."""
    if every <= datetime.timedelta(0):
        raise ValueError("The interval of a periodic task must be positive.")
    entry = PeriodicTask(name=name, task=task, every=every)
    _registry[name] = entry
    return entry


def registered() -> list[PeriodicTask]:
    return [_registry[name] for name in sorted(_registry)]


def _row(name):
    from .models import PeriodicRun

    try:
        with transaction.atomic():
            return PeriodicRun.objects.get_or_create(name=name)[0]
    except IntegrityError:  # created by another process between our read and our insert
        return PeriodicRun.objects.get(name=name)


def run_due(*, now=None) -> list[str]:
    """Queue every registered task whose interval has elapsed since it was last queued; return their
    names.  Safe to call as often as you like, from as many processes as you like."""
    from .models import PeriodicRun

    now = now or timezone.now()
    queued = []
    for periodic in registered():
        row = _row(periodic.name)
        last = row.last_enqueued_at
        if last is not None and now - last < periodic.every:
            continue
        with transaction.atomic():
            won = PeriodicRun.objects.filter(pk=row.pk, last_enqueued_at=last).update(last_enqueued_at=now)
            if won:
                enqueue_on_commit(periodic.task)
                queued.append(periodic.name)
    return queued
