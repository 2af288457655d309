"""Generated history (:mod:`crm.demo.history`) as table columns: orders, lines, interactions, their
timeline events and follow-up to-dos.  Timeline events have the shape ``record_events`` writes: the
order's title and data as ``crm.sales.services`` builds them, the interaction's kind, contact and
summary as ``crm.activities.services`` does.
"""

import json
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.utils import translation
from django.utils.translation import gettext

from crm.activities.choices import InteractionKind, TimelineKind, TodoKind
from crm.activities.models import Interaction, TimelineEvent, Todo
from crm.sales.choices import ORDER_EVENT, OrderStatus
from crm.sales.models import Order, OrderLine

from . import texts
from .history import CANCELLED, CHANNELS, DAY, RETURNED, STATUSES, History
from .writer import ColumnWriter, date_texts, datetime_texts, money_floats, money_texts, nullable

ORDER_COLUMNS = ["id", "customer_id", "number", "order_date", "status", "channel", "partner_id", "seller_id",
                 "is_promotion", "currency", "list_amount", "discount_amount", "total_amount", "total_cost",
                 "gross_margin", "notes", "created_by_id", "external_ref", "created_at", "updated_at"]
LINE_COLUMNS = ["id", "order_id", "position", "product_id", "quantity", "unit_price", "discount_rate", "unit_cost",
                "amount", "cost", "margin"]
INTERACTION_COLUMNS = ["id", "customer_id", "contact_id", "user_id", "kind", "direction", "content", "occurred_at",
                       "duration_minutes", "summary", "follow_up_on", "external_ref", "created_at", "updated_at"]
TODO_COLUMNS = ["id", "owner_id", "customer_id", "interaction_id", "kind", "title", "due_on", "done_at",
                "created_by_id", "created_at", "updated_at"]
EVENT_COLUMNS = ["id", "customer_id", "at", "kind", "title", "detail", "actor_id", "source_type_id", "source_id",
                 "data"]


def next_id(model) -> int:
    last = model.objects.order_by("-pk").values_list("pk", flat=True).first()
    return (last or 0) + 1


class Ids:
    """Consecutive primary keys per table, allocated batch by batch."""

    def __init__(self, *models):
        self.next = {m: next_id(m) for m in models}

    def take(self, model, n) -> np.ndarray:
        start = self.next[model]
        self.next[model] = start + n
        return np.arange(start, start + n, dtype=np.int64)


@dataclass
class Labels:
    """Texts the services write, in the site's language, looked up once."""

    order_title: str
    order_status_title: str
    status_labels: dict
    kind_labels: list
    follow_up: str

    @classmethod
    def load(cls):

        with translation.override(settings.LANGUAGE_CODE):
            return cls(
                order_title=gettext("Order %(number)s: %(total)s %(currency)s"),
                order_status_title=gettext("Order %(number)s is now %(status)s"),
                status_labels={s: str(OrderStatus(s).label) for s in STATUSES},
                kind_labels=[str(InteractionKind(k).label) for k in texts.KIND_CODES],
                follow_up=gettext("Follow up: %(summary)s"),
            )


