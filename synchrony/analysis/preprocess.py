"""Preprocessing of Signals before correlation: outliers, smoothing, detrending, scaling.

Each step is a small public function on one series; :func:`preprocess` applies the
chosen steps to every column of a Signals table (each person x feature on its own) in
one fixed order. Where rMEA (Kleinbub & Ramseyer 2020) has the step, its definition is
mirrored and its default kept (see :data:`RMEA_SMOOTH_S`, :data:`RMEA_OUTLIER_SD`).

Missing samples (NaN) are never filled: every step computes its statistics from the
valid samples only and leaves missing samples missing.
"""

from __future__ import annotations

import logging
import math
import warnings

import numpy as np
import pandas as pd

from synchrony._validate import check_positive, check_series
from synchrony.errors import ParameterError

__all__ = [
    "preprocess",
    "moving_average",
    "detrend_linear",
    "rescale",
    "zscore",
    "flag_outliers",
    "PreprocessWarning",
    "OutlierWarning",
    "RMEA_SMOOTH_S",
    "RMEA_OUTLIER_SD",
]

log = logging.getLogger("synchrony")

#: rMEA's default moving-average window in seconds (``MEAsmooth(moving.average.win = 0.5)``,
#: R/rMea_filter.R).
RMEA_SMOOTH_S = 0.5
#: rMEA's outlier threshold in standard deviations (``readMEA`` warns about, and
#: ``MEAoutlier`` removes, values above 10 SD; R/rMEA_IO.R, R/rMea_filter.R).
RMEA_OUTLIER_SD = 10.0

_OUTLIER_ACTIONS = ("missing", "keep")


class PreprocessWarning(UserWarning):
    """A preprocessing step changed or lost data the user should know about."""


class OutlierWarning(PreprocessWarning):
    """Samples of a column lie more than ``outlier_sd`` SD from its mean."""


