"""Customer value pages: the dashboard, the refresh with its progress, the settings pages, and the
"Customer value" panel of the 360° page.

Views stay thin: figures come from ``queries`` (always for the customers in the caller's scope), a
refresh goes through ``services.request_refresh``, and the words on how each figure was computed come
from ``explanations``; what is left here is arranging the figures for the templates (chart rows).
"""

import datetime

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm.core.views import permission_required
from crm.customers.choices import CustomerType, Industry, Province, RelationshipLevel

from . import permissions as perms
from .choices import SnapshotStatus, Tier, ValueClass, segment_label
from .explanations import (
    BASELINES,
    CHURN_MODEL_LABELS,
    CLV_BANDS,
    KOTLER_TABLE,
    LOYALTY_COMPONENTS,
    MEASURES,
    TIMING_LABELS,
    band_label,
    churn_rule,
    class_rule,
    exclusions,
    explain,
    loyalty_components,
    model_problem,
    refusals,
    timing_method,
    verdict,
)
from .forms import AnalyticsSettingsForm, SegmentTableForm, current_segments
from .models import AnalyticsSettings, Snapshot
from .stats.rfm import DEFAULT_SEGMENTS, SCORES

DUE_TO_BUY_SHOWN = 50
DIMENSIONS = (("segment", gettext_lazy("RFM segment")), ("tier", gettext_lazy("value tier")))
LEVEL_ORDER = list(RelationshipLevel.values)
# Series of the quality page's charts (the keys are CSS classes series-<key> of app.css).
CHURN_SERIES = (("model", gettext_lazy("model")), ("baseline", gettext_lazy("naive guess")))
TIMING_SERIES = (("model", gettext_lazy("mean error (days)")), ("median", gettext_lazy("median error (days)")))
OUTCOME_SERIES = (("predicted", gettext_lazy("predicted")), ("actual", gettext_lazy("actual")),
                  ("baseline", gettext_lazy("naive guess")))


def _queries():
    from . import queries

    return queries


def _services():
    from . import services

    return services


# --- small readers that tolerate missing figures ------------------------------------------------------

def _get(mapping, *keys, default=None):
    """The first of ``keys`` present in ``mapping`` (dict or object)."""
    if mapping is None:
        return default
    for key in keys:
        if isinstance(mapping, dict):
            if key in mapping and mapping[key] is not None:
                return mapping[key]
        elif getattr(mapping, key, None) is not None:
            return getattr(mapping, key)
    return default


def _pairs(value):
    """``{k: v}`` or ``[{key/label, count/value}]`` or ``[(k, v)]`` as a list of (key, value)."""
    if not value:
        return []
    if isinstance(value, dict):
        return list(value.items())
    pairs = []
    for item in value:
        if isinstance(item, dict):
            pairs.append((_get(item, "key", "label", "bin", "name"), _get(item, "count", "value", "customers",
                                                                            default=0)))
        else:
            pairs.append((item[0], item[1]))
    return pairs


def _settings_of(snapshot):
    used = dict(snapshot.settings_used or {}) if snapshot else {}
    current = AnalyticsSettings.load()
    for field in AnalyticsSettings._meta.concrete_fields:
        if field.name not in used and not field.primary_key:
            used[field.name] = getattr(current, field.name)
    return used


# --- dashboard ------------------------------------------------------------------------------------------

@permission_required(perms.VIEW)
@require_GET
def dashboard(request):
    queries = _queries()
    snapshot = queries.current_snapshot()
    running = queries.running_snapshot()
    can_refresh = perms.can_refresh(request.user)
    context = {"snapshot": snapshot, "running": running, "can_refresh": can_refresh,
               "refreshed": request.GET.get("refreshed") == str(getattr(snapshot, "pk", ""))}
    if snapshot is None:
        return render(request, "analytics/dashboard.html", context)
    summary = queries.scoped_summary(request.user, snapshot) or {}
    results = snapshot.results or {}
    settings_used = _settings_of(snapshot)
    extra = _scoped_figures(request.user, snapshot)
    context.update({
        "summary": summary,
        "settings_used": settings_used,
        "customers": _get(summary, "customers", default=0),
        "lookback_days": settings_used.get("lookback_days"),
        "window": results.get("window") or {},
        **_rfm_context(summary, extra),
        **_value_context(summary, settings_used),
        **_classes_context(summary, settings_used),
        **_models_context(summary, results, extra),
        **_loyalty_context(summary),
        **_strategy_context(summary),
        **_analyses_context(request.user, snapshot, summary),
        **_transition_context(request, snapshot),
        "due_to_buy": _due_to_buy(request.user, snapshot),
        **_checks_context(results),
    })
    return render(request, "analytics/dashboard.html", context)


