"""The read side of the customer value analysis.  Stable names other apps and pages use:

``current_snapshot()``                 the latest *complete* snapshot, or None — the only one pages show
``running_snapshot()``                 the refresh under way, or None (for a progress bar)
``snapshots()``                        every snapshot, newest first
``snapshots_for(user)``                every snapshot, newest first, with ``customers_in_scope``
``metrics_for(user, customer)``        the customer's ``CustomerMetrics`` in the current snapshot, or None
                                       when the customer is not visible to ``user`` or was not analysed
``metrics_queryset(user)``             metrics of the visible customers in the current snapshot
``scoped_summary(user)``               every dashboard figure computed over the user's customers only
``transition_matrix(user, a, b, dimension="segment"|"tier")``
                                       how many of the user's customers moved between categories
``due_to_buy(user, week_start, mine=False)``
                                       customers whose next expected purchase falls in that week
``overdue_to_buy(user, mine=False)``   customers whose next expected purchase is before the as-of date
``product_analyses(snapshot)``         per product and category: share, margin, turnover, ratios
``segment_labels()``                   ``{key: label}`` of the RFM segments

Everything that reads customers goes through ``visible_to(user)``: a branch manager sees the figures of
their branch, never the company's.
"""

import datetime

import numpy as np
from django.db.models import Count, F, OuterRef, Subquery
from django.db.models.functions import Coalesce

from crm.core.visibility import scope_for

from . import scoring
from .choices import SnapshotStatus
from .models import CustomerMetrics, Segment, Snapshot

DIMENSIONS = ("segment", "tier")


def current_snapshot():
    """The latest complete snapshot (by completion time), or None."""
    return Snapshot.objects.filter(status=SnapshotStatus.COMPLETE).order_by("-finished_at", "-id").first()


def running_snapshot():
    return Snapshot.objects.filter(status=SnapshotStatus.RUNNING).order_by("-started_at", "-id").first()


def snapshots():
    return Snapshot.objects.order_by("-started_at", "-id")


def snapshots_for(user):
    """Every snapshot, newest first, annotated with ``customers_in_scope``: how many of the customers
    ``user`` may see it analysed (the stored company-wide count for an all-records scope).  One query."""
    if scope_for(user).all:
        return snapshots().annotate(customers_in_scope=F("customers"))
    counted = (CustomerMetrics.objects.visible_to(user).filter(snapshot=OuterRef("pk")).order_by()
               .values("snapshot").annotate(n=Count("id")).values("n"))
    return snapshots().annotate(customers_in_scope=Coalesce(Subquery(counted), 0))


def complete_snapshots():
    return Snapshot.objects.filter(status=SnapshotStatus.COMPLETE).order_by("-finished_at", "-id")


def previous_snapshot(snapshot):
    """The complete snapshot before ``snapshot``, or None."""
    if snapshot is None:
        return None
    return complete_snapshots().filter(finished_at__lt=snapshot.finished_at).first()


def metrics_queryset(user, snapshot=None):
    """Metrics of the customers ``user`` may see, in ``snapshot`` (default: the current one), with the
    customer and its owner loaded."""
    snapshot = snapshot if snapshot is not None else current_snapshot()
    qs = CustomerMetrics.objects.visible_to(user).select_related("customer", "customer__owner")
    return qs.filter(snapshot=snapshot) if snapshot is not None else qs.none()


def metrics_for(user, customer, snapshot=None):
    """The metrics of one customer in the current snapshot, or None (not visible, or no purchases in
    the window of that snapshot)."""
    customer_id = getattr(customer, "pk", customer)
    return metrics_queryset(user, snapshot).filter(customer_id=customer_id).first()


def segment_labels():
    return dict(Segment.objects.values_list("key", "label"))


def product_analyses(snapshot):
    """``{"products": [...], "categories": [...]}`` of a snapshot (company-wide master data)."""
    if snapshot is None:
        return {"products": [], "categories": []}
    return snapshot.results.get("products") or {"products": [], "categories": []}


# --- the dashboard over the user's customers ----------------------------------------------------------

SUMMARY_FIELDS = ("gross_profit", "revenue", "r_score", "f_score", "m_score", "segment", "tier", "value_class",
                  "at_risk", "loyalty", "share_of_wallet", "cost_to_serve", "clv", "customer__relationship_level")


