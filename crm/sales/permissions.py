"""Rights of the sales app and the predicates that pages show buttons by and services enforce.

Orders follow their customer: whoever may see the customer sees its orders, and
``sales.view_order``, ``sales.add_order``, ``sales.change_order`` (including the status and the
back-office upsert of an existing order), ``sales.delete_order`` (only drafts: see
:func:`can_delete_order`) and ``sales.export_order`` (the CSV export of the order list) say what the
user may do with them.  The product catalogue, channel partners and stock are company-wide master
data: ``sales.view_catalogue`` reads them, and changing them needs ``sales.manage_catalogue`` (the
catalogue is kept by whoever keeps the settings, not by each sales person).  The codes are registered
from ``SalesConfig.ready()``.
"""

from django.utils.translation import gettext_lazy as _

from crm.core import permissions
from crm.core.permissions import has, require

from .choices import OrderStatus

VIEW_ORDER = "sales.view_order"
ADD_ORDER = "sales.add_order"
CHANGE_ORDER = "sales.change_order"
DELETE_ORDER = "sales.delete_order"
EXPORT_ORDER = "sales.export_order"
VIEW_CATALOGUE = "sales.view_catalogue"
MANAGE_CATALOGUE = "sales.manage_catalogue"

RIGHTS = [
    ("view_order", _("see orders"), "view"),
    ("add_order", _("create orders"), "create"),
    ("change_order", _("change orders and their status"), "change"),
    ("delete_order", _("delete draft orders"), "delete"),
    ("export_order", _("export orders"), "export"),
    ("view_catalogue", _("see products, categories, channel partners and stock"), "view"),
    ("manage_catalogue", _("manage products, categories, channel partners and stock"), "manage_settings"),
]


def register() -> None:
    permissions.register_all("sales", RIGHTS)


def require_catalogue(actor):
    """Products, categories, channel partners and stock movements may be changed by this actor."""
    require(actor, MANAGE_CATALOGUE)


def can_change_catalogue(user) -> bool:
    return has(user, MANAGE_CATALOGUE)


def can_add_order(user) -> bool:
    return has(user, ADD_ORDER)


def can_export_order(user) -> bool:
    return has(user, EXPORT_ORDER)


def can_change_order(user) -> bool:
    return has(user, CHANGE_ORDER)


def order_is_deletable(order) -> bool:
    """Only a draft order may be deleted; a confirmed one stays as history and is cancelled instead."""
    return order.status == OrderStatus.DRAFT


def can_delete_order(user, order) -> bool:
    """The page shows the delete button when this holds; :func:`crm.sales.services.delete_order` enforces
    the same rule for every caller."""
    return has(user, DELETE_ORDER) and order_is_deletable(order)