def _checks_context(results):
    """What the dashboard says about how far to trust the models: refused fits with their reasons, how
    the at-risk flag was set and the next purchases dated, the rows not counted as purchases.  Older
    snapshots without these keys give empty values."""
    return {"refusals": refusals(results), "churn_rule": churn_rule(results.get("churn")),
            "timing_rule": timing_method(results.get("timing")), "exclusions": exclusions(results)}


# --- model quality --------------------------------------------------------------------------------------

@permission_required(perms.VIEW)
@require_GET
def quality(request):
    """"How good are these predictions?": the backtest of the current snapshot — the models fitted on the
    history before a split date, their predictions for the months after it compared with what happened
    and with a naive guess, section by section.  The figures are company-wide, like the model fits."""
    snapshot = _queries().current_snapshot()
    context = {"snapshot": snapshot, "measures": MEASURES, "churn_series": CHURN_SERIES,
               "timing_series": TIMING_SERIES, "outcome_series": OUTCOME_SERIES}
    if snapshot is not None:
        results = snapshot.results or {}
        context.update(_quality_context(results.get("backtest")))
        context.update(_checks_context(results))
    return render(request, "analytics/quality.html", context)


def _quality_context(backtest):
    if not backtest:
        return {"backtest": None}
    if backtest.get("error"):
        return {"backtest": backtest, "backtest_error": model_problem(backtest["error"])}
    verdicts = backtest.get("verdicts") or {}
    sections = {name: verdict(name, verdicts.get(name), backtest) for name in ("churn", "timing", "purchases",
                                                                             "value")}
    return {"backtest": backtest, "backtest_error": "", "verdicts": sections,
            "churn": _churn_quality(backtest.get("churn")),
            "timing": _timing_quality(backtest.get("timing")),
            "purchases": _comparison(backtest.get("purchases"), "labels"),
            "value": _value_quality(backtest.get("value"))}


def _churn_quality(churn):
    if not churn:
        return None
    model, base = churn.get("flag") or {}, churn.get("baseline_flag") or {}
    chosen = churn.get("model")
    chart = [{"label": label, "values": [model_value, base_value]} for label, model_value, base_value in (
        ("AUC", churn.get("auc"), churn.get("baseline_auc")),
        (_("precision"), model.get("precision"), base.get("precision")),
        (_("recall"), model.get("recall"), base.get("recall")))]
    models = [{"key": m.get("model"), "label": CHURN_MODEL_LABELS.get(m.get("model"), m.get("model")),
               "auc": m.get("auc"), "chosen": m.get("model") == chosen} for m in churn.get("models") or []]
    return {**churn, "flag": model, "baseline_flag": base, "chart": chart, "models": models,
            "model_label": CHURN_MODEL_LABELS.get(chosen, chosen or "—"), "uses_model": churn.get("winner") == "model",
            "baseline_text": BASELINES["churn"] % {"days": churn.get("baseline_threshold_days") or "—"}}


def _timing_quality(timing):
    if not timing:
        return None
    methods = [{**m, "label": TIMING_LABELS.get(m.get("key"), m.get("key")),
                "chosen": m.get("key") == timing.get("chosen")} for m in timing.get("methods") or []]
    chart = [{"label": m["label"], "values": [m.get("mae_days"), m.get("median_ae_days")]} for m in methods]
    days = timing.get("median_gap_days")
    return {**timing, "methods": methods, "chart": chart,
            "chosen_label": TIMING_LABELS.get(timing.get("chosen"), timing.get("chosen") or "—"),
            "baseline_text": BASELINES["timing"] % {"days": f"{days:.0f}" if isinstance(days, int | float) else "—"}}


