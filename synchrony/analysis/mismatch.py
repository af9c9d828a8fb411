"""Mismatch windows: stretches where a pair's synchrony falls to chance, or below it.

A window is *at chance* when its peak correlation is not above the ``1 - alpha``
quantile of the peak correlations the surrogate pairs reach in the same window (a
window-level threshold: a window full of movement reaches higher peaks by chance than
a quiet one). A mismatch span is a run of at-chance windows while at least one partner
is active (a bid that was not answered; two partners who both rest are not
misattuned), or, for feature pairs where matching is expected (smile with smile), a
run of windows whose lowest correlation is significantly negative. Runs closer than a
merge gap are joined and runs shorter than a minimum duration dropped.

A span is a *rupture* when synchrony (windows above their chance threshold) held
just before it, and is *repaired* when synchrony returns after it.
"""

from __future__ import annotations

import contextlib
import math
import warnings

import numpy as np
import pandas as pd

from synchrony._validate import check_positive
from synchrony.errors import ParameterError

__all__ = ["MISMATCH_COLUMNS", "mismatch_spans", "window_activity", "rupture_repair"]

MISMATCH_COLUMNS = [
    "start_s", "end_s", "duration_s", "features", "kind", "active", "not_following",
    "strength", "p_value", "rupture", "repaired", "repair_time_s",
]


def window_activity(a, b, rate_hz: float, *, window_s: float, step_s: float, max_lag_s: float,
                    persons=("A", "B"), active_fraction: float = 0.25) -> pd.DataFrame:
    """Which partner is active in each correlation window.

    A person is active in a window when the standard deviation of their samples over
    the window's segment (``window_s + max_lag_s`` from the window start, as in
    :func:`synchrony.windowed_xcorr`) is at least ``active_fraction`` times their own
    typical active level, the 90th percentile of their window SDs. Below it is the
    person's quiet level: still, silent or with a neutral face, up to sensor noise.

    Parameters
    ----------
    a, b : array-like, shape (n_samples,)
        The two series at ``rate_hz`` (NaN for missing samples).
    rate_hz, window_s, step_s, max_lag_s : float
        The windowing of the correlation.
    persons : (str, str)
        Column labels.
    active_fraction : float, default 0.25

    Returns
    -------
    pandas.DataFrame of bool, shape (n_windows, 2)
        Index ``window_start_s`` (time 0 = first sample), one column per person. A
        window with fewer than half its samples defined is not active.

    Examples
    --------
    >>> import numpy as np
    >>> from synchrony.analysis.mismatch import window_activity
    >>> rng = np.random.default_rng(0)
    >>> a = np.r_[rng.standard_normal(100), 0.01 * rng.standard_normal(100)]
    >>> b = rng.standard_normal(200)
    >>> act = window_activity(a, b, 10, window_s=5, step_s=5, max_lag_s=0)
    >>> act["A"].tolist(), bool(act["B"].all())
    ([True, True, False, False], True)
    """
    func = "window_activity"
    for name, value in (("rate_hz", rate_hz), ("window_s", window_s), ("step_s", step_s),
                        ("active_fraction", active_fraction)):
        check_positive(value, name, func)
    check_positive(max_lag_s, "max_lag_s", func, allow_zero=True)
    span = int(round((window_s + max_lag_s) * rate_hz))
    step = max(1, int(round(step_s * rate_hz)))
    columns = {}
    for person, x in zip(persons, (a, b)):
        x = np.asarray(x, dtype=float)
        n_windows = 0 if x.size < span else (x.size - span) // step + 1
        segs = np.lib.stride_tricks.sliding_window_view(x, span)[::step][:n_windows]
        enough = np.sum(np.isfinite(segs), axis=1) >= span / 2
        with np.errstate(invalid="ignore"), _quiet_nan_warnings():
            sd = np.where(enough, np.nanstd(segs, axis=1), np.nan)
            typical = np.nanquantile(sd, 0.9) if np.isfinite(sd).any() else np.nan
        columns[person] = np.isfinite(sd) & (sd >= active_fraction * typical) & (typical > 0)
    starts = np.arange(len(next(iter(columns.values())))) * step / rate_hz
    return pd.DataFrame(columns, index=pd.Index(np.round(starts, 9), name="window_start_s"))


