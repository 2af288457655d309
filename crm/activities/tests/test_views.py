"""The activities pages: logging on the 360° page, the timeline, my day, to-dos, interactions; scope and
query counts."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from crm.activities import services
from crm.activities.choices import TodoKind
from crm.activities.models import Interaction, TimelineEvent, Todo
from crm.activities.tests.factories import InteractionFactory, TodoFactory, bulk_events
from crm.customers.tests.factories import ContactFactory, CustomerFactory

pytestmark = pytest.mark.django_db

MORE = r'hx-get="([^"]+)"\s+hx-target="closest li"\s+hx-swap="outerHTML" data-testid="timeline-more"'

HTMX = {"HTTP_HX_REQUEST": "true"}


def login(client, user):
    client.force_login(user)
    return client


def detail(customer):
    return reverse("customers:detail", args=[customer.pk])


def form(**overrides):
    data = {"kind": "call", "direction": "out", "contact": "", "occurred_at": "", "duration_minutes": "",
            "content": "", "summary": "询问新品报价", "follow_up_on": ""}
    data.update(overrides)
    return data


def _ids(html, attr):
    return [int(x) for x in re.findall(rf'{attr}="(\d+)"'.encode(), html)]


def written():
    return Interaction.objects.count(), Todo.objects.count(), TimelineEvent.objects.count()


# --- the 360° page ----------------------------------------------------------------------------------

def test_detail_page_has_the_form_and_the_timeline(client, org):
    customer = CustomerFactory(owner=org.rep)
    ContactFactory(customer=customer, name="张经理")
    ContactFactory(customer=CustomerFactory(owner=org.rep), name="别家联系人")
    bulk_events(customer, 5)
    html = login(client, org.rep).get(detail(customer)).content.decode()
    for testid in ("log-interaction-form", "interaction-kind", "interaction-summary", "interaction-follow-up",
                   "interaction-submit", "timeline", "timeline-event",
                   "timeline-filter-all", "timeline-filter-order", "timeline-filter-interaction",
                   "timeline-filter-ownership", "timeline-filter-case"):
        assert f'data-testid="{testid}"' in html, testid
    assert "张经理" in html and "别家联系人" not in html  # only this customer's contacts are offered
    assert html.count('data-testid="timeline-event"') == 5
    assert "<script>" not in html and "style=" not in html


def test_viewer_sees_the_timeline_but_not_the_form(client, org):
    customer = CustomerFactory(owner=org.rep)
    bulk_events(customer, 2)
    html = login(client, org.viewer).get(detail(customer)).content.decode()
    assert 'data-testid="log-interaction-form"' not in html
    assert html.count('data-testid="timeline-event"') == 2


def test_log_a_call_with_follow_up_and_see_it_on_my_day(client, org):
    customer = CustomerFactory(owner=org.rep, name="星通科技")
    contact = ContactFactory(customer=customer)
    today = timezone.localdate()
    login(client, org.team_lead)
    response = client.post(reverse("activities:interaction_create", args=[customer.pk]),
                           form(contact=contact.pk, follow_up_on=today.isoformat(), content="feedback"), **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="interaction-logged"' in html
    assert 'hx-swap-oob="true"' in html and "询问新品报价" in html  # the timeline is refreshed too
    interaction = Interaction.objects.get()
    assert (interaction.contact, interaction.user, interaction.content) == (contact, org.team_lead, "feedback")
    todo = Todo.objects.get()
    assert (todo.owner, todo.due_on, todo.kind) == (org.rep, today, TodoKind.FOLLOW_UP)

    my_day = login(client, org.rep).get(reverse("activities:my_day")).content.decode()
    assert 'data-testid="my-day"' in my_day
    assert _ids(my_day.encode(), "data-todo-id") == [todo.pk]
    assert "星通科技" in my_day


def test_log_without_js_redirects_to_the_timeline(client, org):
    customer = CustomerFactory(owner=org.rep)
    response = login(client, org.rep).post(reverse("activities:interaction_create", args=[customer.pk]), form())
    assert response.status_code == 302 and response.url.endswith("#timeline")
    assert written() == (1, 0, 1)


@pytest.mark.parametrize("overrides,field", [
    ({"summary": "  "}, "summary"),
    ({"occurred_at": "2099-01-01T10:00"}, "occurred_at"),
    ({"contact": "other"}, "contact"),
    ({"summary": "x" * 10001}, "summary"),
    ({"follow_up_on": "9999-12-31"}, "follow_up_on"),
    ({"occurred_at": "1800-01-01T10:00"}, "occurred_at"),
])
def test_bad_input_shows_field_errors_and_writes_nothing(client, org, overrides, field):
    customer = CustomerFactory(owner=org.rep)
    if overrides.get("contact") == "other":
        overrides = {"contact": ContactFactory(customer=CustomerFactory(owner=org.rep)).pk}
    response = login(client, org.rep).post(reverse("activities:interaction_create", args=[customer.pk]),
                                           form(**overrides), **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert f'data-testid="field-error-{field}"' in html
    assert written() == (0, 0, 0)


def test_logging_needs_create_and_a_visible_customer(client, org):
    url = reverse("activities:interaction_create", args=[CustomerFactory(owner=org.sh_rep).pk])
    assert login(client, org.rep).post(url, form()).status_code == 404
    url = reverse("activities:interaction_create", args=[CustomerFactory(owner=org.rep).pk])
    assert login(client, org.viewer).post(url, form()).status_code == 403
    assert written() == (0, 0, 0)


def _detail_queries(client, customer):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(detail(customer))
    assert response.status_code == 200
    return len(ctx), response.content.decode().count('data-testid="timeline-event"')


def test_detail_query_count_does_not_depend_on_the_number_of_events(client, org):
    customer = CustomerFactory(owner=org.rep)
    ContactFactory(customer=customer)
    services.log_interaction(customer, actor=org.rep, data={"kind": "call", "summary": "first"})
    login(client, org.team_lead)
    _detail_queries(client, customer)
    few, shown_few = _detail_queries(client, customer)
    bulk_events(customer, 400)
    many, shown_many = _detail_queries(client, customer)
    assert (shown_few, shown_many) == (1, 30)
    assert few == many


# --- the timeline partial -----------------------------------------------------------------------------

def test_timeline_filter_and_load_more(client, org):
    customer = CustomerFactory(owner=org.rep)
    bulk_events(customer, 90)
    login(client, org.rep)
    url = reverse("activities:timeline", args=[customer.pk])
    orders = client.get(url, {"kind": "order"}, **HTMX).content.decode()
    assert set(re.findall(r'data-testid="timeline-event" data-kind="(\w+)"', orders)) == {"order"}
    assert 'data-testid="timeline-filter-order" aria-current="true"' in orders

    seen, counts = [], []
    address = url
    while address:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(address, **HTMX)
        counts.append(len(ctx))
        seen += _ids(response.content, "data-event-id")
        more = re.search(MORE,
                         response.content.decode())
        address = more.group(1).replace("&amp;", "&") if more else None
    expected = list(TimelineEvent.objects.filter(customer=customer).order_by("-at", "-id").values_list("pk", flat=True))
    assert seen == expected
    assert len(set(counts[1:])) == 1  # every "load more" costs the same


def test_timeline_same_query_count_on_page_1_and_page_10(client, org):
    customer = CustomerFactory(owner=org.rep)
    bulk_events(customer, 310)
    login(client, org.rep)
    url = reverse("activities:timeline", args=[customer.pk])
    client.get(url, **HTMX)  # the session's first request also notes the log-in steps; not a page cost
    address, counts = url + "?cursor=", []
    for _ in range(10):
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(address, **HTMX)
        counts.append(len(ctx))
        more = re.search(MORE,
                         response.content.decode())
        address = more.group(1).replace("&amp;", "&")
    assert counts[0] == counts[9]


def test_timeline_without_js_pages_on_the_detail_page(client, org):
    customer = CustomerFactory(owner=org.rep)
    bulk_events(customer, 40)
    login(client, org.rep)
    first = client.get(detail(customer), {"timeline": "interaction"})
    html = first.content.decode()
    assert set(re.findall(r'data-testid="timeline-event" data-kind="(\w+)"', html)) == {"interaction"}
    page = client.get(detail(customer))
    after = re.search(r'href="([^"]+)"\s+hx-get="[^"]+"\s+hx-target="closest li"', page.content.decode())
    second = client.get(after.group(1).replace("&amp;", "&").split("#")[0])
    assert set(_ids(second.content, "data-event-id")).isdisjoint(_ids(page.content, "data-event-id"))


def test_timeline_of_an_invisible_customer_is_404(client, org):
    customer = CustomerFactory(owner=org.sh_rep, name="上海的客户")
    bulk_events(customer, 3)
    response = login(client, org.rep).get(reverse("activities:timeline", args=[customer.pk]), **HTMX)
    assert response.status_code == 404 and "上海的客户".encode() not in response.content


def test_tampered_cursor_is_404(client, org):
    customer = CustomerFactory(owner=org.rep)
    response = login(client, org.rep).get(reverse("activities:timeline", args=[customer.pk]), {"cursor": "x"}, **HTMX)
    assert response.status_code == 404


# --- my day and to-dos ----------------------------------------------------------------------------------

def test_my_day_complete_and_reopen_with_htmx(client, org):
    todo = TodoFactory(owner=org.rep, due_on=timezone.localdate() - datetime.timedelta(days=1))
    login(client, org.rep)
    html = client.get(reverse("activities:my_day")).content.decode()
    assert 'data-testid="todo-complete"' in html and 'data-testid="todo-overdue"' in html
    response = client.post(reverse("activities:todo_complete", args=[todo.pk]), **HTMX)
    assert 'data-testid="todo-reopen"' in response.content.decode()
    assert not Todo.objects.get().is_open
    response = client.post(reverse("activities:todo_reopen", args=[todo.pk]), {"next": "https://evil.example/"})
    assert response.status_code == 302 and response.url == reverse("activities:my_day")
    assert Todo.objects.get().is_open


def test_my_day_shows_customers_about_to_return(client, org):
    from crm.customers.models import Customer, PoolRule

    PoolRule.objects.create(days_without_activity=30, warn_days_before=7)
    customer = CustomerFactory(owner=org.rep, name="快回公海的客户")
    Customer.objects.filter(pk=customer.pk).update(last_activity_at=timezone.now() - datetime.timedelta(days=26))
    html = login(client, org.rep).get(reverse("activities:my_day")).content.decode()
    assert 'data-testid="due-to-return-row"' in html and "快回公海的客户" in html


def test_todo_of_someone_outside_scope_is_404(client, org):
    todo = TodoFactory(owner=org.sh_rep)
    login(client, org.rep)
    for name in ("todo_complete", "todo_reopen"):
        assert client.post(reverse(f"activities:{name}", args=[todo.pk])).status_code == 404
    assert Todo.objects.get().is_open


def test_todo_list_mine_team_and_status_filters(client, org):
    mine = TodoFactory(owner=org.rep)
    teammates = TodoFactory(owner=org.teammate)
    done = TodoFactory(owner=org.rep, done_at=timezone.now())
    TodoFactory(owner=org.sh_rep)
    url = reverse("activities:todo_list")
    login(client, org.team_lead)
    assert _ids(client.get(url).content, "data-todo-id") == []  # the team lead's own open to-dos: none
    team = client.get(url, {"who": "team", "status": "open"})
    assert sorted(_ids(team.content, "data-todo-id")) == sorted([mine.pk, teammates.pk])
    assert _ids(client.get(url, {"who": "team", "status": "done"}).content, "data-todo-id") == [done.pk]
    login(client, org.rep)
    assert _ids(client.get(url).content, "data-todo-id") == [mine.pk]
    assert _ids(client.get(url, {"who": "team"}).content, "data-todo-id") == [mine.pk, done.pk]


def test_todo_list_due_range_and_htmx_rows(client, org):
    today = timezone.localdate()
    TodoFactory(owner=org.rep, due_on=today - datetime.timedelta(days=10))
    inside = TodoFactory(owner=org.rep, due_on=today)
    login(client, org.rep)
    since = (today - datetime.timedelta(days=1)).isoformat()
    response = client.get(reverse("activities:todo_list"), {"due_after": since},
                          HTTP_HX_REQUEST="true", HTTP_HX_TARGET="todo-results")
    assert b"<html" not in response.content
    assert _ids(response.content, "data-todo-id") == [inside.pk]


def test_create_todo_from_the_list(client, org):
    url = reverse("activities:todo_create")
    login(client, org.team_lead)
    response = client.post(url, {"title": "准备报价", "due_on": timezone.localdate().isoformat(),
                                 "owner": org.teammate.pk})
    assert response.status_code == 302
    assert Todo.objects.get().owner == org.teammate
    response = client.post(url, {"title": "", "due_on": ""})
    assert response.status_code == 400 and b'data-testid="field-error-title"' in response.content
    assert Todo.objects.count() == 1
    response = client.post(url, {"title": "准备报价", "due_on": "9999-12-31"})
    assert response.status_code == 400 and b'data-testid="field-error-due_on"' in response.content
    assert Todo.objects.count() == 1


# --- interactions list ----------------------------------------------------------------------------------

def test_interaction_list_filters_and_scope(client, org):
    customer = CustomerFactory(owner=org.rep)
    call = InteractionFactory(customer=customer, kind="call", content="feedback", user=org.rep)
    visit = InteractionFactory(customer=customer, kind="visit", user=org.rep,
                               occurred_at=timezone.now() - datetime.timedelta(days=20))
    hidden = InteractionFactory(customer=CustomerFactory(owner=org.sh_rep))
    url = reverse("activities:interaction_list")
    login(client, org.rep)
    assert _ids(client.get(url).content, "data-interaction-id") == [call.pk, visit.pk]
    assert _ids(client.get(url, {"kind": "visit"}).content, "data-interaction-id") == [visit.pk]
    assert _ids(client.get(url, {"content": "feedback"}).content, "data-interaction-id") == [call.pk]
    since = (timezone.localdate() - datetime.timedelta(days=5)).isoformat()
    assert _ids(client.get(url, {"occurred_after": since}).content, "data-interaction-id") == [call.pk]
    assert _ids(client.get(url, {"customer": customer.pk}).content, "data-interaction-id") == [call.pk, visit.pk]
    assert _ids(client.get(url, {"customer": hidden.customer_id}).content, "data-interaction-id") == []
    assert client.get(url, {"user": org.sh_rep.pk}).status_code == 200  # not offered: a form error, no rows


def test_interaction_list_keyset_pages(client, org):
    customer = CustomerFactory(owner=org.rep)
    now = timezone.now()
    made = [InteractionFactory(customer=customer, occurred_at=now - datetime.timedelta(hours=i)) for i in range(7)]
    login(client, org.rep)
    seen, address = [], reverse("activities:interaction_list") + "?page_size=3"
    while address:
        with CaptureQueriesContext(connection) as ctx:
            response = client.get(address)
        assert not any("OFFSET" in q["sql"].upper() for q in ctx.captured_queries)
        seen += [i.pk for i in response.context["interactions"]]
        address = response.context["next_url"]
    assert seen == [i.pk for i in made]


def test_nav_links_to_my_day(client, org):
    html = login(client, org.rep).get(reverse("customers:list")).content.decode()
    assert f'href="{reverse("activities:my_day")}"' in html


def test_pages_need_log_in_and_a_role(client, org):
    for name in ("my_day", "todo_list", "interaction_list"):
        response = client.get(reverse(f"activities:{name}"))
        assert response.status_code == 302
    login(client, org.no_role)
    for name in ("my_day", "todo_list", "interaction_list"):
        assert client.get(reverse(f"activities:{name}")).status_code == 403
