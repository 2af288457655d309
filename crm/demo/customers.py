"""Customers, contacts, tags, custom fields and ownership history for the demo and scale data.

:class:`CustomerGenerator` produces rows (tuples) batch by batch; :mod:`crm.demo.writer` writes them.
The same generator serves ``seed_demo`` (a few thousand customers) and ``generate`` (a million).
"""

import datetime
import math
from collections import defaultdict
from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType

from crm.core.models import CustomFieldDefinition
from crm.customers.models import Contact, Customer, OwnershipChange, Tag

from . import reference as ref
from .fake import Faker, WeightedChoice
from .writer import RowWriter

CUSTOMER_COLUMNS = [
    "id", "kind", "name", "name_pinyin", "name_initials", "phone", "email", "website", "province", "city",
    "district", "address", "industry", "source", "status", "customer_type", "owner_id", "branch_id",
    "created_by_id", "notes", "custom_fields", "external_ref", "created_at", "updated_at",
    "estimated_annual_need", "relationship_level", "owned_since", "last_activity_at",
]
# Positions in a customer row that the history generator fills in afterwards.
STATUS, CUSTOMER_TYPE, OWNER, BRANCH, CREATED_AT = 14, 15, 16, 17, 22
ANNUAL_NEED, RELATIONSHIP_LEVEL, OWNED_SINCE, LAST_ACTIVITY = 24, 25, 26, 27
CONTACT_COLUMNS = [
    "id", "customer_id", "name", "title", "purchase_role", "mobile", "phone", "email", "birthday", "preferences",
    "important_facts", "is_primary", "custom_fields", "external_ref", "created_at", "updated_at",
]
TAG_COLUMNS = ["id", "customer_id", "tag_id"]
OWNERSHIP_COLUMNS = ["id", "customer_id", "from_owner_id", "to_owner_id", "from_branch_id", "to_branch_id",
                     "changed_by_id", "reason", "at"]

CREATED_REASON = "新建客户"
SOURCES = WeightedChoice(["referral", "website", "exhibition", "cold_call", "advertising", "partner", "existing",
                          "other"], [22, 18, 16, 14, 6, 10, 9, 5])
CREDIT = WeightedChoice(["A", "B", "C", "D"], [20, 45, 25, 10])


def build_tags() -> dict:
    tags = {}
    for name, color in ref.TAGS:
        tags[name], _ = Tag.objects.get_or_create(name=name, defaults={"color": color})
    return tags


def build_custom_fields():
    ct = ContentType.objects.get_for_model(Customer)
    for position, (key, label, kind, choices, help_text) in enumerate(ref.CUSTOM_FIELDS):
        CustomFieldDefinition.objects.get_or_create(
            content_type=ct, key=key,
            defaults={"label": label, "field_type": kind, "choices": choices, "help_text": help_text,
                      "position": position},
        )


@dataclass
class Owner:
    user_id: int
    unit_id: int
    region: str | None
    manager_id: int | None = None


@dataclass
class Batch:
    customers: list = field(default_factory=list)
    contacts: list = field(default_factory=list)
    tags: list = field(default_factory=list)
    ownership: list = field(default_factory=list)