def mismatch_spans(
    windows: pd.DataFrame,
    surrogate_peaks: np.ndarray,
    *,
    window_s: float,
    step_s: float,
    features: str = "",
    alpha: float = 0.05,
    min_duration_s: float = 3.0,
    merge_gap_s: float | None = None,
    active: pd.DataFrame | None = None,
    surrogate_troughs: np.ndarray | None = None,
    min_sync_s: float = 2.0,
    span_alpha: float | None = "alpha",
) -> pd.DataFrame:
    """Find spans where windowed synchrony is no higher than chance, or negative.

    Each window stands for the ``step_s`` long stretch around its centre,
    ``window_start_s + window_s / 2`` (the centre of A's window, as at lag 0), so
    consecutive windows tile the session without overlap.

    Parameters
    ----------
    windows : pandas.DataFrame, shape (n_windows, ...)
        Indexed by ``window_start_s`` with a ``peak_r`` column (see
        :func:`synchrony.peak_lags`) and, for negative spans, ``trough_r`` (each
        window's lowest r over the lags).
    surrogate_peaks : numpy.ndarray, shape (n_surrogates, n_windows)
        Peak r of the same windows in surrogate pairs (see
        :func:`synchrony.analysis.surrogates.surrogate_peaks`). Their ``1 - alpha``
        quantile in each window is that window's chance threshold.
    window_s, step_s : float
        The windowing the peaks came from, in seconds.
    features : str
        Label of the feature pair, copied into the ``features`` column.
    alpha : float, default 0.05
    min_duration_s : float, default 3.0
        Shorter spans are dropped.
    merge_gap_s : float, optional
        Spans separated by at most this much are merged (the windows between them
        count as part of the span). Default ``window_s``: windows overlap, so one
        chance-high correlation lifts every window that contains it, about
        ``window_s`` worth of them; synchrony shorter than a window is not resolved.
    active : pandas.DataFrame of bool, shape (n_windows, 2), optional
        Activity of each partner per window (:func:`window_activity`); the column
        names are the persons. At-chance windows count only where at least one is
        active. Default: both always active.
    surrogate_troughs : numpy.ndarray, shape (n_surrogates, n_windows), optional
        Lowest r of the same windows in the surrogates. When given (and ``windows``
        has ``trough_r``), windows whose trough is below the ``alpha`` quantile of the
        surrogates' (and whose peak is at chance) are significantly negative and form
        spans of kind ``"negative"``.
    min_sync_s : float, default 2.0
        How long synchrony must hold before a span (within ``merge_gap_s``) for it to
        be a rupture, and after it for the rupture to count as repaired.
    span_alpha : float or None, default ``alpha``
        Spans whose ``p_value`` is above this are dropped (runs of chance windows that
        are no lower than the rest of the session, e.g. brief dips of a coupled
        pair); spans whose p-value cannot be computed (they cover most of the
        session) are kept. None keeps every span.

    Returns
    -------
    pandas.DataFrame
        One row per span, by start time: ``start_s``, ``end_s``, ``duration_s``
        (seconds); ``features``; ``kind`` (``"chance"`` or ``"negative"``);
        ``active``: who was active in at least half the span's windows (the bid:
        ``"A"``, ``"B"``, ``"A+B"`` or ``""`` when no activity was given);
        ``not_following``: the partner who did not answer when only one was active;
        ``strength``: mean over the span's windows of how far the peak r falls below
        its threshold (for negative spans: how far the trough falls below its
        threshold); ``p_value``: for chance spans, how unusual so low a stretch is in
        this session, ``(1 + k) / (1 + m)`` over the ``m`` circular placements of a
        block of as many windows elsewhere in the session (not overlapping the span)
        of which ``k`` have a mean peak r as low (NaN when no placement fits); for
        negative spans, ``(1 + k) / (1 + n_surrogates)`` with ``k`` the surrogates
        whose mean trough over the span is as low; ``rupture`` (synchrony held just
        before), ``repaired`` (synchrony returned after a rupture) and
        ``repair_time_s`` (from the span's start to the return of synchrony).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from synchrony.analysis.mismatch import mismatch_spans
    >>> w = pd.DataFrame({"peak_r": [.8] * 12 + [.1] * 4 + [.8] * 12},
    ...                  index=pd.Index(np.arange(28.0), name="window_start_s"))
    >>> null = np.full((10, 28), 0.3)
    >>> spans = mismatch_spans(w, null, window_s=4, step_s=1, min_duration_s=2)
    >>> spans[["start_s", "end_s", "p_value", "rupture", "repaired", "repair_time_s"]].values.tolist()
    [[13.5, 17.5, 0.045454545454545456, True, True, 4.0]]
    """
    func = "mismatch_spans"
    if not 0 < alpha < 1:
        raise ParameterError.expected("alpha", func, "in (0, 1)", alpha)
    for name, value in (("window_s", window_s), ("step_s", step_s)):
        check_positive(value, name, func)
    if merge_gap_s is None:
        merge_gap_s = window_s
    if span_alpha == "alpha":
        span_alpha = alpha
    if span_alpha is not None and not 0 < span_alpha <= 1:
        raise ParameterError.expected("span_alpha", func, "in (0, 1] or None", span_alpha)
    for name, value in (("min_duration_s", min_duration_s), ("merge_gap_s", merge_gap_s),
                        ("min_sync_s", min_sync_s)):
        check_positive(value, name, func, allow_zero=True)
    n_windows = len(windows)
    null = _null(surrogate_peaks, n_windows, "surrogate_peaks", func)
    if active is not None and len(active) != n_windows:
        raise ParameterError.expected("active", func, f"{n_windows} rows, one per window", f"{len(active)} rows")
    if n_windows == 0 or not np.isfinite(null).any():
        return pd.DataFrame(columns=MISMATCH_COLUMNS)

    peak = windows["peak_r"].to_numpy(dtype=float)
    with _quiet_nan_warnings():
        threshold = np.nanquantile(null, 1 - alpha, axis=0)
    centre = np.asarray(windows.index, dtype=float) + window_s / 2
    synchronous = peak > threshold
    if active is None:
        persons, act = [], np.ones((n_windows, 0), dtype=bool)
        anyone = np.ones(n_windows, dtype=bool)
    else:
        persons, act = [str(c) for c in active.columns], active.to_numpy(dtype=bool)
        anyone = act.any(axis=1)
    # NaN windows (no data) are not evidence of mismatch.
    candidates = [("chance", (peak <= threshold) & anyone, threshold - peak, None)]
    if surrogate_troughs is not None and "trough_r" in windows:
        troughs = _null(surrogate_troughs, n_windows, "surrogate_troughs", func)
        trough = windows["trough_r"].to_numpy(dtype=float)
        with _quiet_nan_warnings():
            low = np.nanquantile(troughs, alpha, axis=0)
        # Negative at some lag while no lag is above chance: the answer is the opposite
        # of the bid. (A coupled pair's far lags can dip below chance on their own.)
        candidates.append(("negative", (trough < low) & (peak <= threshold), low - trough, (trough, troughs)))

    bridge = int(round(merge_gap_s / step_s))
    sync_runs = [(lo, hi) for lo, hi in _runs(synchronous, max_bridge=0)
                 if (hi - lo + 1) * step_s >= min_sync_s - 1e-9]
    rows = []
    for kind, flags, below, negative in candidates:
        for first, last in _runs(flags, max_bridge=bridge):
            start = centre[first] - step_s / 2
            end = centre[last] + step_s / 2
            if end - start < min_duration_s - 1e-9:
                continue
            share = act[first : last + 1].mean(axis=0) if len(persons) else np.zeros(0)
            bidders = [p for p, s in zip(persons, share) if s >= 0.5]
            if negative is None:
                p_value = _placement_p(peak, first, last)
            else:
                trough, troughs = negative
                obs = np.nanmean(trough[first : last + 1])
                surr = np.nanmean(troughs[:, first : last + 1], axis=1)
                p_value = (1 + int(np.sum(surr <= obs))) / (1 + int(np.isfinite(surr).sum()))
            if span_alpha is not None and p_value > span_alpha:
                continue
            before = [r for r in sync_runs if first - bridge - 1 <= r[1] < first]
            after = [r for r in sync_runs if last < r[0] <= last + bridge + 1]
            rupture = bool(before)
            repaired = rupture and bool(after)
            rows.append({
                "start_s": round(start, 9), "end_s": round(end, 9), "duration_s": round(end - start, 9),
                "features": features, "kind": kind, "active": "+".join(bidders),
                "not_following": next((p for p in persons if p not in bidders), "") if len(bidders) == 1 else "",
                "strength": float(np.nanmean(below[first : last + 1])), "p_value": p_value,
                "rupture": rupture, "repaired": repaired,
                "repair_time_s": round(centre[after[0][0]] - step_s / 2 - start, 9) if repaired else math.nan,
            })
    out = pd.DataFrame(rows, columns=MISMATCH_COLUMNS)
    return out.sort_values(["start_s", "kind"], ignore_index=True)