def _comparison(part, label_key):
    """Predicted, actual and naive-guess means per group (calibration frequency or value decile)."""
    if not part:
        return None
    labels = list(part.get(label_key) or [])
    n = len(labels)

    def column(key):
        values = list(part.get(key) or [])
        return values + [None] * (n - len(values))

    customers, predicted, actual, baseline = (column(k) for k in ("customers", "mean_predicted", "mean_actual",
                                                                   "mean_baseline"))
    rows = [{"label": label, "customers": customers[i], "predicted": predicted[i], "actual": actual[i],
             "baseline": baseline[i], "values": [predicted[i], actual[i], baseline[i]]}
            for i, label in enumerate(labels)]
    return {**part, "rows": rows}


def _value_quality(value):
    if not value:
        return None
    deciles = value.get("deciles") or []
    flat = {"labels": [str(d.get("decile", "")) for d in deciles],
            **{key: [d.get(key) for d in deciles] for key in ("customers", "mean_predicted", "mean_actual",
                                                              "mean_baseline")}}
    return _comparison({**value, **flat}, "labels")


def _segment_rows(summary):
    counts = dict(_pairs(_get(summary, "segments", "segment_counts", default={})))
    total = sum(v or 0 for v in counts.values()) or 0
    rows = []
    for segment in current_segments():
        count = counts.pop(segment.key, 0) or 0
        rows.append({"key": segment.key, "label": segment_label(segment.key, segment.label), "count": count,
                     "share": count / total if total else None,
                     "cells": ", ".join(f"R{r}F{f}" for r, f in sorted(segment.cells or [], reverse=True)),
                     "description": segment.description})
    for key, count in counts.items():  # a segment that no longer exists in the table
        rows.append({"key": key, "label": segment_label(key), "count": count or 0,
                     "share": (count or 0) / total if total else None, "cells": "", "description": ""})
    return rows


def _grid_labels():
    labels = {}
    for segment in current_segments():
        for r, f in segment.cells or []:
            labels[(r, f)] = segment_label(segment.key, segment.label)
    if not labels:
        for key, label, cells in DEFAULT_SEGMENTS:
            for cell in cells:
                labels[cell] = segment_label(key, label)
    return labels


def _grid(summary):
    grid = _get(summary, "grid", "rf_grid", "grid_counts")
    if isinstance(grid, dict):  # {"R,F": n} or {(r, f): n}
        counts = [[0] * SCORES for _ in range(SCORES)]
        for key, value in grid.items():
            r, f = (int(x) for x in (key if isinstance(key, tuple | list) else str(key).replace("-", ",").split(",")))
            counts[r - 1][f - 1] = value
        return counts
    return grid


def _score_rows(grid, m_counts):
    """R and F distributions are the row and column sums of the R×F grid; M comes from the query."""
    grid = grid or [[0] * SCORES for _ in range(SCORES)]
    r = [(str(s), sum(grid[s - 1])) for s in range(1, SCORES + 1)]
    f = [(str(s), sum(row[s - 1] for row in grid)) for s in range(1, SCORES + 1)]
    m = [(str(s), m_counts.get(s, 0)) for s in range(1, SCORES + 1)]
    return {"r": r, "f": f, "m": m}


def _rfm_context(summary, extra):
    grid = _grid(summary)
    return {
        "segment_rows": _segment_rows(summary),
        "grid": grid,
        "grid_labels": _grid_labels(),
        "score_rows": _score_rows(grid, extra["m_scores"]),
    }


def _scoped_figures(user, snapshot):
    """Figures the summary does not carry, over the user's customers, in one aggregate query: the M score
    distribution and customers per lifetime value band."""
    from django.db.models import Count, Q

    metrics = _queries().metrics_queryset(user, snapshot).order_by()
    aggregates = {f"m{s}": Count("id", filter=Q(m_score=s)) for s in range(1, SCORES + 1)}
    bounds = list(zip(CLV_BANDS, [*CLV_BANDS[1:], None], strict=True))
    for i, (low, high) in enumerate(bounds):
        q = Q(clv__gte=low) if i else Q(clv__lt=CLV_BANDS[1])  # the first band includes negative values
        if high is not None and i:
            q &= Q(clv__lt=high)
        aggregates[f"clv{i}"] = Count("id", filter=q)
    row = metrics.aggregate(**aggregates)
    clv_rows = [(band_label(low, high), row[f"clv{i}"]) for i, (low, high) in enumerate(bounds)]
    return {"m_scores": {s: row[f"m{s}"] for s in range(1, SCORES + 1)},
            "clv_rows": clv_rows if any(n for _label, n in clv_rows) else []}


