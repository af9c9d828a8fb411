"""Is a dyad more synchronous than chance? Surrogate tests, effect sizes and FDR.

The session statistic is the mean, over windows, of the Fisher z of each window's
peak correlation ("mean peak synchrony"): the observed pair is compared with the same
statistic in surrogate pairs (:mod:`synchrony.analysis.surrogates`), giving the
surrogate mean and SD, an effect size and a permutation p-value with the +1
correction (Phipson & Smyth 2010), so that p is never 0.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from synchrony.analysis.surrogates import pseudo_dyad_pairs, surrogate_peaks
from synchrony.analysis.xcorr import peak_lags, windowed_xcorr
from synchrony.errors import ParameterError

__all__ = ["mean_peak_z", "null_comparison", "surrogate_test", "pseudo_dyad_test", "fdr_bh"]

# r of exactly +/-1 would give an infinite z and swamp every mean.
_R_CLIP = 0.999999


def mean_peak_z(peak_r) -> float:
    """Mean over windows of ``artanh(peak r)``, ignoring undefined windows.

    Parameters
    ----------
    peak_r : array-like, shape (..., n_windows)
        Window peak correlations (r, not z).

    Returns
    -------
    float or numpy.ndarray, shape (...)
        NaN where no window is defined.

    Examples
    --------
    >>> from synchrony.analysis.stats import mean_peak_z
    >>> round(float(mean_peak_z([0.5, float("nan"), 0.0])), 6)
    0.274653
    """
    z = np.arctanh(np.clip(np.asarray(peak_r, dtype=float), -_R_CLIP, _R_CLIP))
    with np.errstate(invalid="ignore"):
        count = np.sum(np.isfinite(z), axis=-1)
        total = np.nansum(z, axis=-1)
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)[()]


def null_comparison(observed: float, null) -> dict:
    """Compare an observed statistic with its surrogate distribution.

    Parameters
    ----------
    observed : float
    null : array-like, shape (n_surrogates,)
        The statistic in each surrogate (NaN ones are dropped).

    Returns
    -------
    dict
        ``observed``, ``surrogate_mean``, ``surrogate_sd`` (ddof=1),
        ``cohens_d`` = (observed - surrogate mean) / surrogate SD,
        ``p_value`` = (1 + #{surrogates >= observed}) / (1 + n_surrogates)
        (one-sided: more synchrony than chance) and ``n_surrogates``.

    Examples
    --------
    >>> from synchrony.analysis.stats import null_comparison
    >>> out = null_comparison(0.9, [0.1, 0.2, 0.3, 1.0])
    >>> out["p_value"], round(out["cohens_d"], 4)
    (0.4, 1.2247)
    """
    null = np.asarray(null, dtype=float)
    null = null[np.isfinite(null)]
    n = int(null.size)
    mean = float(null.mean()) if n else math.nan
    sd = float(null.std(ddof=1)) if n > 1 else math.nan
    ok = np.isfinite(observed) and n > 0
    return {
        "observed": float(observed),
        "surrogate_mean": mean,
        "surrogate_sd": sd,
        "cohens_d": (observed - mean) / sd if ok and sd > 0 else math.nan,
        "p_value": (1 + int(np.sum(null >= observed))) / (1 + n) if ok else math.nan,
        "n_surrogates": n,
    }


def surrogate_test(
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
    seed=None,
    return_null: bool = False,
):
    """Test whether a pair is more synchronous than its surrogates.

    Parameters
    ----------
    a, b : array-like, shape (n_samples,)
        The two series at ``rate_hz``.
    rate_hz, window_s, step_s, max_lag_s
        As in :func:`synchrony.windowed_xcorr`.
    method, n_surrogates, min_shift_s, segment_s, absolute, seed
        As in :func:`synchrony.analysis.surrogates.surrogate_peaks`.
    return_null : bool, default False
        Also return the surrogates' window peaks, shape (n_surrogates, n_windows),
        for window-level thresholds.

    Returns
    -------
    dict
        :func:`null_comparison` of :func:`mean_peak_z` of the observed window peaks
        against the same statistic in every surrogate, plus ``method``. With
        ``return_null=True``, a tuple ``(dict, surrogate window peaks)``.

    Examples
    --------
    >>> import numpy as np
    >>> from synchrony.analysis.stats import surrogate_test
    >>> rng = np.random.default_rng(0)
    >>> a = rng.standard_normal(3000)
    >>> b = np.roll(a, 4) + rng.standard_normal(3000)  # b follows a by 0.4 s
    >>> surrogate_test(a, b, 10, window_s=10, step_s=5, max_lag_s=2,
    ...                n_surrogates=99, seed=0)["p_value"]
    0.01
    """
    settings = dict(window_s=window_s, step_s=step_s, max_lag_s=max_lag_s)
    observed = peak_lags(windowed_xcorr(a, b, rate_hz, fisher_z=False, **settings),
                         absolute=absolute)["peak_r"].to_numpy()
    null = surrogate_peaks(a, b, rate_hz, method=method, n_surrogates=n_surrogates,
                           min_shift_s=min_shift_s, segment_s=segment_s, absolute=absolute,
                           seed=seed, **settings)
    out = null_comparison(float(mean_peak_z(observed)), mean_peak_z(null))
    out["method"] = method
    return (out, null) if return_null else out


def pseudo_dyad_test(
    dyads,
    rate_hz: float,
    *,
    window_s: float,
    step_s: float,
    max_lag_s: float,
    n_pairs: int | None = None,
    absolute: bool = False,
    n_draws: int = 9999,
    seed=None,
) -> dict:
    """Real dyads against pseudo-dyads made of partners who never met (rMEA's shuffle).

    Every pseudo-dyad pairs A of session i with B of session j (i != j), cut to the
    shorter of the two, and is correlated exactly as the real dyads are.

    Parameters
    ----------
    dyads : sequence of (a, b)
        The real dyads' two series, each pair of equal length, all at ``rate_hz``.
    rate_hz, window_s, step_s, max_lag_s, absolute
        As in :func:`synchrony.windowed_xcorr` and :func:`synchrony.peak_lags`.
    n_pairs : int, optional
        Number of pseudo-dyads drawn at random; default all ``k * (k - 1)``.
    n_draws : int, default 9999
        Random sets of ``k`` pseudo-dyads behind the group p-value.
    seed : int or numpy.random.Generator, optional

    Returns
    -------
    dict
        ``"dyads"``: DataFrame, one row per real dyad, with :func:`null_comparison`
        of its statistic against all pseudo-dyads; ``"pseudo"``: DataFrame of the
        pseudo-dyads (``session_a``, ``session_b``, ``statistic``); ``"group"``: dict
        with the mean statistic of real and pseudo dyads, Cohen's d with the pooled
        SD, and ``p_value`` = (1 + #{draws whose mean >= real mean}) / (1 + n_draws)
        over random sets of as many pseudo-dyads as real ones.

    Examples
    --------
    >>> import numpy as np
    >>> from synchrony.analysis.stats import pseudo_dyad_test
    >>> rng = np.random.default_rng(0)
    >>> dyads = []
    >>> for _ in range(6):
    ...     a = rng.standard_normal(600)
    ...     dyads.append((a, np.roll(a, 3) + rng.standard_normal(600)))
    >>> out = pseudo_dyad_test(dyads, 10, window_s=10, step_s=5, max_lag_s=1, seed=0)
    >>> len(out["pseudo"]), out["group"]["p_value"] < 0.01
    (30, True)
    """
    func = "pseudo_dyad_test"
    dyads = [(np.asarray(a, dtype=float), np.asarray(b, dtype=float)) for a, b in dyads]
    for k, (a, b) in enumerate(dyads):
        if a.ndim != 1 or a.shape != b.shape:
            raise ParameterError.expected("dyads", func, "pairs of equal-length 1-D series",
                                          f"dyad {k} with shapes {a.shape} and {b.shape}")
    if not isinstance(n_draws, (int, np.integer)) or n_draws < 1:
        raise ParameterError.expected("n_draws", func, "an int >= 1", n_draws)
    settings = dict(window_s=window_s, step_s=step_s, max_lag_s=max_lag_s)
    rng = np.random.default_rng(seed)

    def statistic(a, b):
        n = min(a.size, b.size)
        xc = windowed_xcorr(a[:n], b[:n], rate_hz, fisher_z=False, **settings)
        return float(mean_peak_z(peak_lags(xc, absolute=absolute)["peak_r"].to_numpy()))

    pairs = pseudo_dyad_pairs(len(dyads), n_pairs=n_pairs, seed=rng)
    real = np.array([statistic(a, b) for a, b in dyads])
    fake = np.array([statistic(dyads[i][0], dyads[j][1]) for i, j in pairs])
    rows = [dict(dyad=k, **null_comparison(value, fake)) for k, value in enumerate(real)]
    pseudo = pd.DataFrame({"session_a": pairs[:, 0], "session_b": pairs[:, 1], "statistic": fake})
    return {"dyads": pd.DataFrame(rows), "pseudo": pseudo,
            "group": _group_comparison(real, fake, n_draws, rng)}


def fdr_bh(p_values) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values); NaN stays NaN.

    ``q_(i) = min_{j >= i} min(1, m * p_(j) / j)`` over the ``m`` defined p-values
    sorted ascending (Benjamini & Hochberg 1995). Reject at FDR level ``alpha``
    where ``q <= alpha``.

    Parameters
    ----------
    p_values : array-like, shape (m,)

    Returns
    -------
    numpy.ndarray, shape (m,)

    Examples
    --------
    >>> from synchrony.analysis.stats import fdr_bh
    >>> fdr_bh([0.01, 0.04, 0.03, 0.2]).round(4).tolist()
    [0.04, 0.0533, 0.0533, 0.2]
    """
    p = np.asarray(p_values, dtype=float)
    if p.ndim != 1 or np.any((p < 0) | (p > 1)):
        raise ParameterError.expected("p_values", "fdr_bh", "a 1-D array of values in [0, 1]", p_values)
    q = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    if ok.size == 0:
        return q
    order = ok[np.argsort(p[ok], kind="stable")]
    m = order.size
    scaled = p[order] * m / np.arange(1, m + 1)
    q[order] = np.minimum(1.0, np.minimum.accumulate(scaled[::-1])[::-1])
    return q


def _group_comparison(real, fake, n_draws, rng) -> dict:
    real = real[np.isfinite(real)]
    fake = fake[np.isfinite(fake)]
    out = {"n_real": int(real.size), "n_pseudo": int(fake.size),
           "mean_real": float(real.mean()) if real.size else math.nan,
           "mean_pseudo": float(fake.mean()) if fake.size else math.nan,
           "cohens_d": math.nan, "p_value": math.nan}
    if real.size < 2 or fake.size < real.size:
        return out
    pooled = math.sqrt(((real.size - 1) * real.var(ddof=1) + (fake.size - 1) * fake.var(ddof=1))
                       / (real.size + fake.size - 2))
    if pooled > 0:
        out["cohens_d"] = (out["mean_real"] - out["mean_pseudo"]) / pooled
    # Each row of a random matrix's argsort is a uniform random permutation: its first
    # k entries are a draw of k pseudo-dyads without replacement.
    picks = np.argsort(rng.random((n_draws, fake.size)), axis=1)[:, : real.size]
    draws = fake[picks].mean(axis=1)
    out["p_value"] = (1 + int(np.sum(draws >= out["mean_real"]))) / (1 + n_draws)
    return out