def rupture_repair(spans: pd.DataFrame, duration_s: float) -> dict:
    """Session summary of ruptures and repairs from :func:`mismatch_spans` output.

    Parameters
    ----------
    spans : pandas.DataFrame
        Mismatch spans of one feature pair.
    duration_s : float
        Length of the analysed session in seconds.

    Returns
    -------
    dict
        ``n_ruptures``, ``share_repaired`` (of ruptures; NaN without ruptures),
        ``median_repair_time_s`` (of repaired ruptures) and ``mismatch_share``, the
        share of the session's time inside a mismatch span of any kind (overlaps
        counted once).

    Examples
    --------
    >>> import pandas as pd
    >>> from synchrony.analysis.mismatch import rupture_repair
    >>> spans = pd.DataFrame({"start_s": [10.0, 50.0], "end_s": [20.0, 55.0],
    ...                       "rupture": [True, True], "repaired": [True, False],
    ...                       "repair_time_s": [10.0, float("nan")]})
    >>> rupture_repair(spans, 100.0)
    {'n_ruptures': 2, 'share_repaired': 0.5, 'median_repair_time_s': 10.0, 'mismatch_share': 0.15}
    """
    check_positive(duration_s, "duration_s", "rupture_repair")
    ruptures = spans[spans["rupture"].astype(bool)] if len(spans) else spans
    repaired = ruptures[ruptures["repaired"].astype(bool)] if len(ruptures) else ruptures
    covered, reach = 0.0, -math.inf
    for start, end in sorted(zip(spans["start_s"], spans["end_s"])):
        covered += max(0.0, end - max(start, reach))
        reach = max(reach, end)
    return {
        "n_ruptures": int(len(ruptures)),
        "share_repaired": len(repaired) / len(ruptures) if len(ruptures) else math.nan,
        "median_repair_time_s": float(np.median(repaired["repair_time_s"])) if len(repaired) else math.nan,
        "mismatch_share": round(covered / duration_s, 12),
    }


