"""The demo's customer pool (公海): rules, role caps, and a history that obeys them.

After the orders and interactions are drawn, every owned customer whose last order or interaction
(or the day it was taken over) is older than its rule allows is dealt with as the company would
have: most owners kept such customers with a courtesy call in time, the rest returned to the pool on
the night the rule ran out, and some of those were claimed again by a colleague of the same branch.
So the first pool run after the seed finds only what is genuinely due in the coming days.
"""

from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext

from crm.accounts.models import Role
from crm.customers.models import PoolRule

from . import texts
from .frames import from_epoch
from .history import DAY, Customers, History, local_day
from .org import REP, SUPERVISOR

# (customer type, days without order or interaction, warning days before); "" applies to every other type.
POOL_RULES = [("transaction", 90, 7), ("", 180, 7)]
ROLE_CAPS = {REP: 300, SUPERVISOR: 400}
CALL, EMAIL = texts.KIND_CODES.index("call"), texts.KIND_CODES.index("email")
LIAISON, CONTACT = texts.CONTENTS.index("liaison"), texts.CONTENTS.index("contact")
COMMUNICATION = texts.CONTENTS.index("communication")


def configure_pool():
    for customer_type, days, warn in POOL_RULES:
        PoolRule.objects.update_or_create(customer_type=customer_type,
                                          defaults={"days_without_activity": days, "warn_days_before": warn})
    for name, cap in ROLE_CAPS.items():
        Role.objects.filter(name=name).update(max_customers=cap)


def limit_days(customer_type) -> np.ndarray:
    rules = {t: d for t, d, _w in POOL_RULES}
    return np.array([rules.get(t, rules[""]) for t in customer_type], dtype=np.int64)


def add_interactions(h: History, *, index, at, kind, content, summary, user, contact, follow_up=None, inbound=None,
                     duration=None):
    n = len(index)
    if duration is None:
        duration = np.where(np.full(n, kind) == CALL, 8, -1)
    values = {
        "i_index": index, "i_at": at, "i_kind": np.full(n, kind) if np.isscalar(kind) else kind,
        "i_inbound": np.zeros(n, bool) if inbound is None else inbound,
        "i_content": np.full(n, content) if np.isscalar(content) else content,
        "i_duration": duration,
        "i_summary": summary, "i_user": user, "i_contact": contact,
        "i_follow_up": np.full(n, -1) if follow_up is None else follow_up,
    }
    for name, value in values.items():
        setattr(h, name, np.concatenate([getattr(h, name), np.asarray(value, dtype=getattr(h, name).dtype)]))


@dataclass
class Staff:
    """Who may take customers: user id -> (unit id, region, cap or None)."""

    unit: dict
    region: dict
    cap: dict


def office_time(day, offset, rng, now):
    at = day * DAY - offset + rng.integers(9 * 3600, 18 * 3600, size=len(day))
    return np.minimum(at, now - 600)


