"""Pseudo-synchrony baselines: what the windowed correlation gives by chance.

Each method keeps the partners' own dynamics (autocorrelation, activity level) and
breaks only their alignment, so the windows of a surrogate pair show the synchrony
two such people would show without responding to each other:

- ``"circular"``: B rotated by a random shift of at least ``min_shift_s``;
- ``"segment"``: B cut into ``segment_s`` long pieces put back in random order
  (Moulder, Boker, Ramseyer & Tschacher 2018, segment shuffling);
- pseudo-dyads: A of one session with B of another (rMEA's ``MEAshuffle``), see
  :func:`pseudo_dyad_pairs` and :func:`synchrony.analysis.stats.pseudo_dyad_test`.
"""

from __future__ import annotations

import numpy as np

from synchrony._validate import check_positive, check_series
from synchrony.analysis.xcorr import peak_lags, windowed_xcorr
from synchrony.errors import ParameterError

__all__ = ["METHODS", "circular_shift", "segment_shuffle", "pseudo_dyad_pairs", "surrogate_peaks"]

#: Surrogate methods that need only the pair itself.
METHODS = ("circular", "segment")


def circular_shift(b, rate_hz: float, *, n_surrogates: int, min_shift_s: float, seed=None) -> np.ndarray:
    """Copies of ``b`` rotated by random shifts of at least ``min_shift_s``.

    Parameters
    ----------
    b : array-like, shape (n_samples,)
    rate_hz : float
    n_surrogates : int
    min_shift_s : float
        Shifts are whole samples drawn uniformly from ``[m, n - m]`` with
        ``m = round(min_shift_s * rate_hz)``, so no copy lies within ``m`` samples of
        the original alignment (in either direction).
    seed : int or numpy.random.Generator, optional

    Returns
    -------
    numpy.ndarray, shape (n_surrogates, n_samples)

    Examples
    --------
    >>> from synchrony.analysis.surrogates import circular_shift
    >>> circular_shift([0, 1, 2, 3, 4, 5], 1, n_surrogates=2, min_shift_s=2, seed=0)
    array([[2., 3., 4., 5., 0., 1.],
           [3., 4., 5., 0., 1., 2.]])
    """
    func = "circular_shift"
    b = _series(b, func)
    _check_count(n_surrogates, func)
    check_positive(rate_hz, "rate_hz", func)
    check_positive(min_shift_s, "min_shift_s", func, allow_zero=True)
    n = b.size
    m = int(round(min_shift_s * rate_hz))
    if n - 2 * m < 0:
        raise ParameterError.expected(
            "min_shift_s", func, f"at most half the series ({n / rate_hz / 2:g} s)", min_shift_s)
    shifts = np.random.default_rng(seed).integers(m, n - m + 1, size=n_surrogates)
    index = (np.arange(n)[None, :] - shifts[:, None]) % n
    return b[index]


def segment_shuffle(b, rate_hz: float, *, n_surrogates: int, segment_s: float, seed=None) -> np.ndarray:
    """Copies of ``b`` cut into segments that are put back in random order.

    ``b`` is cut into consecutive segments of ``round(segment_s * rate_hz)`` samples
    (the last one shorter when the length is not a multiple); each copy concatenates
    the segments in an independent random permutation. Within a segment the samples
    keep their order, so the series' short-range dynamics survive.

    Parameters
    ----------
    b : array-like, shape (n_samples,)
    rate_hz : float
    n_surrogates : int
    segment_s : float
        Segment length in seconds. Segments at least as long as a correlation window
        plus both lags keep each surrogate window's autocorrelation as in the original.
    seed : int or numpy.random.Generator, optional

    Returns
    -------
    numpy.ndarray, shape (n_surrogates, n_samples)

    Examples
    --------
    >>> from synchrony.analysis.surrogates import segment_shuffle
    >>> segment_shuffle([0, 1, 2, 3, 4, 5, 6], 1, n_surrogates=1, segment_s=3, seed=3)
    array([[6., 3., 4., 5., 0., 1., 2.]])
    """
    func = "segment_shuffle"
    b = _series(b, func)
    _check_count(n_surrogates, func)
    check_positive(rate_hz, "rate_hz", func)
    check_positive(segment_s, "segment_s", func)
    n = b.size
    seg = int(round(segment_s * rate_hz))
    if seg < 1 or n // seg < 2:
        raise ParameterError.expected(
            "segment_s", func, f"between 1 sample and half the series ({n / rate_hz / 2:g} s)", segment_s)
    edges = np.append(np.arange(0, n, seg), n)
    pieces = [np.arange(lo, hi) for lo, hi in zip(edges[:-1], edges[1:])]
    rng = np.random.default_rng(seed)
    index = np.empty((n_surrogates, n), dtype=np.intp)
    for k in range(n_surrogates):
        index[k] = np.concatenate([pieces[i] for i in rng.permutation(len(pieces))])
    return b[index]