def preprocess(
    signals: pd.DataFrame,
    *,
    rate_hz: float | None = None,
    smooth_s: float | None = None,
    detrend: bool = False,
    rescale: bool = False,
    zscore: bool = False,
    outlier_sd: float | None = None,
    outlier_action: str = "missing",
    columns=None,
    warn: bool = True,
) -> pd.DataFrame:
    """Apply the chosen preprocessing steps to each column of a Signals table.

    The steps run in this order, each on every column independently (no statistic is
    shared between persons or features), and each only if asked for:

    1. outliers (``outlier_sd``): :func:`flag_outliers` on the raw values, so a spike
       is found before smoothing spreads it; flagged samples become NaN
       (``outlier_action="missing"``, as rMEA's ``MEAoutlier(replace = NA)``) or are
       kept; either way a :class:`OutlierWarning` names the column and the share.
    2. smoothing (``smooth_s``): :func:`moving_average`.
    3. detrending (``detrend``): :func:`detrend_linear`.
    4. rescaling (``rescale``): :func:`rescale`, division by the SD (rMEA's
       ``MEAscale`` default).
    5. z-scoring (``zscore``): :func:`zscore`. It includes the division by the SD, so
       with ``zscore=True`` the ``rescale`` step is skipped.

    With no step chosen the result is an unchanged copy.

    Parameters
    ----------
    signals : pandas.DataFrame, shape (n_times, n_columns)
        Signals: index ``time_s`` (seconds, uniform steps of ``1 / rate_hz``), columns
        ``(person, feature)``. Missing samples are NaN.
    rate_hz : float, optional
        Sampling rate in Hz. By default it is read from the time index (which must then
        be uniform); it is needed only for smoothing.
    smooth_s : float, optional
        Moving-average window in seconds; None = no smoothing. rMEA's default is
        :data:`RMEA_SMOOTH_S` (0.5 s).
    detrend : bool, default False
        Remove each column's least-squares straight line.
    rescale : bool, default False
        Divide each column by its SD (no centring).
    zscore : bool, default False
        Centre each column on its mean and divide by its SD.
    outlier_sd : float, optional
        Flag samples more than this many SD from their column's mean; None = no
        check. rMEA's threshold is :data:`RMEA_OUTLIER_SD` (10).
    outlier_action : {"missing", "keep"}, default "missing"
        What happens to flagged samples: set to NaN, or only reported.
    columns : column label or list of column labels, optional
        Columns to process, e.g. ``[("A", "head_motion"), ("B", "head_motion")]``
        (default: all); the others are passed through unchanged.
    warn : bool, default True
        Emit :class:`PreprocessWarning` s (outliers found; a constant column that
        cannot be rescaled or z-scored and is set to missing). With False the same
        happens, and the message goes to the ``synchrony`` logger at INFO instead.

    Returns
    -------
    pandas.DataFrame, shape (n_times, n_columns)
        A new table with the same index and columns; processed columns are float.
        Samples missing in the input stay missing; none are filled. No step shifts a
        column relative to another, so lags between persons are unchanged.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from synchrony.analysis.preprocess import preprocess
    >>> index = pd.Index(np.arange(6) / 10, name="time_s")
    >>> cols = pd.MultiIndex.from_tuples([("A", "x"), ("B", "x")], names=["person", "feature"])
    >>> sig = pd.DataFrame({("A", "x"): [0.0, 0, 3, 0, 0, 0], ("B", "x"): [1.0, 2, 3, 4, 5, 6]})
    >>> sig.index, sig.columns = index, cols
    >>> out = preprocess(sig, smooth_s=0.3)  # 3 samples at 10 Hz (rate from the index)
    >>> out["A", "x"].tolist(), out["B", "x"].tolist()
    ([0.0, 1.0, 1.0, 1.0, 0.0, 0.0], [1.5, 2.0, 3.0, 4.0, 5.0, 5.5])
    >>> preprocess(sig, detrend=True)["B", "x"].round(12).tolist()
    [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    """
    func = "preprocess"
    if not isinstance(signals, pd.DataFrame):
        raise ParameterError.expected("signals", func, "a pandas DataFrame (Signals)", type(signals).__name__)
    for name, value in (("detrend", detrend), ("rescale", rescale), ("zscore", zscore), ("warn", warn)):
        if not isinstance(value, (bool, np.bool_)):
            raise ParameterError.expected(name, func, "True or False", value)
    if outlier_sd is not None:
        outlier_sd = check_positive(outlier_sd, "outlier_sd", func)
    if outlier_action not in _OUTLIER_ACTIONS:
        raise ParameterError.expected("outlier_action", func, "'missing' or 'keep'", outlier_action)
    window = None
    if smooth_s is not None:
        check_positive(smooth_s, "smooth_s", func)
        rate = _rate_from_index(signals.index, func) if rate_hz is None else check_positive(rate_hz, "rate_hz", func)
        window = _window_samples(smooth_s, rate, "smooth_s", func)
    elif rate_hz is not None:
        check_positive(rate_hz, "rate_hz", func)
    targets = _columns(signals, columns, func)

    out = signals.copy()
    for col in targets:
        label = _label(col)
        try:
            x = signals[col].to_numpy(dtype=float)
        except (TypeError, ValueError):
            raise ParameterError.expected("signals", func, "numeric columns", f"column {label!r} of dtype "
                                          f"{signals[col].dtype}") from None
        if np.isinf(x).any():
            raise ParameterError.expected("signals", func, "finite or NaN values", f"an infinite value in {label!r}")
        if outlier_sd is not None:
            flagged = _flag(x, outlier_sd, center=True)
            n_flag = int(flagged.sum())
            if n_flag:
                n_valid = int(np.count_nonzero(~np.isnan(x)))
                fate = "set to missing" if outlier_action == "missing" else "kept"
                _warn(warn, OutlierWarning,
                      f"{label}: {_percent(n_flag / n_valid)} of samples ({n_flag} of {n_valid}) more than "
                      f"{outlier_sd:g} SD from the mean {fate}")
                if outlier_action == "missing":
                    x = np.where(flagged, np.nan, x)
        if window is not None:
            x = _moving_average(x, window)
        if detrend:
            x = _detrend(x)
        if zscore or rescale:
            x, constant = _scale(x, center=zscore)
            if constant:
                _warn(warn, PreprocessWarning, f"{label}: constant or fewer than 2 valid samples, cannot be "
                      f"{'z-scored' if zscore else 'rescaled'}; set to missing")
        out[col] = x
    log.debug("preprocess: %d column(s); smooth_s=%s detrend=%s rescale=%s zscore=%s outlier_sd=%s",
              len(targets), smooth_s, detrend, rescale, zscore, outlier_sd)
    return out


