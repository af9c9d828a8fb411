"""Pseudo-synchrony baselines: what the windowed correlation gives by chance.

Circular shifting keeps each series' own dynamics (autocorrelation, activity
level) and breaks only their alignment, so windows of a shifted pair show the
synchrony two such people would show without responding to each other.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from synchrony._validate import check_positive
from synchrony.analysis.xcorr import peak_lags, windowed_xcorr
from synchrony.errors import ParameterError

__all__ = ["circular_shift_peaks"]


def circular_shift_peaks(
    a,
    b,
    rate_hz: float,
    *,
    window_s: float,
    step_s: float,
    max_lag_s: float,
    n_surrogates: int = 200,
    min_shift_s: float | None = None,
    absolute: bool = False,
    seed=None,
) -> np.ndarray:
    """Window peak correlations of circularly shifted pairs.

    For each surrogate, ``b`` is rotated by a random whole number of samples drawn
    uniformly from ``[min_shift, n - min_shift]`` and the windowed cross-correlation
    of ``a`` with the rotated ``b`` is peak-picked per window, exactly as the observed
    pair is.

    Parameters
    ----------
    a, b : array-like, shape (n_samples,)
        The two series at ``rate_hz`` (NaN for missing samples).
    rate_hz, window_s, step_s, max_lag_s
        As in :func:`synchrony.windowed_xcorr`.
    n_surrogates : int, default 200
    min_shift_s : float, optional
        Smallest rotation in seconds; default ``window_s + 2 * max_lag_s`` so that no
        surrogate window meets its own partner's window.
    absolute : bool, default False
        Peak-pick on ``|r|`` (as the observed pair must be).
    seed : int or numpy.random.Generator, optional
        All randomness comes from ``numpy.random.default_rng(seed)``.

    Returns
    -------
    numpy.ndarray, shape (n_surrogates, n_windows)
        Peak r (not Fisher z) of every surrogate window; NaN where undefined.

    Examples
    --------
    >>> import numpy as np
    >>> from synchrony.analysis.surrogates import circular_shift_peaks
    >>> rng = np.random.default_rng(0)
    >>> a, b = rng.standard_normal((2, 600))
    >>> circular_shift_peaks(a, b, 10, window_s=5, step_s=5, max_lag_s=1,
    ...                      n_surrogates=3, seed=1).shape
    (3, 11)
    """
    func = "circular_shift_peaks"
    b = np.asarray(b, dtype=float)
    n = b.size
    if not isinstance(n_surrogates, (int, np.integer)) or n_surrogates < 1:
        raise ParameterError.expected("n_surrogates", func, "an int >= 1", n_surrogates)
    if min_shift_s is None:
        min_shift_s = window_s + 2 * max_lag_s
    check_positive(min_shift_s, "min_shift_s", func, allow_zero=True)
    min_shift = int(round(min_shift_s * rate_hz))
    if n - 2 * min_shift < 1:
        raise ParameterError.expected(
            "min_shift_s", func, f"less than half the series ({n / rate_hz / 2:g} s)", min_shift_s
        )
    rng = np.random.default_rng(seed)
    shifts = rng.integers(min_shift, n - min_shift + 1, size=n_surrogates)
    a = np.asarray(a, dtype=float)
    rows = []
    for shift in shifts:
        xc = windowed_xcorr(a, np.roll(b, shift), rate_hz, window_s=window_s, step_s=step_s,
                            max_lag_s=max_lag_s, fisher_z=False)
        rows.append(peak_lags(xc, absolute=absolute)["peak_r"].to_numpy())
    return np.array(rows).reshape(n_surrogates, -1)
