"""rMEA's windowed cross-correlation and its aggregates, transliterated one loop at a time.

A slow, obviously correct restatement of rMEA (Kleinbub & Ramseyer 2020) to check
``synchrony.windowed_xcorr`` and ``synchrony.analysis.aggregates`` against:

- ``rmea_ccf`` follows ``MEAccf.MEA`` in rMEA's ``R/rMEA_ccf.R`` (v1.2 line): windows
  of ``win + lag`` samples every ``inc`` samples, ``n_win = ceiling((n - win - lag + 1)
  / inc)``; a window with more than half of either subject's segment missing is NA at
  every lag; at lag ``L >= 0`` s1's first ``win`` samples meet s2's samples ``L ..
  L + win - 1`` (s2 follows s1), at ``L < 0`` the roles swap; fewer than two unequal
  pairs gives NA; Pearson r on complete pairs; Fisher z capped at +/-10; then ``abs``.
- ``rmea_ccfres`` follows the ``ccfRes`` list built at the end of ``MEAccf.MEA``.
- ``rmea_summary`` follows ``summary.MEAlist`` in ``R/rMEA_class.R``: cell means pooled
  over the whole table.

R's 1-based column ranges are written out as 0-based Python ranges beside each line.
Nothing here imports synchrony.
"""

import math

import numpy as np


def rmea_ccf(s1, s2, samp_rate, lag_sec, win_sec, inc_sec, r2z=True, absolute=False):
    """rMEA's ccf table: list of rows (windows) of values at lags -lag..+lag samples."""
    s1 = np.asarray(s1, dtype=float)
    s2 = np.asarray(s2, dtype=float)
    win = int(win_sec * samp_rate)
    lag_samp = int(lag_sec * samp_rate)
    inc = int(inc_sec * samp_rate)
    n_win = math.ceil((len(s1) - win - lag_samp + 1) / inc)
    table = []
    for i_win in range(n_win):
        first = i_win * inc  # R: ab = (iWin*inc + 1):(iWin*inc + win + lagSamp)
        x_win = s1[first : first + win + lag_samp]
        y_win = s2[first : first + win + lag_samp]
        missing = max(int(np.isnan(x_win).sum()), int(np.isnan(y_win).sum()))
        if missing > len(x_win) / 2:
            table.append([math.nan] * (2 * lag_samp + 1))
            continue
        row = []
        for i_lag in range(-lag_samp, lag_samp + 1):
            shift = abs(i_lag)
            x_range = np.arange(0, win)  # R: 1:win
            y_range = np.arange(shift, win + shift)  # R: (LAG+1):(win+LAG)
            if i_lag < 0:
                x_range, y_range = y_range, x_range
            x = x_win[x_range]
            y = y_win[y_range]
            unequal = int(np.sum((x != y) & ~np.isnan(x) & ~np.isnan(y)))  # R: sum(x != y, na.rm = T)
            row.append(math.nan if unequal < 2 else _pearson_complete(x, y))
        table.append(row)
    if r2z:
        table = [[_fisher_r2z(v) for v in row] for row in table]
    if absolute:
        table = [[abs(v) for v in row] for row in table]
    lags_s = [k / samp_rate for k in range(-lag_samp, lag_samp + 1)]
    return table, lags_s


def rmea_ccfres(table, lags_s, lag_sec, samp_rate):
    """rMEA's ccfRes: per-window aggregates (lists) and the grand average (a float)."""
    n_lag = int(lag_sec * samp_rate)
    return {
        "all_lags": [_mean_na_rm(row) for row in table],
        "s1_lead": [_mean_na_rm(row[n_lag + 1 : 2 * n_lag + 1]) for row in table],  # R: (L+2):(2L+1)
        "s2_lead": [_mean_na_rm(row[0:n_lag]) for row in table],  # R: 1:L
        "lag_zero": [row[n_lag] for row in table],  # R: L+1
        "s1_lead_0": [_mean_na_rm(row[n_lag : 2 * n_lag + 1]) for row in table],  # R: (L+1):(2L+1)
        "s2_lead_0": [_mean_na_rm(row[0 : n_lag + 1]) for row in table],  # R: 1:(L+1)
        "bestLag": [_which_max_lag(row, lags_s) for row in table],
        "grandAver": _mean_na_rm([v for row in table for v in row]),
    }


def rmea_summary(table, lag_sec, samp_rate):
    """summary.MEAlist's per-session values for one dyad, cell means pooled over windows."""
    n_lag = int(lag_sec * samp_rate)

    def pooled(first, last):
        return _mean_na_rm([v for row in table for v in row[first:last]])

    return {
        "all_lags": pooled(0, 2 * n_lag + 1),  # grandAver
        "s1_lead": pooled(n_lag + 1, 2 * n_lag + 1),  # 'lead'
        "s2_lead": pooled(0, n_lag),  # 'pace'
        "lag_zero": pooled(n_lag, n_lag + 1),  # 'zero'
        "s1_lead_0": pooled(n_lag, 2 * n_lag + 1),  # 'lead0'
        "s2_lead_0": pooled(0, n_lag + 1),  # 'pace0'
    }


def _pearson_complete(x, y):
    """R's cor(x, y, use = "complete.obs"): NA when either side has zero spread."""
    complete = ~np.isnan(x) & ~np.isnan(y)
    if complete.sum() < 2:
        return math.nan
    xs = x[complete]
    ys = y[complete]
    xc = xs - xs.mean()
    yc = ys - ys.mean()
    sxx = float(np.dot(xc, xc))
    syy = float(np.dot(yc, yc))
    if sxx == 0.0 or syy == 0.0:
        return math.nan
    return max(-1.0, min(1.0, float(np.dot(xc, yc)) / math.sqrt(sxx * syy)))


def _fisher_r2z(r):
    if math.isnan(r):
        return r
    if r >= 1.0:
        return 10.0
    if r <= -1.0:
        return -10.0
    return max(-10.0, min(10.0, math.atanh(r)))


def _mean_na_rm(values):
    kept = [v for v in values if not math.isnan(v)]
    return sum(kept) / len(kept) if kept else math.nan


def _which_max_lag(row, lags_s):
    """R's which.max: the first maximum, NA skipped; NA when nothing is left."""
    best = None
    for k, v in enumerate(row):
        if math.isnan(v):
            continue
        if best is None or v > row[best]:
            best = k
    return math.nan if best is None else lags_s[best]
