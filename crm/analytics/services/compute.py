"""The computation of a refresh: aggregate the orders and score every customer (no writes).

:func:`compute` returns a :class:`Result` — per-customer columns and the company-wide figures — which
:mod:`.writers` stores; the product analyses, the holdout check and the composition tables are parts
of it.
"""

import time

import numpy as np

from crm.accounts.models import OrgUnit
from crm.sales.models import Order, Product, ProductCategory

from .. import aggregation, scoring
from ..choices import ClvBasis, RefreshStage
from ..models import Segment
from ..stats import analysis, quality, rfm, value
from ..stats.summary import PERIOD_DAYS, CustomerSummary

LORENZ_POINTS = 101


class _NoProgress:
    """The progress reporter of a computation nobody watches."""

    def start(self, stage, percent):
        pass

    def stop(self):
        pass


def segment_table():
    """The RFM segment table from the database as ``(key, label, cells)`` tuples, validated to cover
    each R×F cell exactly once; the default table when none is stored."""
    rows = list(Segment.objects.order_by("position", "id").values_list("key", "label", "cells"))
    if not rows:
        return rfm.DEFAULT_SEGMENTS
    table = tuple((key, label, tuple(tuple(int(v) for v in cell) for cell in cells)) for key, label, cells in rows)
    rfm.validate_segment_table(table)
    return table


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
    stages = stages or _NoProgress()
    window = aggregation.Window.from_settings(as_of, settings)
    as_of_day = aggregation.day_number(as_of)
    period_days = PERIOD_DAYS[settings.period]

    stages.start(RefreshStage.AGGREGATE, 5)
    history, exclusions = _purchasers(aggregation.customer_history(window), window)
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
    # The backtest first: it chooses the purchase model, the at-risk rule and the timing method.
    checked = backtest(history, window, settings, period_days) if n else None
    model = ((checked or {}).get("churn") or {}).get("model") or quality.DEFAULT_MODEL
    timing = ((checked or {}).get("timing") or {}).get("chosen") or "rhythm"
    a = analysis.analyze(summary, horizon=horizon, annual_discount_rate=settings.annual_discount_rate,
                         margin=margin_factor, thresholds=(settings.high_value_share, settings.general_share),
                         segment_table=table, model=model, timing=timing)

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
    class_cells, class_level = scoring.kotler_classes(loyalty, a.tier, profit)
    p_alive = a.p_alive if a.p_alive is not None else np.full(n, np.nan)
    churn_rule = churn_rule_for(a, settings, checked)
    at_risk = flag_at_risk(churn_rule, p_alive, as_of_day - last)
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
        "recommended_level": class_level,
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
        "churn": churn_rule,
        "timing": {"method": timing, "median_gap_days": (None if a.median_gap is None
                                                          else float(a.median_gap * period_days))},
        "exclusions": exclusions,
        "backtest": checked,
        "loyalty": {"weights": scoring.LOYALTY_WEIGHTS, "distribution": scoring.loyalty_distribution(loyalty),
                    "mean": float(loyalty.mean()) if n else None},
        "kotler": {"tiers": tier_cells, "segments": segment_cells, "classes": class_cells, "table": {
            f"{c}|{m}": level for (c, m), level in scoring.KOTLER.items()}},
        "models": _model_results(a, summary, horizon),
        "holdout": _holdout_chart(checked),
        "composition": composition(history, base, tier=a.tier, value_class=value_class),
        "products": products,
    }
    stages.stop()
    return Result(columns, results)


def _or_nan(values, n):
    return np.full(n, np.nan) if values is None else np.asarray(values, dtype=np.float64)


def _share_before(profit):
    return value.share_before(profit) if len(profit) else np.zeros(0)


def _model_results(a, summary, horizon):
    out = {"errors": a.errors, "refusals": a.refusals, "model": a.model, "horizon_periods": horizon,
           "discount_rate_per_period": a.discount_rate,
           "margin_factor": a.margin, "bgnbd": None, "gamma_gamma": None,
           "spend_frequency_correlation": analysis.spend_frequency_correlation(summary.frequency, summary.monetary)}
    if a.bgnbd is not None:
        f = a.bgnbd
        out["bgnbd"] = {**f.params.as_dict(), "model": a.model, "log_likelihood": f.log_likelihood,
                        "customers": f.customers, "iterations": f.iterations, "converged": f.converged,
                        "std_errors": f.std_errors, "condition": _finite(f.condition)}
    if a.gamma_gamma is not None:
        g = a.gamma_gamma
        out["gamma_gamma"] = {**g.params.as_dict(), "log_likelihood": g.log_likelihood, "customers": g.customers,
                              "converged": g.converged, "mean_spend": _finite(g.params.mean_spend)}
    return out


def _finite(v):
    return float(v) if v is not None and np.isfinite(v) else None


DEFAULT_CHURN_THRESHOLD = 0.30  # P(alive), used only when neither the settings nor a backtest give one


def _purchasers(history, window):
    """The customers with at least one purchase, and what was left out: zero-amount orders, customers with
    no purchase at all, and returned orders (never revenue)."""
    returned, returned_amount = aggregation.returned_orders(window)
    zero = int(history["zero_orders"].sum()) + history.without_purchase_orders
    exclusions = {"zero_amount_orders": zero, "returned_orders": returned,
                  "returned_amount": returned_amount, "customers_without_purchase": history.without_purchase}
    return history, exclusions