@dataclass
class Written:
    orders: int = 0
    lines: int = 0
    interactions: int = 0
    events: int = 0
    todos: int = 0

    def add(self, other: "Written"):
        for name in ("orders", "lines", "interactions", "events", "todos"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


class HistoryWriter:
    """Turns a :class:`History` into rows and writes them (COPY on PostgreSQL, executemany elsewhere)."""

    def __init__(self, *, offset: int, now: int, summaries: texts.SummaryPool, contact_names: dict | None = None,
                 interaction_events: bool = True, labels: Labels | None = None):
        self.offset = offset
        self.now = now
        self.today = (now + offset) // DAY
        self.summaries = summaries
        self.contact_names = contact_names
        self.interaction_events = interaction_events
        self.labels = labels or Labels.load()
        self.ids = Ids(Order, OrderLine, Interaction, TimelineEvent, Todo)
        self.order_type = ContentType.objects.get_for_model(Order).pk
        self.interaction_type = ContentType.objects.get_for_model(Interaction).pk
        self.writers = {
            "orders": ColumnWriter(Order, ORDER_COLUMNS), "lines": ColumnWriter(OrderLine, LINE_COLUMNS),
            "interactions": ColumnWriter(Interaction, INTERACTION_COLUMNS),
            "events": ColumnWriter(TimelineEvent, EVENT_COLUMNS), "todos": ColumnWriter(Todo, TODO_COLUMNS),
        }

    def build(self, customer_ids: np.ndarray, h: History, rng, *, extra_events=None) -> dict:
        """Column lists of every table for one batch (built without a database connection)."""
        out = {}
        n = len(h.o_index)
        order_ids = self.ids.take(Order, n)
        cust = customer_ids[h.o_index]
        created = datetime_texts(h.o_at)
        status = np.array(STATUSES, dtype=object)[h.o_status]
        discount = h.o_list - h.o_total
        margin = h.o_total - h.o_cost
        seller = nullable(h.o_seller)
        out["orders"] = [
            order_ids, cust, [""] * n, date_texts(h.o_day), status.tolist(),
            np.array(CHANNELS, dtype=object)[h.o_channel].tolist(), nullable(h.o_partner), seller,
            h.o_promo.tolist(), ["CNY"] * n, money_floats(h.o_list), money_floats(discount), money_floats(h.o_total),
            money_floats(h.o_cost), money_floats(margin), np.array(texts.ORDER_NOTES, dtype=object)[h.o_note].tolist(),
            seller, [None] * n, created, created,
        ]
        m = len(h.l_order)
        out["lines"] = [
            self.ids.take(OrderLine, m), order_ids[h.l_order], h.l_position, h.l_product, h.l_quantity,
            money_floats(h.l_price), (h.l_discount / 100).tolist(), money_floats(h.l_unit_cost),
            money_floats(h.l_amount), money_floats(h.l_cost), money_floats(h.l_amount - h.l_cost),
        ]
        events = [self._order_events(order_ids, cust, h, status, margin, rng)]
        k = len(h.i_index) if h.i_index is not None else 0
        if k:
            interaction_ids = self.ids.take(Interaction, k)
            at = datetime_texts(h.i_at)
            summary = self.summaries.array[h.i_summary]
            follow = [None if d < 0 else t for d, t in zip(h.i_follow_up.tolist(),
                                                           date_texts(np.maximum(h.i_follow_up, 0)), strict=True)]
            out["interactions"] = [
                interaction_ids, customer_ids[h.i_index], nullable(h.i_contact), nullable(h.i_user),
                np.array(texts.KIND_CODES, dtype=object)[h.i_kind].tolist(),
                np.where(h.i_inbound, "in", "out").tolist(),
                np.array(texts.CONTENTS, dtype=object)[h.i_content].tolist(), at,
                [None if d < 0 else d for d in h.i_duration.tolist()], summary.tolist(), follow, [None] * k, at, at,
            ]
            if self.interaction_events:
                events.append(self._interaction_events(interaction_ids, customer_ids, h, at, summary))
            out["todos"] = self._todos(interaction_ids, customer_ids, h, summary, rng)
        for extra in extra_events or []:
            events.append(extra)
        columns = [sum((e[i] for e in events), []) for i in range(len(EVENT_COLUMNS) - 1)]
        out["events"] = [self.ids.take(TimelineEvent, len(columns[0]))] + columns
        return out

    def write(self, tables: dict) -> Written:
        written = Written()
        for name in ("orders", "lines", "interactions", "todos", "events"):
            if name in tables:
                setattr(written, name, self.writers[name].write_columns(tables[name]))
        return written

    # --- timeline events, as the services write them ---------------------------------------------
    def _order_events(self, order_ids, cust, h, status, margin, rng):
        """One event per order when it was entered ("Order SO…: total CNY"), and one more when it was
        cancelled or returned.  Columns without the id."""
        n = len(order_ids)
        number = [f"SO{i:08d}" for i in order_ids.tolist()]
        total = money_texts(h.o_total)
        gm = money_texts(margin)
        day = date_texts(h.o_day)
        noon = np.minimum(h.o_day * DAY + 12 * 3600 - self.offset, self.now)
        title = self.labels.order_title
        titles = [title % {"number": num, "total": t, "currency": "CNY"} for num, t in zip(number, total, strict=True)]
        status_list = status.tolist()
        data = [f'{{"order_id": {i}, "status": "{s}", "total_amount": "{t}", "gross_margin": "{g}", '
                f'"order_date": "{d}"}}'
                for i, s, t, g, d in zip(order_ids.tolist(), status_list, total, gm, day, strict=True)]
        seller = nullable(h.o_seller)
        cols = [cust.tolist(), datetime_texts(noon), [ORDER_EVENT] * n, titles, [""] * n, seller,
                [self.order_type] * n, order_ids.tolist(), data]
        ended = np.flatnonzero(np.isin(h.o_status, [CANCELLED, RETURNED]))
        if len(ended):
            later = noon[ended] + (rng.integers(1, 12, size=len(ended)) * DAY)
            reasons = np.where(h.o_status[ended] == CANCELLED,
                               np.array(texts.CANCEL_REASONS, dtype=object)[rng.integers(0, len(texts.CANCEL_REASONS),
                                                                                         size=len(ended))],
                               np.array(texts.RETURN_REASONS, dtype=object)[rng.integers(0, len(texts.RETURN_REASONS),
                                                                                         size=len(ended))])
            st = self.labels.order_status_title
            cols[0] += cust[ended].tolist()
            cols[1] += datetime_texts(np.minimum(later, self.now))
            cols[2] += [ORDER_EVENT] * len(ended)
            cols[3] += [st % {"number": number[i], "status": self.labels.status_labels[status_list[i]]}
                        for i in ended.tolist()]
            cols[4] += reasons.tolist()
            cols[5] += [seller[i] for i in ended.tolist()]
            cols[6] += [self.order_type] * len(ended)
            cols[7] += order_ids[ended].tolist()
            cols[8] += [data[i] for i in ended.tolist()]
        return cols

    def _interaction_events(self, interaction_ids, customer_ids, h, at, summary):
        k = len(interaction_ids)
        names = self.contact_names or {}
        labels = self.labels.kind_labels
        kinds = h.i_kind.tolist()
        contacts = h.i_contact.tolist()
        titles, data = [], []
        for kind, contact, inbound, content, duration in zip(kinds, contacts, h.i_inbound.tolist(),
                                                             h.i_content.tolist(), h.i_duration.tolist(), strict=True):
            name = names.get(contact, "")
            titles.append(f"{labels[kind]} · {name}" if name else labels[kind])
            data.append({"interaction": texts.KIND_CODES[kind], "direction": "in" if inbound else "out",
                         "content": texts.CONTENTS[content], "duration": None if duration < 0 else duration,
                         "contact": name})
        return [customer_ids[h.i_index].tolist(), at, [TimelineKind.INTERACTION.value] * k, titles,
                [s[:500] for s in summary.tolist()], nullable(h.i_user), [self.interaction_type] * k,
                interaction_ids.tolist(), [json.dumps(d, ensure_ascii=False) for d in data]]

    def _todos(self, interaction_ids, customer_ids, h, summary, rng):
        """A follow-up to-do for every interaction with a follow-up date, for the customer's owner at
        the time; done once the date has passed, open when it is still ahead (or only just passed)."""
        sel = np.flatnonzero((h.i_follow_up >= 0) & (h.i_user > 0))
        n = len(sel)
        today = self.today
        due = h.i_follow_up[sel]
        done = due < today - 3
        done_at = due * DAY - self.offset + rng.integers(9 * 3600, 18 * 3600, size=n)
        done_at = np.minimum(np.maximum(done_at, h.i_at[sel] + 600), self.now)
        done_text = datetime_texts(done_at)
        titles = [self.labels.follow_up % {"summary": " ".join(s.split())} for s in summary[sel].tolist()]
        user = nullable(h.i_user[sel])
        created = datetime_texts(h.i_at[sel])
        return [
            self.ids.take(Todo, n), user, customer_ids[h.i_index[sel]], interaction_ids[sel],
            [TodoKind.FOLLOW_UP.value] * n, [t[:200] for t in titles], date_texts(due),
            [t if d else None for t, d in zip(done_text, done.tolist(), strict=True)], user, created,
            [t if d else c for t, c, d in zip(done_text, created, done.tolist(), strict=True)],
        ]

