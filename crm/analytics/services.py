"""The refresh of the customer value analysis (R5, R6, R7): verbs that change state.

``request_refresh(actor=…)`` starts a refresh on demand (role action *manage settings*): it creates a
:class:`~.models.Snapshot` in status *running* and queues :func:`run_refresh` once the transaction
commits.  While one is running, asking again returns the running one — pressing the button twice is
safe.  The nightly periodic task (``crm.analytics.tasks``) does the same without an actor.

``run_refresh(snapshot_id)``, stage by stage (each stage updates the snapshot's ``stage`` and
``progress`` so the page can show it, and is timed into ``results["timings"]``):

1. *aggregate* — one pass over the orders in SQL (``aggregation.customer_history``), interactions per
   customer, the customer base, product sales and average stock;
2. *score* — RFM with the segment table from the database, tiers, BG/NBD and Gamma-Gamma fits,
   P(alive), expected purchases and spend, discounted lifetime value, next expected purchase, at-risk
   flag (``stats.analysis.analyze``), the holdout check, value-chain classes, share of wallet, loyalty,
   Kotler levels (``scoring``) — all vectorised over the customers;
3. *write* — one ``CustomerMetrics`` row per customer with purchases in the window, in bulk (COPY on
   PostgreSQL, large ``executemany`` batches elsewhere);
4. *publish* — in one transaction: value alerts for owners of customers that dropped out of the
   high-value tier since the previous complete snapshot, and the snapshot marked *complete* with its
   company-wide results.  Pages read only the latest complete snapshot (``queries.current_snapshot``),
   so a half-written one is never visible;
5. *prune* — snapshots beyond ``keep_snapshots`` are deleted.

A failure marks the snapshot *failed* with the error, deletes the rows it wrote, and leaves the
previous snapshot current.
"""

import datetime
import logging
import time
import traceback

import numpy as np
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.accounts.models import OrgUnit
from crm.activities.models import Todo
from crm.activities.services import create_todos
from crm.core.jobs import enqueue_on_commit
from crm.core.permissions import require
from crm.customers.models import Customer
from crm.sales.models import Order, Product, ProductCategory

from . import aggregation, scoring
from .choices import VALUE_ALERT_TODO, ClvBasis, RefreshStage, SnapshotStatus, Tier
from .models import AnalyticsSettings, CustomerMetrics, Segment, Snapshot
from .permissions import REFRESH
from .stats import analysis, bgnbd, holdout, rfm
from .stats.summary import PERIOD_DAYS, CustomerSummary

logger = logging.getLogger(__name__)

# A snapshot still "running" after this long was interrupted (worker killed): a new request replaces it.
STALE_AFTER = datetime.timedelta(hours=6)
WRITE_BATCH = 20_000
LORENZ_POINTS = 101


# --- starting a refresh ----------------------------------------------------------------------------------

def request_refresh(*, actor, as_of=None):
    """Start a refresh on demand and return its snapshot (the running one when a refresh is under way).

    Needs the *manage settings* action.  The work runs in the task worker after the commit."""
    require(actor, REFRESH)
    snapshot, created = start_refresh(actor=actor, as_of=as_of)
    if created:
        from .tasks import refresh_task

        enqueue_on_commit(refresh_task, snapshot.pk)
    return snapshot


def start_refresh(*, actor=None, as_of=None):
    """``(snapshot, created)``: a new running snapshot, or the one already running."""
    with transaction.atomic():
        settings = AnalyticsSettings.objects.select_for_update().get(pk=AnalyticsSettings.load().pk)
        running = Snapshot.objects.filter(status=SnapshotStatus.RUNNING).order_by("-started_at", "-id").first()
        if running is not None:
            if timezone.now() - running.started_at < STALE_AFTER:
                return running, False
            _mark_failed(running.pk, _("Interrupted: the refresh did not finish."))
        snapshot = Snapshot.objects.create(
            as_of=as_of or timezone.localdate(), requested_by=actor if getattr(actor, "pk", None) else None,
            stage=RefreshStage.QUEUED, settings_used=settings_dict(settings))
    return snapshot, True


def settings_dict(settings):
    fields = [f.name for f in AnalyticsSettings._meta.concrete_fields
              if f.name not in ("id", "created_at", "updated_at")]
    return {name: _plain(getattr(settings, name)) for name in fields}


def _plain(v):
    return float(v) if hasattr(v, "as_tuple") else v


def segment_table():
    """The RFM segment table from the database as ``(key, label, cells)`` tuples, validated to cover
    each R×F cell exactly once; the default table when none is stored."""
    rows = list(Segment.objects.order_by("position", "id").values_list("key", "label", "cells"))
    if not rows:
        return rfm.DEFAULT_SEGMENTS
    table = tuple((key, label, tuple(tuple(int(v) for v in cell) for cell in cells)) for key, label, cells in rows)
    rfm.validate_segment_table(table)
    return table


