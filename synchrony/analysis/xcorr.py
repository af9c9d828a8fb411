"""Windowed lagged cross-correlation (Boker et al. 2002; rMEA, Kleinbub & Ramseyer 2020).

The kernel works on sliding sums: every window's Pearson r at every lag comes from
differences of cumulative sums, so the cost grows with the recording length and the
number of lags, never with the window length.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synchrony._validate import check_positive, check_series_pair
from synchrony.errors import ParameterError

__all__ = ["windowed_xcorr", "peak_lags", "CONSTANT_TOLERANCE"]

#: A side whose valid samples in a window have a variance below this fraction of the
#: series' overall variance counts as constant (its correlation is undefined). An exact
#: zero cannot be asked of sums in floating point.
CONSTANT_TOLERANCE = 1e-10

# Bound the (samples x lags) work arrays so a two-hour recording stays in a few
# hundred MB: lags are processed in chunks of at most this many cells.
_MAX_CELLS = 4_000_000
# How many window spans one batch of running sums covers (see _xcorr_kernel).
_BATCH_SPANS = 4
# Cells whose raw sum of squares exceeds this multiple of the centred one are recomputed
# two-pass; below it the sliding sums keep r to ~1e-12.
_MAX_CONDITION = 100.0


def windowed_xcorr(
    a,
    b,
    rate_hz: float,
    *,
    window_s: float,
    step_s: float,
    max_lag_s: float,
    fisher_z: bool = True,
    absolute: bool = False,
    return_counts: bool = False,
):
    """Windowed lagged cross-correlation of two equally sampled series.

    For window ``k`` starting at sample ``s = k * step`` the segment covers
    ``window + max_lag`` samples. At lag ``L >= 0``,
    ``r = pearson(a[s : s+W], b[s+L : s+L+W])`` (b later than a); at ``L < 0``,
    ``r = pearson(a[s+|L| : s+|L|+W], b[s : s+W])``. Only windows whose whole segment
    fits in the series are computed.

    Missing samples (NaN) are deleted pairwise at each lag. A cell is NaN when more than
    half of either side's ``W`` samples are missing (rMEA's rule), or when either side is
    constant over the valid pairs (variance below ``CONSTANT_TOLERANCE`` times that
    side's overall variance).

    Parameters
    ----------
    a, b : array-like, shape (n_samples,)
        The two persons' series, sampled together at ``rate_hz``. If both are pandas
        Series, their (identical) index gives the time of each sample in seconds and the
        window starts are read from it; otherwise time 0 is the first sample.
    rate_hz : float
        Sampling rate of both series, in Hz.
    window_s : float
        Window length in seconds (rounded to whole samples).
    step_s : float
        Distance between consecutive window starts, in seconds.
    max_lag_s : float
        Largest lag in seconds; lags run from ``-max_lag_s`` to ``+max_lag_s`` in steps
        of one sample.
    fisher_z : bool, default True
        Return Fisher's z = artanh(r) instead of r (r = +/-1 gives +/-inf).
    absolute : bool, default False
        Take absolute values (before the Fisher transform).
    return_counts : bool, default False
        Also return the number of valid pairs behind each cell.

    Returns
    -------
    xc : pandas.DataFrame, shape (n_windows, 2 * max_lag + 1)
        Index ``window_start_s`` (seconds), columns ``lag_s`` (seconds). **Positive lag
        means b follows a** (b's behaviour comes ``lag_s`` seconds after a's).
    counts : pandas.DataFrame of int, same shape
        Only with ``return_counts=True``: valid pairs per window and lag.

    Examples
    --------
    >>> import numpy as np
    >>> from synchrony import windowed_xcorr
    >>> rng = np.random.default_rng(0)
    >>> a = rng.standard_normal(1200)
    >>> b = np.roll(a, 4)  # b repeats a 4 samples (0.4 s at 10 Hz) later
    >>> xc = windowed_xcorr(a, b, 10.0, window_s=10, step_s=5, max_lag_s=2, fisher_z=False)
    >>> float(xc.iloc[3].idxmax())
    0.4
    """
    func = "windowed_xcorr"
    a_arr, b_arr, t0 = check_series_pair(a, b, func)
    check_positive(rate_hz, "rate_hz", func)
    n_win = _samples(window_s, rate_hz, "window_s", func, minimum=2)
    n_step = _samples(step_s, rate_hz, "step_s", func, minimum=1)
    n_lag = _samples(max_lag_s, rate_hz, "max_lag_s", func, minimum=0)

    r, counts = _xcorr_kernel(a_arr, b_arr, n_win, n_step, n_lag)
    if absolute:
        r = np.abs(r)
    if fisher_z:
        with np.errstate(divide="ignore"):
            r = np.arctanh(r)

    starts = t0 + np.arange(r.shape[0]) * n_step / rate_hz
    index = pd.Index(np.round(starts, 9), name="window_start_s")
    columns = pd.Index(np.round(np.arange(-n_lag, n_lag + 1) / rate_hz, 9), name="lag_s")
    xc = pd.DataFrame(r, index=index, columns=columns)
    if return_counts:
        return xc, pd.DataFrame(counts, index=index, columns=columns)
    return xc


def peak_lags(xc: pd.DataFrame, *, absolute: bool = False) -> pd.DataFrame:
    """Pick each window's peak correlation and its lag.

    Parameters
    ----------
    xc : pandas.DataFrame
        Output of :func:`windowed_xcorr` (windows x lags).
    absolute : bool, default False
        Pick the largest ``|r|`` instead of the largest ``r``; ``peak_r`` keeps its sign.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``xc`` with columns ``peak_r`` and ``peak_lag_s`` (positive = b
        follows a). Ties go to the lag nearest zero (the negative one first). A window
        with no defined lag gives NaN in both columns.
    """
    lags = np.asarray(xc.columns, dtype=float)
    # Visit lags nearest zero first so argmax resolves ties towards lag 0.
    order = np.lexsort((lags, np.abs(lags)))
    values = xc.to_numpy(dtype=float)[:, order]
    score = np.abs(values) if absolute else values
    defined = ~np.all(np.isnan(score), axis=1)
    best = np.argmax(np.where(np.isnan(score), -np.inf, score), axis=1)
    rows = np.arange(len(values))
    peak_r = np.where(defined, values[rows, best], np.nan)
    peak_lag = np.where(defined, lags[order][best], np.nan)
    return pd.DataFrame({"peak_r": peak_r, "peak_lag_s": peak_lag}, index=xc.index)


def _samples(seconds, rate_hz, name, func, *, minimum):
    check_positive(seconds, name, func, allow_zero=minimum == 0)
    n = int(round(seconds * rate_hz))
    if n < minimum:
        raise ParameterError.expected(
            name, func, f"at least {minimum} sample(s) at rate_hz={rate_hz}", seconds
        )
    return n


def _xcorr_kernel(a, b, n_win, n_step, n_lag):
    """Pearson r (windows x lags) and valid-pair counts via cumulative sums."""
    n = len(a)
    span = n_win + n_lag
    n_windows = 0 if n < span else (n - span) // n_step + 1
    n_lags = 2 * n_lag + 1
    r = np.full((n_windows, n_lags), np.nan)
    counts = np.zeros((n_windows, n_lags), dtype=np.int64)
    if n_windows == 0:
        return r, counts

    # Pearson r is unchanged by rescaling the whole series; dividing by the overall SD
    # makes the constant-side tolerance a plain number.
    a = a / _overall_sd(a)
    b = b / _overall_sd(b)
    # rMEA's rule: a side with more than half of its window missing gives no value.
    miss_a = _running_sum(np.isnan(a).astype(float))
    miss_b = _running_sum(np.isnan(b).astype(float))

    starts = np.arange(n_windows) * n_step
    # Windows are done in batches that each start their running sums afresh around a
    # local mean: sums then stay of the size of a few windows, which is what keeps
    # r accurate to ~1e-12 on long, non-stationary recordings.
    per_batch = max(1, (_BATCH_SPANS - 1) * span // n_step + 1)
    for w0 in range(0, n_windows, per_batch):
        w1 = min(n_windows, w0 + per_batch)
        lo, hi = starts[w0], starts[w1 - 1] + span
        too_sparse = _too_sparse(miss_a, miss_b, starts[w0:w1], n_win, n_lag)
        r[w0:w1], counts[w0:w1] = _batch(a[lo:hi], b[lo:hi], starts[w0:w1] - lo, n_win, n_lag)
        r[w0:w1][too_sparse] = np.nan
    return r, counts


def _batch(a, b, starts, n_win, n_lag):
    n = len(a)
    a = a - _mean(a)
    b = b - _mean(b)
    lags = np.arange(-n_lag, n_lag + 1)
    r = np.empty((starts.size, lags.size))
    counts = np.empty((starts.size, lags.size), dtype=np.int64)
    chunk = max(1, _MAX_CELLS // n)
    for lo in range(0, lags.size, chunk):
        lag = lags[lo : lo + chunk]
        # Pair j of lag L is (a[j], b[j + L]); index everything by the a-sample j.
        idx = np.arange(n)[:, None] + lag[None, :]
        b_lag = np.where((idx >= 0) & (idx < n), b[np.clip(idx, 0, n - 1)], np.nan)
        valid = ~np.isnan(a)[:, None] & ~np.isnan(b_lag)
        x = np.where(valid, a[:, None], 0.0)
        y = np.where(valid, b_lag, 0.0)
        # a's window starts at s + max(-L, 0) (b's at s + max(L, 0)).
        a_start = starts[:, None] + np.maximum(-lag, 0)[None, :]
        n_ok = _window_sums(valid.astype(float), a_start, n_win)
        sx = _window_sums(x, a_start, n_win)
        sy = _window_sums(y, a_start, n_win)
        with np.errstate(invalid="ignore", divide="ignore"):
            sxx = _window_sums(x * x, a_start, n_win)
            syy = _window_sums(y * y, a_start, n_win)
            vx = sxx - sx * sx / n_ok
            vy = syy - sy * sy / n_ok
            rr = (_window_sums(x * y, a_start, n_win) - sx * sy / n_ok) / np.sqrt(vx * vy)
            # Where a window's mean is far from the batch mean relative to its spread,
            # the differences above lose digits: recompute those cells directly.
            ill = (sxx > _MAX_CONDITION * vx) | (syy > _MAX_CONDITION * vy)
        if ill.any():
            w, c = np.nonzero(ill)
            rr[w, c], vx[w, c], vy[w, c] = _direct_cells(a, b, a_start[w, c], lag[c], n_win)
        rr = np.clip(rr, -1.0, 1.0)
        tol = CONSTANT_TOLERANCE * n_ok  # the overall variance is 1 after scaling
        rr[~(vx > tol) | ~(vy > tol)] = np.nan
        r[:, lo : lo + lag.size] = rr
        counts[:, lo : lo + lag.size] = np.rint(n_ok)
    return r, counts


def _direct_cells(a, b, a_start, lag, n_win):
    """Pearson r and centred sums of squares of single cells, two-pass, vectorised."""
    r = np.empty(a_start.size)
    vx = np.empty(a_start.size)
    vy = np.empty(a_start.size)
    step = max(1, _MAX_CELLS // n_win)
    offsets = np.arange(n_win)[None, :]
    for lo in range(0, a_start.size, step):
        sl = slice(lo, lo + step)
        j = a_start[sl, None] + offsets
        x = a[j]
        y = b[j + lag[sl, None]]
        valid = ~np.isnan(x) & ~np.isnan(y)
        n_ok = valid.sum(axis=1)
        x = np.where(valid, x, 0.0)
        y = np.where(valid, y, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            x = np.where(valid, x - (x.sum(axis=1) / n_ok)[:, None], 0.0)
            y = np.where(valid, y - (y.sum(axis=1) / n_ok)[:, None], 0.0)
            vx[sl] = np.sum(x * x, axis=1)
            vy[sl] = np.sum(y * y, axis=1)
            r[sl] = np.sum(x * y, axis=1) / np.sqrt(vx[sl] * vy[sl])
    return r, vx, vy


def _too_sparse(miss_a, miss_b, starts, n_win, n_lag):
    lags = np.arange(-n_lag, n_lag + 1)
    a_start = starts[:, None] + np.maximum(-lags, 0)[None, :]
    b_start = starts[:, None] + np.maximum(lags, 0)[None, :]
    return (miss_a[a_start + n_win] - miss_a[a_start] > n_win / 2) | (
        miss_b[b_start + n_win] - miss_b[b_start] > n_win / 2
    )


def _overall_sd(x):
    finite = ~np.isnan(x)
    sd = float(np.std(x[finite])) if finite.any() else 0.0
    return sd if sd > 0 else 1.0


def _mean(x):
    finite = ~np.isnan(x)
    return float(np.mean(x[finite])) if finite.any() else 0.0


def _running_sum(values):
    """Cumulative sums along axis 0 with a leading zero row: sums are differences."""
    csum = np.zeros((values.shape[0] + 1,) + values.shape[1:])
    np.cumsum(values, axis=0, out=csum[1:])
    return csum


def _window_sums(values, window_starts, n_win):
    """Sum of ``values[j, c]`` for j in [start, start + n_win), per start and column."""
    csum = _running_sum(values)
    col = np.arange(values.shape[1])[None, :]
    return csum[window_starts + n_win, col] - csum[window_starts, col]