def moving_average(x, rate_hz: float, *, window_s: float):
    """Moving average over a window given in seconds (rMEA's ``MEAsmooth``).

    The window holds ``m = floor(window_s * rate_hz)`` samples: sample ``i`` becomes the
    mean of the valid samples among ``x[i - m//2 : i - m//2 + m]``. For odd ``m`` the
    window is centred; for even ``m`` it reaches one sample further back, as in rMEA
    (``sasFiltB`` in R/rMea_filter.R), which delays the series by half a sample
    (``0.5 / rate_hz`` s, the same for every column, so lags between persons do not
    change). At 25 Hz rMEA's default 0.5 s is 12 samples: ``x[i-6 : i+6]``.

    Missing samples are handled so that nothing is invented and nothing spreads: a
    missing input sample stays missing, a window's mean is taken over its valid
    samples only, and a window with none is NaN. The first and last ``m//2`` samples
    average over the part of the window inside the series.

    rMEA differs in scale and at the edges, not in shape: it divides every window's sum
    by ``window_s * rate_hz`` (12.5 at its default, so the interior is 12/12.5 = 0.96
    times the mean here, which no correlation can see), so its edges are pulled toward
    0, and a window touching a missing sample (or, in rMEA, the end of the series)
    becomes 0.

    Parameters
    ----------
    x : array-like or pandas.Series, shape (n_samples,)
        One series sampled at ``rate_hz``; NaN = missing.
    rate_hz : float
        Sampling rate in Hz.
    window_s : float
        Window length in seconds; must hold at least one sample (``m >= 1``).

    Returns
    -------
    numpy.ndarray or pandas.Series, shape (n_samples,)
        The smoothed series (a Series with the same index if ``x`` is one).

    Examples
    --------
    >>> from synchrony.analysis.preprocess import moving_average
    >>> moving_average([0.0, 0, 0, 0, 5, 0, 0, 0, 0], 10.0, window_s=0.5).tolist()  # 5 samples
    [0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0]
    """
    func = "moving_average"
    arr = check_series(x, "x", func)
    rate = check_positive(rate_hz, "rate_hz", func)
    check_positive(window_s, "window_s", func)
    return _like(x, _moving_average(arr, _window_samples(window_s, rate, "window_s", func)))


def detrend_linear(x):
    """Remove the least-squares straight line through the valid samples.

    The line ``a + b * i`` (``i`` the sample number, equivalently time on a uniform
    clock) is fitted to the valid samples only and subtracted from them; missing
    samples stay missing. rMEA has no detrending step; this is the usual linear
    detrend (``scipy.signal.detrend(type="linear")``) made NaN-aware. With a single
    valid sample the line is that constant.

    Parameters
    ----------
    x : array-like or pandas.Series, shape (n_samples,)
        One series on a uniform clock; NaN = missing.

    Returns
    -------
    numpy.ndarray or pandas.Series, shape (n_samples,)
        Residuals from the line, in the units of ``x``.

    Examples
    --------
    >>> from synchrony.analysis.preprocess import detrend_linear
    >>> detrend_linear([1.0, 3.0, float("nan"), 7.0, 9.0]).round(12).tolist()
    [0.0, 0.0, nan, 0.0, 0.0]
    """
    return _like(x, _detrend(check_series(x, "x", "detrend_linear")))


