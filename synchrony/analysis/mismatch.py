"""Mismatch windows: stretches where a pair's synchrony falls to chance level.

First version: a window is "at chance" when its peak correlation is not above the
``1 - alpha`` quantile of the peak correlations that circularly shifted (pseudo)
pairs reach; consecutive at-chance windows form a span, spans closer than a merge
gap are joined, and spans shorter than a minimum duration are dropped.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synchrony._validate import check_positive
from synchrony.errors import ParameterError

__all__ = ["mismatch_spans", "MISMATCH_COLUMNS"]

MISMATCH_COLUMNS = ["start_s", "end_s", "duration_s", "features", "strength"]


def mismatch_spans(
    windows: pd.DataFrame,
    surrogate_peaks: np.ndarray,
    *,
    window_s: float,
    step_s: float,
    features: str = "",
    alpha: float = 0.05,
    min_duration_s: float = 3.0,
    merge_gap_s: float = 1.0,
) -> pd.DataFrame:
    """Find spans where windowed synchrony is no higher than chance.

    Each window stands for the ``step_s`` long stretch around its centre,
    ``window_start_s + window_s / 2`` (the centre of A's window, as at lag 0), so
    consecutive windows tile the session without overlap.

    Parameters
    ----------
    windows : pandas.DataFrame
        Indexed by ``window_start_s`` with a ``peak_r`` column (see
        :func:`synchrony.peak_lags`).
    surrogate_peaks : numpy.ndarray, shape (n_surrogates, n_windows)
        Peak r of the same windows in pseudo pairs (see
        :func:`synchrony.analysis.surrogates.circular_shift_peaks`). Their pooled
        ``1 - alpha`` quantile is the chance threshold.
    window_s, step_s : float
        The windowing the peaks came from, in seconds.
    features : str
        Label of the feature pair, copied into the ``features`` column.
    alpha : float, default 0.05
    min_duration_s : float, default 3.0
        Shorter spans are dropped.
    merge_gap_s : float, default 1.0
        Spans separated by at most this much are merged (the windows between them
        count as part of the span).

    Returns
    -------
    pandas.DataFrame
        One row per span with ``start_s``, ``end_s``, ``duration_s`` (seconds),
        ``features`` and ``strength``: the mean, over the span's windows, of how far
        the peak r falls below the chance threshold (0 = at the threshold; larger =
        further below chance), and ``threshold_r``, the chance threshold itself.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from synchrony.analysis.mismatch import mismatch_spans
    >>> w = pd.DataFrame({"peak_r": [.8, .8, .1, .1, .1, .1, .8]},
    ...                  index=pd.Index(np.arange(7.0), name="window_start_s"))
    >>> null = np.full((10, 7), 0.3)
    >>> mismatch_spans(w, null, window_s=4, step_s=1,
    ...                min_duration_s=2)[["start_s", "end_s"]].to_numpy().tolist()
    [[3.5, 7.5]]
    """
    func = "mismatch_spans"
    if not 0 < alpha < 1:
        raise ParameterError.expected("alpha", func, "in (0, 1)", alpha)
    for name, value in (("window_s", window_s), ("step_s", step_s)):
        check_positive(value, name, func)
    for name, value in (("min_duration_s", min_duration_s), ("merge_gap_s", merge_gap_s)):
        check_positive(value, name, func, allow_zero=True)
    null = np.asarray(surrogate_peaks, dtype=float)
    null = null[~np.isnan(null)]
    columns = MISMATCH_COLUMNS + ["threshold_r"]
    if null.size == 0 or windows.empty:
        return pd.DataFrame(columns=columns)
    threshold = float(np.quantile(null, 1 - alpha))

    peak = windows["peak_r"].to_numpy(dtype=float)
    centre = np.asarray(windows.index, dtype=float) + window_s / 2
    at_chance = peak <= threshold  # NaN windows (no data) are not evidence of mismatch
    rows = []
    for first, last in _runs(at_chance, max_bridge=int(round(merge_gap_s / step_s))):
        start = centre[first] - step_s / 2
        end = centre[last] + step_s / 2
        if end - start < min_duration_s - 1e-9:
            continue
        below = threshold - peak[first : last + 1]
        rows.append({"start_s": round(start, 9), "end_s": round(end, 9),
                     "duration_s": round(end - start, 9), "features": features,
                     "strength": float(np.nanmean(below)), "threshold_r": threshold})
    return pd.DataFrame(rows, columns=columns)


def _runs(flags, *, max_bridge):
    """(first, last) index of runs of True, bridging gaps of <= max_bridge False."""
    idx = np.flatnonzero(flags)
    if idx.size == 0:
        return []
    runs = []
    first = prev = idx[0]
    for i in idx[1:]:
        if i - prev - 1 > max_bridge:
            runs.append((first, prev))
            first = i
        prev = i
    runs.append((first, prev))
    return runs
