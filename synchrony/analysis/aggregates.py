"""Synchrony aggregates as rMEA reports them, and a leader/follower statement.

The definitions follow rMEA (Kleinbub & Ramseyer 2020): ``MEAccf.MEA`` in
``R/rMEA_ccf.R`` (the per-window ``ccfRes`` list: ``lag_zero``, ``all_lags``,
``s1_lead``, ``s2_lead``, ``s1_lead_0``, ``s2_lead_0``, ``bestLag``, ``grandAver``) and
``summary.MEAlist`` in ``R/rMEA_class.R`` (the per-session table: cell means pooled over
all windows). rMEA's subject 1 (first column) is our person A, subject 2 is B; rMEA's
positive lags mean "s2 follows s1", which is our positive lag (B follows A), so rMEA's
``s1_lead`` is our ``mean_a_leads``.

Two details differ from rMEA on purpose or by layer. rMEA caps Fisher z at +/-10
(``fisher.r2z``), while :func:`synchrony.windowed_xcorr` gives +/-inf at |r| = 1; the
means here carry such values through. rMEA releases before 1.2 took ``s2_lead`` over
columns ``1:lagSec*sampRate`` (an operator-precedence slip: every sampRate-th column);
1.2 reads ``1:(lagSec*sampRate)``, all negative lags, as here.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import pandas as pd

from synchrony._validate import check_positive
from synchrony.errors import ParameterError

__all__ = ["window_aggregates", "session_aggregates", "leader_follower"]

_WINDOW_COLUMNS = ("r_lag0", "mean_all_lags", "mean_a_leads", "mean_b_leads",
                   "mean_a_leads_0", "mean_b_leads_0", "best_lag_s", "best_value")


def window_aggregates(xc: pd.DataFrame) -> pd.DataFrame:
    """Per-window aggregates of a lagged cross-correlation table, as rMEA defines them.

    Every value is computed on the values given: Fisher z if ``xc`` holds Fisher z
    (rMEA's ``r2Z = TRUE``), absolute values if it holds absolute values (``ABS``).
    Means skip missing cells (R's ``mean(na.rm = TRUE)``); a window whose cells in a lag
    set are all missing gives NaN there.

    Parameters
    ----------
    xc : pandas.DataFrame, shape (n_windows, n_lags)
        Output of :func:`synchrony.windowed_xcorr`: index ``window_start_s``, columns
        ``lag_s`` in seconds including 0. **Positive lag = B follows A** (A leads).

    Returns
    -------
    pandas.DataFrame, shape (n_windows, 8)
        Indexed like ``xc``. Columns, with rMEA's ``ccfRes`` name (s1 = A, s2 = B):

        ``r_lag0`` (``lag_zero``)
            The value at lag 0 (in ``xc``'s units, so Fisher z when ``xc`` is).
        ``mean_all_lags`` (``all_lags``)
            Mean over all lags.
        ``mean_a_leads`` (``s1_lead``), ``mean_b_leads`` (``s2_lead``)
            Mean over the lags > 0 (B follows A) and over the lags < 0 (A follows B).
        ``mean_a_leads_0`` (``s1_lead_0``), ``mean_b_leads_0`` (``s2_lead_0``)
            The same with lag 0 included.
        ``best_lag_s`` (``bestLag``), ``best_value``
            The lag (seconds) with the largest value, and that value. Ties go to the
            first lag in column order, the most negative one (R's ``which.max``);
            :func:`synchrony.peak_lags` instead breaks ties towards lag 0.

    Examples
    --------
    >>> import pandas as pd
    >>> xc = pd.DataFrame([[0.1, 0.2, 0.6, 0.3, 0.5]], index=pd.Index([0.0], name="window_start_s"),
    ...                   columns=pd.Index([-0.2, -0.1, 0.0, 0.1, 0.2], name="lag_s"))
    >>> agg = window_aggregates(xc)
    >>> [round(float(agg.loc[0.0, c]), 6) for c in ("r_lag0", "mean_a_leads", "mean_b_leads")]
    [0.6, 0.4, 0.15]
    >>> float(agg.loc[0.0, "best_lag_s"])
    0.0
    """
    lags, values = _check_xc(xc, "window_aggregates")
    sets = _lag_sets(lags)
    out = {"r_lag0": values[:, np.flatnonzero(sets["zero"])[0]]}
    for name, key in (("mean_all_lags", "all"), ("mean_a_leads", "pos"), ("mean_b_leads", "neg"),
                      ("mean_a_leads_0", "pos0"), ("mean_b_leads_0", "neg0")):
        out[name] = _row_means(values[:, sets[key]])
    out["best_lag_s"], out["best_value"] = _best(values, lags)
    return pd.DataFrame(out, index=xc.index, columns=list(_WINDOW_COLUMNS))


def session_aggregates(xc: pd.DataFrame) -> dict:
    """Session-level aggregates: rMEA's per-session summary of a cross-correlation table.

    As in rMEA's ``summary.MEAlist`` and ``ccfRes$grandAver``, each mean is taken over
    all defined cells of the lag set, pooled across windows (not a mean of window
    means). The two agree when no cell is missing; otherwise windows with more defined
    lags weigh more.

    Parameters
    ----------
    xc : pandas.DataFrame, shape (n_windows, n_lags)
        Output of :func:`synchrony.windowed_xcorr` (positive lag = B follows A).

    Returns
    -------
    dict
        ``r_lag0`` (rMEA ``lag_zero``: mean of the lag-0 column), ``mean_all_lags``
        (``all_lags`` in the summary, i.e. ``grandAver``), ``mean_a_leads``
        (``s1_lead``, lags > 0), ``mean_b_leads`` (``s2_lead``, lags < 0),
        ``mean_a_leads_0`` and ``mean_b_leads_0`` (lag 0 included), all floats in
        ``xc``'s units; and ints ``n_windows`` (rows), ``n_valid_windows`` (rows with at
        least one defined cell), ``n_valid_cells``.

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> xc = pd.DataFrame([[0.2, 0.4, 0.0], [np.nan, 0.1, 0.3]],
    ...                   index=pd.Index([0.0, 10.0], name="window_start_s"),
    ...                   columns=pd.Index([-1.0, 0.0, 1.0], name="lag_s"))
    >>> s = session_aggregates(xc)
    >>> round(s["mean_all_lags"], 6), round(s["mean_a_leads"], 6), s["n_valid_cells"]
    (0.2, 0.15, 5)
    """
    lags, values = _check_xc(xc, "session_aggregates")
    sets = _lag_sets(lags)
    out = {}
    for name, key in (("r_lag0", "zero"), ("mean_all_lags", "all"), ("mean_a_leads", "pos"),
                      ("mean_b_leads", "neg"), ("mean_a_leads_0", "pos0"),
                      ("mean_b_leads_0", "neg0")):
        out[name] = float(_row_means(values[:, sets[key]].reshape(1, -1))[0])
    defined = ~np.isnan(values)
    out["n_windows"] = int(values.shape[0])
    out["n_valid_windows"] = int(defined.any(axis=1).sum())
    out["n_valid_cells"] = int(defined.sum())
    return out


def leader_follower(xc: pd.DataFrame, *, window_s: float, n_boot: int = 1000, seed=None,
                    alpha: float = 0.05, block_s: float | None = None,
                    persons=("A", "B")) -> dict:
    """Who leads, by how much, and how sure: a block bootstrap over windows.

    Two measures are bootstrapped together: the lead difference, the mean over windows
    of ``mean_a_leads - mean_b_leads`` (rMEA's s1_lead minus s2_lead; > 0 when
    synchrony sits at lags where B follows A), and the median of the windows' best lags
    (rMEA's ``bestLag``). A leader is named only when both intervals exclude 0 on the
    same side; otherwise the statement says there is no clear leader. Windows where
    either measure is undefined (or infinite) are left out.

    Neighbouring windows share samples (a window's segment spans ``window_s +
    max_lag_s``), so their values are dependent: windows are resampled in blocks of
    consecutive windows, wrapped around the end (circular block bootstrap, Politis &
    Romano 1992). The default block spans twice the segment, so that most dependent
    pairs fall inside a block. Only about ``K = n_windows / block`` blocks back the
    spread, so each percentile interval is widened about the bootstrap mean by
    ``t(K - 1) / z`` (Student's over the normal quantile at ``1 - alpha/2``). Measured on
    300 independent simulated pairs per setting (5-20 minute sessions, 30 s windows,
    5 or 10 s steps, 5 s lags) the 95% interval of the lead difference held 0 in 91-94%
    of sessions (the plain percentile interval: 84-90%), and 96-98% got no leader.

    Parameters
    ----------
    xc : pandas.DataFrame, shape (n_windows, n_lags)
        Output of :func:`synchrony.windowed_xcorr`: index ``window_start_s`` on a
        regular step, columns ``lag_s``. **Positive lag = B follows A.**
    window_s : float
        The window length ``xc`` was computed with, in seconds (it sets the overlap).
    n_boot : int, default 1000
        Number of bootstrap resamples.
    seed : int or numpy.random.Generator, optional
        Seeds ``numpy.random.default_rng``; the same seed gives the same output.
    alpha : float in (0, 1), default 0.05
        The intervals have nominal coverage ``1 - alpha``.
    block_s : float, optional
        Length of a resampled block, in seconds of window starts (rounded to whole
        steps, at least one window). Default ``2 * (window_s + max_lag_s)``; longer
        blocks suit behaviour that stays correlated for longer than that.
    persons : pair of str, default ("A", "B")
        Names used in ``leader`` and ``statement``.

    Returns
    -------
    dict
        ``leader`` (a name from ``persons``, or None), ``statement`` (plain language),
        ``lead_difference`` and ``lead_difference_ci`` (pair), in ``xc``'s units;
        ``median_best_lag_s`` and ``median_best_lag_ci_s`` (pair) in seconds (positive
        = B follows A); ``n_windows`` (used), ``block_windows``, ``n_boot``, ``alpha``.
        With fewer windows than two blocks every interval is NaN and there is no
        leader.

    Examples
    --------
    >>> from synchrony import windowed_xcorr
    >>> from synchrony.simulate import simulate_dyad
    >>> sim = simulate_dyad(duration_s=300, rate_hz=10, lag_s=0.4, seed=1)
    >>> xc = windowed_xcorr(sim.signals["A", "x"], sim.signals["B", "x"], 10.0,
    ...                     window_s=30, step_s=10, max_lag_s=5)
    >>> lf = leader_follower(xc, window_s=30, seed=0)
    >>> lf["leader"], lf["median_best_lag_s"]
    ('A', 0.4)
    >>> lf["statement"].startswith("A leads by 0.40 s")
    True
    """
    func = "leader_follower"
    lags, values = _check_xc(xc, func)
    check_positive(window_s, "window_s", func)
    if not (isinstance(n_boot, numbers.Integral) and not isinstance(n_boot, bool) and n_boot >= 2):
        raise ParameterError.expected("n_boot", func, "an integer >= 2", n_boot)
    if not (isinstance(alpha, numbers.Real) and not isinstance(alpha, bool) and 0 < alpha < 1):
        raise ParameterError.expected("alpha", func, "a number strictly between 0 and 1", alpha)
    if block_s is not None:
        check_positive(block_s, "block_s", func)
    if not (isinstance(persons, (tuple, list)) and len(persons) == 2
            and all(isinstance(p, str) for p in persons)):
        raise ParameterError.expected("persons", func, "a pair of names", persons)
    rng = np.random.default_rng(seed)

    sets = _lag_sets(lags)
    with np.errstate(invalid="ignore"):
        diff = _row_means(values[:, sets["pos"]]) - _row_means(values[:, sets["neg"]])
    best_lag, _ = _best(values, lags)
    usable = np.isfinite(diff) & np.isfinite(best_lag)
    diff, best_lag = diff[usable], best_lag[usable]
    n = int(diff.size)
    step_s = _step_s(xc.index)
    span_s = block_s if block_s is not None else 2 * (window_s + float(np.max(np.abs(lags))))
    block = max(1, int(round(span_s / step_s))) if step_s else 1

    out = {"leader": None, "statement": "", "lead_difference": math.nan,
           "lead_difference_ci": (math.nan, math.nan), "median_best_lag_s": math.nan,
           "median_best_lag_ci_s": (math.nan, math.nan), "n_windows": n,
           "block_windows": block, "n_boot": int(n_boot), "alpha": float(alpha)}
    if n:
        out["lead_difference"] = float(diff.mean())
        out["median_best_lag_s"] = float(np.median(best_lag))
    if n < 2 * block:
        out["statement"] = (f"no clear leader: {n} usable window(s), fewer than two blocks "
                            f"of {block} window(s)")
        return out

    from scipy.stats import norm, t as student_t  # here, so importing synchrony stays light

    idx = _circular_block_indices(n, block, int(n_boot), rng)
    widen = student_t.ppf(1 - alpha / 2, n / block - 1) / norm.ppf(1 - alpha / 2)
    out["lead_difference_ci"] = _interval(diff[idx].mean(axis=1), alpha, widen)
    out["median_best_lag_ci_s"] = _interval(np.median(best_lag[idx], axis=1), alpha, widen)
    out["leader"], out["statement"] = _statement(out, persons, alpha)
    return out


def _interval(boot, alpha, widen):
    """Percentile interval of ``boot``, widened by ``widen`` about the bootstrap mean."""
    centre = float(np.mean(boot))
    lo, hi = np.percentile(boot, (100 * alpha / 2, 100 * (1 - alpha / 2)))
    return (float(centre + (lo - centre) * widen), float(centre + (hi - centre) * widen))


def _statement(res, persons, alpha):
    level = f"{100 * (1 - alpha):g}%"
    d_lo, d_hi = res["lead_difference_ci"]
    l_lo, l_hi = res["median_best_lag_ci_s"]
    diff_text = (f"mean {persons[0]}-leads minus {persons[1]}-leads "
                 f"{res['lead_difference']:.3f} ({level} CI {d_lo:.3f} to {d_hi:.3f})")
    if d_lo > 0 and l_lo > 0:
        leader, lag, lo, hi = persons[0], res["median_best_lag_s"], l_lo, l_hi
    elif d_hi < 0 and l_hi < 0:
        leader, lag, lo, hi = persons[1], -res["median_best_lag_s"], -l_hi, -l_lo
    else:
        lag_text = (f"median best lag {res['median_best_lag_s']:+.2f} s "
                    f"({level} CI {l_lo:+.2f} to {l_hi:+.2f} s)")
        return None, f"no clear leader: {diff_text}; {lag_text}"
    return leader, (f"{leader} leads by {lag:.2f} s ({level} CI {lo:.2f} to {hi:.2f} s, "
                    f"median best lag); {diff_text}")


def _check_xc(xc, func):
    """Lags (seconds, float) and values of a windows x lags table."""
    if not isinstance(xc, pd.DataFrame):
        raise ParameterError.expected("xc", func, "a DataFrame from windowed_xcorr", type(xc).__name__)
    try:
        lags = np.asarray(xc.columns, dtype=float)
        values = xc.to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise ParameterError.expected("xc", func, "a table of numbers with numeric lag_s columns",
                                      "non-numeric columns or values") from None
    if not np.all(np.isfinite(lags)) or np.any(np.diff(lags) <= 0) or not np.any(lags == 0):
        raise ParameterError.expected("xc", func, "a table whose lag_s columns increase and include 0",
                                      [float(v) for v in lags[:5]])
    return lags, values


def _lag_sets(lags):
    return {"all": np.ones(lags.size, bool), "zero": lags == 0, "pos": lags > 0,
            "neg": lags < 0, "pos0": lags >= 0, "neg0": lags <= 0}


def _row_means(v):
    """Mean of each row's defined cells; NaN where none (R's mean(na.rm = TRUE))."""
    ok = ~np.isnan(v)
    count = ok.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, np.where(ok, v, 0.0).sum(axis=1) / count, np.nan)


def _best(values, lags):
    """rMEA's bestLag: the first lag (in column order) holding the row's maximum."""
    ok = ~np.isnan(values)
    score = np.where(ok, values, -np.inf)
    top = score.max(axis=1, initial=-np.inf)
    # A row of -inf values (r = -1 in Fisher z) still has a defined maximum.
    best = np.argmax(ok & (score == top[:, None]), axis=1)
    defined = ok.any(axis=1)
    rows = np.arange(len(values))
    return (np.where(defined, lags[best], np.nan),
            np.where(defined, values[rows, best], np.nan))


def _step_s(index):
    """The window step in seconds (median spacing of the window starts), or 0."""
    if len(index) < 2:
        return 0.0
    return float(np.median(np.diff(np.asarray(index, dtype=float))))


def _circular_block_indices(n, block, n_boot, rng):
    """(n_boot, n) window indices: blocks of consecutive windows, wrapped at the end."""
    n_blocks = math.ceil(n / block)
    starts = rng.integers(0, n, size=(n_boot, n_blocks))
    idx = (starts[:, :, None] + np.arange(block)[None, None, :]) % n
    return idx.reshape(n_boot, -1)[:, :n]