def _composition(user, snapshot, summary):
    """Customer composition (R6.1) over the user's analysed customers: by type, class, tier, industry,
    region and branch, with revenue and gross profit."""
    from django.db.models import Count, Sum


    metrics = _queries().metrics_queryset(user, snapshot).order_by()
    dims = (
        ("type", "customer__customer_type", gettext_lazy("Customer type"), dict(CustomerType.choices)),
        ("class", "value_class", gettext_lazy("Value class"), dict(ValueClass.choices)),
        ("tier", "tier", gettext_lazy("Value tier"), dict(Tier.choices)),
        ("industry", "customer__industry", gettext_lazy("Industry"), dict(Industry.choices)),
        ("region", "customer__province", gettext_lazy("Region"), dict(Province.choices)),
        ("branch", "customer__branch__name", gettext_lazy("Branch / team"), None),
    )
    total = _get(summary, "customers", default=0) or 0
    tables = []
    for name, field, title, labels in dims:
        rows = (metrics.values(field).annotate(n=Count("id"), revenue=Sum("revenue"), profit=Sum("gross_profit"))
                .order_by("-profit"))
        tables.append({"name": name, "title": title, "rows": [
            {"label": (labels.get(r[field], r[field]) if labels else r[field]) or _("not set"), "count": r["n"],
             "share": r["n"] / total if total else None, "revenue": r["revenue"], "profit": r["profit"]}
            for r in rows]})
    return tables


def _value_context(summary, settings_used):
    tiers = _get(summary, "tiers", default={}) or {}
    rows = []
    for key, label in Tier.choices:
        tier = _get(tiers, key, {"high": "high_value"}.get(key, key), default={})
        if not isinstance(tier, dict):
            tier = {"count": tier}
        rows.append({"key": key, "label": label, "count": _get(tier, "count", "customers", default=0),
                     "customer_share": _get(tier, "customer_share", "customers_share"),
                     "profit_share": _get(tier, "profit_share"), "profit": _get(tier, "profit", "gross_profit")})
    lorenz = _get(summary, "lorenz", "pareto", default={}) or {}
    if isinstance(lorenz, dict):
        xs, ys = _get(lorenz, "x", "customer_share", default=[]), _get(lorenz, "y", "profit_share", default=[])
    else:  # list of points
        xs, ys = [p[0] for p in lorenz], [p[1] for p in lorenz]
    return {
        "tier_rows": rows,
        "lorenz_x": xs, "lorenz_y": ys,
        "gini": _get(summary, "gini"),
        "share_80": _get(summary, "customers_for_80", "share_for_80"),
        "losses": _get(summary, "loss_making", "losses"),
        "high_share": settings_used.get("high_value_share"),
        "general_share": settings_used.get("general_share"),
    }


def _classes_context(summary, settings_used):
    classes = _get(summary, "classes", "value_classes", default={}) or {}
    rows = []
    for key, label in ValueClass.choices:
        item = _get(classes, key, default={})
        if not isinstance(item, dict):
            item = {"count": item}
        rows.append({
            "key": key, "label": label, "count": _get(item, "count", "customers", default=0),
            "avg_profit": _get(item, "mean_gross_profit", "avg_profit"),
            "avg_revenue": _get(item, "mean_revenue"),
            "avg_wallet": _get(item, "mean_share_of_wallet", "avg_share_of_wallet"),
            "avg_cost": _get(item, "mean_cost_to_serve", "avg_cost_to_serve"),
            "avg_clv": _get(item, "mean_clv"),
            "rule": class_rule(key, settings_used),
        })
    return {"class_rows": rows}