def pseudo_dyad_pairs(n_sessions: int, *, n_pairs: int | None = None, seed=None) -> np.ndarray:
    """Cross-session pairings (A of session i, B of session j, i != j).

    Parameters
    ----------
    n_sessions : int
        Number of real dyads (at least 2).
    n_pairs : int, optional
        Draw this many pairings at random without replacement; default all
        ``n_sessions * (n_sessions - 1)`` of them, in order.
    seed : int or numpy.random.Generator, optional

    Returns
    -------
    numpy.ndarray of int, shape (n_pairs, 2)
        Columns: session of A, session of B.

    Examples
    --------
    >>> from synchrony.analysis.surrogates import pseudo_dyad_pairs
    >>> pseudo_dyad_pairs(3).tolist()
    [[0, 1], [0, 2], [1, 0], [1, 2], [2, 0], [2, 1]]
    """
    func = "pseudo_dyad_pairs"
    if not isinstance(n_sessions, (int, np.integer)) or n_sessions < 2:
        raise ParameterError.expected("n_sessions", func, "an int >= 2", n_sessions)
    i, j = np.nonzero(~np.eye(n_sessions, dtype=bool))
    pairs = np.column_stack([i, j])
    if n_pairs is None:
        return pairs
    if not isinstance(n_pairs, (int, np.integer)) or not 1 <= n_pairs <= len(pairs):
        raise ParameterError.expected("n_pairs", func, f"an int in [1, {len(pairs)}]", n_pairs)
    chosen = np.random.default_rng(seed).choice(len(pairs), size=n_pairs, replace=False)
    return pairs[chosen]


def surrogate_peaks(
    a,
    b,
    rate_hz: float,
    *,
    window_s: float,
    step_s: float,
    max_lag_s: float,
    method: str = "circular",
    n_surrogates: int = 200,
    min_shift_s: float | None = None,
    segment_s: float | None = None,
    absolute: bool = False,
    with_troughs: bool = False,
    seed=None,
):
    """Window peak correlations of surrogate pairs (A with a re-ordered B).

    Every surrogate pair is windowed, correlated and peak-picked exactly as the
    observed pair is (:func:`synchrony.windowed_xcorr`, :func:`synchrony.peak_lags`),
    so its windows line up with the observed ones.

    Parameters
    ----------
    a, b : array-like, shape (n_samples,)
        The two series at ``rate_hz`` (NaN for missing samples).
    rate_hz, window_s, step_s, max_lag_s
        As in :func:`synchrony.windowed_xcorr`.
    method : {"circular", "segment"}, default "circular"
        See :func:`circular_shift` and :func:`segment_shuffle`.
    n_surrogates : int, default 200
    min_shift_s : float, optional
        For ``"circular"``; default ``window_s + 2 * max_lag_s``, so that no surrogate
        window meets its own partner's window.
    segment_s : float, optional
        For ``"segment"``; default ``window_s + 2 * max_lag_s``.
    absolute : bool, default False
        Peak-pick on ``|r|`` (as the observed pair must be).
    with_troughs : bool, default False
        Also return each surrogate window's lowest r over the lags.
    seed : int or numpy.random.Generator, optional

    Returns
    -------
    numpy.ndarray, shape (n_surrogates, n_windows)
        Peak r (not Fisher z) of every surrogate window; NaN where undefined. With
        ``with_troughs=True``, a tuple ``(peaks, troughs)`` of that shape.

    Examples
    --------
    >>> import numpy as np
    >>> from synchrony.analysis.surrogates import surrogate_peaks
    >>> rng = np.random.default_rng(0)
    >>> a, b = rng.standard_normal((2, 600))
    >>> surrogate_peaks(a, b, 10, window_s=5, step_s=5, max_lag_s=1,
    ...                 method="segment", n_surrogates=3, seed=1).shape
    (3, 11)
    """
    func = "surrogate_peaks"
    if method not in METHODS:
        raise ParameterError.expected("method", func, f"one of {METHODS}", method)
    default = window_s + 2 * max_lag_s
    if method == "circular":
        copies = circular_shift(b, rate_hz, n_surrogates=n_surrogates, seed=seed,
                                min_shift_s=default if min_shift_s is None else min_shift_s)
    else:
        copies = segment_shuffle(b, rate_hz, n_surrogates=n_surrogates, seed=seed,
                                 segment_s=default if segment_s is None else segment_s)
    a = np.asarray(a, dtype=float)
    peaks, troughs = [], []
    for copy in copies:
        xc = windowed_xcorr(a, copy, rate_hz, window_s=window_s, step_s=step_s,
                            max_lag_s=max_lag_s, fisher_z=False)
        peaks.append(peak_lags(xc, absolute=absolute)["peak_r"].to_numpy())
        if with_troughs:
            troughs.append(-peak_lags(-xc)["peak_r"].to_numpy())
    peaks = np.array(peaks).reshape(n_surrogates, -1)
    return (peaks, np.array(troughs).reshape(n_surrogates, -1)) if with_troughs else peaks


def _series(b, func):
    arr = check_series(b, "b", func)
    if arr.size < 2:
        raise ParameterError.expected("b", func, "a series of at least 2 samples", f"{arr.size} sample(s)")
    return arr


def _check_count(n_surrogates, func):
    if not isinstance(n_surrogates, (int, np.integer)) or isinstance(n_surrogates, bool) or n_surrogates < 1:
        raise ParameterError.expected("n_surrogates", func, "an int >= 1", n_surrogates)