# --- running it -------------------------------------------------------------------------------------------

class _Stages:
    """Progress on the snapshot row and timings of each stage."""

    def __init__(self, snapshot_id):
        self.snapshot_id = snapshot_id
        self.timings = {}
        self._stage, self._started = None, None

    def start(self, stage, percent):
        self.stop()
        self._stage, self._started = stage, time.perf_counter()
        if self.snapshot_id is not None:
            Snapshot.objects.filter(pk=self.snapshot_id).update(stage=stage, progress=percent)

    def stop(self):
        if self._stage is not None:
            self.timings[self._stage] = round(time.perf_counter() - self._started, 3)
            self._stage = None


def run_refresh(snapshot_id):
    """Compute and publish the snapshot ``snapshot_id`` (see the module docstring).  Running it again
    for a snapshot that is no longer running does nothing."""
    snapshot = Snapshot.objects.get(pk=snapshot_id)
    if snapshot.status != SnapshotStatus.RUNNING:
        return snapshot
    started = time.perf_counter()
    stages = _Stages(snapshot.pk)
    try:
        settings = AnalyticsSettings.load()
        result = compute(snapshot.as_of, settings, stages=stages)
        stages.start(RefreshStage.WRITE, 70)
        write_metrics(snapshot.pk, result)
        stages.start(RefreshStage.PUBLISH, 95)
        with transaction.atomic():
            previous = Snapshot.objects.filter(status=SnapshotStatus.COMPLETE).order_by("-finished_at", "-id").first()
            alerts = create_value_alerts(previous, snapshot) if previous else 0
            stages.stop()
            results = jsonable({**result.results, "value_alerts": alerts, "timings": stages.timings,
                                "total_seconds": round(time.perf_counter() - started, 3)})
            Snapshot.objects.filter(pk=snapshot.pk).update(
                status=SnapshotStatus.COMPLETE, finished_at=timezone.now(), progress=100, stage=RefreshStage.COMPLETE,
                results=results, customers=result.n, settings_used=settings_dict(settings), error="")
        prune_snapshots(settings.keep_snapshots)
    except Exception as exc:
        logger.exception("analytics refresh %s failed", snapshot_id)
        _mark_failed(snapshot.pk, f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=5)}")
        raise
    snapshot.refresh_from_db()
    return snapshot