def _params(fit, names):
    if not fit:
        return None
    params = _get(fit, "params", default=fit)
    rows = [(name, _get(params, name)) for name in names]
    return {"rows": rows, "log_likelihood": _get(fit, "log_likelihood", "ll"),
            "customers": _get(fit, "customers", "n"), "converged": _get(fit, "converged"),
            "message": _get(fit, "message", "warning")}


def _models_context(summary, results, extra):
    models = _get(summary, "models", default=None) or _get(results, "models", default={}) or {}
    errors = _get(models, "errors", default={}) or {}
    holdout = _get(summary, "holdout", default=None) or _get(results, "holdout", default={}) or {}
    buckets = holdout.get("buckets") if isinstance(holdout, dict) else None
    return {
        "bgnbd": _params(_get(models, "bgnbd"), ("r", "alpha", "a", "b")),
        "gamma_gamma": _params(_get(models, "gamma_gamma"), ("p", "q", "gamma")),
        "model_errors": errors,
        "holdout": holdout,
        "holdout_buckets": buckets if buckets and buckets.get("labels") else None,
        "at_risk": _get(summary, "at_risk", default=0),
        "clv_rows": extra["clv_rows"],
        "period": _get(results, "period"),
    }


def _loyalty_context(summary):
    loyalty = _get(summary, "loyalty", default={}) or {}
    distribution = _get(loyalty, "distribution", default={}) or {}
    weights = _get(loyalty, "weights", default={}) or {}
    return {"loyalty_rows": [(str(k), v) for k, v in _pairs(distribution)],
            "loyalty_components": [{"key": key, "label": LOYALTY_COMPONENTS.get(key, key), "weight": weight}
                                   for key, weight in weights.items()],
            "loyalty_average": _get(loyalty, "mean")}


def _kotler_rows(cells, label):
    rows = []
    for cell in cells or []:
        practised = cell.get("practised")
        if isinstance(practised, dict):  # tiers: practised levels set on customers, with counts
            practised_text = ", ".join(f"{dict(RelationshipLevel.choices).get(k, k)} ({n})"
                                       for k, n in sorted(practised.items(), key=lambda kv: -kv[1]))
            practised_key = max(practised, key=practised.get) if practised else ""
        else:
            practised_key = practised or ""
            practised_text = dict(RelationshipLevel.choices).get(practised_key, "")
        rows.append({
            "key": cell.get("key"), "label": label(cell), "count": cell.get("customers", 0),
            "share": cell.get("share"), "profit_per_customer": cell.get("profit_per_customer"),
            "count_level": cell.get("count_level"), "margin_level": cell.get("margin_level"),
            "recommended": cell.get("recommended") or "", "practised": practised_key,
            "practised_text": practised_text,
            "matches": bool(practised_key) and practised_key == cell.get("recommended"),
        })
    return rows


def _strategy_context(summary):
    kotler = _get(summary, "kotler", default={}) or {}
    tiers = dict(Tier.choices)
    return {
        "kotler_rows": _kotler_rows(kotler.get("segments"), lambda c: segment_label(c.get("key"), c.get("label"))),
        "kotler_tier_rows": _kotler_rows(kotler.get("tiers"), lambda c: tiers.get(c.get("key"), c.get("key"))),
        "kotler_class_rows": [{**cell, "tier_label": tiers.get(cell.get("tier"), cell.get("tier"))}
                              for cell in kotler.get("classes") or []],
    }


def _analyses_context(user, snapshot, summary):
    products = _queries().product_analyses(snapshot) or {}
    def rows(items, unnamed):
        return [{"name": item.get("name") or item.get("code") or unnamed, "revenue": item.get("revenue"),
                 **{k: item.get(k) for k in ("sales_share", "margin_rate", "turnover", "cross_ratio",
                                             "contribution_ratio")}} for item in items or []]

    return {"composition_tables": _composition(user, snapshot, summary),
            "product_rows": rows(products.get("products"), _("unnamed product")),
            "category_rows": rows(products.get("categories"), _("no category"))}


def _snapshot_choices():
    return list(_queries().complete_snapshots()[:24])