def rescale(x):
    """Divide by the standard deviation of the valid samples, without centring.

    This is rMEA's ``MEAscale`` default (``scale = "sd"``, ``center = FALSE``,
    ``removeNA = TRUE``; R/rMea_filter.R): R's ``sd``, i.e. ``ddof=1``. A zero stays
    zero, so a motion-energy series keeps "no movement" at 0. A constant series (or
    one with fewer than 2 valid samples) has no scale and becomes all-NaN.

    Parameters
    ----------
    x : array-like or pandas.Series, shape (n_samples,)
        One series; NaN = missing.

    Returns
    -------
    numpy.ndarray or pandas.Series, shape (n_samples,)
        ``x / sd(x)``, dimensionless.

    Examples
    --------
    >>> from synchrony.analysis.preprocess import rescale
    >>> rescale([0.0, 2.0, float("nan"), 4.0]).tolist()  # sd of (0, 2, 4) is 2
    [0.0, 1.0, nan, 2.0]
    """
    return _like(x, _scale(check_series(x, "x", "rescale"), center=False)[0])


def zscore(x):
    """Standardise: subtract the mean and divide by the SD of the valid samples.

    The SD has ``ddof=1`` (R's ``scale``, which rMEA's ``MEAscale`` calls), so the valid
    samples of the result have mean 0 and sample SD 1. Missing samples stay missing. A
    constant series (or one with fewer than 2 valid samples) becomes all-NaN.

    Parameters
    ----------
    x : array-like or pandas.Series, shape (n_samples,)
        One series; NaN = missing.

    Returns
    -------
    numpy.ndarray or pandas.Series, shape (n_samples,)
        ``(x - mean(x)) / sd(x)``, in SD units.

    Examples
    --------
    >>> from synchrony.analysis.preprocess import zscore
    >>> zscore([1.0, float("nan"), 2.0, 3.0]).tolist()
    [-1.0, nan, 0.0, 1.0]
    """
    return _like(x, _scale(check_series(x, "x", "zscore"), center=True)[0])


def flag_outliers(x, *, k_sd: float, center: bool = True) -> np.ndarray:
    """Mark samples more than ``k_sd`` standard deviations from the mean.

    A sample is flagged when ``|x - mean| > k_sd * sd``, with the mean and SD
    (``ddof=1``) of the valid samples, computed once (not iterated; large spikes raise
    the SD, so a spike must stand out from a series that includes it). This is the usual
    z-score rule. Missing samples are never flagged.

    With ``center=False`` the distance is measured from zero, ``|x| > k_sd * sd``: rMEA's
    rule for motion energy, which is never negative (``readMEA`` warns about, and
    ``MEAoutlier`` removes, values above ``10 * sd``; R/rMEA_IO.R, R/rMea_filter.R). rMEA
    takes that SD over both persons of a dyad together; pass the two series
    concatenated to reproduce it.

    Parameters
    ----------
    x : array-like or pandas.Series, shape (n_samples,)
        One series; NaN = missing.
    k_sd : float
        Threshold in standard deviations, > 0. rMEA uses :data:`RMEA_OUTLIER_SD` (10).
    center : bool, default True
        Measure from the mean (True) or from zero (False).

    Returns
    -------
    numpy.ndarray of bool, shape (n_samples,)
        True where a sample is an outlier.

    Examples
    --------
    >>> from synchrony.analysis.preprocess import flag_outliers
    >>> flag_outliers([0.0, 1, 0, 1, 0, 1, 0, 1, 0, 30], k_sd=2).nonzero()[0].tolist()
    [9]
    """
    func = "flag_outliers"
    arr = check_series(x, "x", func)
    k = check_positive(k_sd, "k_sd", func)
    if not isinstance(center, (bool, np.bool_)):
        raise ParameterError.expected("center", func, "True or False", center)
    return _flag(arr, k, center=bool(center))


# -- kernels (sample counts only from here on) ------------------------------------------


