import numpy as np
import pytest

from crm.analytics.stats import rfm


def test_scores_follow_the_formula_by_hand():
    # n = 10; p = share strictly smaller; score = 1 + floor(5p)
    values = np.array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    assert rfm.score_ascending(values).tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    # Recency: fewer days since the last purchase scores higher.
    assert rfm.score_descending(values).tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]


def test_equal_values_get_equal_scores():
    values = np.array([1, 1, 1, 1, 1, 1, 2, 3, 3, 9])
    scores = rfm.score_ascending(values)
    assert scores.tolist() == [1, 1, 1, 1, 1, 1, 4, 4, 4, 5]  # 2: 6/10 smaller → 1 + 3; 3: 7/10 → 4; 9: 9/10 → 5
    assert len(set(rfm.score_descending(values)[:6].tolist())) == 1


def test_a_value_with_no_spread_gets_the_neutral_score_not_the_worst():
    # Everyone bought on the as-of day (recency 0 for all) and once: nothing tells them apart.
    assert rfm.score_ascending(np.full(7, 3.5)).tolist() == [3] * 7
    assert rfm.score_descending(np.zeros(7)).tolist() == [3] * 7
    r, f, _m = rfm.rfm_scores(np.zeros(4), np.ones(4), np.array([10.0, 20.0, 30.0, 40.0]))
    assert r.tolist() == [3] * 4 and f.tolist() == [3] * 4
    keys = [key for key, _label, _cells in rfm.DEFAULT_SEGMENTS]
    assert {keys[i] for i in rfm.segments(r, f).tolist()} == {"need_attention"}  # (R 3, F 3), not "Lost"
    # One customer is no spread either.
    assert rfm.score_ascending(np.array([5])).tolist() == [3]


def test_scores_do_not_depend_on_row_order():
    rng = np.random.default_rng(3)
    recency = rng.integers(0, 400, 5000)
    frequency = rng.poisson(2, 5000) + 1
    monetary = np.round(rng.gamma(2, 50, 5000), 0)
    r, f, m = rfm.rfm_scores(recency, frequency, monetary)
    perm = rng.permutation(5000)
    r2, f2, m2 = rfm.rfm_scores(recency[perm], frequency[perm], monetary[perm])
    assert np.array_equal(r[perm], r2) and np.array_equal(f[perm], f2) and np.array_equal(m[perm], m2)
    seg = rfm.segments(r, f)
    assert np.array_equal(seg[perm], rfm.segments(r2, f2))


def test_default_table_covers_every_cell_exactly_once():
    rfm.validate_segment_table(rfm.DEFAULT_SEGMENTS)
    cells = [cell for _key, _label, cells in rfm.DEFAULT_SEGMENTS for cell in cells]
    assert sorted(cells) == [(r, f) for r in range(1, 6) for f in range(1, 6)]
    assert [key for key, _l, _c in rfm.DEFAULT_SEGMENTS] == [
        "champions", "loyal", "potential_loyalist", "new", "promising", "need_attention", "about_to_sleep",
        "at_risk", "cant_lose", "hibernating", "lost"]


def test_validator_rejects_gaps_overlaps_and_bad_cells():
    table = list(rfm.DEFAULT_SEGMENTS)
    with pytest.raises(ValueError, match="cells in no segment: R=1 F=1"):
        rfm.validate_segment_table(table[:-1])
    with pytest.raises(ValueError, match="in both lost and extra"):
        rfm.validate_segment_table([*table, ("extra", "Extra", ((1, 1),))])
    with pytest.raises(ValueError, match="outside"):
        rfm.validate_segment_table([*table[:-1], ("lost", "Lost", ((1, 1), (0, 6)))])


def test_every_customer_is_in_exactly_one_segment_and_lookup_matches_the_table():
    r, f = np.meshgrid(np.arange(1, 6), np.arange(1, 6), indexing="ij")
    r, f = r.ravel(), f.ravel()
    seg = rfm.segments(r, f)
    for ri, fi, si in zip(r, f, seg, strict=True):
        key, _label, cells = rfm.DEFAULT_SEGMENTS[si]
        assert (ri, fi) in cells
    assert sum(rfm.segment_counts(seg).values()) == 25
    assert rfm.DEFAULT_SEGMENTS[rfm.segments([5], [5])[0]][0] == "champions"
    assert rfm.DEFAULT_SEGMENTS[rfm.segments([1], [1])[0]][0] == "lost"
    assert rfm.DEFAULT_SEGMENTS[rfm.segments([1], [5])[0]][0] == "cant_lose"


def test_distributions_and_grid_counts():
    assert rfm.score_distribution([1, 1, 5]) == {1: 2, 2: 0, 3: 0, 4: 0, 5: 1}
    grid = rfm.grid_counts([1, 5, 5], [1, 5, 5])
    assert grid[0, 0] == 1 and grid[4, 4] == 2 and grid.sum() == 3