def _transition_context(request, snapshot):
    snapshots = _snapshot_choices()
    by_id = {str(s.pk): s for s in snapshots}
    to_snapshot = by_id.get(request.GET.get("to", ""), snapshot)
    earlier = [s for s in snapshots if s.pk != to_snapshot.pk]
    from_snapshot = by_id.get(request.GET.get("from", "")) or (earlier[0] if earlier else None)
    dimension = request.GET.get("dimension", "segment")
    if dimension not in dict(DIMENSIONS):
        dimension = "segment"
    matrix = None
    if from_snapshot is not None and from_snapshot.pk != to_snapshot.pk:
        raw = _queries().transition_matrix(request.user, from_snapshot, to_snapshot, dimension)
        matrix = _matrix_labels(raw, dimension)
    return {"snapshots": snapshots, "from_snapshot": from_snapshot, "to_snapshot": to_snapshot,
            "dimension": dimension, "dimension_label": dict(DIMENSIONS)[dimension], "dimensions": DIMENSIONS,
            "transition": matrix}


def _matrix_labels(raw, dimension):
    """``transition_matrix`` cells as a square table in the order of its categories."""
    raw = raw or {}
    categories = list(raw.get("categories") or [])
    index = {k: i for i, k in enumerate(categories)}
    counts = [[0] * len(categories) for _ in categories]
    for cell in raw.get("cells") or []:
        if cell.get("from") in index and cell.get("to") in index:
            counts[index[cell["from"]]][index[cell["to"]]] += cell.get("customers", 0)
    tiers = dict(Tier.choices)

    def label(key):
        if not key:
            return _("not analysed")
        return segment_label(key) if dimension == "segment" else tiers.get(key, key)

    labels = [label(k) for k in categories]
    return {"rows": labels, "columns": labels, "counts": counts}


def _due_to_buy(user, snapshot):
    """The dashboard's repurchase lists: customers expected to buy this week (from the snapshot's as-of
    date on, so nobody is listed twice) and, in their own list, those whose expected date has passed."""
    today = timezone.localdate()
    week_start = today - datetime.timedelta(days=today.weekday())
    queries = _queries()
    due = queries.due_to_buy(user, week_start, snapshot=snapshot).filter(next_purchase_on__gte=snapshot.as_of)
    rows = [{"customer": m.customer, "next_purchase_on": m.next_purchase_on, "p_alive": m.p_alive, "clv": m.clv}
            for m in due[:DUE_TO_BUY_SHOWN]]
    overdue = [{"customer": m.customer, "next_purchase_on": m.next_purchase_on, "p_alive": m.p_alive,
                "clv": m.clv, "days": overdue_days(m, snapshot)}
               for m in queries.overdue_to_buy(user, snapshot=snapshot)[:DUE_TO_BUY_SHOWN]]
    return {"week_start": week_start, "week_end": week_start + datetime.timedelta(days=6), "rows": rows,
            "overdue": overdue}


def overdue_days(metrics, snapshot):
    """Days between the expected purchase and the snapshot's as-of date (positive: overdue), or None."""
    if metrics.next_purchase_on is None:
        return None
    return (snapshot.as_of - metrics.next_purchase_on).days


@permission_required(perms.VIEW)
@require_GET
def transitions(request):
    """The movement section alone (htmx swap when the user picks other snapshots)."""
    snapshot = _queries().current_snapshot()
    if snapshot is None:
        return redirect("analytics:dashboard")
    context = _transition_context(request, snapshot)
    if request.htmx:
        return render(request, "analytics/partials/transitions.html", context)
    return redirect(f"{reverse('analytics:dashboard')}?{request.GET.urlencode()}#movement")


# --- refresh --------------------------------------------------------------------------------------------

@permission_required(perms.REFRESH)
@require_POST
def refresh(request):
    """Start a refresh (or join the one running) and show its progress."""
    snapshot = _services().request_refresh(actor=request.user)
    if request.htmx:
        return render(request, "analytics/partials/progress.html", _progress_context(snapshot))
    messages.success(request, _("The analysis is being refreshed."))
    return redirect("analytics:dashboard")