def jsonable(value):
    """``value`` with numpy numbers as Python ones and NaN or infinity as None (JSON has neither)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _mark_failed(snapshot_id, error):
    delete_snapshot_metrics([snapshot_id])
    Snapshot.objects.filter(pk=snapshot_id).update(status=SnapshotStatus.FAILED, error=error[:4000],
                                                   finished_at=timezone.now())


class Result:
    """Per-customer columns (numpy arrays aligned on ``customer``) and the company-wide ``results``."""

    def __init__(self, columns, results):
        self.columns = columns
        self.results = results

    @property
    def n(self):
        return len(self.columns["customer"])


def compute(as_of, settings, *, stages=None):
    """Aggregate and score every customer with purchases in the window (no writes)."""
    stages = stages or _Stages(None)
    window = aggregation.Window.from_settings(as_of, settings)
    as_of_day = aggregation.day_number(as_of)
    period_days = PERIOD_DAYS[settings.period]

    stages.start(RefreshStage.AGGREGATE, 5)
    history = aggregation.customer_history(window)
    i_ids, i_counts = aggregation.interaction_counts(window)
    stages.start(RefreshStage.PRODUCTS, 25)
    products = product_analyses(window)
    base = aggregation.customer_base()

    stages.start(RefreshStage.SCORE, 35)
    ids = history["customer"].astype(np.int64)
    n = len(ids)
    first = history["first_day"].astype(np.int64)
    last = history["last_day"].astype(np.int64)
    transactions = history["days"].astype(np.int64)
    x = transactions - 1
    revenue, profit = history["revenue"], history["margin"]
    repeat_revenue = revenue - history["first_revenue"]
    summary = CustomerSummary(
        customer=ids, frequency=x, recency=(last - first) / period_days, T=(as_of_day - first) / period_days,
        monetary=np.divide(repeat_revenue, x, out=np.zeros(n), where=x > 0), first_day=first, last_day=last,
        transactions=transactions, revenue=revenue, cost=revenue - profit, as_of_day=as_of_day,
        period=settings.period, period_days=period_days)
    table = segment_table()
    total_revenue = float(revenue.sum())
    margin_rate = float(np.clip(profit.sum() / total_revenue, 0, 1)) if total_revenue > 0 else 1.0
    margin_factor = margin_rate if settings.clv_basis == ClvBasis.MARGIN else 1.0
    periods_per_year = analysis.PERIODS_PER_YEAR[settings.period]
    horizon = settings.clv_horizon_months / 12 * periods_per_year
    stages.start(RefreshStage.MODELS, 45)
    a = analysis.analyze(summary, horizon=horizon, annual_discount_rate=settings.annual_discount_rate,
                         margin=margin_factor, thresholds=(settings.high_value_share, settings.general_share),
                         segment_table=table)
    holdout_check = _holdout(history, window, settings, period_days) if n else None

    stages.start(RefreshStage.CLASSES, 60)
    interactions = np.zeros(n)
    if len(i_ids) and n:
        pos = np.clip(np.searchsorted(ids, i_ids), 0, n - 1)
        hit = ids[pos] == i_ids.astype(np.int64)
        np.add.at(interactions, pos[hit], i_counts[hit])
    cost_to_serve = interactions * float(settings.cost_per_interaction)
    orders = history["orders"]
    promo_share = np.divide(history["promo_orders"], orders, out=np.zeros(n), where=orders > 0)
    wallet, wallet_estimated = scoring.share_of_wallet(history["revenue_365"], history["annual_need"],
                                                       history["industry_code"])
    value_class = scoring.value_classes(frequency=x, promo_share=promo_share, gross_profit=profit,
                                        cost_to_serve=cost_to_serve, wallet_share=wallet, settings=settings)
    loyalty, components = scoring.loyalty(frequency=x, recency_days=last - first, gap_sq=history["gap_sq"],
                                          wallet_share=wallet, promo_share=promo_share, age_days=as_of_day - first)
    segment_keys = tuple(key for key, _label, _cells in table)
    tier_cells = scoring.kotler_cells(a.tier, profit, scoring.TIER_KEYS)
    segment_cells = scoring.kotler_cells(a.segment, profit, segment_keys)
    tier_level = np.array([c["recommended"] or "" for c in tier_cells], dtype=object)
    p_alive = a.p_alive if a.p_alive is not None else np.full(n, np.nan)
    at_risk = np.nan_to_num(p_alive, nan=1.0) < settings.churn_threshold
    next_days = np.full(n, np.nan) if a.next_purchase is None else np.rint(a.next_purchase * period_days)

    columns = {
        "customer": ids, "first_day": first, "last_day": last, "transactions": transactions, "frequency": x,
        "recency": summary.recency, "age": summary.T, "days_since_last": as_of_day - last,
        "revenue": revenue, "gross_profit": profit, "avg_order_value": np.divide(revenue, orders, out=np.zeros(n),
                                                                                 where=orders > 0),
        "promo_share": promo_share, "r_score": a.r_score, "f_score": a.f_score, "m_score": a.m_score,
        "segment": np.array(segment_keys, dtype=object)[a.segment] if n else np.zeros(0, dtype=object),
        "tier_code": a.tier, "profit_rank_share": _share_before(profit), "value_class_code": value_class,
        "share_of_wallet": wallet, "wallet_estimated": wallet_estimated, "cost_to_serve": cost_to_serve,
        "interactions": interactions, "p_alive": p_alive, "at_risk": at_risk,
        "expected_purchases": _or_nan(a.expected_next_period, n), "expected_purchases_horizon":
            _or_nan(a.expected_horizon, n), "expected_spend": _or_nan(a.expected_spend, n), "clv": _or_nan(a.clv, n),
        "next_purchase_day": as_of_day + next_days, "loyalty": loyalty, "components": components,
        "recommended_level": tier_level[a.tier] if n else np.zeros(0, dtype=object),
        "owner": history["owner"].astype(np.int64),
    }
    results = {
        "as_of": as_of.isoformat(),
        "window": {"start": window.start.isoformat() if window.start else None, "end": as_of.isoformat(),
                   "calibration_end": window.calibration_end.isoformat()},
        "customers": n, "fetch": history.fetch, "period": settings.period,
        "revenue": total_revenue, "gross_profit": float(profit.sum()), "margin_rate": margin_rate,
        "rfm": {
            "segments": [{"key": k, "label": label, "customers": c} for (k, label, _cells), c in
                         zip(table, rfm.segment_counts(a.segment, table).values(), strict=True)],
            "grid": rfm.grid_counts(a.r_score, a.f_score).tolist() if n else [[0] * 5 for _ in range(5)],
            "scores": {"r": rfm.score_distribution(a.r_score), "f": rfm.score_distribution(a.f_score),
                       "m": rfm.score_distribution(a.m_score)},
        },
        "tiers": scoring.tier_figures(profit, a.tier) if n else {},
        "thresholds": [settings.high_value_share, settings.general_share],
        **scoring.value_figures(profit, points=LORENZ_POINTS),
        "classes": scoring.class_figures(value_class, gross_profit=profit, revenue=revenue, share_of_wallet=wallet,
                                         cost_to_serve=cost_to_serve, clv=_or_nan(a.clv, n)),
        "at_risk": int(at_risk.sum()),
        "loyalty": {"weights": scoring.LOYALTY_WEIGHTS, "distribution": scoring.loyalty_distribution(loyalty),
                    "mean": float(loyalty.mean()) if n else None},
        "kotler": {"tiers": tier_cells, "segments": segment_cells, "table": {
            f"{c}|{m}": level for (c, m), level in scoring.KOTLER.items()}},
        "models": _model_results(a, summary, horizon),
        "holdout": holdout_check,
        "composition": composition(history, base, tier=a.tier, value_class=value_class),
        "products": products,
    }
    stages.stop()
    return Result(columns, results)


def _or_nan(values, n):
    return np.full(n, np.nan) if values is None else np.asarray(values, dtype=np.float64)


def _share_before(profit):
    from .stats import value

    return value.share_before(profit) if len(profit) else np.zeros(0)


def _model_results(a, summary, horizon):
    out = {"errors": a.errors, "horizon_periods": horizon, "discount_rate_per_period": a.discount_rate,
           "margin_factor": a.margin, "bgnbd": None, "gamma_gamma": None,
           "spend_frequency_correlation": analysis.spend_frequency_correlation(summary.frequency, summary.monetary)}
    if a.bgnbd is not None:
        f = a.bgnbd
        out["bgnbd"] = {**f.params.as_dict(), "log_likelihood": f.log_likelihood, "customers": f.customers,
                        "iterations": f.iterations, "converged": f.converged, "std_errors": f.std_errors}
    if a.gamma_gamma is not None:
        g = a.gamma_gamma
        out["gamma_gamma"] = {**g.params.as_dict(), "log_likelihood": g.log_likelihood, "customers": g.customers,
                              "converged": g.converged, "mean_spend": _finite(g.params.mean_spend)}
    return out


def _finite(v):
    return float(v) if v is not None and np.isfinite(v) else None


def _holdout(history, window, settings, period_days):
    """Fit BG/NBD on the calibration period (purchase days up to its end) and compare the predicted
    repeat purchases in the holdout period with the actual ones, by calibration frequency."""
    if not settings.holdout_months:
        return None
    cal_day = aggregation.day_number(window.calibration_end)
    first = history["first_day"]
    keep = first <= cal_day
    x = history["cal_days"][keep] - 1
    t_x = (history["cal_last"][keep] - first[keep]) / period_days
    T = (cal_day - first[keep]) / period_days
    horizon = (aggregation.day_number(window.as_of) - cal_day) / period_days
    base = {"calibration_end": window.calibration_end.isoformat(), "horizon_periods": horizon,
            "customers": int(keep.sum())}
    if not np.any(x > 0) or not np.any(T > 0):
        return {**base, "error": "not enough repeat purchases in the calibration period"}
    try:
        fit = bgnbd.fit(x, t_x, T, std_errors=False)
    except (ValueError, FloatingPointError) as exc:
        return {**base, "error": str(exc)}
    predicted = bgnbd.expected_purchases(fit.params, horizon, x, t_x, T)
    actual = history["days"][keep] - history["cal_days"][keep]
    return {**base, "params": fit.params.as_dict(), "log_likelihood": fit.log_likelihood,
            "total_predicted": float(predicted.sum()), "total_actual": float(actual.sum()),
            "buckets": holdout.by_frequency(x, predicted, actual)}


def composition(history, base, *, tier, value_class):
    """Customer composition (R6.1): per type, industry, region (province) and branch — all customers and
    the analysed ones with their revenue and gross profit; per tier and value class the analysed ones."""

    revenue, profit = history["revenue"], history["margin"]
    dims = {"type": ("type_code", 0, aggregation.TYPE_LEVELS), "industry": ("industry_code", 1,
            aggregation.INDUSTRY_LEVELS), "region": ("province_code", 2, aggregation.PROVINCE_LEVELS),
            "branch": ("branch", 3, None)}
    branch_names = dict(OrgUnit.objects.values_list("pk", "name"))
    out = {}
    for dim, (column, base_col, levels) in dims.items():
        codes = np.concatenate([history[column], base[:, base_col]]).astype(np.int64)
        keys, inverse = np.unique(codes, return_inverse=True)
        h_code, b_code = inverse[:history.n], inverse[history.n:]
        all_customers = np.bincount(b_code, weights=base[:, 4], minlength=len(keys))
        buyers = np.bincount(h_code, minlength=len(keys))
        rev = np.bincount(h_code, weights=revenue, minlength=len(keys))
        gp = np.bincount(h_code, weights=profit, minlength=len(keys))
        rows = []
        for i, code in enumerate(keys.tolist()):
            key = levels[code] if levels is not None else (code or None)
            label = branch_names.get(code, "") if levels is None else key
            rows.append({"key": key, "label": label, "customers": int(all_customers[i]), "analysed": int(buyers[i]),
                         "revenue": float(rev[i]), "gross_profit": float(gp[i])})
        out[dim] = sorted(rows, key=lambda r: -r["gross_profit"])
    for dim, codes, keys in (("tier", tier, scoring.TIER_KEYS), ("class", value_class, scoring.CLASS_KEYS)):
        codes = np.asarray(codes, dtype=np.int64)
        counts = np.bincount(codes, minlength=len(keys))
        rev = np.bincount(codes, weights=revenue, minlength=len(keys))
        gp = np.bincount(codes, weights=profit, minlength=len(keys))
        out[dim] = [{"key": k, "analysed": int(counts[i]), "revenue": float(rev[i]), "gross_profit": float(gp[i])}
                    for i, k in enumerate(keys)]
    return out


def product_analyses(window):
    """Per product and per category (R6.2, R6.3): revenue, sales share, gross margin and its rate, cost
    of goods sold, average stock at cost (time-weighted, from the stock movements; null without them),
    turnover = annualised cost of goods sold ÷ average stock at cost, cross ratio = margin rate ×
    turnover, contribution ratio = cross ratio × sales share."""

    sales = aggregation.product_sales(window)
    if not len(sales):
        return {"products": [], "categories": []}
    start = window.start or aggregation.day_to_date(
        int(aggregation.fetch_matrix(*_first_order_sql(window), 1)[0, 0]))
    days = (window.as_of - start).days + 1
    stock = dict(zip(*(aggregation.average_stock(start, window.as_of).T.tolist()), strict=True)) if days > 0 else {}
    info = {p["pk"]: p for p in Product.objects.filter(pk__in=sales[:, 0].astype(np.int64).tolist()).values(
        "pk", "code", "name", "category_id", "standard_cost")}
    categories = dict(ProductCategory.objects.values_list("pk", "name"))
    total = float(sales[:, 1].sum())
    per_year = 365.0 / days
    rows = []
    by_category = {}
    for pid, amount, cost, margin, quantity in sales.tolist():
        p = info.get(int(pid), {})
        avg_qty = stock.get(pid)
        unit_cost = float(p.get("standard_cost") or 0)
        avg_stock = avg_qty * unit_cost if avg_qty is not None and avg_qty > 0 and unit_cost > 0 else None
        row = _ratios({"product": int(pid), "code": p.get("code"), "name": p.get("name"),
                       "category": p.get("category_id"), "category_name": categories.get(p.get("category_id")),
                       "revenue": amount, "cost": cost, "gross_margin": margin, "quantity": quantity,
                       "average_stock_value": avg_stock}, total, per_year)
        rows.append(row)
        c = by_category.setdefault(p.get("category_id"), {"category": p.get("category_id"),
                                                          "name": categories.get(p.get("category_id")),
                                                          "revenue": 0.0, "cost": 0.0, "gross_margin": 0.0,
                                                          "quantity": 0.0, "average_stock_value": None})
        for k in ("revenue", "cost", "gross_margin", "quantity"):
            c[k] += row[k]
        if avg_stock is not None:
            c["average_stock_value"] = (c["average_stock_value"] or 0.0) + avg_stock
    rows.sort(key=lambda r: -r["revenue"])
    cats = sorted((_ratios(c, total, per_year) for c in by_category.values()), key=lambda r: -r["revenue"])
    return {"products": rows, "categories": cats, "days": days}


def _first_order_sql(window):

    return (f"SELECT MIN({aggregation._day_sql('o.order_date')}) FROM {Order._meta.db_table} o "
            f"WHERE {aggregation._order_filter()}", [window.lower, window.as_of])


def _ratios(row, total, per_year):
    revenue = row["revenue"]
    row["sales_share"] = revenue / total if total else None
    row["margin_rate"] = row["gross_margin"] / revenue if revenue else None
    stock = row["average_stock_value"]
    row["turnover"] = row["cost"] * per_year / stock if stock else None
    row["cross_ratio"] = (row["margin_rate"] * row["turnover"]
                          if row["margin_rate"] is not None and row["turnover"] is not None else None)
    row["contribution_ratio"] = (row["cross_ratio"] * row["sales_share"]
                                 if row["cross_ratio"] is not None and row["sales_share"] is not None else None)
    return row


# --- writing the rows ----------------------------------------------------------------------------------------

METRIC_COLUMNS = (
    "snapshot_id", "customer_id", "first_purchase", "last_purchase", "transactions", "frequency", "recency", "age",
    "days_since_last", "revenue", "gross_profit", "avg_order_value", "promo_share", "r_score", "f_score", "m_score",
    "segment", "tier", "profit_rank_share", "value_class", "share_of_wallet", "cost_to_serve", "p_alive", "at_risk",
    "expected_purchases", "expected_purchases_horizon", "expected_spend", "clv", "next_purchase_on", "loyalty",
    "loyalty_components", "recommended_level",
)
COMPONENTS_JSON = ('{"repeat": %.4f, "regularity": %.4f, "share_of_wallet": %.4f, "price_insensitivity": %.4f, '
                   '"tenure": %.4f, "interactions": %d, "wallet_estimated": %s}')


def _dates(days):
    """Day numbers as ISO date strings, NaN as None."""
    days = np.asarray(days, dtype=np.float64)
    ok = np.isfinite(days)
    out = np.full(len(days), None, dtype=object)
    out[ok] = np.datetime_as_string(days[ok].astype(np.int64).astype("datetime64[D]"))
    return out


def _nullable(values, digits=None):
    values = np.asarray(values, dtype=np.float64)
    if digits is not None:
        values = np.round(values, digits)
    out = values.astype(object)
    out[~np.isfinite(values)] = None
    return out


def metric_columns(snapshot_id, result, part=slice(None)):
    """The columns of the ``CustomerMetrics`` rows ``part`` (a slice), in :data:`METRIC_COLUMNS` order, as
    numpy arrays of Python-ready values."""
    c = {k: v[part] for k, v in result.columns.items() if k != "components"}
    comp = {k: v[part] for k, v in result.columns["components"].items()}
    n = len(c["customer"])
    components = np.array([COMPONENTS_JSON % row for row in zip(
        np.round(comp["repeat"], 4).tolist(), np.round(comp["regularity"], 4).tolist(),
        np.round(comp["share_of_wallet"], 4).tolist(), np.round(comp["price_insensitivity"], 4).tolist(),
        np.round(comp["tenure"], 4).tolist(), c["interactions"].astype(np.int64).tolist(),
        np.where(c["wallet_estimated"], "true", "false").tolist(), strict=True)], dtype=object)
    return [
        np.full(n, snapshot_id, dtype=np.int64), c["customer"], _dates(c["first_day"]), _dates(c["last_day"]),
        c["transactions"], c["frequency"], np.round(c["recency"], 6), np.round(c["age"], 6), c["days_since_last"],
        np.round(c["revenue"], 2), np.round(c["gross_profit"], 2), np.round(c["avg_order_value"], 2),
        np.round(c["promo_share"], 6), c["r_score"].astype(np.int64), c["f_score"].astype(np.int64),
        c["m_score"].astype(np.int64), c["segment"], np.array(scoring.TIER_KEYS, dtype=object)[c["tier_code"]],
        np.round(c["profit_rank_share"], 6), np.array(scoring.CLASS_KEYS, dtype=object)[c["value_class_code"]],
        np.round(c["share_of_wallet"], 6), np.round(c["cost_to_serve"], 2), _nullable(c["p_alive"]),
        c["at_risk"].astype(bool), _nullable(c["expected_purchases"]), _nullable(c["expected_purchases_horizon"]),
        _nullable(c["expected_spend"], 2), _nullable(c["clv"], 2), _dates(c["next_purchase_day"]),
        np.round(c["loyalty"], 2), components, c["recommended_level"],
    ]


def write_metrics(snapshot_id, result):
    """Write one row per customer in bulk.  PostgreSQL: the numpy columns go as a binary ``COPY`` into a
    temporary staging table (every column fixed-width, so the buffer is built by numpy, not row by row),
    then one ``INSERT … SELECT`` turns codes into labels, day numbers into dates and the loyalty
    components into JSON on the server.  Elsewhere: ``executemany`` in batches built from the columns."""
    if connection.vendor == "postgresql":
        _write_postgres(snapshot_id, result)
        return
    table = CustomerMetrics._meta.db_table
    names = ", ".join(METRIC_COLUMNS)
    sql = f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(METRIC_COLUMNS))})"
    with transaction.atomic(), connection.cursor() as cursor:
        for rows in _row_batches(snapshot_id, result):
            cursor.executemany(sql, rows)


NO_DAY = -(2**31)  # a missing date in the staging table


def _staging_columns(result):
    """``(name, numpy big-endian dtype, PostgreSQL type, values)`` of the staging table."""
    c = result.columns
    comp = c["components"]
    sorted_keys, segment_code = _factorize(c["segment"])
    level_sorted, level_code = _factorize(c["recommended_level"])
    next_day = np.where(np.isfinite(c["next_purchase_day"]), np.nan_to_num(c["next_purchase_day"]), NO_DAY)
    i4, i8, f8, i2, b1 = (">i4", "integer"), (">i8", "bigint"), (">f8", "double precision"), (">i2", "smallint"), \
        ("u1", "boolean")
    cols = [
        ("customer_id", *i8, c["customer"]), ("first_day", *i4, c["first_day"]), ("last_day", *i4, c["last_day"]),
        ("transactions", *i4, c["transactions"]), ("frequency", *i4, c["frequency"]), ("recency", *f8, c["recency"]),
        ("age", *f8, c["age"]), ("days_since_last", *i4, c["days_since_last"]), ("revenue", *f8, c["revenue"]),
        ("gross_profit", *f8, c["gross_profit"]), ("avg_order_value", *f8, c["avg_order_value"]),
        ("promo_share", *f8, c["promo_share"]), ("r_score", *i2, c["r_score"]), ("f_score", *i2, c["f_score"]),
        ("m_score", *i2, c["m_score"]), ("segment", *i2, segment_code), ("tier", *i2, c["tier_code"]),
        ("profit_rank_share", *f8, c["profit_rank_share"]), ("value_class", *i2, c["value_class_code"]),
        ("share_of_wallet", *f8, c["share_of_wallet"]), ("cost_to_serve", *f8, c["cost_to_serve"]),
        ("p_alive", *f8, c["p_alive"]), ("at_risk", *b1, c["at_risk"]),
        ("expected_purchases", *f8, c["expected_purchases"]),
        ("expected_purchases_horizon", *f8, c["expected_purchases_horizon"]),
        ("expected_spend", *f8, c["expected_spend"]), ("clv", *f8, c["clv"]), ("next_day", *i4, next_day),
        ("loyalty", *f8, c["loyalty"]), ("c_repeat", *f8, comp["repeat"]), ("c_regularity", *f8, comp["regularity"]),
        ("c_wallet", *f8, comp["share_of_wallet"]), ("c_price", *f8, comp["price_insensitivity"]),
        ("c_tenure", *f8, comp["tenure"]), ("c_interactions", *i4, c["interactions"]),
        ("c_estimated", *b1, c["wallet_estimated"]), ("level", *i2, level_code),
    ]
    return cols, sorted_keys, level_sorted


def _factorize(values):
    """``(sorted distinct strings, code of each value)`` without a per-row loop."""
    if not len(values):
        return [], np.zeros(0, dtype=np.int64)
    keys, codes = np.unique(np.asarray(values).astype(str), return_inverse=True)
    return keys.tolist(), codes.reshape(-1)


def _write_postgres(snapshot_id, result):
    cols, segment_keys, level_keys = _staging_columns(result)
    row = np.dtype([("fields", ">i2")] + [item for name, dtype, _pg, _v in cols
                                          for item in ((f"{name}_len", ">i4"), (name, dtype))])
    header = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
    stage = "analytics_metrics_stage"
    nullable = {"promo_share", "p_alive", "expected_purchases", "expected_purchases_horizon", "expected_spend", "clv"}

    def value(name):
        return f"NULLIF(s.{name}, 'NaN'::float8)" if name in nullable else f"s.{name}"

    def rounded(name, digits):
        return f"round(s.{name}::numeric, {digits})"

    tier_keys = list(scoring.TIER_KEYS)
    class_keys = list(scoring.CLASS_KEYS)
    select = {
        "snapshot_id": "%s", "customer_id": "s.customer_id", "first_purchase": "DATE '1970-01-01' + s.first_day",
        "last_purchase": "DATE '1970-01-01' + s.last_day", "transactions": "s.transactions",
        "frequency": "s.frequency", "recency": "s.recency", "age": "s.age", "days_since_last": "s.days_since_last",
        "revenue": rounded("revenue", 2), "gross_profit": rounded("gross_profit", 2),
        "avg_order_value": rounded("avg_order_value", 2), "promo_share": value("promo_share"),
        "r_score": "s.r_score", "f_score": "s.f_score", "m_score": "s.m_score",
        "segment": "(%s::text[])[s.segment + 1]", "tier": "(%s::text[])[s.tier + 1]",
        "profit_rank_share": "s.profit_rank_share", "value_class": "(%s::text[])[s.value_class + 1]",
        "share_of_wallet": "s.share_of_wallet", "cost_to_serve": rounded("cost_to_serve", 2),
        "p_alive": value("p_alive"), "at_risk": "s.at_risk", "expected_purchases": value("expected_purchases"),
        "expected_purchases_horizon": value("expected_purchases_horizon"),
        "expected_spend": f"round({value('expected_spend')}::numeric, 2)",
        "clv": f"round({value('clv')}::numeric, 2)",
        "next_purchase_on": f"CASE WHEN s.next_day = {NO_DAY} THEN NULL ELSE DATE '1970-01-01' + s.next_day END",
        "loyalty": "round(s.loyalty::numeric, 2)",
        "loyalty_components": (
            "jsonb_build_object('repeat', round(s.c_repeat::numeric, 4),"
            " 'regularity', round(s.c_regularity::numeric, 4), 'share_of_wallet', round(s.c_wallet::numeric, 4),"
            " 'price_insensitivity', round(s.c_price::numeric, 4),"
            " 'tenure', round(s.c_tenure::numeric, 4), 'interactions', s.c_interactions,"
            " 'wallet_estimated', s.c_estimated)"),
        "recommended_level": "(%s::text[])[s.level + 1]",
    }
    assert tuple(select) == METRIC_COLUMNS
    insert = (f"INSERT INTO {CustomerMetrics._meta.db_table} ({', '.join(METRIC_COLUMNS)}) "
              f"SELECT {', '.join(select.values())} FROM {stage} s")
    with transaction.atomic(), connection.cursor() as cursor:
        # Dropped explicitly too: inside an outer transaction (tests, a caller's atomic block) the
        # block above is a savepoint and ON COMMIT DROP would leave the table for the next write.
        cursor.execute(f"DROP TABLE IF EXISTS {stage}")
        cursor.execute(f"CREATE TEMPORARY TABLE {stage} ("
                       + ", ".join(f"{name} {pg}" for name, _dtype, pg, _v in cols) + ") ON COMMIT DROP")
        with cursor.cursor.copy(f"COPY {stage} FROM STDIN (FORMAT binary)") as copy:
            copy.write(header)
            for start in range(0, result.n, WRITE_BATCH * 5):
                part = slice(start, min(start + WRITE_BATCH * 5, result.n))
                buf = np.zeros(part.stop - part.start, dtype=row)
                buf["fields"] = len(cols)
                for name, dtype, _pg, values in cols:
                    buf[f"{name}_len"] = np.dtype(dtype).itemsize
                    buf[name] = values[part]
                copy.write(buf.tobytes())
            copy.write((-1).to_bytes(2, "big", signed=True))
        cursor.execute(insert, [snapshot_id, segment_keys, tier_keys, class_keys, level_keys])
        cursor.execute(f"DROP TABLE {stage}")


def _row_batches(snapshot_id, result, size=WRITE_BATCH):
    """Rows of ``size`` customers at a time, built from that slice of the columns only."""
    for start in range(0, result.n, size):
        columns = metric_columns(snapshot_id, result, slice(start, start + size))
        yield list(zip(*(col.tolist() for col in columns), strict=True))


def delete_snapshot_metrics(snapshot_ids):
    """Delete the metrics rows of these snapshots in one statement (no per-row delete signals)."""
    if not snapshot_ids:
        return
    marks = ", ".join(["%s"] * len(snapshot_ids))
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {CustomerMetrics._meta.db_table} WHERE snapshot_id IN ({marks})",
                       list(snapshot_ids))


def prune_snapshots(keep):
    """Keep the ``keep`` newest complete snapshots (and any running one); delete the rest."""
    keep = max(int(keep), 1)
    complete = list(Snapshot.objects.filter(status=SnapshotStatus.COMPLETE).order_by("-finished_at", "-id")
                    .values_list("pk", flat=True))
    kept = set(complete[:keep])
    oldest_kept = (Snapshot.objects.filter(pk__in=kept).order_by("started_at")
                   .values_list("started_at", flat=True).first())
    doomed = set(complete[keep:])
    if oldest_kept is not None:
        doomed |= set(Snapshot.objects.filter(status=SnapshotStatus.FAILED, started_at__lt=oldest_kept)
                      .values_list("pk", flat=True))
    if doomed:
        delete_snapshot_metrics(sorted(doomed))
        Snapshot.objects.filter(pk__in=doomed).delete()
    return len(doomed)


# --- movement over time (R5.9) ---------------------------------------------------------------------------

def create_value_alerts(previous, snapshot):
    """A ``value_alert`` to-do for the owner of every customer that was high-value in ``previous`` and is
    not in ``snapshot`` (a lower tier, or no purchases in the window any more) — one per customer: none
    when the customer already has an open value alert.  Returns the number created."""
    metrics, customers, todos = (CustomerMetrics._meta.db_table, Customer._meta.db_table, Todo._meta.db_table)
    sql = f"""
