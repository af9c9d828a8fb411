"""Windowed lagged cross-correlation (Boker et al. 2002; rMEA, Kleinbub & Ramseyer 2020).

The kernel cuts the series into blocks of gcd(window, step) samples, sums each block's
lagged products once (one BLAS dot product per block and lag, over a strided view of
the partner series, no copy), and builds every window from its blocks; without missing
data the lagged plain sums come from window sums of each series. The cost grows with
the recording length and the number of lags, not with the window length, and every sum
is local: a sum of the samples it covers, never a difference of running sums. Windows
whose one-pass sums would lose digits are recomputed from copies shifted to their own
level (and, if still needed, two-pass). Long recordings are done in stretches of
windows, so the working memory stays flat.
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
# from copies shifted to the window's own level; below it the one-pass sums keep r to
# ~1e-12.
_MAX_CONDITION = 100.0
# Elements of one working array (blocks x lags, or rows x samples of the fallbacks):
# longer recordings are done in stretches of windows, so memory stays flat whatever the
# length (about 2 MiB per array, a few dozen arrays at most).
_MAX_BLOCK_CELLS = 1 << 18
# Blocks at least this long take BLAS's dot product; shorter ones einsum (measured
# crossover on one core: BLAS wins from ~25 samples, einsum below ~10).
_BLAS_MIN_WIDTH = 16
# np.vecdot (NumPy >= 2.0) calls BLAS's dot for each row and lag; older NumPy: einsum.
_vecdot = getattr(np, "vecdot", None)


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
    half of either side's ``W`` samples at that lag are missing, or when either side is
    constant over the valid pairs (variance below ``CONSTANT_TOLERANCE`` times that
    side's overall variance). (rMEA applies its half-missing rule once per window, to
    each person's whole window-plus-lag segment, so with gaps a few cells differ; with
    no missing samples the two agree to 1e-13, see ``tests/test_aggregates.py``.)

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
    """Pearson r (windows x lags) and valid-pair counts (read-only when no sample is
    missing). Sample counts: window n_win, step n_step, lags -n_lag..n_lag."""
    n = len(a)
    span = n_win + n_lag
    n_windows = 0 if n < span else (n - span) // n_step + 1
    r = np.empty((n_windows, 2 * n_lag + 1))
    if n_windows == 0:
        return r, np.zeros(r.shape, dtype=np.int64)

    # Pearson r is unchanged by shifting and rescaling a whole series. Centring on the
    # median (where skewed series such as motion energy spend their quiet stretches)
    # keeps one-pass sums well conditioned; unit SD makes the tolerance a plain number.
    both = np.empty((2, n))
    _standardise(a, both[0])
    _standardise(b, both[1])
    missing = np.isnan(both)
    any_missing = bool(missing.any())
    # Without missing data every cell has all n_win pairs: a read-only view, no array.
    counts = (np.full(r.shape, n_win, dtype=np.int64) if any_missing
              else np.broadcast_to(np.int64(n_win), r.shape))
    block = math.gcd(n_win, n_step)
    # Stretches of windows small enough that the per-block arrays stay near
    # _MAX_BLOCK_CELLS cells, so memory stays flat whatever the recording length. With
    # missing data each block carries six masked sums and their inputs: smaller
    # stretches, whose arrays the allocator reuses instead of mapping fresh pages.
    cells = _MAX_BLOCK_CELLS // 16 if any_missing else _MAX_BLOCK_CELLS
    blocks_left = cells // (n_lag + 1) - n_win // block
    per_stretch = max(1, blocks_left // (n_step // block) + 1)
    for w0 in range(0, n_windows, per_stretch):
        w1 = min(n_windows, w0 + per_stretch)
        lo, hi = w0 * n_step, (w1 - 1) * n_step + span
        _stretch(both[:, lo:hi], r[w0:w1], counts[w0:w1], n_win, n_step, block, n_lag)

    if any_missing:
        # After rMEA's rule, per lag: a side with more than half of its window missing gives no value.
        starts = np.arange(n_windows) * n_step
        lags = np.arange(-n_lag, n_lag + 1)
        miss_a = _missing_in_window(missing[0], starts[:, None] + np.maximum(-lags, 0), n_win)
        miss_b = _missing_in_window(missing[1], starts[:, None] + np.maximum(lags, 0), n_win)
        r[(miss_a > n_win / 2) | (miss_b > n_win / 2)] = np.nan
    return r, counts


def _stretch(both, r, counts, n_win, n_step, block, n_lag):
    """Fill r and counts (rows: windows starting at k * n_step in ``both`` = (a, b)).

    Lags >= 0 pair a[j] with b[j + L] for j in a's window; lags < 0 pair b[i] with
    a[i + |L|] for i in b's window: the same sums with the roles swapped. Each side is
    done on its own, which keeps the temporary arrays few and small.
    """
    n_windows = r.shape[0]
    n_blocks = ((n_windows - 1) * n_step + n_win) // block
    blocks = both[:, : n_blocks * block].reshape(2, n_blocks, block)
    masked = bool(np.isnan(both).any())
    step, per_window = n_step // block, n_win // block
    # Without missing data the lagged plain sums of each series (a, b, a^2, b^2) are
    # window sums of the series itself, shared by both sides.
    plain = None if masked else _lagged_window_sums(both, n_windows, n_win, n_step, n_lag,
                                                    block)
    for side in (0, 1) if n_lag else (0,):
        x, y = both[side], both[1 - side]
        if masked:
            sums = _masked_side_sums(blocks[side], y, block, step, per_window, n_lag)
        else:
            sums = _side_sums(blocks[side], y, block, plain[1 - side], plain[3 - side], step,
                              per_window)
        r_side = _side_r(x, y, sums, n_win, n_step)
        # Side 0 holds lags 0..n_lag; side 1 lags -1..-n_lag (its lag 0 repeats side 0's).
        cols = slice(n_lag, None) if side == 0 else slice(n_lag - 1, None, -1)
        r[:, cols] = r_side[:, side:]
        if masked:
            counts[:, cols] = np.rint(sums[0][:, side:])


def _side_sums(x_rows, y, y_stride, sy, syy, step, per_window):
    """(n, sum x, sum y, sum x^2, sum y^2, sum xy) of every window and lag L = 0..n_lag
    without missing data: arrays (n_windows, n_lag + 1) or broadcastable to it.

    Row i of ``x_rows`` is a block of x, paired at lag L with y[i * y_stride + g + L];
    window k is the blocks k * step .. k * step + per_window - 1. Each block's lagged
    products are summed exactly once (a dot product per block and lag over a strided
    view of y, no copy), then windows add up their blocks. ``sy`` and ``syy`` are y's
    lagged window sums (_lagged_window_sums).
    """
    n_rows, width = x_rows.shape
    lagged = _hankel(y, n_rows, y_stride, sy.shape[-1] - 1, width)
    sxy = _to_windows(_products(x_rows[:, None, :], lagged), step, per_window)
    x_sums = np.stack([x_rows.sum(axis=-1), np.einsum("ij,ij->i", x_rows, x_rows)])
    sx, sxx = _to_windows(x_sums[..., None], step, per_window)
    return float(per_window * width), sx, sy, sxx, syy, sxy


def _masked_side_sums(x_rows, y, y_stride, step, per_window, n_lag):
    """_side_sums over the valid pairs only, from masked block sums (_masked_sums)."""
    per_block = _masked_sums(x_rows, y, y_stride, n_lag)
    return tuple(_to_windows(per_block, step, per_window)[list(_MASKED_ORDER)])


def _side_r(x, y, sums, n_win, n_step):
    """Pearson r (n_windows, n_lag + 1) of one side's sums (_side_sums), clipped to
    [-1, 1], NaN where a side is constant over the valid pairs."""
    n = sums[0]
    r, vx, vy, ill = _pearson(*sums)
    if ill.any():
        # Where a window's mean is far from the series median relative to its spread,
        # the differences in _pearson lose digits. Recompute those windows' sums from
        # copies shifted to their own level, and whatever is still ill-conditioned
        # after that cell by cell, two-pass.
        vx = np.array(np.broadcast_to(vx, r.shape))
        all_rows = np.flatnonzero(ill.any(axis=1))
        n_lag = r.shape[1] - 1
        per_batch = max(1, _MAX_BLOCK_CELLS // (n_win + n_lag))  # bounds the row copies
        for lo in range(0, all_rows.size, per_batch):
            rows = all_rows[lo : lo + per_batch]
            r_row, vx_row, vy_row, ill_row = _pearson(
                *_shifted_row_sums(x, y, rows * n_step, n_win, n_lag))
            redo = ill[rows]
            r[rows] = np.where(redo, r_row, r[rows])
            vx[rows] = np.where(redo, vx_row, vx[rows])
            vy[rows] = np.where(redo, vy_row, vy[rows])
            ill[rows] = redo & ill_row
        if ill.any():
            w, lag = np.nonzero(ill)
            r[w, lag], vx[w, lag], vy[w, lag] = _direct_cells(x, y, w * n_step, lag, n_win)
    np.clip(r, -1.0, 1.0, out=r)
    tol = CONSTANT_TOLERANCE * n  # the overall variance is 1 after standardising
    r[~(vx > tol) | ~(vy > tol)] = np.nan
    return r


def _pearson(n, sx, sy, sxx, syy, sxy):
    """r, centred sums of squares, and where the one-pass differences lose digits."""
    with np.errstate(invalid="ignore", divide="ignore"):
        my = sy / n
        vx = sxx - sx * (sx / n)
        vy = syy - sy * my
        r = sxy - sx * my
        ill = (sxx > _MAX_CONDITION * vx) | (syy > _MAX_CONDITION * vy)
        if ill.any():
            # A side whose raw sum of squares is within the tolerance is constant
            # however the differences round: its cell is NaN either way.
            tol = CONSTANT_TOLERANCE * n
            ill &= (sxx > tol) & (syy > tol)
        r /= np.sqrt(vx * vy)
    return r, vx, vy, ill


# _masked_sums' channels (n, x, x^2, y, xy, y^2) in _pearson's order (n, x, y, x^2, y^2, xy).
_MASKED_ORDER = (0, 1, 3, 2, 5, 4)


def _masked_sums(x_rows, y, y_stride, n_lag):
    """Sums over the valid pairs (x_rows[i, g], y[i * y_stride + g + L]), L = 0..n_lag.

    Returns shape (6, rows, n_lag + 1): n, sum x, sum x^2, sum y, sum xy, sum y^2
    (see _MASKED_ORDER). Missing samples count as 0 with a 0/1 mask beside them.
    """
    n_rows, width = x_rows.shape
    ok_x = ~np.isnan(x_rows)
    ok_y = ~np.isnan(y)
    xs = np.empty((3, n_rows, 1, width))
    xs[0, :, 0] = ok_x
    np.copyto(xs[1, :, 0], np.where(ok_x, x_rows, 0.0))
    np.multiply(xs[1], xs[1], out=xs[2])
    ys = np.empty((3, y.size))
    ys[0] = ok_y
    np.copyto(ys[1], np.where(ok_y, y, 0.0))
    np.multiply(ys[1], ys[1], out=ys[2])
    lagged = _hankel(ys, n_rows, y_stride, n_lag, width)
    out = np.empty((6, n_rows, n_lag + 1))
    _products(xs, lagged[0], out=out[0:3])  # mask of y with (mask, x, x^2) of x
    _products(xs[:2], lagged[1], out=out[3:5])  # y with (mask, x)
    _products(xs[0], lagged[2], out=out[5])  # y^2 with the mask
    return out


def _hankel(v, n_rows, row_stride, n_lag, width):
    """Read-only view (..., n_rows, n_lag + 1, width) of v's last axis:
    [..., i, L, g] = v[..., i * row_stride + g + L]."""
    lead, step = v.strides[:-1], v.strides[-1]
    return as_strided(v, (*v.shape[:-1], n_rows, n_lag + 1, width),
                      (*lead, row_stride * step, step, step), writeable=False)


def _products(x, lagged, out=None):
    """sum over g of x[..., i, 0, g] * lagged[..., i, L, g], shape (..., rows, lags).

    A dot product per row and lag: BLAS's dot for rows of at least _BLAS_MIN_WIDTH
    samples, einsum's own loop for shorter ones (where a call per dot costs more than
    the dot).
    """
    if _vecdot is not None and x.shape[-1] >= _BLAS_MIN_WIDTH:
        return _vecdot(lagged, x, out=out)
    return np.einsum("...ig,...ilg->...il", x[..., 0, :], lagged, out=out)


def _to_windows(per_block, step, per_window):
    """Sums of blocks k * step .. k * step + per_window - 1 along axis -2.

    Long windows are put together from runs of 1, 2, 4, ... blocks (each run the sum
    of two runs half as long), one run per binary digit of per_window: about
    2 log2(per_window) additions per window instead of per_window, and every sum is
    still a sum of the window's own blocks.
    """
    n_blocks = per_block.shape[-2]
    n_windows = (n_blocks - per_window) // step + 1
    last = (n_windows - 1) * step + 1
    if per_window <= 4:
        total = per_block[..., 0:last:step, :].copy()
        for q in range(1, per_window):
            total += per_block[..., q : q + last : step, :]
        return total
    total, offset = None, 0
    runs, length = per_block, 1  # runs[..., j, :]: sum of blocks j .. j + length - 1
    # Two buffers taken in turn by the levels: fresh arrays per level cost page faults.
    buffers = (np.empty_like(per_block), np.empty_like(per_block))
    level = 0
    while True:
        if per_window & length:
            part = runs[..., offset : offset + last : step, :]
            total = part.copy() if total is None else np.add(total, part, out=total)
            offset += length
        if 2 * length > per_window:
            return total
        n_runs = runs.shape[-2] - length
        runs = np.add(runs[..., :n_runs, :], runs[..., length:, :],
                      out=buffers[level % 2][..., :n_runs, :])
        length *= 2
        level += 1


def _lagged_window_sums(v, n_windows, n_win, n_step, n_lag, block=None):
    """Window sums of the rows of v (c, n) and of their squares at every lag: [i, k, m] =
    sum(w_i[s + m : s + m + n_win]) for s = k * n_step, m = 0..n_lag, with w = (v[0], ..,
    v[c - 1], v[0]**2, .., v[c - 1]**2); shape (2 * c, n_windows, n_lag + 1).

    With lags no longer than the window, the window at lag m is [s + m, s + n_lag) +
    [s + n_lag, s + n_win) + [s + n_win, s + n_win + m): a suffix sum, a fixed middle
    and a prefix sum, each over the window's own samples (no difference of running
    sums, so no digits lost). Given ``block`` (windows are whole blocks of that many
    samples, tiling v from its start), the middle is a part-block plus whole blocks, so
    the cost does not grow with the window length. Longer lags use van Herk's scheme on
    stretches of n_win samples, which is also free of differences.
    """
    c = v.shape[0]
    if n_lag > n_win:
        return np.stack([_lagged_window_sums_long(w, n_windows, n_win, n_step, n_lag)
                         for w in (*v, *(v * v))])
    row, step = v.strides
    # [i, k, t] = v[i, k * n_step + t]: each window with its lags, a view (no copy)
    spans = as_strided(v, (c, n_windows, n_win + n_lag), (row, n_step * step, step),
                       writeable=False)
    out = np.empty((2 * c, n_windows, n_lag + 1))
    out[..., n_lag] = 0.0
    if n_lag:
        part = np.empty((2 * c, n_windows, n_lag))
        for first, offset in ((True, 0), (False, n_win)):
            part[:c] = spans[..., offset : offset + n_lag]
            np.multiply(part[:c], part[:c], out=part[c:])
            if first:  # suffix sums [s + m, s + n_lag)
                np.cumsum(part[..., ::-1], axis=-1, out=out[..., n_lag - 1 :: -1])
            else:  # prefix sums [s + n_win, s + n_win + m)
                out[..., 1:] += np.cumsum(part, axis=-1, out=part)
    # The middle [s + n_lag, s + n_win): from sample n_lag up to the next block edge,
    # then whole blocks to the window's end.
    edge = n_win if block is None else min(n_win, -(-n_lag // block) * block)
    middle = spans[..., n_lag:edge]
    out[:c] += middle.sum(axis=-1)[..., None]
    out[c:] += np.einsum("ikt,ikt->ik", middle, middle)[..., None]
    if edge < n_win:
        n_blocks = ((n_windows - 1) * n_step + n_win) // block
        blocks = v[:, : n_blocks * block].reshape(c, n_blocks, block)
        per_block = np.concatenate([blocks.sum(axis=-1), np.einsum("ikg,ikg->ik", blocks, blocks)])
        whole = _to_windows(per_block[:, edge // block :, None], n_step // block,
                            (n_win - edge) // block)
        out += whole
    return out


def _lagged_window_sums_long(y, n_windows, n_win, n_step, n_lag):
    """_lagged_window_sums for lags longer than the window (van Herk's scheme)."""
    n = y.size
    n_seg = n // n_win + 1  # room for the prefix ending at sample n
    seg = np.zeros((n_seg, n_win))
    seg.reshape(-1)[:n] = y
    suffix = np.cumsum(seg[:, ::-1], axis=-1)[:, ::-1].reshape(-1)
    prefix = np.zeros_like(seg)
    np.cumsum(seg[:, :-1], axis=-1, out=prefix[:, 1:])  # sum of the samples before
    prefix = prefix.reshape(-1)[n_win:]

    def lagged(v):
        step = v.strides[0]
        return as_strided(v, (n_windows, n_lag + 1), (n_step * step, step), writeable=False)

    return lagged(suffix) + lagged(prefix)


def _shifted_row_sums(x, y, starts, n_win, n_lag):
    """The sums of the windows starting at ``starts``, each computed whole from copies
    shifted to the window's own mean, so that the one-pass sums stay well conditioned."""
    span = starts[:, None] + np.arange(n_win + n_lag)
    ys = y[span]
    xs = x[span[:, :n_win]]
    xs -= _row_mean(xs)[:, None]
    ys -= _row_mean(ys[:, :n_win])[:, None]
    flat, stride = ys.reshape(-1), n_win + n_lag  # row i's window at lag L: i * stride + L
    if np.isnan(xs).any() or np.isnan(ys).any():
        return _masked_side_sums(xs, flat, stride, 1, 1, n_lag)
    sy, syy = _lagged_window_sums(flat[None], starts.size, n_win, stride, n_lag)
    return _side_sums(xs, flat, stride, sy, syy, 1, 1)


def _row_mean(v):
    ok = ~np.isnan(v)
    return np.where(ok, v, 0.0).sum(axis=1) / np.maximum(ok.sum(axis=1), 1)


def _direct_cells(x, y, x_start, lag, n_win):
    """Pearson r and centred sums of squares of single cells (x[s : s + n_win] against
    y[s + lag : s + lag + n_win], lag >= 0), two-pass, vectorised."""
    r = np.empty(x_start.size)
    vx = np.empty(x_start.size)
    vy = np.empty(x_start.size)
    step = max(1, _MAX_BLOCK_CELLS // n_win)  # cells at once, bounding the copies
    offsets = np.arange(n_win)[None, :]
    for lo in range(0, x_start.size, step):
        sl = slice(lo, lo + step)
        j = x_start[sl, None] + offsets
        xv = x[j]
        yv = y[j + lag[sl, None]]
        valid = ~np.isnan(xv) & ~np.isnan(yv)
        n_ok = valid.sum(axis=1)
        xv = np.where(valid, xv, 0.0)
        yv = np.where(valid, yv, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            xv = np.where(valid, xv - (xv.sum(axis=1) / n_ok)[:, None], 0.0)
            yv = np.where(valid, yv - (yv.sum(axis=1) / n_ok)[:, None], 0.0)
            vx[sl] = np.sum(xv * xv, axis=1)
            vy[sl] = np.sum(yv * yv, axis=1)
            r[sl] = np.sum(xv * yv, axis=1) / np.sqrt(vx[sl] * vy[sl])
    return r, vx, vy


def _missing_in_window(missing, window_starts, n_win):
    total = np.concatenate([[0], np.cumsum(missing)])
    return total[window_starts + n_win] - total[window_starts]


def _standardise(x, out):
    """out[:] = (x - median) / SD over x's valid samples (NaN stays NaN; a constant
    series is only centred)."""
    finite = ~np.isnan(x)
    valid = x if finite.all() else x[finite]
    if valid.size == 0:
        out[:] = x
        return
    # Any level near the bulk of the data serves; a median of at most ~2,000 evenly
    # spaced samples is as good as the full one for that, and cheaper.
    np.subtract(x, np.median(valid[:: max(1, valid.size // 2048)]), out=out)
    centred = out if valid is x else out[finite]
    mean = centred.mean()
    # One pass is enough for a scale: centred near the median, mean^2 is at most about
    # the variance, so the difference keeps its digits.
    var = max(float(np.dot(centred, centred)) / centred.size - mean * mean, 0.0)
    if var > 0:
        out *= 1.0 / math.sqrt(var)