class IdCounter:
    def __init__(self, model):
        self.next = (model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1

    def take(self):
        value = self.next
        self.next += 1
        return value


class CustomerGenerator:
    """Rows of believable customers.  ``owners`` and their weights decide who owns what; every
    customer's unit is its owner's unit and its address lies in the owner's branch region."""

    def __init__(self, faker: Faker, owners: list[Owner], weights: list[float], *, tag_ids: dict,
                 total: int, contacts_per_customer: float | None = None, history_share: float = 0.1,
                 now: datetime.datetime, years: int = 6):
        self.f = faker
        self.owners = WeightedChoice(owners, weights)
        self.by_region = defaultdict(list)
        for owner in owners:
            self.by_region[owner.region].append(owner)
        self.tag_ids = tag_ids
        self.tag_choice = WeightedChoice(list(tag_ids.values()), [6, 4, 5, 5, 3, 1, 3, 2, 3, 3, 2, 2][:len(tag_ids)])
        self.total = max(total, 1)
        self.contacts_per_customer = contacts_per_customer
        self.history_share = history_share
        self.now = now
        self.start = now - datetime.timedelta(days=365 * years)
        self.span = (now - self.start).total_seconds()
        self.index = 0  # position of the next customer in the whole run: sets its creation date
        self.customer_ids = IdCounter(Customer)
        self.contact_ids = IdCounter(Contact)
        self.tag_link_ids = IdCounter(Customer.tags.through)
        self.ownership_ids = IdCounter(OwnershipChange)

    # --- time: a growing company creates more customers every year ------------------------------
    def _created_at(self):
        rng = self.f.rng
        fraction = (self.index + rng.random()) / self.total
        day = self.start + datetime.timedelta(seconds=self.span * fraction ** (1 / 1.6))
        day = day.replace(hour=0, minute=0, second=0, microsecond=0)
        if day.weekday() >= 5 and rng.random() < 0.8:
            day -= datetime.timedelta(days=day.weekday() - 4)
        # Office hours, local time.
        moment = day + datetime.timedelta(seconds=rng.randint(8 * 3600 + 1800, 19 * 3600),
                                          microseconds=rng.randint(0, 999_999))
        while moment > self.now:  # today's customers were created this morning, not this evening
            moment -= datetime.timedelta(hours=11)
        return moment

    def _later(self, moment):
        """A moment between ``moment`` and now, more often recent."""
        gap = (self.now - moment).total_seconds()
        return moment + datetime.timedelta(seconds=gap * (1 - self.f.rng.random() ** 2))

    # --- one customer ----------------------------------------------------------------------------
    def _contacts_count(self):
        rng = self.f.rng
        mean = self.contacts_per_customer
        if mean is None:  # the demo: one to four
            return 1 + (rng.random() < 0.65) + (rng.random() < 0.3) + (rng.random() < 0.1)
        if mean < 1:
            return int(rng.random() < mean)
        extra = min(mean - 1, 3) / 3
        return 1 + sum(rng.random() < extra for _ in range(3))

    def customer(self, batch: Batch, owner: Owner | None = None, *, showcase=None):
        """Add one customer with its contacts, tags and history to ``batch``.  ``showcase`` fixes
        (name, industry, mail domain) for the examples of the user guide; it lies in the owner's city."""
        f, rng = self.f, self.f.rng
        owner = owner or self.owners.pick(rng)
        place = f.place(owner.region) if showcase is None else f.places[owner.region][0]
        created = self._created_at()
        self.index += 1
        age_years = (self.now - created).days / 365
        cid = self.customer_ids.take()
        individual = showcase is None and rng.random() < 0.15
        domain = office = ""
        if individual:
            person = f.person()
            name, industry = person, rng.choice(["construction", "wholesale_retail", "manufacturing", "other"])
            phone = f.mobile()
            email = f.personal_email(person) if rng.random() < 0.5 else ""
            website = ""
        else:
            name, industry, domain = f.company(place)
            if showcase is not None:
                name, industry, domain = showcase
            roll = rng.random()
            phone = f.landline(place) if roll < 0.7 else (f.mobile() if roll < 0.95 else "")
            if roll < 0.7:
                office = phone
            email = f"{rng.choice(ref.COMPANY_EMAIL_BOXES)}@{domain}" if rng.random() < 0.6 else ""
            website = f"https://www.{domain}" if rng.random() < 0.35 and industry != "government" else ""
        # Older customers are more often active, dormant or lost; recent ones are still prospects.
        roll = rng.random()
        if roll < max(0.12, 0.6 - age_years * 0.12):
            status = "prospect"
        elif roll < 0.72:
            status = "active"
        elif roll < 0.9:
            status = "dormant"
        else:
            status = "lost"
        if status == "prospect" or rng.random() < 0.3:
            customer_type = "unknown"
        else:
            customer_type = "relationship" if rng.random() < (0.65 if status == "active" else 0.35) else "transaction"
        custom = {}
        if not individual and rng.random() < 0.4:
            custom["annual_budget"] = int(round(math.exp(rng.gauss(3.5, 1.0))))
        if rng.random() < 0.5:
            custom["credit_rating"] = CREDIT.pick(rng)
        updated = self._later(created)
        original, owned_since = owner, created
        if rng.random() < self.history_share:
            original, owned_since = self._ownership_history(batch, cid, owner, created)
        batch.customers.append((
            cid, "individual" if individual else "company", name.text, name.pinyin, name.initials, phone,
            email, website, place.province, place.city, rng.choice(place.districts), f.street_address(),
            industry, SOURCES.pick(rng), status, customer_type, owner.user_id, owner.unit_id,
            original.user_id, rng.choice(ref.CUSTOMER_NOTES), custom, None, created, updated,
            None, "", owned_since, None,
        ))
        for n in range(self._contacts_count()):
            self._contact(batch, cid, n, name if individual and n == 0 else None, phone, office, domain, created)
        if self.tag_ids and rng.random() < 0.35:
            for tag_id in {self.tag_choice.pick(rng) for _ in range(rng.randint(1, 3))}:
                batch.tags.append((self.tag_link_ids.take(), cid, tag_id))
        return cid

    def _contact(self, batch, cid, n, person, customer_phone, office, domain, created):
        f, rng = self.f, self.f.rng
        if person is not None:
            name, title, role, mobile = person, "", "decision_maker", customer_phone
        else:
            name = f.person()
            title, role = f.titles.pick(rng)
            mobile = f.mobile() if rng.random() < 0.9 else ""
        if rng.random() < 0.45:
            email = f"{name.pinyin}@{domain}" if domain and rng.random() < 0.6 else f.personal_email(name)
        else:
            email = ""
        moment = created if n == 0 else self._later(created)
        batch.contacts.append((
            self.contact_ids.take(), cid, name.text, title, role, mobile, office, email,
            f.birthday() if rng.random() < 0.35 else None,
            rng.choice(ref.PREFERENCES) if rng.random() < 0.4 else "",
            rng.choice(ref.IMPORTANT_FACTS) if rng.random() < 0.2 else "",
            n == 0, {}, None, moment, self._later(moment),
        ))

    def _ownership_history(self, batch, cid, owner, created):
        """One or two earlier owners in the same region, then the current one.  Returns the first and
        the time the current one took over."""
        rng = self.f.rng
        colleagues = [o for o in self.by_region[owner.region] if o.user_id != owner.user_id] or [owner]
        chain = rng.sample(colleagues, min(rng.randint(1, 2), len(colleagues))) + [owner]
        moment = created
        batch.ownership.append((self.ownership_ids.take(), cid, None, chain[0].user_id, None, chain[0].unit_id,
                                chain[0].user_id, CREATED_REASON, created))
        for before, after in zip(chain, chain[1:], strict=False):
            moment = self._later(moment)
            batch.ownership.append((
                self.ownership_ids.take(), cid, before.user_id, after.user_id, before.unit_id, after.unit_id,
                after.manager_id or after.user_id, rng.choice(ref.OWNERSHIP_REASONS), moment,
            ))
        return chain[0], moment


def write_batch(batch: Batch):
    """Write one batch in dependency order: customers, then what points at them."""
    writers = _writers()
    writers["customers"].write(batch.customers)
    writers["contacts"].write(batch.contacts)
    writers["tags"].write(batch.tags)
    writers["ownership"].write(batch.ownership)
    return len(batch.customers), len(batch.contacts)


def _writers():
    return {
        "customers": RowWriter(Customer, CUSTOMER_COLUMNS),
        "contacts": RowWriter(Contact, CONTACT_COLUMNS),
        "tags": RowWriter(Customer.tags.through, TAG_COLUMNS),
        "ownership": RowWriter(OwnershipChange, OWNERSHIP_COLUMNS),
    }
