"""Access contracts of the analytics pages and endpoints (crm.core.testing): figures need the view action
and count only the caller's customers; the settings need manage settings."""

import datetime

import pytest
from django.utils import timezone

from crm.analytics.models import CustomerMetrics, Snapshot
from crm.core.testing import EndpointContract, PageContract
from crm.customers.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

SETTINGS_DENIED = ("rep", "viewer", "bj_branch_mgr", "no_role")


def complete_snapshot(days_ago=0):
    at = timezone.now() - datetime.timedelta(days=days_ago)
    return Snapshot.objects.create(as_of=at.date(), status="complete", finished_at=at, progress=100, customers=1)


class Snapshots:
    """Two complete snapshots: the figures and the movement between them have something to show."""

    def make_record(self, org):
        complete_snapshot(days_ago=1)
        return complete_snapshot()

    def shows_record(self, response, record):
        return False  # a snapshot has no name; its figures are scoped (test_authorization_matrix)


class MetricsRecord:
    """One analysed customer of the sales rep, outside the Shanghai rep's scope."""

    scoped_out = "sh_rep"

    def make_record(self, org):
        return CustomerMetrics.objects.create(snapshot=complete_snapshot(),
                                              customer=CustomerFactory(owner=org.rep, name="分析合约客户"), revenue=1)

    def shows_record(self, response, record):
        return record.customer.name.encode() in response.content


# --- pages --------------------------------------------------------------------------------------------------

class TestDashboard(PageContract):
    url_name = "analytics:dashboard"


class TestQuality(Snapshots, PageContract):
    url_name = "analytics:quality"  # company-wide model checks, like the model fits on the dashboard


class TestTransitions(Snapshots, PageContract):
    url_name, headers = "analytics:transitions", {"HTTP_HX_REQUEST": "true"}  # the dashboard's movement section


class TestProgress(PageContract):
    url_name, headers = "analytics:progress", {"HTTP_HX_REQUEST": "true"}  # the refresh's progress bar


class TestSettings(PageContract):
    url_name, allowed, denied = "analytics:settings", "admin", SETTINGS_DENIED


class TestSegments(PageContract):
    url_name, allowed, denied = "analytics:segments", "admin", SETTINGS_DENIED


# --- API ----------------------------------------------------------------------------------------------------

class TestCustomerMetricsListAPI(MetricsRecord, EndpointContract):
    url_name, list_view = "api-analytics-customer-list", True

    def listed(self, response, record):
        return record.customer_id in {row["customer"] for row in response.data["results"]}

    def grow(self, org, record):
        CustomerMetrics.objects.bulk_create([
            CustomerMetrics(snapshot=record.snapshot, customer=CustomerFactory(owner=org.rep), revenue=2)
            for _ in range(5)])


class TestSummaryAPI(Snapshots, EndpointContract):
    url_name = "api-analytics-summary"


class TestTransitionsAPI(Snapshots, EndpointContract):
    url_name = "api-analytics-transitions"


class TestSnapshotListAPI(Snapshots, EndpointContract):
    url_name, list_view = "api-analytics-snapshot-list", True


class TestSnapshotDetailAPI(Snapshots, EndpointContract):
    url_name = "api-analytics-snapshot-detail"
