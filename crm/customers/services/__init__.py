"""Verbs that change the customer archive, by job.

* :mod:`.archive` — customers, contacts, the duplicate check;
* :mod:`.pool` — the customer pool: claim, release, reclaim and its warnings, pool rules, the activity
  clock (:func:`touch_activity`);
* :mod:`.handover` — assigning a customer, handing over a whole portfolio, the ownership record;
* :mod:`.common` — the visibility check and the assignment rules the others share.

Pages, API, imports and commands all call the verbs re-exported here.  Every verb takes the acting
user, checks the role's right, works only on records the actor can see, and runs in one transaction;
the audit log records each change with the actor.
"""

from .archive import (
    CONTACT_FIELDS,
    CUSTOMER_FIELDS,
    UNCHANGED,
    PossibleDuplicate,
    add_contact,
    create_customer,
    delete_contact,
    delete_customer,
    edit_customer,
    update_contact,
    update_customer,
)
from .handover import assign_customer, reassign_portfolio
from .pool import (
    claim_customer,
    delete_pool_rule,
    reclaim_inactive_customers,
    release_customer,
    save_pool_rule,
    touch_activity,
)

__all__ = [
    "CONTACT_FIELDS", "CUSTOMER_FIELDS", "UNCHANGED", "PossibleDuplicate", "add_contact", "assign_customer",
    "claim_customer", "create_customer", "delete_contact", "delete_customer", "delete_pool_rule",
    "edit_customer", "reassign_portfolio", "reclaim_inactive_customers", "release_customer",
    "save_pool_rule", "touch_activity", "update_contact", "update_customer",
]