def _progress_context(snapshot):
    done = snapshot is not None and snapshot.status != SnapshotStatus.RUNNING
    return {"job": snapshot, "done": done,
            "failed": snapshot is not None and snapshot.status == SnapshotStatus.FAILED}


@permission_required(perms.VIEW)
@require_GET
def progress(request):
    """The progress partial polled by htmx every 2 s while a refresh runs; once the snapshot is complete
    the browser is sent to the dashboard with the new figures."""
    snapshot_id = request.GET.get("snapshot", "")
    snapshot = None
    if snapshot_id.isdigit():
        snapshot = Snapshot.objects.filter(pk=snapshot_id).first()
    if snapshot is None:
        snapshot = _queries().running_snapshot()
    context = _progress_context(snapshot)
    if context["done"] and snapshot.status == SnapshotStatus.COMPLETE and request.htmx:
        response = HttpResponse(status=204)
        response["HX-Redirect"] = f"{reverse('analytics:dashboard')}?refreshed={snapshot.pk}"
        return response
    return render(request, "analytics/partials/progress.html", context)


# --- settings pages -------------------------------------------------------------------------------------

@permission_required(perms.MANAGE_SETTINGS)
@require_http_methods(["GET", "POST"])
def settings_edit(request):
    instance = AnalyticsSettings.load()
    form = AnalyticsSettingsForm(request.POST or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Analytics settings saved. They apply from the next refresh."))
        return redirect("analytics:settings")
    status = 400 if request.method == "POST" else 200
    return render(request, "analytics/settings.html", {"form": form}, status=status)


@permission_required(perms.MANAGE_SETTINGS)
@require_http_methods(["GET", "POST"])
def segments_edit(request):
    form = SegmentTableForm(request.POST or None, segments=current_segments())
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Segment table saved. Customers are re-segmented at the next refresh."))
        return redirect("analytics:segments")
    status = 400 if request.method == "POST" else 200
    return render(request, "analytics/segments.html", {"form": form, "level_choices": RelationshipLevel.choices,
                                                       "kotler_table": KOTLER_TABLE}, status=status)


# --- my day ---------------------------------------------------------------------------------------------

MY_DAY_SHOWN = 10


def my_day_value_context(user):
    """For the user's "my day": their own customers at risk of churn (largest lifetime value first) and
    those expected to buy this week, from the current snapshot."""
    queries = _queries()
    snapshot = queries.current_snapshot()
    if snapshot is None or not perms.can_view(user):
        return {"value_day": None}
    today = timezone.localdate()
    at_risk = list(queries.metrics_queryset(user, snapshot).filter(at_risk=True, customer__owner=user)
                   .order_by("-clv", "id")[:MY_DAY_SHOWN])
    due = list(queries.due_to_buy(user, today, mine=True, snapshot=snapshot)
               .filter(next_purchase_on__gte=snapshot.as_of)[:MY_DAY_SHOWN])
    overdue = [{"metrics": m, "days": overdue_days(m, snapshot)}
               for m in queries.overdue_to_buy(user, mine=True, snapshot=snapshot)[:MY_DAY_SHOWN]]
    return {"value_day": {"snapshot": snapshot, "at_risk": at_risk, "due": due, "overdue": overdue}}


def my_day_value_panel(request, user):
    """Context of the customer value section of "my day" (registered in apps.py)."""
    return my_day_value_context(user)


# --- the 360° panel -------------------------------------------------------------------------------------

def customer_value_context(request, customer):
    """Context of the "Customer value" panel of the 360° page: the figures of the current snapshot with
    one line each on why (empty ``value`` when the customer is not analysed yet)."""
    try:
        metrics = _queries().metrics_for(request.user, customer)
    except (ImportError, AttributeError):
        metrics = None
    if metrics is None:
        return {"value": None}
    snapshot = metrics.snapshot
    settings_used = _settings_of(snapshot)
    return {"value": {"metrics": metrics, "snapshot": snapshot, "why": explain(metrics, settings_used),
                      "segment_label": segment_label(metrics.segment, _stored_segment_label(metrics.segment)),
                      "components": loyalty_components(metrics, snapshot)}}


def _stored_segment_label(key):
    from .models import Segment

    return Segment.objects.filter(key=key).values_list("label", flat=True).first() or ""


