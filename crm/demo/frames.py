"""Between the customer rows of a :class:`~crm.demo.customers.Batch` and the arrays of
:mod:`crm.demo.history`: read the batch into :class:`~crm.demo.history.Customers`, and write what the
history decided (status, type, owner, activity …) back into the rows before they are stored."""

import datetime

import numpy as np
from django.utils import timezone

from . import customers as cols
from .history import Customers


def epoch(values) -> np.ndarray:
    return np.array([int(v.timestamp()) for v in values], dtype=np.int64)


def customers_frame(batch, region_of_user: dict) -> Customers:
    rows = batch.customers
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    owner = np.array([r[cols.OWNER] or 0 for r in rows], dtype=np.int64)
    position = {cid: i for i, cid in enumerate(ids.tolist())}
    n = len(rows)
    first_contact = np.zeros(n, dtype=np.int64)
    n_contacts = np.zeros(n, dtype=np.int64)
    for contact in batch.contacts:  # contacts of a customer have consecutive ids
        i = position[contact[1]]
        if not n_contacts[i]:
            first_contact[i] = contact[0]
        n_contacts[i] += 1
    frame = Customers(
        ids=ids, created=epoch(r[cols.CREATED_AT] for r in rows), owner=owner,
        region=[region_of_user.get(o) for o in owner.tolist()], industry=[r[12] for r in rows],
        is_company=np.array([r[1] == "company" for r in rows]), first_contact=first_contact, n_contacts=n_contacts,
    )
    set_changes(frame, batch, position)
    return frame


def set_changes(frame: Customers, batch, position=None):
    """The ownership history of the batch as sorted arrays on ``frame``."""
    position = position or {cid: i for i, cid in enumerate(frame.ids.tolist())}
    if not batch.ownership:
        return
    index = np.array([position[r[1]] for r in batch.ownership], dtype=np.int64)
    at = epoch(r[8] for r in batch.ownership)
    to = np.array([r[3] or 0 for r in batch.ownership], dtype=np.int64)
    order = np.lexsort((np.array([r[0] for r in batch.ownership]), at, index))
    frame.change_index, frame.change_at, frame.change_to = index[order], at[order], to[order]


def patch(batch, updates: dict):
    """Replace columns of the customer rows: ``updates`` maps a row position to a list of values."""
    positions = list(updates)
    values = [updates[p] for p in positions]
    rows = batch.customers
    for i, row in enumerate(rows):
        row = list(row)
        for p, column in zip(positions, values, strict=True):
            row[p] = column[i]
        rows[i] = tuple(row)


def from_epoch(seconds):
    """An aware datetime (the current time zone) for epoch seconds; ``None`` for 0."""
    if not seconds:
        return None
    return datetime.datetime.fromtimestamp(int(seconds), tz=timezone.get_current_timezone())