SELECT p.customer_id, c.owner_id, c.name, COALESCE(n.tier, '')
FROM {metrics} p
JOIN {customers} c ON c.id = p.customer_id
LEFT JOIN {metrics} n ON n.customer_id = p.customer_id AND n.snapshot_id = %s
WHERE p.snapshot_id = %s AND p.tier = %s AND (n.tier IS NULL OR n.tier <> %s) AND c.owner_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM {todos} t WHERE t.customer_id = p.customer_id AND t.kind = %s
                  AND t.done_at IS NULL)
ORDER BY p.customer_id"""
    with connection.cursor() as cursor:
        cursor.execute(sql, [snapshot.pk, previous.pk, Tier.HIGH, Tier.HIGH, VALUE_ALERT_TODO])
        rows = cursor.fetchall()
    if not rows:
        return 0
    labels = dict(Tier.choices)
    due = timezone.localdate()
    new = []
    for customer_id, owner_id, name, tier in rows:  # only the customers that dropped, not the whole base
        now_in = labels.get(tier) or _("no purchases in the window")
        title = _("%(name)s is no longer a high-value customer (now: %(tier)s)") % {"name": name, "tier": now_in}
        new.append({"owner_id": owner_id, "customer_id": customer_id, "kind": VALUE_ALERT_TODO,
                    "title": title[:200], "due_on": due})
    return len(create_todos(new, actor=None))
