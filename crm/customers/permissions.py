"""Rights of the customers app and the predicates that pages show buttons by and services enforce.

The codes (registered from ``CustomersConfig.ready()``):

- ``customers.view_customer`` — see customers within the data scope, their contacts and tags, and the
  customer pool;
- ``customers.add_customer`` — create customers;
- ``customers.change_customer`` — change customers and their contacts, claim from the pool, release
  one's own customers to it, and receive customers in a hand-over;
- ``customers.delete_customer`` — delete customers;
- ``customers.export_customer`` — export the customer list;
- ``customers.assign_customer`` — choose a customer's owner and branch, release anyone's customer,
  hand a portfolio over;
- ``customers.manage_pool_rules`` — the rules that return neglected customers to the pool.

Which records: always those of ``Customer.objects.visible_to(user)`` (the role's data scope), except
the pool, which ``queries.pool_for`` offers by branch.
"""

from django.utils.translation import gettext_lazy as _

from crm.core import permissions
from crm.core.permissions import has, has_any, require

VIEW = "customers.view_customer"
ADD = "customers.add_customer"
CHANGE = "customers.change_customer"
DELETE = "customers.delete_customer"
EXPORT = "customers.export_customer"
ASSIGN = "customers.assign_customer"
MANAGE_POOL_RULES = "customers.manage_pool_rules"

RIGHTS = [
    ("view_customer", _("see customers, their contacts and the pool"), "view"),
    ("add_customer", _("create customers"), "create"),
    ("change_customer", _("change customers and contacts, claim from the pool"), "change"),
    ("delete_customer", _("delete customers"), "delete"),
    ("export_customer", _("export customers"), "export"),
    ("assign_customer", _("assign owner and branch, hand customers over"), "assign"),
    ("manage_pool_rules", _("manage the pool rules"), "manage_settings"),
]


def register() -> None:
    permissions.register_all("customers", RIGHTS)


def can_view(user) -> bool:
    return has(user, VIEW)


def can_add(user) -> bool:
    return has(user, ADD)


def can_change(user) -> bool:
    return has(user, CHANGE)


def can_delete(user) -> bool:
    return has(user, DELETE)


def can_export(user) -> bool:
    return has(user, EXPORT)


def can_assign(user) -> bool:
    """Choose other owners and units for customers, and hand portfolios over."""
    return has(user, ASSIGN)


def can_claim(user) -> bool:
    """Take a customer from the pool (the cap and the pool's branch are checked by the service)."""
    return has(user, CHANGE)


def can_work_on_customers(user) -> bool:
    """May receive customers in a hand-over."""
    return has(user, CHANGE)


def can_release_some(user) -> bool:
    """May release at least some customers: their own (change) or anyone's (assign)."""
    return has_any(user, CHANGE, ASSIGN)


def release_code(user, customer) -> str:
    return CHANGE if customer.owner_id == getattr(user, "pk", None) else ASSIGN


def can_release(user, customer) -> bool:
    """The owner may give the customer back to the pool (change); anyone else needs assign."""
    return customer.owner_id is not None and has(user, release_code(user, customer))


def require_release(actor, customer) -> None:
    require(actor, release_code(actor, customer))


def can_manage_pool_rules(user) -> bool:
    return has(user, MANAGE_POOL_RULES)
