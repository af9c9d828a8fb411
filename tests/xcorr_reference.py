"""A slow, obviously correct windowed lagged cross-correlation, kept beside the tests.

It follows the definition in the docstring of ``synchrony.windowed_xcorr`` (Boker et
al. 2002, as in rMEA) one window and one lag at a time, so the fast kernel can be
checked against it (the pattern of HyPyP's ``tests/accorr_reference.py``).
"""

import numpy as np

CONSTANT_TOLERANCE = 1e-10  # restated here on purpose: the definition, not an import


def reference_xcorr(a, b, n_win, n_step, n_lag):
    """Pearson r, shape (n_windows, 2 * n_lag + 1), and valid-pair counts."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    var_a = np.nanvar(a)
    var_b = np.nanvar(b)
    n = len(a)
    rows, counts = [], []
    s = 0
    while s + n_win + n_lag <= n:
        row, count = [], []
        for lag in range(-n_lag, n_lag + 1):
            if lag >= 0:
                x = a[s : s + n_win]
                y = b[s + lag : s + lag + n_win]
            else:
                x = a[s - lag : s - lag + n_win]
                y = b[s : s + n_win]
            ok = ~np.isnan(x) & ~np.isnan(y)
            count.append(int(ok.sum()))
            sparse = np.isnan(x).sum() > n_win / 2 or np.isnan(y).sum() > n_win / 2
            xv, yv = x[ok], y[ok]
            constant = (
                ok.sum() == 0
                or np.var(xv) <= CONSTANT_TOLERANCE * var_a
                or np.var(yv) <= CONSTANT_TOLERANCE * var_b
            )
            if sparse or constant:
                row.append(np.nan)
                continue
            xc = xv - xv.mean()
            yc = yv - yv.mean()
            row.append(float(np.sum(xc * yc) / np.sqrt(np.sum(xc * xc) * np.sum(yc * yc))))
        rows.append(row)
        counts.append(count)
        s += n_step
    shape = (len(rows), 2 * n_lag + 1)
    return np.array(rows, dtype=float).reshape(shape), np.array(counts, dtype=int).reshape(shape)
