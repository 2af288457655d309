"""RFM scores and segments.

Scores are quintiles in which equal values always get equal scores, so a result never depends on the
order of the rows:

* F and M: score = 1 + ⌊5 · p⌋, capped at 5, where p is the share of customers with a strictly
  *smaller* value;
* R: the same on days since the last purchase with a strictly *larger* value — the more recent the last
  purchase, the higher the score.

A customer with the lowest value scores 1; a value that half the customers are strictly below scores 3.
When many customers share a value (one purchase is common) they all get the score of the lowest of
them, so the score distribution can be uneven: that is the price of tie-invariance.  A value with no
spread at all (every customer bought on the as-of day, or exactly once) says nothing about who is
better: everyone gets the neutral middle score, 3, not the worst.

Segments come from the (R, F) pair through a table that lists, for each segment, the cells of the 5×5
grid it covers; :func:`validate_segment_table` checks that every cell belongs to exactly one segment.
The default table is the usual R×F grid (columns F = 1…5, rows R = 5 at the top down to 1):

    R\\F    1               2                   3                   4               5
    5      New             Potential loyalist  Potential loyalist  Champions       Champions
    4      Promising       Potential loyalist  Potential loyalist  Loyal           Loyal
    3      About to sleep  About to sleep      Need attention      Loyal           Loyal
    2      Hibernating     Hibernating         At risk             At risk         Can't lose them
    1      Lost            Hibernating         At risk             At risk         Can't lose them
"""

import numpy as np

SCORES = 5
NEUTRAL = (SCORES + 1) // 2  # the score of a value on which every customer is equal

# (key, English label, cells as (R, F) pairs).  Order is the display order, best first.
DEFAULT_SEGMENTS = (
    ("champions", "Champions", ((5, 4), (5, 5))),
    ("loyal", "Loyal", ((3, 4), (3, 5), (4, 4), (4, 5))),
    ("potential_loyalist", "Potential loyalist", ((4, 2), (4, 3), (5, 2), (5, 3))),
    ("new", "New", ((5, 1),)),
    ("promising", "Promising", ((4, 1),)),
    ("need_attention", "Need attention", ((3, 3),)),
    ("about_to_sleep", "About to sleep", ((3, 1), (3, 2))),
    ("at_risk", "At risk", ((1, 3), (1, 4), (2, 3), (2, 4))),
    ("cant_lose", "Can't lose them", ((1, 5), (2, 5))),
    ("hibernating", "Hibernating", ((1, 2), (2, 1), (2, 2))),
    ("lost", "Lost", ((1, 1),)),
)


def _quintile(strictly_beyond, n):
    # 1 + floor(5 · k / n) in exact integer arithmetic, capped at 5.
    return np.minimum(1 + (SCORES * strictly_beyond) // n, SCORES).astype(np.int8)


def _no_spread(values):
    return values.min() == values.max()


def score_ascending(values):
    """1–5 scores where higher values score higher (F, M): p = share strictly smaller."""
    values = np.asarray(values)
    n = len(values)
    if n == 0:
        return np.zeros(0, dtype=np.int8)
    if _no_spread(values):
        return np.full(n, NEUTRAL, dtype=np.int8)
    smaller = np.searchsorted(np.sort(values), values, side="left")
    return _quintile(smaller, n)


def score_descending(values):
    """1–5 scores where lower values score higher (R on days since last purchase): p = share strictly larger."""
    values = np.asarray(values)
    n = len(values)
    if n == 0:
        return np.zeros(0, dtype=np.int8)
    if _no_spread(values):
        return np.full(n, NEUTRAL, dtype=np.int8)
    larger = n - np.searchsorted(np.sort(values), values, side="right")
    return _quintile(larger, n)


def rfm_scores(days_since_last, frequency, monetary):
    """``(R, F, M)`` int8 arrays of scores 1–5.

    ``days_since_last``: days from the last purchase to the as-of date; ``frequency``: number of
    purchases; ``monetary``: total spend (or gross profit) in the look-back window.
    """
    return score_descending(days_since_last), score_ascending(frequency), score_ascending(monetary)


def validate_segment_table(table):
    """Raise ``ValueError`` unless every (R, F) cell of the 5×5 grid is in exactly one segment."""
    seen = {}
    problems = []
    keys = [key for key, _label, _cells in table]
    if len(set(keys)) != len(keys):
        problems.append("segment keys are not unique")
    for key, _label, cells in table:
        for cell in cells:
            r, f = cell
            if not (1 <= r <= SCORES and 1 <= f <= SCORES):
                problems.append(f"{key}: cell {cell} is outside 1..{SCORES}")
            elif (r, f) in seen:
                problems.append(f"cell R={r} F={f} is in both {seen[(r, f)]} and {key}")
            else:
                seen[(r, f)] = key
    missing = [(r, f) for r in range(1, SCORES + 1) for f in range(1, SCORES + 1) if (r, f) not in seen]
    if missing:
        problems.append("cells in no segment: " + ", ".join(f"R={r} F={f}" for r, f in missing))
    if problems:
        raise ValueError("invalid segment table: " + "; ".join(problems))


def segment_grid(table=DEFAULT_SEGMENTS):
    """5×5 array: ``grid[R-1, F-1]`` is the index of the segment in ``table``."""
    validate_segment_table(table)
    grid = np.empty((SCORES, SCORES), dtype=np.int16)
    for index, (_key, _label, cells) in enumerate(table):
        for r, f in cells:
            grid[r - 1, f - 1] = index
    return grid


def segments(r_score, f_score, table=DEFAULT_SEGMENTS):
    """Index into ``table`` of each customer's segment (vectorised grid lookup)."""
    grid = segment_grid(table)
    return grid[np.asarray(r_score, dtype=np.int64) - 1, np.asarray(f_score, dtype=np.int64) - 1]


def segment_counts(segment_index, table=DEFAULT_SEGMENTS):
    """``{key: number of customers}`` for every segment of ``table`` (zeros included)."""
    counts = np.bincount(np.asarray(segment_index, dtype=np.int64), minlength=len(table))
    return {key: int(c) for (key, _label, _cells), c in zip(table, counts, strict=True)}


def score_distribution(scores):
    """``{1: n1, …, 5: n5}``."""
    counts = np.bincount(np.asarray(scores, dtype=np.int64), minlength=SCORES + 1)[1:]
    return {s: int(c) for s, c in zip(range(1, SCORES + 1), counts, strict=True)}


def grid_counts(r_score, f_score):
    """5×5 array of customer counts, ``counts[R-1, F-1]``."""
    flat = (np.asarray(r_score, dtype=np.int64) - 1) * SCORES + (np.asarray(f_score, dtype=np.int64) - 1)
    return np.bincount(flat, minlength=SCORES * SCORES).reshape(SCORES, SCORES)
