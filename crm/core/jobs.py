"""One wrapper for background work: enqueue a django-tasks task once the transaction commits."""

from functools import partial

from django.db import transaction


def enqueue_on_commit(task, *args, **kwargs):
    transaction.on_commit(partial(task.enqueue, *args, **kwargs))
