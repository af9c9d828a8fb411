"""Signals: every person's features on one uniform clock.

A Signals table is a plain pandas DataFrame indexed by ``time_s`` (seconds on the
session clock, uniform steps of ``1 / rate_hz``) with two-level columns
``(person, feature)``. Missing data is NaN, never 0.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from synchrony._validate import check_positive
from synchrony.errors import ParameterError

__all__ = ["build_signals", "to_flat", "from_flat", "rate_of", "shared_features"]


def build_signals(
    tracks: Mapping[str, pd.DataFrame],
    *,
    rate_hz: float = 10.0,
    max_gap_s: float = 0.5,
    start_s: float | None = None,
    end_s: float | None = None,
    keep_gaps=("f0_hz", "f0_st"),
) -> pd.DataFrame:
    """Put per-person tracks sampled at their own (possibly irregular) times on one clock.

    Each output sample at time ``t`` is the mean of the track's samples with times in
    ``[t - 0.5 / rate_hz, t + 0.5 / rate_hz)`` (bin averaging, which also smooths away
    what the slower clock cannot represent). Interior runs of empty or missing bins no
    longer than ``max_gap_s`` are linearly interpolated; longer gaps stay NaN.
    Boolean quality columns (``face_detected``, ``voice_active``) become the share of
    the bin's samples where they were true, and are never interpolated.

    Parameters
    ----------
    tracks : mapping of str to pandas.DataFrame
        Person label -> that person's track, indexed by time in seconds (the frame or
        audio-frame times from the extractors), one column per feature. Several
        mappings can be merged by the caller beforehand (video and voice features of
        one person are concatenated by column).
    rate_hz : float, default 10.0
        Rate of the common clock, in Hz.
    max_gap_s : float, default 0.5
        Longest gap, in seconds, that is filled by interpolation. 0 fills nothing.
    start_s, end_s : float, optional
        Clock range; by default the earliest and latest track times.
    keep_gaps : collection of str, default ("f0_hz", "f0_st")
        Features never interpolated: pitch exists only while someone speaks, so a
        short pause is not a gap to bridge.

    Returns
    -------
    pandas.DataFrame, shape (n_times, n_person_features)
        Index ``time_s`` = ``k / rate_hz`` for whole k (the grid is anchored at the
        session clock's zero, so tracks of one session always share it); columns a
        MultiIndex ``(person, feature)``.

    Examples
    --------
    >>> import pandas as pd
    >>> from synchrony.signals import build_signals
    >>> t = pd.Index([0.0, 0.04, 0.08, 0.12, 0.16, 0.21], name="time_s")
    >>> track = pd.DataFrame({"x": [0.0, 1, 2, 3, 4, 5]}, index=t)
    >>> build_signals({"A": track}, rate_hz=10)["A", "x"].tolist()
    [0.5, 2.5, 4.5]
    """
    func = "build_signals"
    check_positive(rate_hz, "rate_hz", func)
    check_positive(max_gap_s, "max_gap_s", func, allow_zero=True)
    if not tracks:
        raise ParameterError.expected("tracks", func, "a non-empty mapping of person to track", tracks)
    times = [np.asarray(t.index, dtype=float) for t in tracks.values() if len(t)]
    if not times:
        raise ParameterError.expected("tracks", func, "tracks with at least one sample", "only empty tracks")
    lo = min(t.min() for t in times) if start_s is None else start_s
    hi = max(t.max() for t in times) if end_s is None else end_s
    first, last = int(np.ceil(lo * rate_hz - 0.5)), int(np.floor(hi * rate_hz + 0.5))
    grid = np.arange(first, last + 1)
    index = pd.Index(np.round(grid / rate_hz, 9), name="time_s")

    columns = {}
    max_gap = int(np.floor(max_gap_s * rate_hz + 1e-9))
    for person, track in tracks.items():
        bins = np.floor(np.asarray(track.index, dtype=float) * rate_hz + 0.5).astype(np.int64) - first
        inside = (bins >= 0) & (bins < grid.size)
        for feature in track.columns:
            values = track[feature]
            is_quality = values.dtype == bool
            binned = _bin_mean(values.to_numpy(dtype=float)[inside], bins[inside], grid.size)
            if not is_quality and feature not in keep_gaps:
                binned = _fill_gaps(binned, max_gap)
            columns[(person, feature)] = binned
    out = pd.DataFrame(columns, index=index)
    out.columns = pd.MultiIndex.from_tuples(out.columns, names=["person", "feature"])
    return out


def to_flat(signals: pd.DataFrame) -> pd.DataFrame:
    """Signals with flat ``<person>.<feature>`` column names and ``time_s`` as a column."""
    flat = signals.copy()
    flat.columns = [f"{p}.{f}" for p, f in signals.columns]
    return flat.reset_index()


def from_flat(flat: pd.DataFrame) -> pd.DataFrame:
    """Inverse of :func:`to_flat`: ``time_s`` index and ``(person, feature)`` columns."""
    if "time_s" not in flat.columns:
        raise ParameterError.expected("flat", "from_flat", "a table with a 'time_s' column", list(flat.columns)[:5])
    data = flat.set_index("time_s")
    pairs = [tuple(c.split(".", 1)) if "." in c else (c, "") for c in data.columns]
    data.columns = pd.MultiIndex.from_tuples(pairs, names=["person", "feature"])
    return data


def rate_of(signals: pd.DataFrame) -> float:
    """Sampling rate (Hz) of Signals on a uniform clock, from its ``time_s`` index.

    Rounded to 9 significant digits: times read from files carry float noise (rMEA's
    ``k / 25`` gives 25.000000000000533 Hz) that must not change how many samples a
    window in seconds holds.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rate_of(pd.DataFrame(index=pd.Index(np.arange(100) / 25, name="time_s")))
    25.0
    """
    return float(f"{1.0 / float(np.median(np.diff(np.asarray(signals.index, dtype=float)))):.9g}")


def shared_features(signals: pd.DataFrame, persons) -> list:
    """Features both persons have, in the first person's order (quality flags left out)."""
    a, b = persons
    return [f for f in signals[a].columns if f in signals[b].columns and f != "face_detected"]


def _bin_mean(values, bins, n_bins):
    ok = ~np.isnan(values)
    total = np.bincount(bins[ok], weights=values[ok], minlength=n_bins)
    count = np.bincount(bins[ok], minlength=n_bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan)


def _fill_gaps(x, max_gap):
    """Linearly interpolate interior NaN runs of at most ``max_gap`` samples."""
    missing = np.isnan(x)
    if max_gap == 0 or not missing.any() or missing.all():
        return x
    known = np.flatnonzero(~missing)
    filled = np.interp(np.arange(x.size), known, x[known])
    # Length of the NaN run each sample belongs to, and whether it is interior.
    edges = np.diff(np.concatenate([[0], missing.astype(np.int8), [0]]))
    run_starts, run_ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    out = x.copy()
    for s, e in zip(run_starts, run_ends):
        if e - s <= max_gap and s > 0 and e < x.size:
            out[s:e] = filled[s:e]
    return out
