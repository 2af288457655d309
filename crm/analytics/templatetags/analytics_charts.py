"""Charts rendered on the server as inline SVG (no script, no CDN, no inline style: the CSP allows
only the application's own scripts and stylesheets).

Each tag computes the geometry here and renders a small template: an ``<svg role="img">`` with a
``<title>``, colours through CSS classes of app.css, and the numbers behind the chart as a table
inside ``<details>`` so that screen readers and copy-paste get the data too.
"""

import math

from django import template

register = template.Library()

WIDTH, HEIGHT = 560, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 36
HEAT_LEVELS = 6  # CSS classes heat-0 … heat-5


def _number(value):
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _nice_max(value):
    """A round axis maximum at or above ``value`` (1, 2, 2.5, 5 × 10^k)."""
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        candidate = step * 10 ** exponent
        if candidate >= value * (1 - 1e-9):
            return float(candidate)
    return float(10 ** (exponent + 1))


def _ticks(maximum):
    """Round tick values from 0 to ``maximum`` (a value of :func:`_nice_max`)."""
    leading = maximum / 10 ** math.floor(math.log10(maximum)) if maximum > 0 else 1
    count = 4 if round(leading, 6) == 2 else 5
    return [maximum * i / count for i in range(count + 1)]


def _tick_label(value, percent=False):
    if percent:
        return f"{value * 100:.0f}%"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if value == int(value):
        return str(int(value))
    return f"{value:.2g}" if abs(value) < 1 else f"{value:.1f}"


def _rows(rows):
    """(label, value) pairs from pairs, dicts with label/value, or a mapping."""
    if rows is None:
        return []
    if hasattr(rows, "items"):
        rows = rows.items()
    result = []
    for row in rows:
        if isinstance(row, dict):
            result.append((row.get("label", ""), row.get("value")))
        else:
            label, value = row[0], row[1]
            result.append((label, value))
    return result


def heat_class(value, maximum):
    """CSS class ``heat-0`` (none) … ``heat-5`` (the largest) for shading a cell."""
    value = _number(value) or 0
    if value <= 0 or not maximum:
        return "heat-0"
    return f"heat-{max(1, min(HEAT_LEVELS - 1, math.ceil(value / maximum * (HEAT_LEVELS - 1))))}"


register.filter("heat_class", heat_class)