def _placement_p(peak, first, last):
    """How often a same-length block elsewhere (circular, not overlapping) is as low."""
    n = peak.size
    length = last - first + 1
    valid = np.isfinite(peak)
    doubled = np.r_[np.where(valid, peak, 0.0), np.where(valid, peak, 0.0)]
    count = np.r_[valid, valid].astype(float)
    csum = np.r_[0.0, np.cumsum(doubled)]
    ccount = np.r_[0.0, np.cumsum(count)]
    starts = np.arange(n)
    # A block starting at k covers k .. k + length - 1 (mod n); it misses the span when
    # it starts after the span and ends before the span comes round again.
    offset = (starts - first) % n
    apart = (offset >= length) & (offset <= n - length)
    k = starts[apart]
    with np.errstate(invalid="ignore", divide="ignore"):
        means = (csum[k + length] - csum[k]) / (ccount[k + length] - ccount[k])
    means = means[np.isfinite(means)]
    if means.size == 0:
        return math.nan
    observed = np.nanmean(peak[first : last + 1])
    return (1 + int(np.sum(means <= observed))) / (1 + means.size)


def _null(values, n_windows, name, func):
    null = np.asarray(values, dtype=float)
    if null.ndim != 2 or null.shape[1] != n_windows:
        raise ParameterError.expected(name, func, f"shape (n_surrogates, {n_windows})", f"shape {null.shape}")
    return null


@contextlib.contextmanager
def _quiet_nan_warnings():
    """All-NaN windows are expected (missing data): their NaN result says enough."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


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