def simulate(c: Customers, h: History, batch, ids, *, customer_type, owned_since, last, now, offset, rng,
             staff: Staff, summaries: texts.SummaryPool):
    """Apply the pool rules to the end of each customer's history.  Returns (owner, branch, owned_since)
    arrays (owner 0 = in the pool, owned_since 0 = none) and appends ownership rows and interactions."""
    n = len(c)
    limit = limit_days(customer_type)
    # The pool run's clock: the last order or interaction, or when there is none, the day the owner
    # took the customer over (``crm.customers.queries.pool_rule_q``).
    clock = np.where(last > 0, last, np.where(owned_since > 0, owned_since, c.created))
    due = (c.owner > 0) & (now - clock > limit * DAY)
    today = int(local_day(now, offset))
    keep = due & (rng.random(n) < 0.6)
    k = np.flatnonzero(keep)
    days_ago = (rng.random(len(k)) * (limit[k] - 12) + 1).astype(np.int64)
    keep_alive = [summaries.add(t) for t in texts.KEEP_ALIVE]
    add_interactions(h, index=k, at=office_time(today - days_ago, offset, rng, now), kind=CALL, content=LIAISON,
                     summary=np.array(keep_alive)[rng.integers(0, len(keep_alive), size=len(k))],
                     user=c.owner[k], contact=c.first_contact[k])
    owner, branch = c.owner.copy(), np.array([r[17] or 0 for r in batch.customers], dtype=np.int64)
    since = owned_since.copy()
    released = np.flatnonzero(due & ~keep)
    with translation.override(settings.LANGUAGE_CODE):
        claimed_reason = gettext("claimed from the customer pool")
        release_reason = gettext("No order or interaction for %(days)d days: returned to the pool automatically.")
    counts = np.bincount(owner[owner > 0], minlength=max(staff.unit, default=0) + 1)
    by_region = {}
    for user_id, region in staff.region.items():
        by_region.setdefault(region, []).append(user_id)
    claimed_texts = [summaries.add(summaries.render(rng, t)) for t in texts.CLAIMED * 3]
    claims = []
    for i in released.tolist():
        # The first nightly run after the limit (or after the last hand-over, which does not reset it).
        release_day = int(local_day(max(clock[i] + limit[i] * DAY, owned_since[i]), offset)) + 1
        release_at = min(release_day * DAY - offset + 2 * 3600 + int(rng.integers(0, 1800)), now - 600)
        batch.ownership.append((ids.take(), int(c.ids[i]), int(owner[i]), None, int(branch[i]), int(branch[i]), None,
                                release_reason % {"days": int(limit[i])}, from_epoch(release_at)))
        counts[owner[i]] -= 1
        owner[i], since[i] = 0, 0
        if rng.random() >= 0.35:
            continue
        low, high = max(release_at + DAY, now - (int(limit[i]) - 12) * DAY), now - 2 * DAY
        candidates = [u for u in by_region.get(c.region[i], [])
                      if staff.cap.get(u) is None or counts[u] < staff.cap[u]]
        if low >= high or not candidates:
            continue
        claimer = candidates[int(rng.integers(len(candidates)))]
        at = int(rng.integers(low, high))
        batch.ownership.append((ids.take(), int(c.ids[i]), None, claimer, int(branch[i]), staff.unit[claimer], claimer,
                                claimed_reason, from_epoch(at)))
        owner[i], branch[i], since[i] = claimer, staff.unit[claimer], at
        counts[claimer] += 1
        claims.append((i, min(at + int(rng.integers(3600, 3 * DAY)), now - 600), claimer))
    if claims:
        index = np.array([x[0] for x in claims], dtype=np.int64)
        add_interactions(h, index=index, at=np.array([x[1] for x in claims], dtype=np.int64), kind=CALL,
                         content=CONTACT, user=np.array([x[2] for x in claims], dtype=np.int64),
                         summary=np.array(claimed_texts)[rng.integers(0, len(claimed_texts), size=len(claims))],
                         contact=c.first_contact[index])
    return owner, branch, since


def follow_ups_for_today(c: Customers, h: History, owner, *, now, offset, rng, users, summaries: texts.SummaryPool,
                         per_user=(3, 7)):
    """A few recent calls and visits with a follow-up due in the coming days for every sales user, so
    that "my day" has something to show when the demo starts."""
    today = int(local_day(now, offset))
    chosen = []
    for user in users:
        own = np.flatnonzero(owner == user)
        if not len(own):
            continue
        take = min(len(own), int(rng.integers(per_user[0], per_user[1] + 1)))
        chosen.extend(rng.choice(own, size=take, replace=False).tolist())
    index = np.array(chosen, dtype=np.int64)
    n = len(index)
    if not n:
        return
    kind = rng.choice([CALL, texts.KIND_CODES.index("visit"), EMAIL], size=n, p=[0.6, 0.25, 0.15])
    content = rng.choice([COMMUNICATION, texts.CONTENTS.index("cooperation"), LIAISON], size=n)
    days_ago = rng.integers(0, 5, size=n)
    at = office_time(today - days_ago, offset, rng, now)
    at = np.where(at > now - 600, now - rng.integers(600, 5 * 3600, size=n), at)
    due = today + rng.integers(-1, 6, size=n)
    duration = np.where(kind == CALL, rng.integers(5, 20, size=n),
                        np.where(kind == EMAIL, -1, rng.integers(40, 90, size=n)))
    add_interactions(h, index=index, at=at, kind=kind, content=content, summary=summaries.pick(rng, kind, content),
                     user=owner[index], contact=c.first_contact[index], follow_up=np.maximum(due, today - 1),
                     duration=duration)
    return n

