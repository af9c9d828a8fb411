"""Windowed lagged cross-correlation (Boker et al. 2002; rMEA, Kleinbub & Ramseyer 2020).

The kernel cuts the series into blocks of gcd(window, step) samples, sums each block's
lagged products once, and builds every window from its blocks: the cost grows with the
recording length and the number of lags, not with the window length, and every sum
is local (no running sums over the whole recording to lose digits).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import as_strided

from synchrony._validate import check_positive, check_series_pair
from synchrony.errors import ParameterError

__all__ = ["windowed_xcorr", "peak_lags", "CONSTANT_TOLERANCE"]

#: A side whose valid samples in a window have a variance below this fraction of the
#: series' overall variance counts as constant (its correlation is undefined). An exact
#: zero cannot be asked of sums in floating point.
CONSTANT_TOLERANCE = 1e-10

# Cells whose raw sum of squares exceeds this multiple of the centred one are recomputed
# two-pass; below it the one-pass sums keep r to ~1e-12.
_MAX_CONDITION = 100.0
# Rows of the two-pass fallback handled at once, bounding its memory.
_MAX_CELLS = 4_000_000


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
    """Pearson r (windows x lags) and valid-pair counts."""
    n = len(a)
    span = n_win + n_lag
    n_windows = 0 if n < span else (n - span) // n_step + 1
    r = np.full((n_windows, 2 * n_lag + 1), np.nan)
    counts = np.zeros(r.shape, dtype=np.int64)
    if n_windows == 0:
        return r, counts

    # Pearson r is unchanged by shifting and rescaling a whole series. Centring on the
    # median (where skewed series such as motion energy spend their quiet stretches)
    # keeps one-pass sums well conditioned; unit SD makes the tolerance a plain number.
    a = _standardise(a)
    b = _standardise(b)
    starts = np.arange(n_windows) * n_step
    block = math.gcd(n_win, n_step)
    # Lags >= 0 pair a[j] with b[j + L] for j in a's window [s, s + W); lags < 0 pair
    # b[i] with a[i + |L|] for i in b's window: the same sums with the roles swapped.
    ahead = _lagged_sums(a, b, starts, n_win, block, n_lag)
    behind = _lagged_sums(b, a, starts, n_win, block, n_lag)
    n_ok, sx, sy, sxx, syy, sxy = (
        np.concatenate([q_b[:, :0:-1], q_a], axis=1)
        for q_a, q_b in zip(ahead, (behind[i] for i in (0, 2, 1, 4, 3, 5)))
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        vx = sxx - sx * sx / n_ok
        vy = syy - sy * sy / n_ok
        r[:] = (sxy - sx * sy / n_ok) / np.sqrt(vx * vy)
        # Where a window's mean is far from the series mean relative to its spread,
        # the differences above lose digits: recompute those cells two-pass.
        ill = (sxx > _MAX_CONDITION * vx) | (syy > _MAX_CONDITION * vy)
    lags = np.arange(-n_lag, n_lag + 1)
    a_start = starts[:, None] + np.maximum(-lags, 0)[None, :]
    if ill.any():
        w, c = np.nonzero(ill)
        r[w, c], vx[w, c], vy[w, c] = _direct_cells(a, b, a_start[w, c], lags[c], n_win)
    np.clip(r, -1.0, 1.0, out=r)
    tol = CONSTANT_TOLERANCE * n_ok  # the overall variance is 1 after standardising
    r[~(vx > tol) | ~(vy > tol)] = np.nan
    if np.isnan(a).any() or np.isnan(b).any():
        # rMEA's rule: a side with more than half of its window missing gives no value.
        b_start = starts[:, None] + np.maximum(lags, 0)[None, :]
        miss_a = _missing_in_window(a, a_start, n_win)
        miss_b = _missing_in_window(b, b_start, n_win)
        r[(miss_a > n_win / 2) | (miss_b > n_win / 2)] = np.nan
    counts[:] = np.rint(n_ok)
    return r, counts


def _lagged_sums(x, y, starts, n_win, block, n_lag):
    """Sums over pairs (x[j], y[j + L]), j in [s, s + n_win), for lags L = 0..n_lag.

    Returns ``(n, sum x, sum y, sum x^2, sum y^2, sum xy)`` over the valid pairs, each
    of shape (n_windows, n_lag + 1). Every window is a whole number of blocks of
    ``block`` samples; each block's lagged products are summed exactly (an einsum over
    a strided view, no copy), then the window adds up its blocks. The work is
    (samples x lags), whatever the window length.
    """
    ok_x = ~np.isnan(x)
    ok_y = ~np.isnan(y)
    x0 = np.where(ok_x, x, 0.0)
    y0 = np.where(ok_y, y, 0.0)
    n_blocks = (starts[-1] + n_win) // block
    first = starts // block
    per_window = n_win // block

    def to_windows(per_block):
        total = per_block[first]
        for q in range(1, per_window):
            total = total + per_block[first + q]
        return total

    def lagged_view(v, width):
        # Row m is v[m * block : m * block + width]: a strided view, no copy.
        v_pad = np.concatenate([v, np.zeros(n_lag + block)])
        step = v_pad.strides[0]
        return as_strided(v_pad, (n_blocks, width), (block * step, step), writeable=False)

    def windowed(u, v):
        """sum over j in the window of u[j] * v[j + L]."""
        u_blocks = u[: n_blocks * block].reshape(n_blocks, block)
        rows = lagged_view(v, block + n_lag)
        v_lagged = as_strided(rows, (n_blocks, n_lag + 1, block),
                              (rows.strides[0], rows.strides[1], rows.strides[1]), writeable=False)
        return to_windows(np.einsum("bg,blg->bl", u_blocks, v_lagged))

    def windowed_plain(v):
        """sum over j in the window of v[j + L]: running sums restarted at every block."""
        running = np.zeros((n_blocks, block + n_lag + 1))
        np.cumsum(lagged_view(v, block + n_lag), axis=1, out=running[:, 1:])
        return to_windows(running[:, block:] - running[:, : n_lag + 1])

    shape = (starts.size, n_lag + 1)
    if ok_x.all() and ok_y.all():
        # No missing samples: only the cross products need the lagged einsum.
        x_blocks = x0[: n_blocks * block].reshape(n_blocks, block)
        sx = to_windows(x_blocks.sum(axis=1))[:, None]
        sxx = to_windows(np.einsum("bg,bg->b", x_blocks, x_blocks))[:, None]
        return (np.full(shape, float(n_win)), np.broadcast_to(sx, shape), windowed_plain(y0),
                np.broadcast_to(sxx, shape), windowed_plain(y0 * y0), windowed(x0, y0))
    m_x = ok_x.astype(float)
    m_y = ok_y.astype(float)
    return (windowed(m_x, m_y), windowed(x0, m_y), windowed(m_x, y0),
            windowed(x0 * x0, m_y), windowed(m_x, y0 * y0), windowed(x0, y0))


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


def _missing_in_window(x, window_starts, n_win):
    missing = np.concatenate([[0], np.cumsum(np.isnan(x))])
    return missing[window_starts + n_win] - missing[window_starts]


def _standardise(x):
    finite = ~np.isnan(x)
    if not finite.any():
        return x
    centred = x - np.median(x[finite])
    sd = float(np.std(centred[finite]))
    return centred / sd if sd > 0 else centred
