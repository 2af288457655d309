"""Periodic tasks: queued once per interval, however often and from however many processes
``run_periodic`` runs."""

import datetime
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_tasks import task
from django_tasks_db.models import DBTaskResult

from crm.core import schedule
from crm.core.models import PeriodicRun

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(datetime.datetime(2025, 6, 1, 3, 0))


@task()
def tick():
    return "tick"


@pytest.fixture
def registry(monkeypatch):
    """An empty registry with one test task: the apps' own periodic tasks stay out of these tests."""
    monkeypatch.setattr(schedule, "_registry", {})
    schedule.register("tests.tick", tick, every=datetime.timedelta(days=1))


def queued():
    return DBTaskResult.objects.filter(task_path__endswith=".tick").count()


def test_run_periodic_enqueues_once_per_interval(registry, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert schedule.run_due(now=NOW) == ["tests.tick"]
        assert schedule.run_due(now=NOW) == []
        assert schedule.run_due(now=NOW + datetime.timedelta(hours=23, minutes=59)) == []
    assert queued() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert schedule.run_due(now=NOW + datetime.timedelta(days=1)) == ["tests.tick"]
    assert queued() == 2
    assert PeriodicRun.objects.get(name="tests.tick").last_enqueued_at == NOW + datetime.timedelta(days=1)


def test_two_processes_reading_the_same_state_enqueue_once(registry, monkeypatch,
                                                           django_capture_on_commit_callbacks):
    """Both processes read "never queued"; only the first compare-and-set update wins."""
    stale = PeriodicRun.objects.create(name="tests.tick")
    monkeypatch.setattr(schedule, "_row", lambda name: PeriodicRun(pk=stale.pk, name=name, last_enqueued_at=None))
    with django_capture_on_commit_callbacks(execute=True):
        first = schedule.run_due(now=NOW)
        second = schedule.run_due(now=NOW)
    assert (first, second) == (["tests.tick"], [])
    assert queued() == 1


def test_command_runs_the_due_tasks(registry, django_capture_on_commit_callbacks):
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("run_periodic", stdout=out)
        call_command("run_periodic", stdout=out)
    assert out.getvalue().count("Queued tests.tick.") == 1
    assert queued() == 1


def test_apps_register_their_periodic_tasks():
    names = {p.name: p for p in schedule.registered()}
    assert names["customers.reclaim_pool"].every == datetime.timedelta(days=1)


def test_a_queued_pool_run_executes_the_service():
    from crm.customers.tasks import reclaim_pool_task

    assert reclaim_pool_task.call() == {"returned": 0, "warned": 0}


def test_interval_must_be_positive(registry):
    with pytest.raises(ValueError):
        schedule.register("tests.never", tick, every=datetime.timedelta(0))