def scoped_summary(user, snapshot=None):
    """Every figure of the dashboard, computed over the customers ``user`` may see in ``snapshot``
    (default: the current one): segment counts, the R×F grid, tier counts and shares, the Pareto
    curve, Gini and the 80/20 figure, value classes with their averages, the at-risk count, the loyalty
    distribution and the Kotler cells per segment and tier (recommended beside practised level) and per
    class "loyalty band × tier" (the recommended level of its customers).

    Company-wide model figures (fitted parameters, holdout check) come from the snapshot as they are.
    Returns None when there is no snapshot yet.
    """
    snapshot = snapshot if snapshot is not None else current_snapshot()
    if snapshot is None:
        return None
    segments = list(Segment.objects.order_by("position", "id").values("key", "label", "practised_level"))
    practised = {}
    for row in (metrics_queryset(user, snapshot).exclude(customer__relationship_level="").order_by()
                .values("tier", "customer__relationship_level").annotate(n=Count("id"))):
        practised.setdefault(row["tier"], {})[row["customer__relationship_level"]] = row["n"]
    head = {
        "snapshot": {"id": snapshot.pk, "as_of": snapshot.as_of.isoformat(),
                     "finished_at": snapshot.finished_at.isoformat() if snapshot.finished_at else None},
        "models": snapshot.results.get("models"),
        "holdout": snapshot.results.get("holdout"),
    }
    if scope_for(user).all and snapshot.results.get("rfm"):
        # Every customer is in scope: the refresh computed these very figures with the same functions.
        figures = _figures_from_results(snapshot.results, segments)
    else:
        figures = _figures(metrics_queryset(user, snapshot), segments)
    for cell in figures["kotler"]["tiers"]:
        cell["practised"] = practised.get(cell["key"], {})
    return {**head, "scope": "all" if scope_for(user).all else "scoped", **figures}


def _codes(values, keys, default):
    """Positions of ``values`` (strings) in ``keys``, ``default`` for unknown ones — without a per-row loop."""
    values = np.asarray(values, dtype=object)
    if not len(values):
        return np.zeros(0, dtype=np.int64)
    uniques, inverse = np.unique(values.astype(str), return_inverse=True)
    lookup = np.array([keys.index(u) if u in keys else default for u in uniques.tolist()], dtype=np.int64)
    return lookup[inverse.reshape(-1)]


def _floats(values):
    return np.array(values, dtype=object).astype(np.float64) if len(values) else np.zeros(0)


def _figures(queryset, segments):
    rows = list(queryset.order_by().values_list(*SUMMARY_FIELDS))
    n = len(rows)
    col = dict(zip(SUMMARY_FIELDS, zip(*rows, strict=True), strict=True)) if n else dict.fromkeys(SUMMARY_FIELDS, ())
    profit, revenue = _floats(col["gross_profit"]), _floats(col["revenue"])
    seg_keys = [s["key"] for s in segments]
    seg_code = _codes(col["segment"], seg_keys, -1)
    known = seg_code >= 0
    tier_code = _codes(col["tier"], list(scoring.TIER_KEYS), 2)
    class_code = _codes(col["value_class"], list(scoring.CLASS_KEYS), 1)
    r, f, m = (_floats([v if v is not None else np.nan for v in col[k]]) for k in ("r_score", "f_score", "m_score"))
    grid = np.zeros((5, 5), dtype=np.int64)
    scored = np.isfinite(r) & np.isfinite(f)
    if scored.any():
        np.add.at(grid, (r[scored].astype(np.int64) - 1, f[scored].astype(np.int64) - 1), 1)
    loyalty = _floats([np.nan if v is None else v for v in col["loyalty"]])
    clv = _floats([np.nan if v is None else v for v in col["clv"]])
    seg_counts = np.bincount(seg_code[known], minlength=len(seg_keys))
    seg_cells = scoring.kotler_cells(seg_code[known], profit[known], seg_keys) if seg_keys else []
    for cell, seg in zip(seg_cells, segments, strict=True):
        cell.update(label=seg["label"], practised=seg["practised_level"] or None)
    return {
        "customers": n,
        "revenue": float(revenue.sum()),
        "gross_profit": float(profit.sum()),
        "segments": [{"key": s["key"], "label": s["label"], "customers": int(c)}
                     for s, c in zip(segments, seg_counts, strict=True)],
        "grid": grid.tolist(),
        "scores": {name: {s: int(np.count_nonzero(v == s)) for s in range(1, 6)} for name, v in
                   (("r", r), ("f", f), ("m", m))},
        "tiers": scoring.tier_figures(profit, tier_code) if n else {},
        **scoring.value_figures(profit),
        "classes": scoring.class_figures(class_code, gross_profit=profit, revenue=revenue,
                                         share_of_wallet=_floats(col["share_of_wallet"]),
                                         cost_to_serve=_floats(col["cost_to_serve"]), clv=clv),
        "at_risk": int(np.count_nonzero(np.array(col["at_risk"], dtype=bool))),
        "loyalty": {"distribution": scoring.loyalty_distribution(loyalty),
                    "mean": float(np.nanmean(loyalty)) if np.isfinite(loyalty).any() else None,
                    "weights": scoring.LOYALTY_WEIGHTS},
        "kotler": {"segments": seg_cells, "tiers": scoring.kotler_cells(tier_code, profit, scoring.TIER_KEYS),
                   "classes": scoring.kotler_classes(loyalty, tier_code, profit)[0]},
    }