@register.inclusion_tag("analytics/charts/bars.html")
def bar_chart(rows, title, testid, x_label="", y_label="", percent=False, series_label=""):
    """Vertical bars, one per (label, value)."""
    data = _rows(rows)
    values = [_number(v) or 0.0 for _label, v in data]
    top = _nice_max(max(values, default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(data), 1)
    bar_w = max(2.0, slot * 0.7)
    bars = []
    for i, ((label, raw), value) in enumerate(zip(data, values, strict=True)):
        h = plot_h * value / top if top else 0
        x = LEFT + i * slot + (slot - bar_w) / 2
        bars.append({
            "label": label, "raw": raw, "value": value, "x": round(x, 1), "y": round(TOP + plot_h - h, 1),
            "w": round(bar_w, 1), "h": round(h, 1), "cx": round(LEFT + i * slot + slot / 2, 1),
            "text": _tick_label(value, percent) if raw is not None else "—",
        })
    return {
        "title": title, "testid": testid, "x_label": x_label, "y_label": y_label, "series_label": series_label,
        "bars": bars, "width": WIDTH, "height": HEIGHT, "percent": percent,
        "axis": _axis(top, percent), "left": LEFT, "right": WIDTH - RIGHT, "base": TOP + plot_h,
        "label_y": HEIGHT - BOTTOM + 16, "show_every": max(1, math.ceil(len(bars) / 12)),
    }


def _axis(top, percent=False):
    plot_h = HEIGHT - TOP - BOTTOM
    return [{"y": round(TOP + plot_h - plot_h * t / top, 1), "text": _tick_label(t, percent)} for t in _ticks(top)]


@register.inclusion_tag("analytics/charts/holdout.html")
def holdout_chart(buckets, title, testid):
    """Mean predicted vs actual repeat purchases in the holdout period, by calibration frequency."""
    buckets = buckets or {}
    labels = list(buckets.get("labels") or [])
    predicted = [_number(v) for v in buckets.get("mean_predicted") or []]
    actual = [_number(v) for v in buckets.get("mean_actual") or []]
    customers = list(buckets.get("customers") or [])
    n = len(labels)
    predicted += [None] * (n - len(predicted))
    actual += [None] * (n - len(actual))
    customers += [None] * (n - len(customers))
    top = _nice_max(max([v for v in predicted + actual if v is not None], default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(n, 1)
    bar_w = max(2.0, slot * 0.35)
    groups = []
    for i, label in enumerate(labels):
        x0 = LEFT + i * slot + slot * 0.15
        group = {"label": label, "cx": round(LEFT + i * slot + slot / 2, 1), "customers": customers[i],
                 "predicted": predicted[i], "actual": actual[i], "bars": []}
        for j, (kind, value) in enumerate((("predicted", predicted[i]), ("actual", actual[i]))):
            if value is None:
                continue
            h = plot_h * value / top
            group["bars"].append({"kind": kind, "x": round(x0 + j * bar_w, 1), "y": round(TOP + plot_h - h, 1),
                                  "w": round(bar_w, 1), "h": round(h, 1), "value": value})
        groups.append(group)
    return {
        "title": title, "testid": testid, "groups": groups, "width": WIDTH, "height": HEIGHT,
        "axis": _axis(top), "left": LEFT, "right": WIDTH - RIGHT, "base": TOP + plot_h,
        "label_y": HEIGHT - BOTTOM + 16, "legend_x": WIDTH - RIGHT - 190,
    }


def _interp(points, x):
    """Linear interpolation of the curve ``points`` (sorted by x) at ``x``."""
    previous = points[0]
    for point in points:
        if point[0] >= x:
            if point[0] == previous[0]:
                return point[1]
            t = (x - previous[0]) / (point[0] - previous[0])
            return previous[1] + t * (point[1] - previous[1])
        previous = point
    return points[-1][1]


@register.inclusion_tag("analytics/charts/lorenz.html")
def lorenz_chart(xs, ys, title, testid, share_80=None):
    """The Lorenz curve (customers from the smallest profit up), its mirror the Pareto curve (largest
    first), the diagonal of perfect equality, and the 80 % mark on the Pareto curve."""
    xs = [_number(x) for x in xs or []]
    ys = [_number(y) for y in ys or []]
    points = [(x, y) for x, y in zip(xs, ys, strict=False) if x is not None and y is not None]
    size = 260
    left, top = 48, 12
    width, height = left + size + 200, top + size + 36

    def px(x, y):
        return f"{left + x * size:.1f},{top + (1 - y) * size:.1f}"

    lorenz = " ".join(px(x, y) for x, y in points)
    pareto = " ".join(px(1 - x, 1 - y) for x, y in reversed(points))
    ticks = [{"v": t / 4, "text": f"{t * 25}%", "x": round(left + t / 4 * size, 1),
              "y": round(top + (1 - t / 4) * size, 1)} for t in range(5)]
    marker = None
    share = _number(share_80)
    if share is not None:
        marker = {"x": round(left + share * size, 1), "y": round(top + 0.2 * size, 1),
                  "text": f"{share * 100:.0f}% → 80%"}
    table = []
    if points:
        for i in range(11):
            p = i / 10
            lorenz_y, pareto_y = _interp(points, p), 1 - _interp(points, 1 - p)
            table.append({"x": f"{p * 100:.0f}%", "lorenz": f"{lorenz_y * 100:.1f}%",
                          "pareto": f"{pareto_y * 100:.1f}%"})
    return {
        "title": title, "testid": testid, "width": width, "height": height, "size": size, "left": left,
        "top": top, "bottom": top + size, "right": left + size, "lorenz": lorenz, "pareto": pareto,
        "diagonal": (px(0, 0), px(1, 1)), "ticks": ticks, "marker": marker, "table": table,
        "legend_x": left + size + 16, "has_points": bool(points),
    }


@register.inclusion_tag("analytics/charts/rfm_grid.html")
def rfm_grid(grid, labels, title, testid, link_base=""):
    """The 5×5 R×F grid: rows R = 5 (top) … 1, columns F = 1 … 5; each cell shows its segment and the
    number of customers in it, shaded by that number.  ``grid[r-1][f-1]`` is a count; ``labels`` maps
    (r, f) to the segment's label."""
    grid = grid or [[0] * 5 for _ in range(5)]
    maximum = max((_number(v) or 0 for row in grid for v in row), default=0)
    cell_w, cell_h, left, top = 104, 46, 40, 8
    cells, rows = [], []
    for row_index, r in enumerate(range(5, 0, -1)):
        table_row = {"r": r, "cells": []}
        for f in range(1, 6):
            count = grid[r - 1][f - 1] if len(grid) >= r and len(grid[r - 1]) >= f else 0
            label = labels.get((r, f), "") if labels else ""
            x, y = left + (f - 1) * cell_w, top + row_index * cell_h
            cell = {"r": r, "f": f, "count": count, "label": label, "x": x, "y": y, "w": cell_w - 2,
                    "h": cell_h - 2, "tx": x + cell_w / 2 - 1, "ty1": y + 18, "ty2": y + 35,
                    "heat": heat_class(count, maximum)}
            cells.append(cell)
            table_row["cells"].append(cell)
        rows.append(table_row)
    return {
        "title": title, "testid": testid, "cells": cells, "rows": rows,
        "width": left + 5 * cell_w + 4, "height": top + 5 * cell_h + 30,
        "r_labels": [{"r": r, "y": top + i * cell_h + cell_h / 2 + 4} for i, r in enumerate(range(5, 0, -1))],
        "f_labels": [{"f": f, "x": left + (f - 1) * cell_w + cell_w / 2} for f in range(1, 6)],
        "f_axis_y": top + 5 * cell_h + 14, "axis_x": left / 2, "link_base": link_base,
    }


@register.inclusion_tag("analytics/charts/matrix.html")
def transition_table(matrix, title, testid):
    """A transition matrix as a table: rows are the earlier snapshot's groups, columns the later one's;
    each cell is shaded by its share of the row (CSS classes, no inline style).

    ``matrix``: ``{"labels": [...], "counts": [[...], ...]}`` (rows and columns in the same order), or
    ``{"rows": [...], "columns": [...], "counts": ...}``.
    """
    matrix = matrix or {}
    rows_labels = list(matrix.get("rows") or matrix.get("labels") or [])
    column_labels = list(matrix.get("columns") or matrix.get("labels") or [])
    counts = matrix.get("counts") or []
    rows = []
    for i, label in enumerate(rows_labels):
        values = list(counts[i]) if i < len(counts) else []
        values += [0] * (len(column_labels) - len(values))
        total = sum(_number(v) or 0 for v in values)
        rows.append({
            "label": label, "total": total,
            "cells": [{"count": v, "share": (v / total) if total else 0, "heat": heat_class(v, total),
                       "diagonal": i == j and rows_labels[i] == column_labels[j]}
                      for j, v in enumerate(values)],
        })
    return {"title": title, "testid": testid, "columns": column_labels, "rows": rows}


@register.inclusion_tag("analytics/charts/grouped.html")
def grouped_chart(groups, series, title, testid, x_label="", percent=False):
    """Bars side by side per group, one per series — the model beside its naive guess (and what really
    happened).  ``series``: ``[(key, label)]``, each drawn with the CSS class ``series-<key>``; ``groups``:
    ``[{"label": …, "values": [one value per series, None where missing]}]``."""
    series = list(series or [])
    groups = list(groups or [])
    values = [_number(v) for g in groups for v in g.get("values") or []]
    top = _nice_max(max([v for v in values if v is not None], default=0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(groups), 1)
    bar_w = max(2.0, slot * 0.8 / max(len(series), 1))
    drawn = []
    for i, group in enumerate(groups):
        x0 = LEFT + i * slot + slot * 0.1
        raw = list(group.get("values") or []) + [None] * len(series)
        cells, bars = [], []
        for j, (key, _label) in enumerate(series):
            value = _number(raw[j])
            cells.append(_tick_label(value, percent) if value is not None and percent else value)
            if value is None:
                continue
            h = plot_h * max(value, 0) / top
            bars.append({"kind": key, "x": round(x0 + j * bar_w, 1), "y": round(TOP + plot_h - h, 1),
                         "w": round(bar_w, 1), "h": round(h, 1), "value": value})
        drawn.append({"label": group.get("label", ""), "cx": round(LEFT + i * slot + slot / 2, 1), "bars": bars,
                      "cells": cells})
    legend = [{"key": key, "label": label, "x": LEFT + 8 + k * 130} for k, (key, label) in enumerate(series)]
    return {
        "title": title, "testid": testid, "groups": drawn, "series": legend, "x_label": x_label,
        "width": WIDTH, "height": HEIGHT, "axis": _axis(top, percent), "left": LEFT, "right": WIDTH - RIGHT,
        "base": TOP + plot_h, "label_y": HEIGHT - BOTTOM + 16, "percent": percent,
    }
