"""Collapse customers with identical model inputs into one weighted row.

Customers who share (x, t_x, T) contribute identical likelihood terms, so a fit on the distinct rows with
their counts as weights gives the same maximum as a fit on every customer.  With dates measured in whole
days the number of distinct rows grows far slower than the number of customers, which is what keeps a fit
on a million customers fast.
"""

from dataclasses import dataclass

import numpy as np


def factorize(values):
    """``(levels, codes)`` with ``levels[codes] == values``; ``levels`` sorted and distinct."""
    values = np.asarray(values)
    if values.size and np.issubdtype(values.dtype, np.integer):
        lo, hi = int(values.min()), int(values.max())
        if hi - lo <= 4 * values.size + 1024:
            # Small integer range (counts such as x): the values are their own codes, no sort needed.
            present = np.bincount(values - lo, minlength=hi - lo + 1) > 0
            levels = np.flatnonzero(present) + lo
            remap = np.cumsum(present) - 1
            return levels.astype(values.dtype), remap[values - lo].astype(np.int64)
    levels, codes = np.unique(values, return_inverse=True)
    return levels, codes.reshape(-1).astype(np.int64)


@dataclass(frozen=True)
class Encoded:
    """Distinct rows of parallel columns, stored as codes into each column's sorted levels."""

    levels: tuple  # per column, its distinct values (sorted)
    codes: tuple  # per column, the code of each distinct row (int64 arrays of equal length)
    counts: np.ndarray  # summed weight of each distinct row
    inverse: np.ndarray  # for every input row, the index of its distinct row

    def column(self, k):
        return self.levels[k][self.codes[k]]

    @property
    def rows(self):
        return len(self.counts)


def encode_rows(*columns, weights=None):
    """Factorize each column, combine the codes into one key and keep the distinct keys."""
    if not columns:
        raise ValueError("at least one column is needed")
    n = len(columns[0])
    levels, codes = [], []
    for col in columns:
        lv, cd = factorize(col)
        levels.append(lv)
        codes.append(cd)
    sizes = [max(len(lv), 1) for lv in levels]
    if np.prod(np.array(sizes, dtype=np.float64)) >= 2**62:
        raise ValueError("too many distinct values to combine")
    key = np.zeros(n, dtype=np.int64)
    for cd, size in zip(codes, sizes, strict=True):
        key = key * size + cd
    ukey, inverse = np.unique(key, return_inverse=True)
    inverse = inverse.reshape(-1)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    counts = np.bincount(inverse, weights=w, minlength=len(ukey))
    row_codes = []
    rest = ukey
    for size in reversed(sizes):
        rest, cd = np.divmod(rest, size)
        row_codes.append(cd)
    return Encoded(levels=tuple(levels), codes=tuple(reversed(row_codes)), counts=counts, inverse=inverse)


def unique_rows(*columns, weights=None):
    """Distinct rows of parallel 1-d ``columns``.

    Returns ``(columns_u, counts, inverse)``: the distinct rows as a tuple of arrays, the summed weights
    (or counts) of each distinct row, and for every input row the index of its distinct row, so that
    ``columns_u[k][inverse] == columns[k]``.
    """
    enc = encode_rows(*columns, weights=weights)
    return tuple(enc.column(k) for k in range(len(columns))), enc.counts, enc.inverse
