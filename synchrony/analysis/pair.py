"""One feature pair of one session, from two series to every table and number about it.

:func:`synchrony.pipeline.analyze_signals` calls this for each feature pair and
gathers the results; it is the analysis stage in order: correlation, surrogates and the
test, activity, mismatch spans, aggregates, leader/follower, rupture and repair.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

from synchrony.analysis.aggregates import leader_follower, session_aggregates, window_aggregates
from synchrony.analysis.mismatch import mismatch_spans, rupture_repair, window_activity
from synchrony.analysis.stats import mean_peak_z, null_comparison
from synchrony.analysis.surrogates import surrogate_peaks
from synchrony.analysis.xcorr import peak_lags, windowed_xcorr

__all__ = ["analyze_pair"]

# r of exactly +/-1 would give an infinite Fisher z.
_R_CLIP = 0.999999


def analyze_pair(a: pd.Series, b: pd.Series, *, config, label: str, matching: bool = False) -> dict | None:
    """Correlate, test and find mismatch spans for one pair of series.

    Parameters
    ----------
    a, b : pandas.Series, shape (n_samples,)
        Person A's and person B's feature on the common clock (index ``time_s``, at
        ``config.rate_hz``).
    config : synchrony.config.AnalysisConfig
        Windowing, surrogates, mismatch settings, persons and seed.
    label : str
        The pair's name, e.g. ``"smile~smile"``, written into every table.
    matching : bool, default False
        Matching is expected (e.g. smile with smile): significantly negative windows
        are mismatch spans too.

    Returns
    -------
    dict or None
        None when no window has enough data; else ``xcorr`` (windows x lags, r),
        ``long`` (its long form), ``windows`` (one row per window), ``mismatch`` (spans),
        ``test`` (:func:`synchrony.analysis.stats.null_comparison` of the mean peak
        Fisher z), ``null_statistic`` (that statistic in each surrogate, shape
        (n_surrogates,)) and ``summary`` (JSON-ready headline numbers). Positive lag =
        B follows A.
    """
    settings = dict(window_s=config.window_s, step_s=config.step_s, max_lag_s=config.max_lag_s)
    xc = windowed_xcorr(a, b, config.rate_hz, fisher_z=False, **settings)
    if xc.empty or xc.isna().all().all():
        return None
    peaks = peak_lags(xc)
    peaks["trough_r"] = -peak_lags(-xc)["peak_r"]
    null = surrogate_peaks(a.to_numpy(), b.to_numpy(), config.rate_hz, method=config.surrogate_method,
                           n_surrogates=config.n_surrogates, seed=config.seed, with_troughs=matching,
                           **settings)
    null, troughs = null if matching else (null, None)
    null_statistic = mean_peak_z(null)
    test = null_comparison(float(mean_peak_z(peaks["peak_r"])), null_statistic)
    active = window_activity(a.to_numpy(), b.to_numpy(), config.rate_hz, persons=config.persons,
                             active_fraction=config.active_fraction, **settings)
    active.index = peaks.index
    spans = mismatch_spans(peaks, null, features=label, alpha=config.alpha,
                           window_s=config.window_s, step_s=config.step_s,
                           min_duration_s=config.min_mismatch_s, merge_gap_s=config.merge_gap_s,
                           active=active, surrogate_troughs=troughs)
    z = np.arctanh(np.clip(xc, -_R_CLIP, _R_CLIP))
    windows = _window_table(peaks, xc, z, null, active, label, config)
    duration_s = len(a) / config.rate_hz
    lead = leader_follower(z, window_s=config.window_s, seed=config.seed, persons=config.persons)
    summary = {
        "n_windows": int(len(peaks)),
        "n_windows_defined": int(peaks["peak_r"].notna().sum()),
        "mean_peak_r": _fisher_mean(peaks["peak_r"].to_numpy()),
        "mean_r_lag0": _fisher_mean(xc[0.0].to_numpy()),
        "median_peak_lag_s": float(peaks["peak_lag_s"].median()) if peaks["peak_lag_s"].notna().any() else math.nan,
        "leader": lead["leader"],  # named only when the bootstrap intervals agree
        "chance_peak_r": float(windows["threshold_r"].median()),
        "leader_follower": lead,
        "test": test,
        "aggregates_fisher_z": session_aggregates(z),
        "n_mismatch_spans": int(len(spans)),
        **rupture_repair(spans, duration_s),
        "chance_share": float(np.mean((windows["peak_r"] <= windows["threshold_r"])
                                      & active.any(axis=1).to_numpy())),
    }
    long = xc.stack(future_stack=True).rename("r").reset_index()
    long.insert(0, "pair", label)
    long.insert(2, "window_end_s", np.round(long["window_start_s"] + config.window_s, 9))
    return {"xcorr": xc, "long": long, "windows": windows, "mismatch": spans, "test": test,
            "null_statistic": null_statistic, "summary": summary}


def _window_table(peaks, xc, z, null, active, label, config):
    win = peaks.reset_index()
    win.insert(0, "pair", label)
    win.insert(2, "window_end_s", np.round(win["window_start_s"] + config.window_s, 9))
    win["r_lag0"] = xc[0.0].to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows stay NaN
        win["threshold_r"] = np.nanquantile(null, 1 - config.alpha, axis=0)
    agg = window_aggregates(z)  # rMEA's per-window aggregates, on Fisher z as rMEA does
    for col in ("mean_all_lags", "mean_a_leads", "mean_b_leads"):
        win[f"{col}_z"] = agg[col].to_numpy()
    for person in config.persons:
        win[f"active_{person}"] = active[person].to_numpy()
    return win


def _fisher_mean(r):
    """Mean correlation through Fisher z (NaN windows left out)."""
    return float(np.tanh(mean_peak_z(r)))
