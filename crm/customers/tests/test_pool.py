"""The customer pool (公海) and hand-over: claim within the cap, release with a reason, the periodic
reclaim run with its warnings, and the hand-over of a leaving employee's portfolio."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from crm.activities.choices import TodoKind
from crm.activities.models import TimelineEvent, Todo
from crm.core.models import AuditEntry
from crm.customers import services
from crm.customers.choices import OWNERSHIP_EVENT, POOL_WARNING_TODO, CustomerType
from crm.customers.models import Customer, OwnershipChange, PoolRule
from crm.customers.queries import customers_due_to_return, pool_for
from crm.customers.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(datetime.datetime(2025, 6, 1, 9, 0))


def days_ago(n):
    return NOW - datetime.timedelta(days=n)


def set_cap(user, cap):
    user.role.max_customers = cap
    user.role.save()
    user.refresh_from_db()


# --- the pool an actor sees -------------------------------------------------------------------------

def test_pool_is_the_actors_branch_with_sub_branches(org):
    bj2 = CustomerFactory(owner=None, branch=org.bj2)
    tj = CustomerFactory(owner=None, branch=org.tj1)
    sh = CustomerFactory(owner=None, branch=org.sh1)
    nowhere = CustomerFactory(owner=None, branch=None)
    CustomerFactory(owner=org.teammate)  # owned: never in a pool
    assert set(pool_for(org.rep)) == {bj2, tj}
    assert set(pool_for(org.tj_rep)) == {tj}
    assert set(pool_for(org.sh_rep)) == {sh}
    assert set(pool_for(org.ceo)) == {bj2, tj, sh, nowhere}
    assert not pool_for(org.no_role).exists()


# --- claim --------------------------------------------------------------------------------------------

def test_claim_within_the_cap_and_refused_beyond(org):
    set_cap(org.rep, 2)
    CustomerFactory(owner=org.rep)
    first, second = (CustomerFactory(owner=None, branch=org.bj2) for _ in range(2))
    claimed = services.claim_customer(first, actor=org.rep)
    assert claimed.owner == org.rep and claimed.branch == org.bj1 and claimed.owned_since is not None
    with pytest.raises(ValidationError) as exc:
        services.claim_customer(second, actor=org.rep)
    assert exc.value.code == "customer_cap"
    assert "at most 2" in exc.value.messages[0]
    second.refresh_from_db()
    assert second.owner is None
    change = OwnershipChange.objects.get(customer=first)
    assert change.from_owner is None and change.to_owner == org.rep and change.changed_by == org.rep


def test_no_cap_means_no_limit(org):
    set_cap(org.rep, None)
    for _ in range(3):
        services.claim_customer(CustomerFactory(owner=None, branch=org.bj1), actor=org.rep)
    assert Customer.objects.filter(owner=org.rep).count() == 3


def test_claim_of_an_owned_customer_is_refused(org):
    owned = CustomerFactory(owner=org.rep)
    with pytest.raises(ValidationError) as exc:
        services.claim_customer(owned, actor=org.team_lead)
    assert exc.value.code == "owned"
    hidden = CustomerFactory(owner=org.sh_rep)
    with pytest.raises(PermissionDenied):
        services.claim_customer(hidden, actor=org.rep)


def test_claim_from_another_branchs_pool_is_refused(org):
    shanghai = CustomerFactory(owner=None, branch=org.sh1)
    with pytest.raises(PermissionDenied):
        services.claim_customer(shanghai, actor=org.rep)
    shanghai.refresh_from_db()
    assert shanghai.owner is None


def test_claim_needs_the_change_action(org):
    customer = CustomerFactory(owner=None, branch=org.bj1)
    with pytest.raises(PermissionDenied):
        services.claim_customer(customer, actor=org.viewer)


# --- release -----------------------------------------------------------------------------------------

def test_release_records_who_and_why_in_history_timeline_and_audit(org):
    customer = CustomerFactory(owner=org.rep)
    services.release_customer(customer, actor=org.rep, reason="客户已转给经销商")
    customer.refresh_from_db()
    assert customer.owner is None and customer.branch == org.bj1 and customer.owned_since is None
    change = OwnershipChange.objects.get(customer=customer)
    assert (change.from_owner, change.to_owner, change.changed_by, change.reason) == (
        org.rep, None, org.rep, "客户已转给经销商")
    event = TimelineEvent.objects.get(customer=customer, kind=OWNERSHIP_EVENT)
    assert event.detail == "客户已转给经销商" and event.actor == org.rep
    assert AuditEntry.objects.filter(object_id=str(customer.pk), actor=org.rep,
                                     changes__has_key="owner_id").exists()
    assert customer in pool_for(org.teammate)


def test_release_needs_a_reason_and_the_owner_or_assign(org):
    customer = CustomerFactory(owner=org.rep)
    with pytest.raises(ValidationError) as exc:
        services.release_customer(customer, actor=org.rep, reason="  ")
    assert "reason" in exc.value.message_dict
    with pytest.raises(PermissionDenied):  # a teammate cannot see it
        services.release_customer(customer, actor=org.teammate, reason="想要")
    with pytest.raises(PermissionDenied):  # sees it, but neither owns it nor may assign
        services.release_customer(customer, actor=org.viewer, reason="想要")
    services.release_customer(customer, actor=org.manager, reason="重新分配")
    customer.refresh_from_db()
    assert customer.owner is None
    with pytest.raises(ValidationError):
        services.release_customer(customer, actor=org.ceo, reason="again")


# --- the reclaim run -----------------------------------------------------------------------------------

@pytest.fixture
def rules(db):
    return {
        "": PoolRule.objects.create(customer_type="", days_without_activity=90, warn_days_before=10),
        CustomerType.RELATIONSHIP: PoolRule.objects.create(
            customer_type=CustomerType.RELATIONSHIP, days_without_activity=180, warn_days_before=20),
    }


def owned(owner, *, last=None, since=None, customer_type=CustomerType.UNKNOWN):
    customer = CustomerFactory(owner=owner, customer_type=customer_type)
    Customer.objects.filter(pk=customer.pk).update(last_activity_at=last, owned_since=since or days_ago(400))
    return customer


def test_reclaim_per_type_rule_and_default_rule(org, rules):
    stale = owned(org.rep, last=days_ago(100))
    fresh = owned(org.rep, last=days_ago(50))
    key_kept = owned(org.rep, last=days_ago(100), customer_type=CustomerType.RELATIONSHIP)
    key_stale = owned(org.teammate, last=days_ago(200), customer_type=CustomerType.RELATIONSHIP)
    never = owned(org.sh_rep, last=None, since=days_ago(95))
    result = services.reclaim_inactive_customers(now=NOW)
    assert result["returned"] == 3
    owners = dict(Customer.objects.values_list("pk", "owner_id"))
    assert owners[stale.pk] is None and owners[key_stale.pk] is None and owners[never.pk] is None
    assert owners[fresh.pk] == org.rep.pk and owners[key_kept.pk] == org.rep.pk
    change = OwnershipChange.objects.get(customer=stale)
    assert change.from_owner == org.rep and change.to_owner is None and change.changed_by is None
    assert "90 days" in change.reason
    assert "180 days" in OwnershipChange.objects.get(customer=key_stale).reason
    assert TimelineEvent.objects.filter(customer=stale, kind=OWNERSHIP_EVENT).count() == 1
    entry = AuditEntry.objects.get(object_id=str(stale.pk), action="update", changes__has_key="owner_id")
    assert entry.source == "system" and entry.actor is None and entry.changes["owner_id"] == [org.rep.pk, None]


def test_warning_window_creates_one_todo_once(org, rules):
    warned = owned(org.rep, last=days_ago(85))  # 90-day rule, 10 days' warning: in the window
    key_warned = owned(org.rep, last=days_ago(165), customer_type=CustomerType.RELATIONSHIP)  # 180 - 20
    quiet = owned(org.rep, last=days_ago(70))
    assert set(customers_due_to_return(org.rep, now=NOW)) == {warned, key_warned}
    assert services.reclaim_inactive_customers(now=NOW) == {"returned": 0, "warned": 2}
    todos = Todo.objects.filter(kind=POOL_WARNING_TODO)
    assert {t.customer_id for t in todos} == {warned.pk, key_warned.pk}
    todo = todos.get(customer=warned)
    assert todo.owner == org.rep and todo.due_on == timezone.localdate(days_ago(85) + datetime.timedelta(days=90))
    assert AuditEntry.objects.filter(object_id=str(todo.pk), action="create", source="system").exists()
    quiet.refresh_from_db()
    assert quiet.pool_warned_at is None
    # The next day's run warns nobody twice.
    assert services.reclaim_inactive_customers(now=NOW + datetime.timedelta(days=1)) == {"returned": 0, "warned": 0}
    assert Todo.objects.filter(kind=POOL_WARNING_TODO).count() == 2


def test_running_twice_changes_nothing(org, rules):
    owned(org.rep, last=days_ago(100))
    owned(org.rep, last=days_ago(85))
    assert services.reclaim_inactive_customers(now=NOW) == {"returned": 1, "warned": 1}
    counts = (OwnershipChange.objects.count(), TimelineEvent.objects.count(), AuditEntry.objects.count(),
              Todo.objects.count(), list(Customer.objects.order_by("pk").values_list("owner_id", "pool_warned_at")))
    assert services.reclaim_inactive_customers(now=NOW) == {"returned": 0, "warned": 0}
    assert counts == (OwnershipChange.objects.count(), TimelineEvent.objects.count(), AuditEntry.objects.count(),
                      Todo.objects.count(),
                      list(Customer.objects.order_by("pk").values_list("owner_id", "pool_warned_at")))


def test_activity_restarts_the_clock(org, rules):
    customer = owned(org.rep, last=days_ago(85))
    services.reclaim_inactive_customers(now=NOW)
    customer.refresh_from_db()
    assert customer.pool_warned_at is not None
    services.touch_activity({customer.pk: NOW})
    customer.refresh_from_db()
    assert customer.pool_warned_at is None
    later = NOW + datetime.timedelta(days=30)
    assert services.reclaim_inactive_customers(now=later) == {"returned": 0, "warned": 0}
    customer.refresh_from_db()
    assert customer.owner == org.rep
    # Without further activity the clock runs out again: a fresh warning, then the pool.
    assert services.reclaim_inactive_customers(now=NOW + datetime.timedelta(days=85))["warned"] == 1
    assert services.reclaim_inactive_customers(now=NOW + datetime.timedelta(days=91))["returned"] == 1
    customer.refresh_from_db()
    assert customer.owner is None
    assert not Todo.objects.filter(customer=customer, kind=POOL_WARNING_TODO, done_at__isnull=True).exists()


def test_no_rules_no_run(org):
    owned(org.rep, last=days_ago(1000))
    assert services.reclaim_inactive_customers(now=NOW) == {"returned": 0, "warned": 0}


def test_inactive_rule_is_ignored(org, rules):
    PoolRule.objects.update(active=False)
    owned(org.rep, last=days_ago(1000))
    assert services.reclaim_inactive_customers(now=NOW)["returned"] == 0


# --- hand-over ---------------------------------------------------------------------------------------

def todo_for(user, customer=None, kind=TodoKind.FOLLOW_UP, done=False):
    return Todo.objects.create(owner=user, customer=customer, kind=kind, title="跟进", due_on=NOW.date(),
                               done_at=NOW if done else None)


def test_handover_to_one_person_moves_customers_and_open_todos(org):
    customers = [CustomerFactory(owner=org.rep) for _ in range(3)]
    open_todo = todo_for(org.rep, customers[0])
    loose_todo = todo_for(org.rep, kind=TodoKind.TASK)
    done_todo = todo_for(org.rep, customers[1], done=True)
    result = services.reassign_portfolio(actor=org.manager, from_user=org.rep, to_user=org.sub, reason="离职")
    assert result["customers"] == 3 and result["todos"] == 2
    assert set(Customer.objects.filter(owner=org.sub)) == set(customers)
    assert Todo.objects.get(pk=open_todo.pk).owner == org.sub
    assert Todo.objects.get(pk=loose_todo.pk).owner == org.sub
    assert Todo.objects.get(pk=done_todo.pk).owner == org.rep
    for customer in customers:
        change = OwnershipChange.objects.get(customer=customer)
        assert (change.from_owner, change.to_owner, change.changed_by, change.reason) == (
            org.rep, org.sub, org.manager, "离职")
        assert TimelineEvent.objects.filter(customer=customer, kind=OWNERSHIP_EVENT, actor=org.manager).exists()
        assert AuditEntry.objects.filter(object_id=str(customer.pk), actor=org.manager,
                                         changes__owner_id=[org.rep.pk, org.sub.pk]).exists()


def test_handover_spreads_evenly_across_a_team(org):
    # bj1's active members within the team lead's access who may work on customers: sub, subsub,
    # teammate, manager, team_lead (rep is leaving; viewer and no_role cannot change customers).
    # Some already own customers, so the split has to balance.
    CustomerFactory.create_batch(3, owner=org.sub)
    CustomerFactory(owner=org.teammate)
    leaving = [CustomerFactory(owner=org.rep) for _ in range(12)]
    todo = todo_for(org.rep, leaving[5])
    result = services.reassign_portfolio(actor=org.team_lead, from_user=org.rep, to_unit=org.bj1, reason="调岗")
    assert result["customers"] == 12
    members = [org.manager, org.sub, org.subsub, org.teammate, org.team_lead]
    totals = {u.username: Customer.objects.filter(owner=u).count() for u in members}
    assert max(totals.values()) - min(totals.values()) <= 1  # 16 customers over 5 people: 4, 3, 3, 3, 3
    assert sum(totals.values()) == 16 and totals["sub"] == 3
    assert not Customer.objects.filter(owner__in=[org.viewer, org.no_role]).exists()
    assert not Customer.objects.filter(owner=org.rep).exists()
    moved = Customer.objects.get(pk=leaving[5].pk)
    assert Todo.objects.get(pk=todo.pk).owner_id == moved.owner_id
    # Deterministic: the same arrangement gives the same split.
    assignment = dict(Customer.objects.filter(pk__in=[c.pk for c in leaving]).values_list("pk", "owner_id"))
    assert assignment[leaving[0].pk] == org.manager.pk  # least loaded (0), lowest id first


def test_handover_refused_outside_scope(org):
    CustomerFactory(owner=org.sh_rep)
    with pytest.raises(ValidationError) as exc:
        services.reassign_portfolio(actor=org.bj_branch_mgr, from_user=org.sh_rep, to_user=org.rep, reason="x")
    assert "from_user" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.reassign_portfolio(actor=org.bj_branch_mgr, from_user=org.rep, to_user=org.sh_rep, reason="x")
    assert "to_user" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        services.reassign_portfolio(actor=org.bj_branch_mgr, from_user=org.rep, to_unit=org.sh1, reason="x")
    assert "to_unit" in exc.value.message_dict
    with pytest.raises(PermissionDenied):
        services.reassign_portfolio(actor=org.rep, from_user=org.rep, to_user=org.teammate, reason="x")
    assert Customer.objects.get(owner=org.sh_rep)


def test_handover_of_a_user_who_has_left(org):
    customer = CustomerFactory(owner=org.rep)
    org.rep.is_active = False
    org.rep.save()
    services.reassign_portfolio(actor=org.manager, from_user=org.rep, to_user=org.sub, reason="已离职")
    customer.refresh_from_db()
    assert customer.owner == org.sub


def test_handover_needs_a_reason_and_one_target(org):
    with pytest.raises(ValidationError) as exc:
        services.reassign_portfolio(actor=org.ceo, from_user=org.rep, reason="")
    assert {"reason", "to_user"} <= set(exc.value.message_dict)
    with pytest.raises(ValidationError):
        services.reassign_portfolio(actor=org.ceo, from_user=org.rep, to_user=org.sub, to_unit=org.bj1, reason="x")


# --- pages ---------------------------------------------------------------------------------------------

def page_client(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


def test_pool_page_lists_claimable_customers_with_why_they_returned(org):
    from django.urls import reverse

    set_cap(org.rep, 5)
    mine = CustomerFactory(owner=org.teammate, name="回到公海的客户", city="北京")
    services.release_customer(mine, actor=org.teammate, reason="不再合作")
    CustomerFactory(owner=None, branch=org.sh1, name="上海公海客户")
    response = page_client(org.rep).get(reverse("customers:pool"))
    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('data-testid="pool-row"') == 1
    assert "回到公海的客户" in html and "不再合作" in html and "上海公海客户" not in html
    assert 'data-testid="pool-claim"' in html
    assert "You own 0 of your cap of 5 customers" in html
    search = page_client(org.rep).get(reverse("customers:pool"), {"q": "不存在"}, HTTP_HX_REQUEST="true")
    assert 'data-testid="pool-row"' not in search.content.decode()


def test_pool_page_pages_by_keyset(org):
    from django.urls import reverse

    CustomerFactory.create_batch(60, owner=None, branch=org.bj1)
    client = page_client(org.rep)
    first = client.get(reverse("customers:pool"))
    assert first.content.decode().count('data-testid="pool-row"') == 50
    next_url = first.context["next_url"]
    second = client.get(next_url)
    assert second.content.decode().count('data-testid="pool-row"') == 10
    ids = {c.pk for c in first.context["customers"]} | {c.pk for c in second.context["customers"]}
    assert len(ids) == 60


def test_claim_button_with_htmx_swaps_the_row_and_the_cap(org):
    from django.urls import reverse

    set_cap(org.rep, 1)
    first, second = (CustomerFactory(owner=None, branch=org.bj1) for _ in range(2))
    client = page_client(org.rep)
    response = client.post(reverse("customers:pool_claim", args=[first.pk]), HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-testid="pool-claimed"' in html and 'hx-swap-oob="true"' in html
    assert "You own 1 of your cap of 1 customers" in html
    refused = client.post(reverse("customers:pool_claim", args=[second.pk]), HTTP_HX_REQUEST="true")
    assert 'data-testid="pool-claim-error"' in refused.content.decode()
    assert "at most 1" in refused.content.decode()
    second.refresh_from_db()
    assert second.owner is None


def test_claim_without_htmx_goes_to_the_customer(org):
    from django.urls import reverse

    customer = CustomerFactory(owner=None, branch=org.bj2)
    response = page_client(org.rep).post(reverse("customers:pool_claim", args=[customer.pk]))
    assert response.status_code == 302 and response.url == reverse("customers:detail", args=[customer.pk])
    customer.refresh_from_db()
    assert customer.owner == org.rep


def test_claim_of_another_branchs_pool_customer_is_404(org):
    from django.urls import reverse

    customer = CustomerFactory(owner=None, branch=org.sh1)
    response = page_client(org.rep).post(reverse("customers:pool_claim", args=[customer.pk]))
    assert response.status_code == 404
    customer.refresh_from_db()
    assert customer.owner is None


def test_release_from_the_360_page(org):
    from django.urls import reverse

    customer = CustomerFactory(owner=org.rep)
    client = page_client(org.rep)
    detail = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert 'data-testid="release-form"' in detail and 'data-testid="release-reason"' in detail
    empty = client.post(reverse("customers:release", args=[customer.pk]), {"reason": ""})
    assert empty.status_code == 400 and 'data-testid="release-submit"' in empty.content.decode()
    response = client.post(reverse("customers:release", args=[customer.pk]), {"reason": "客户搬迁"})
    assert response.status_code == 302 and response.url == reverse("customers:pool")
    customer.refresh_from_db()
    assert customer.owner is None
    assert OwnershipChange.objects.get(customer=customer).reason == "客户搬迁"
    # Visible in the history on the 360° page of someone who may see it.
    history = page_client(org.bj_branch_mgr).get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert "客户搬迁" in history


def test_release_form_hidden_from_those_who_cannot_release(org):
    from django.urls import reverse

    customer = CustomerFactory(owner=org.rep)
    detail = page_client(org.viewer).get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert 'data-testid="release-form"' not in detail
    assert page_client(org.viewer).post(reverse("customers:release", args=[customer.pk]),
                                        {"reason": "x"}).status_code == 403


def test_pool_rules_pages(org):
    from django.urls import reverse

    assert page_client(org.rep).get(reverse("customers:pool_rules")).status_code == 403
    client = page_client(org.ceo)
    response = client.post(reverse("customers:pool_rule_create"), {
        "customer_type": "", "days_without_activity": "60", "warn_days_before": "7", "active": "on"})
    assert response.status_code == 302
    rule = PoolRule.objects.get(customer_type="")
    bad = client.post(reverse("customers:pool_rule_edit", args=[rule.pk]), {
        "customer_type": "", "days_without_activity": "5", "warn_days_before": "7", "active": "on"})
    assert bad.status_code == 400
    client.post(reverse("customers:pool_rule_create"), {
        "customer_type": CustomerType.RELATIONSHIP, "days_without_activity": "120", "warn_days_before": "14"})
    page = client.get(reverse("customers:pool_rules")).content.decode()
    assert page.count('data-testid="pool-rule-row"') == 2
    assert AuditEntry.objects.filter(object_id=str(rule.pk), actor=org.ceo).exists()


def test_handover_page_shows_what_moves_then_moves_it(org):
    from django.urls import reverse

    CustomerFactory.create_batch(3, owner=org.rep)
    todo_for(org.rep)
    client = page_client(org.manager)
    assert page_client(org.rep).get(reverse("customers:handover")).status_code == 403
    preview = client.get(reverse("customers:handover"), {"from_user": org.rep.pk})
    html = preview.content.decode()
    assert 'data-testid="handover-form"' in html and 'data-testid="handover-from"' in html
    assert "owns 3 customers and has 1 open to-dos" in html
    response = client.post(reverse("customers:handover"), {"from_user": org.rep.pk, "to_user": org.sub.pk,
                                                           "reason": "离职交接"})
    html = response.content.decode()
    assert response.status_code == 200 and 'data-testid="handover-result"' in html
    assert Customer.objects.filter(owner=org.sub).count() == 3
    outside = client.post(reverse("customers:handover"), {"from_user": org.sh_rep.pk, "to_user": org.sub.pk,
                                                          "reason": "x"})
    assert outside.status_code == 400


def test_role_form_sets_the_customer_cap(org):
    from django.urls import reverse

    from crm.accounts.models import Role

    role = org.rep.role
    client = page_client(org.admin)
    page = client.get(reverse("accounts:role_edit", args=[role.pk])).content.decode()
    assert 'data-testid="role-max-customers"' in page
    response = client.post(reverse("accounts:role_edit", args=[role.pk]), {
        "name": role.name, "description": "", "permissions": role.permissions, "data_scope": role.data_scope,
        "max_customers": "30"})
    assert response.status_code == 302
    assert Role.objects.get(pk=role.pk).max_customers == 30


def test_pool_page_query_count_does_not_grow_with_rows(org, django_assert_max_num_queries):
    from django.urls import reverse

    client = page_client(org.rep)
    CustomerFactory.create_batch(3, owner=None, branch=org.bj1)
    client.get(reverse("customers:pool"))  # warm the session and content types
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get(reverse("customers:pool"))
    CustomerFactory.create_batch(40, owner=None, branch=org.bj2)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("customers:pool"))
    assert response.content.decode().count('data-testid="pool-row"') == 43


def test_a_customer_just_taken_over_gets_the_full_period(org, rules):
    """The clock starts at the later of the last activity and the take-over: a customer claimed or
    handed over with an old history does not go straight back to the pool."""
    taken_over = owned(org.rep, last=days_ago(300), since=days_ago(5))
    old = owned(org.rep, last=days_ago(300), since=days_ago(300))
    assert services.reclaim_inactive_customers(now=NOW) == {"returned": 1, "warned": 0}
    owners = dict(Customer.objects.values_list("pk", "owner_id"))
    assert owners[taken_over.pk] == org.rep.pk and owners[old.pk] is None
    # 90-day rule, 10 days' warning: the taken-over customer is warned 80 days after the take-over.
    assert services.reclaim_inactive_customers(now=NOW + datetime.timedelta(days=76))["warned"] == 1
