"""Access contracts of the activity pages and endpoints (crm.core.testing), with query-count guards on the
interaction and to-do lists."""

import pytest

from crm.activities.tests.factories import InteractionFactory, TimelineEventFactory, TodoFactory
from crm.core.testing import EndpointContract, PageContract
from crm.customers.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


class InteractionRecord:
    scoped_out = "sh_rep"

    def make_record(self, org):
        return InteractionFactory(customer=CustomerFactory(owner=org.rep, name="沟通合约客户"), summary="合约沟通纪要")

    def shows_record(self, response, record):
        return record.summary.encode() in response.content

    def grow(self, org, record):
        for _ in range(5):
            InteractionFactory(customer=CustomerFactory(owner=org.rep), user=org.rep)


class TodoRecord:
    scoped_out = "sh_rep"

    def make_record(self, org):
        return TodoFactory(customer=CustomerFactory(owner=org.rep, name="待办合约客户"), title="合约待办")

    def grow(self, org, record):
        for _ in range(5):
            TodoFactory(customer=CustomerFactory(owner=org.rep))


class CustomerTimeline:
    """The timeline is about one customer: the path (page) or ``?customer=`` (API) names it."""

    scoped_out = "sh_rep"

    def make_record(self, org):
        customer = CustomerFactory(owner=org.rep, name="时间线合约客户")
        TimelineEventFactory(customer=customer, title="合约事件")
        return customer


# --- pages --------------------------------------------------------------------------------------------------

class TestInteractionList(InteractionRecord, PageContract):
    url_name, list_view, row_attr = "activities:interaction_list", True, "data-interaction-id"


class TestTodoList(TodoRecord, PageContract):
    url_name, list_view, row_attr = "activities:todo_list", True, "data-todo-id"

    def query(self, record):
        return {"who": "team", "status": ""}


class TestTodoCreate(PageContract):
    """Adding a to-do from the list needs create (an empty form comes back with its errors: 400)."""

    url_name, method, denied, ok_status = "activities:todo_create", "post", ("viewer", "no_role"), (400,)


class TestMyDay(PageContract):
    url_name = "activities:my_day"  # the caller's own to-dos and customers only


class TestTimeline(CustomerTimeline, PageContract):
    url_name, headers = "activities:timeline", {"HTTP_HX_REQUEST": "true"}  # an htmx fragment of the 360° page


class TestInteractionCreate(CustomerTimeline, PageContract):
    url_name, denied = "activities:interaction_create", ("viewer",)


# --- API ----------------------------------------------------------------------------------------------------

class TestInteractionListAPI(InteractionRecord, EndpointContract):
    url_name, list_view = "api-interaction-list", True


class TestInteractionDetailAPI(InteractionRecord, EndpointContract):
    url_name, grow = "api-interaction-detail", None


class TestTodoListAPI(TodoRecord, EndpointContract):
    url_name, list_view = "api-todo-list", True


class TestTodoDetailAPI(TodoRecord, EndpointContract):
    url_name, grow = "api-todo-detail", None


class TestTimelineAPI(CustomerTimeline, EndpointContract):
    url_name = "api-timeline-list"

    def url_kwargs(self, record):
        return {}

    def query(self, record):
        return {"customer": record.pk}
