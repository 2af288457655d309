"""Record rules of the sales app.

Orders follow their customer: whoever may see the customer sees its orders, and the role's
*create*, *change* and *delete* actions apply to them as to customers.  The product catalogue, channel
partners and stock are company-wide master data: every user with the *view* action reads them, and
changing them needs *manage settings* (the catalogue is kept by whoever keeps the settings, not by
each sales person).
"""

from crm.accounts.choices import Action
from crm.accounts.permissions import require

from .choices import OrderStatus

CATALOGUE_ACTION = Action.MANAGE_SETTINGS


def require_catalogue(actor):
    """Products, categories, channel partners and stock movements may be changed by this actor."""
    require(actor, CATALOGUE_ACTION)


def can_change_catalogue(user) -> bool:
    return bool(user and user.is_authenticated and user.can(CATALOGUE_ACTION))


def order_is_deletable(order) -> bool:
    """Only a draft order may be deleted; a confirmed one stays as history and is cancelled instead."""
    return order.status == OrderStatus.DRAFT


def can_delete_order(user, order) -> bool:
    """The page shows the delete button when this holds; :func:`crm.sales.services.delete_order` enforces
    the same rule for every caller."""
    return bool(user and user.is_authenticated and user.can(Action.DELETE)) and order_is_deletable(order)