def backtest(history, window, settings, period_days, *, sample_size=None):
    """Split the history at the calibration end and backtest every prediction (:mod:`..stats.quality`);
    None when the settings have no holdout period."""
    if not settings.holdout_months:
        return None
    cal_day = aggregation.day_number(window.calibration_end)
    as_of_day = aggregation.day_number(window.as_of)
    first = history["first_day"]
    keep = first <= cal_day
    x = (history["cal_days"][keep] - 1).astype(np.int64)
    cal_last = history["cal_last"][keep]
    hold_revenue = history["hold_revenue"][keep]
    cal_revenue = history["revenue"][keep] - hold_revenue
    repeat_revenue = np.maximum(cal_revenue - history["first_revenue"][keep], 0.0)
    hold_first = history["hold_first"][keep]
    split = quality.Split(
        x=x, t_x=(cal_last - first[keep]) / period_days, T=(cal_day - first[keep]) / period_days,
        last_day=cal_last, monetary=np.divide(repeat_revenue, x, out=np.zeros(len(x)), where=x > 0),
        revenue=cal_revenue, bought=(history["days"][keep] - history["cal_days"][keep]).astype(np.int64),
        first_after=np.where(hold_first <= as_of_day, hold_first - cal_day, np.nan), revenue_after=hold_revenue,
        split_day=cal_day, horizon=(as_of_day - cal_day) / period_days, period_days=period_days)
    started = time.perf_counter()
    result = quality.run(split, sample_size=sample_size)
    result.update({"split": window.calibration_end.isoformat(), "as_of": window.as_of.isoformat(),
                   "holdout_days": as_of_day - cal_day, "seconds": round(time.perf_counter() - started, 3)})
    return result


def churn_rule_for(a, settings, checked):
    """How this snapshot flags customers at risk: ``{"rule": "model" | "recency" | None, "threshold",
    "recency_days", "model", "threshold_source"}``.

    An administrator's threshold wins; else the backtest's: P(alive) below the threshold that best
    separated buyers from non-buyers on the split, or — when the model did not beat the recency rule —
    more days since the last purchase than that rule's threshold; else 0.30 on P(alive).  Without a
    usable purchase model only the recency rule can flag anyone."""
    churn = (checked or {}).get("churn") or {}
    recency_days = churn.get("baseline_threshold_days")
    rule = {"rule": None, "threshold": None, "recency_days": None, "model": a.model if a.bgnbd else None,
            "threshold_source": None}
    if a.bgnbd is not None and settings.churn_threshold is not None:
        return {**rule, "rule": "model", "threshold": settings.churn_threshold, "threshold_source": "settings"}
    if churn.get("winner") == "model" and churn.get("threshold") is not None and a.bgnbd is not None:
        return {**rule, "rule": "model", "threshold": churn["threshold"], "threshold_source": "backtest"}
    if recency_days is not None and (churn.get("winner") == "baseline" or a.bgnbd is None):
        return {**rule, "rule": "recency", "recency_days": recency_days, "threshold_source": "backtest"}
    if a.bgnbd is not None:
        return {**rule, "rule": "model", "threshold": DEFAULT_CHURN_THRESHOLD, "threshold_source": "default"}
    return rule


def flag_at_risk(rule, p_alive, days_since_last):
    """The at-risk flag of every customer under ``rule`` (see :func:`churn_rule_for`).  A threshold from
    the backtest flags scores at or beyond it (the backtest measured exactly that flag); an
    administrator's or the default threshold flags P(alive) strictly below it, as the settings say."""
    p_alive = np.nan_to_num(p_alive, nan=1.0)
    if rule["rule"] == "model":
        if rule["threshold_source"] == "backtest":
            return p_alive <= rule["threshold"]
        return p_alive < rule["threshold"]
    if rule["rule"] == "recency":
        return np.asarray(days_since_last) >= rule["recency_days"]
    return np.zeros(len(p_alive), dtype=bool)


def _holdout_chart(checked):
    """The dashboard's holdout chart (predicted and actual purchases by calibration frequency), from the
    backtest."""
    if not checked:
        return None
    purchases = checked.get("purchases")
    base = {"calibration_end": checked.get("split"), "horizon_periods": checked.get("horizon_periods"),
            "customers": checked.get("customers")}
    if not purchases:
        return {**base, "error": "not enough repeat purchases in the calibration period"}
    return {**base, "total_predicted": purchases.get("total_predicted"),
            "total_actual": purchases.get("total_actual"), "buckets": purchases}


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
    turnover = annualised cost of goods sold ÷ average stock at cost (for a category, over its products
    with stock data only), cross ratio = margin rate × turnover, contribution ratio = cross ratio × sales
    share."""

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
                                                          "quantity": 0.0, "average_stock_value": None,
                                                          "cost_with_stock": 0.0})
        for k in ("revenue", "cost", "gross_margin", "quantity"):
            c[k] += row[k]
        if avg_stock is not None:
            # A category's turnover compares like with like: the cost of goods of the products whose
            # stock is known, over their stock (not every product's cost over part of the stock).
            c["average_stock_value"] = (c["average_stock_value"] or 0.0) + avg_stock
            c["cost_with_stock"] += row["cost"]
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
    cost = row.get("cost_with_stock", row["cost"])  # categories: only the products with stock data
    row["turnover"] = cost * per_year / stock if stock else None
    row["cross_ratio"] = (row["margin_rate"] * row["turnover"]
                          if row["margin_rate"] is not None and row["turnover"] is not None else None)
    row["contribution_ratio"] = (row["cross_ratio"] * row["sales_share"]
                                 if row["cross_ratio"] is not None and row["sales_share"] is not None else None)
    return row