def _figures_from_results(results, segments):
    labels = {s["key"]: s for s in segments}
    seg_cells = [dict(c) for c in results["kotler"]["segments"]]
    for cell in seg_cells:
        seg = labels.get(cell["key"], {})
        cell.update(label=seg.get("label", cell["key"]), practised=seg.get("practised_level") or None)
    return {
        "customers": results["customers"],
        "revenue": results["revenue"],
        "gross_profit": results["gross_profit"],
        "segments": [{"key": s["key"], "label": labels.get(s["key"], {}).get("label", s["label"]),
                      "customers": s["customers"]} for s in results["rfm"]["segments"]],
        "grid": results["rfm"]["grid"],
        "scores": {k: {int(s): c for s, c in v.items()} for k, v in results["rfm"]["scores"].items()},
        "tiers": results["tiers"],
        **{k: results[k] for k in ("lorenz", "gini", "customers_for_80", "loss_making")},
        "classes": results["classes"],
        "at_risk": results["at_risk"],
        "loyalty": {k: results["loyalty"][k] for k in ("distribution", "mean", "weights")},
        "kotler": {"segments": seg_cells, "tiers": [dict(c) for c in results["kotler"]["tiers"]],
                   "classes": [dict(c) for c in results["kotler"].get("classes", [])]},
    }


# --- movement over time -------------------------------------------------------------------------------

def transition_matrix(user, from_snapshot, to_snapshot, dimension="segment"):
    """How many of the customers ``user`` may see moved from each category of ``from_snapshot`` to each
    category of ``to_snapshot`` (``dimension``: "segment" or "tier").  A customer absent from one of the
    snapshots (no purchases in its window) counts under the empty category "".

    Returns ``{"dimension", "from", "to", "categories", "cells": [{"from", "to", "customers"}]}``."""
    if dimension not in DIMENSIONS:
        raise ValueError(f"dimension must be one of {DIMENSIONS}")
    visible = CustomerMetrics.objects.visible_to(user)
    before = CustomerMetrics.objects.filter(snapshot=from_snapshot, customer_id=OuterRef("customer_id"))
    moved = (visible.filter(snapshot=to_snapshot)
             .annotate(before=Subquery(before.values(dimension)[:1]))
             .order_by().values("before", dimension).annotate(n=Count("id")))
    cells = {}
    for row in moved:
        key = (row["before"] or "", row[dimension] or "")
        cells[key] = cells.get(key, 0) + row["n"]
    after_ids = CustomerMetrics.objects.filter(snapshot=to_snapshot).values("customer_id")
    gone = (visible.filter(snapshot=from_snapshot).exclude(customer_id__in=after_ids)
            .order_by().values(dimension).annotate(n=Count("id")))
    for row in gone:
        key = (row[dimension] or "", "")
        cells[key] = cells.get(key, 0) + row["n"]
    if dimension == "segment":
        order = list(Segment.objects.order_by("position", "id").values_list("key", flat=True))
    else:
        order = list(scoring.TIER_KEYS)
    seen = {k for pair in cells for k in pair}
    categories = [k for k in order if k in seen] + sorted(k for k in seen if k not in order and k) + [""]
    return {
        "dimension": dimension,
        "from": getattr(from_snapshot, "pk", None), "to": getattr(to_snapshot, "pk", None),
        "categories": categories,
        "cells": [{"from": a, "to": b, "customers": n} for (a, b), n in sorted(
            cells.items(), key=lambda item: (categories.index(item[0][0]), categories.index(item[0][1])))],
    }


# --- repurchase timing (R3.4) ------------------------------------------------------------------------------

def week_bounds(week_start):
    """Monday … Sunday of the week containing ``week_start``."""
    monday = week_start - datetime.timedelta(days=week_start.weekday())
    return monday, monday + datetime.timedelta(days=6)


def due_to_buy(user, week_start, *, mine=False, snapshot=None):
    """Customers whose next expected purchase falls in the week (Monday to Sunday) containing
    ``week_start`` — those ``user`` may see, or with ``mine`` those the user owns — leaving out the ones
    at risk of churn (the expected date assumes the customer is still active).  Soonest first."""
    monday, sunday = week_bounds(week_start)
    qs = metrics_queryset(user, snapshot).filter(next_purchase_on__gte=monday, next_purchase_on__lte=sunday,
                                                 at_risk=False)
    if mine:
        qs = qs.filter(customer__owner=user)
    return qs.order_by("next_purchase_on", "-clv", "id")


def overdue_to_buy(user, *, mine=False, snapshot=None):
    """Customers whose next expected purchase fell before the snapshot's as-of date and who have not
    bought since — those ``user`` may see, or with ``mine`` those the user owns — leaving out the ones at
    risk of churn.  Largest lifetime value first (customers without one last), then largest gross profit."""
    snapshot = snapshot if snapshot is not None else current_snapshot()
    if snapshot is None:
        return CustomerMetrics.objects.none()
    qs = metrics_queryset(user, snapshot).filter(next_purchase_on__lt=snapshot.as_of, at_risk=False)
    if mine:
        qs = qs.filter(customer__owner=user)
    return qs.order_by(F("clv").desc(nulls_last=True), "-gross_profit", "id")
