"""Mismatch spans: planted spans in simulated dyads are found, coupled pairs give none."""

import numpy as np
import pandas as pd
import pytest

from synchrony import peak_lags, windowed_xcorr
from synchrony.analysis.mismatch import mismatch_spans
from synchrony.analysis.surrogates import circular_shift_peaks
from synchrony.simulate import simulate_dyad

SETTINGS = dict(window_s=4.0, step_s=0.5, max_lag_s=2.0)
SPAN_SETTINGS = dict(window_s=4.0, step_s=0.5)


def _spans(sim, seed=0):
    a, b = sim.signals["A", "x"], sim.signals["B", "x"]
    peaks = peak_lags(windowed_xcorr(a, b, 10, fisher_z=False, **SETTINGS))
    null = circular_shift_peaks(a.to_numpy(), b.to_numpy(), 10, n_surrogates=100, seed=seed, **SETTINGS)
    return mismatch_spans(peaks, null, min_duration_s=3, merge_gap_s=1, **SPAN_SETTINGS)


def _iou(span, truth):
    inter = max(0.0, min(span[1], truth[1]) - max(span[0], truth[0]))
    return inter / (max(span[1], truth[1]) - min(span[0], truth[0]))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_planted_span_is_found(seed):
    truth = (60.0, 80.0)
    sim = simulate_dyad(duration_s=180, rate_hz=10, lag_s=0.5, coupling=0.9,
                        mismatch_spans_s=[truth], seed=seed)
    spans = _spans(sim, seed)
    best = max(_iou((s.start_s, s.end_s), truth) for s in spans.itertuples())
    assert best >= 0.6
    # outside the planted span at most one short false span (the 5% chance level)
    false = [s for s in spans.itertuples() if _iou((s.start_s, s.end_s), truth) == 0]
    assert len(false) <= 1
    assert (spans["strength"] > 0).all() and (spans["duration_s"] >= 3).all()


def test_span_times_follow_window_centres():
    """Hand-derived: windows 2..5 (starts 1.0..2.5 s) at chance; each stands for the 0.5 s
    around its centre, start + 4 / 2, so the span is [3.0 - 0.25, 4.5 + 0.25]."""
    w = pd.DataFrame({"peak_r": [0.9, 0.9, 0.1, 0.2, 0.1, 0.2, 0.9, 0.9]},
                     index=pd.Index(np.arange(8) * 0.5, name="window_start_s"))
    null = np.linspace(0, 0.5, 1001)[None, :].repeat(2, axis=0)  # 95% quantile = 0.475
    spans = mismatch_spans(w, null, min_duration_s=1, merge_gap_s=0, **SPAN_SETTINGS)
    assert spans[["start_s", "end_s"]].to_numpy().tolist() == [[2.75, 4.75]]
    assert spans["strength"].iloc[0] == pytest.approx(0.475 - 0.15)
    assert spans["threshold_r"].iloc[0] == pytest.approx(0.475)
    # too short for a 3 s minimum
    assert mismatch_spans(w, null, min_duration_s=3, merge_gap_s=0, **SPAN_SETTINGS).empty


def test_merge_gap_joins_spans():
    w = pd.DataFrame({"peak_r": [0.1, 0.1, 0.9, 0.1, 0.1]},
                     index=pd.Index(np.arange(5) * 0.5, name="window_start_s"))
    null = np.full((3, 5), 0.5)
    apart = mismatch_spans(w, null, min_duration_s=0, merge_gap_s=0, **SPAN_SETTINGS)
    joined = mismatch_spans(w, null, min_duration_s=0, merge_gap_s=0.5, **SPAN_SETTINGS)
    assert len(apart) == 2 and len(joined) == 1
    assert joined[["start_s", "end_s"]].to_numpy().tolist() == [[1.75, 4.25]]


def test_surrogates_are_seeded():
    sim = simulate_dyad(duration_s=60, rate_hz=10, seed=0)
    a, b = sim.signals["A", "x"].to_numpy(), sim.signals["B", "x"].to_numpy()
    one = circular_shift_peaks(a, b, 10, n_surrogates=5, seed=7, **SETTINGS)
    two = circular_shift_peaks(a, b, 10, n_surrogates=5, seed=7, **SETTINGS)
    other = circular_shift_peaks(a, b, 10, n_surrogates=5, seed=8, **SETTINGS)
    np.testing.assert_array_equal(one, two)
    assert not np.array_equal(one, other)


def test_null_calibration_of_window_peaks():
    """Independent pairs: observed window peaks exceed the 95% surrogate threshold ~5% of
    the time (windows of many independent sessions pooled)."""
    exceed, total = 0, 0
    for seed in range(20):
        sim = simulate_dyad(duration_s=120, rate_hz=10, coupling=0.0, seed=100 + seed)
        a, b = sim.signals["A", "x"], sim.signals["B", "x"]
        peaks = peak_lags(windowed_xcorr(a, b, 10, fisher_z=False, **SETTINGS))["peak_r"].to_numpy()
        null = circular_shift_peaks(a.to_numpy(), b.to_numpy(), 10, n_surrogates=50, seed=seed, **SETTINGS)
        threshold = np.quantile(null, 0.95)
        exceed += int(np.sum(peaks > threshold))
        total += peaks.size
    assert exceed / total == pytest.approx(0.05, abs=0.02)