def _moving_average(x: np.ndarray, m: int) -> np.ndarray:
    valid = ~np.isnan(x)
    kernel = np.ones(m)
    # Direct convolution rather than running sums: each window's sum is local, so no
    # digits are lost over long recordings. Window of i = x[i - m//2 : i - m//2 + m].
    total = np.convolve(np.where(valid, x, 0.0), kernel)
    count = np.convolve(valid.astype(float), kernel)
    first = m - 1 - m // 2
    total, count = total[first:first + x.size], count[first:first + x.size]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = total / count
    return np.where(valid & (count > 0), mean, np.nan)


def _detrend(x: np.ndarray) -> np.ndarray:
    valid = ~np.isnan(x)
    if not valid.any():
        return x.copy()
    i = np.flatnonzero(valid).astype(float)
    y = x[valid]
    ic, yc = i - i.mean(), y - y.mean()
    ss = float(ic @ ic)
    slope = float(ic @ yc) / ss if ss > 0 else 0.0
    out = np.full(x.shape, np.nan)
    out[valid] = yc - slope * ic
    return out


def _scale(x: np.ndarray, *, center: bool):
    """``x / sd`` or ``(x - mean) / sd``; all-NaN and True if there is no scale."""
    y = x[~np.isnan(x)]
    if y.size < 2:
        return np.full(x.shape, np.nan), True
    mean = y.mean()
    sd = y.std(ddof=1)
    # A constant's computed SD is rounding noise of its magnitude, not exactly 0.
    if not sd > 1e-12 * np.abs(y).max():
        return np.full(x.shape, np.nan), True
    return ((x - mean) if center else x) / sd, False


def _flag(x: np.ndarray, k: float, *, center: bool) -> np.ndarray:
    valid = ~np.isnan(x)
    flagged = np.zeros(x.shape, dtype=bool)
    if np.count_nonzero(valid) < 2:
        return flagged
    y = x[valid]
    dist = np.abs(y - y.mean()) if center else np.abs(y)
    flagged[valid] = dist > k * y.std(ddof=1)
    return flagged


# -- boundary helpers ---------------------------------------------------------------------


def _window_samples(window_s: float, rate_hz: float, name: str, func: str) -> int:
    # floor, as rMEA's R indexing i1:i2 takes floor(window_s * rate_hz) samples; the
    # tolerance keeps 0.29 s at 100 Hz (28.999999999999996) at 29 samples.
    m = math.floor(window_s * rate_hz + 1e-9)
    if m < 1:
        raise ParameterError.expected(name, func, f"at least one sample period (1/rate_hz = {1 / rate_hz:g} s)",
                                      window_s)
    return m


def _rate_from_index(index: pd.Index, func: str) -> float:
    try:
        t = np.asarray(index, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError.expected("rate_hz", func, "given when the index is not time in seconds",
                                      None) from None
    steps = np.diff(t)
    if steps.size == 0:
        raise ParameterError.expected("rate_hz", func, "given when the table has fewer than 2 samples", None)
    step = float(np.median(steps))
    if not step > 0 or np.abs(steps - step).max() > 1e-6 + 1e-3 * step:
        raise ParameterError.expected("rate_hz", func, "given when the time index is not uniform", None)
    return 1.0 / step


def _columns(signals: pd.DataFrame, columns, func: str) -> list:
    if columns is None:
        return list(signals.columns)
    # One label (a name, or a (person, feature) tuple) or a collection of labels.
    if isinstance(columns, str) or (isinstance(columns, tuple) and not any(isinstance(c, tuple) for c in columns)):
        columns = [columns]
    chosen = list(columns)
    missing = [c for c in chosen if c not in signals.columns]
    if missing:
        raise ParameterError.expected("columns", func, "columns of 'signals'", missing[0])
    return chosen


def _like(x, values: np.ndarray):
    if isinstance(x, pd.Series):
        return pd.Series(values, index=x.index, name=x.name)
    return values


def _label(col) -> str:
    return ".".join(map(str, col)) if isinstance(col, tuple) else str(col)


def _percent(share: float) -> str:
    return f"{100 * share:.3g}%"


def _warn(enabled: bool, category, message: str) -> None:
    if enabled:
        # stacklevel 3: the warning points at the caller of preprocess.
        warnings.warn(message, category, stacklevel=3)
    else:
        log.info(message)
