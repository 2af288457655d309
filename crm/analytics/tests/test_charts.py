"""The SVG chart tags: geometry, accessibility (a title and a data table per chart) and the CSP rule
that nothing is styled inline."""

import re

from django.template import Context, Template

from crm.analytics.templatetags.analytics_charts import _nice_max, heat_class


def render(source, **context):
    return Template("{% load analytics_charts %}" + source).render(Context(context))


def assert_accessible(html, testid):
    assert f'data-testid="{testid}"' in html
    assert "<title" in html and "<details" in html and "<table" in html
    assert "style=" not in html
    assert "<script" not in html


def test_bar_chart_heights_are_proportional_with_a_title_and_a_data_table():
    html = render('{% bar_chart rows "Customers by R score" "chart-r" "R" "Customers" %}',
                  rows=[("1", 10), ("2", 20), ("3", 0), ("4", 5), ("5", 40)])
    assert_accessible(html, "chart-r")
    assert "Customers by R score</title>" in html
    bar = r'class="bar" x="[\d.]+" y="[\d.]+" width="[\d.]+" height="([\d.]+)"'
    heights = [float(h) for h in re.findall(bar, html)]
    assert len(heights) == 5
    assert heights[2] == 0
    assert heights[1] == 2 * heights[0]
    assert heights[4] == 4 * heights[0]
    # the data table lists every value
    assert re.findall(r'<td class="num">(\d+)</td>', html) == ["10", "20", "0", "5", "40"]


def test_bar_chart_accepts_a_mapping_and_an_empty_series():
    html = render('{% bar_chart rows "t" "chart-x" %}', rows={"0-10": 3, "10-20": 1})
    assert html.count('class="bar"') == 2
    empty = render('{% bar_chart rows "t" "chart-empty" %}', rows=[])
    assert 'class="bar"' not in empty and 'data-testid="chart-empty"' in empty


def test_rfm_grid_has_25_cells_r5_on_top_and_shading_by_count():
    grid = [[0] * 5 for _ in range(5)]
    grid[4][4] = 100  # R5 F5
    grid[0][0] = 1  # R1 F1
    labels = {(r, f): f"S{r}{f}" for r in range(1, 6) for f in range(1, 6)}
    html = render('{% rfm_grid grid labels "grid" "chart-rfm-grid" %}', grid=grid, labels=labels)
    assert_accessible(html, "chart-rfm-grid")
    cells = re.findall(r'data-r="(\d)" data-f="(\d)" data-count="(\d+)"', html)
    assert len(cells) == 25
    assert cells[0] == ("5", "1", "0")  # first row drawn is R5
    assert ("5", "5", "100") in cells and ("1", "1", "1") in cells
    assert 'class="heat-5"' in html and 'class="heat-1"' in html
    assert "S55" in html


def test_lorenz_chart_draws_the_curves_the_diagonal_and_the_80_20_mark():
    xs = [i / 10 for i in range(11)]
    ys = [x ** 3 for x in xs]
    html = render('{% lorenz_chart xs ys "Pareto" "chart-pareto" 0.2 %}', xs=xs, ys=ys)
    assert_accessible(html, "chart-pareto")
    for role in ("lorenz", "pareto", "diagonal"):
        assert f'data-role="{role}"' in html
    assert 'class="marker"' in html and "20% → 80%" in html
    # Pareto at 0% of customers is 0%, at 100% it is 100%: first and last rows of the data table
    cell = r'<td class="num">([\d.]+%)</td>'
    rows = re.findall(r"<tr>" + cell + r"\s*" + cell + cell, html)
    assert rows[0] == ("0%", "0.0%", "0.0%")
    assert rows[-1] == ("100%", "100.0%", "100.0%")


def test_lorenz_chart_without_points_still_renders_the_diagonal():
    html = render('{% lorenz_chart xs ys "t" "chart-pareto" %}', xs=[], ys=[])
    assert 'data-role="diagonal"' in html and 'data-role="lorenz"' not in html


def test_holdout_chart_has_predicted_and_actual_bars_per_bucket():
    buckets = {"labels": ["0", "1", "2+"], "customers": [10, 5, 0], "mean_predicted": [0.2, 1.0, None],
               "mean_actual": [0.25, 0.8, None]}
    html = render('{% holdout_chart buckets "Holdout" "chart-holdout" %}', buckets=buckets)
    assert_accessible(html, "chart-holdout")
    assert html.count('class="bar series-predicted"') == 2
    assert html.count('class="bar series-actual"') == 2
    assert "0.250" in html and "—" in html


def test_transition_table_shades_each_cell_by_its_share_of_the_row():
    matrix = {"rows": ["A", "B"], "columns": ["A", "B"], "counts": [[9, 1], [0, 0]]}
    html = render('{% transition_table m "Movement" "chart-transitions" %}', m=matrix)
    assert 'data-testid="chart-transitions"' in html and "style=" not in html
    assert re.search(r'class="num heat-5 stay"[^>]*>9<', html)
    assert re.search(r'class="num heat-1"[^>]*>1<', html)
    assert re.search(r'class="num heat-0 stay"[^>]*>0<', html)


def test_heat_classes_and_axis_maximum():
    assert heat_class(0, 10) == "heat-0"
    assert heat_class(10, 10) == "heat-5"
    assert heat_class(1, 100) == "heat-1"
    assert heat_class(5, 0) == "heat-0"
    assert _nice_max(0) == 1.0
    assert _nice_max(7) == 10.0
    assert _nice_max(180) == 200.0
    assert _nice_max(0.3) == 0.5


def test_chart_numbers_are_not_localised(settings):
    from django.utils import translation

    with translation.override("zh-hans"):
        html = render('{% bar_chart rows "t" "c" %}', rows=[("a", 1234.5)])
    assert not re.search(r'(x|y|width|height)="[\d]+,[\d]', html)


def test_grouped_chart_draws_each_series_side_by_side_and_skips_missing_values():
    series = [("predicted", "predicted"), ("actual", "actual"), ("baseline", "naive guess")]
    groups = [{"label": "0", "values": [0.5, 1.0, None]}, {"label": "1", "values": [2.0, 1.5, 4.0]}]
    html = render('{% grouped_chart groups series "Purchases" "chart-g" "frequency" %}', groups=groups,
                  series=series)
    assert_accessible(html, "chart-g")
    bars = re.findall(r'<rect class="bar series-(\w+)" x="([\d.]+)" y="[\d.]+" width="([\d.]+)" height="([\d.]+)"',
                      html)
    assert [b[0] for b in bars] == ["predicted", "actual", "predicted", "actual", "baseline"]
    # the axis tops at 5 (the nice maximum above 4): plot height 192, so 4.0 → 153.6 and 0.5 → 19.2
    heights = [float(b[3]) for b in bars]
    assert heights == [19.2, 38.4, 76.8, 57.6, 153.6]
    # bars of one group stand next to each other, one bar width apart
    assert round(float(bars[1][1]) - float(bars[0][1]), 1) == float(bars[0][2])
    # the missing value reads "—" in the data table, and every series has a legend entry
    assert '<td class="num">—</td>' in html
    assert html.count('<rect class="series-') == 3


def test_grouped_chart_as_percentages():
    html = render('{% grouped_chart groups series "AUC" "chart-p" "" True %}',
                  groups=[{"label": "AUC", "values": [0.78, 0.74]}], series=[("model", "m"), ("baseline", "b")])
    assert re.findall(r'<td class="num">([^<]+)</td>', html) == ["78%", "74%"]
    assert ">100%</text>" in html
