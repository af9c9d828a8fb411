"""Mismatch spans: planted spans in simulated dyads are found, coupled pairs give none."""

import numpy as np
import pandas as pd
import pytest

from synchrony import peak_lags, windowed_xcorr
from synchrony.analysis.mismatch import mismatch_spans, rupture_repair, window_activity
from synchrony.analysis.surrogates import surrogate_peaks
from synchrony.simulate import simulate_dyad

SETTINGS = dict(window_s=4.0, step_s=0.5, max_lag_s=2.0)
SPAN_SETTINGS = dict(window_s=4.0, step_s=0.5)


def _spans(sim, seed=0):
    a, b = sim.signals["A", "x"], sim.signals["B", "x"]
    peaks = peak_lags(windowed_xcorr(a, b, 10, fisher_z=False, **SETTINGS))
    null = surrogate_peaks(a.to_numpy(), b.to_numpy(), 10, n_surrogates=100, seed=seed, **SETTINGS)
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
    null = np.linspace(0, 0.5, 1001)[:, None].repeat(8, axis=1)  # 95% quantile = 0.475
    spans = mismatch_spans(w, null, min_duration_s=1, merge_gap_s=0, span_alpha=None, **SPAN_SETTINGS)
    assert spans[["start_s", "end_s"]].to_numpy().tolist() == [[2.75, 4.75]]
    assert spans["strength"].iloc[0] == pytest.approx(0.475 - 0.15)
    # too short for a 3 s minimum
    assert mismatch_spans(w, null, min_duration_s=3, merge_gap_s=0, span_alpha=None, **SPAN_SETTINGS).empty


def test_merge_gap_joins_spans():
    w = pd.DataFrame({"peak_r": [0.1, 0.1, 0.9, 0.1, 0.1]},
                     index=pd.Index(np.arange(5) * 0.5, name="window_start_s"))
    null = np.full((3, 5), 0.5)
    apart = mismatch_spans(w, null, min_duration_s=0, merge_gap_s=0, span_alpha=None, **SPAN_SETTINGS)
    joined = mismatch_spans(w, null, min_duration_s=0, merge_gap_s=0.5, span_alpha=None, **SPAN_SETTINGS)
    assert len(apart) == 2 and len(joined) == 1
    assert joined[["start_s", "end_s"]].to_numpy().tolist() == [[1.75, 4.25]]


def test_surrogates_are_seeded():
    sim = simulate_dyad(duration_s=60, rate_hz=10, seed=0)
    a, b = sim.signals["A", "x"].to_numpy(), sim.signals["B", "x"].to_numpy()
    one = surrogate_peaks(a, b, 10, n_surrogates=5, seed=7, **SETTINGS)
    two = surrogate_peaks(a, b, 10, n_surrogates=5, seed=7, **SETTINGS)
    other = surrogate_peaks(a, b, 10, n_surrogates=5, seed=8, **SETTINGS)
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
        null = surrogate_peaks(a.to_numpy(), b.to_numpy(), 10, n_surrogates=50, seed=seed, **SETTINGS)
        threshold = np.quantile(null, 0.95)
        exceed += int(np.sum(peaks > threshold))
        total += peaks.size
    assert exceed / total == pytest.approx(0.05, abs=0.02)


# --- issue 5: window-level thresholds, activity gate, negative synchrony, rupture/repair


def _iou_best(spans, truth):
    return max([_iou((s.start_s, s.end_s), truth) for s in spans.itertuples()] or [0.0])


@pytest.mark.parametrize("seed", range(5))
def test_planted_spans_in_ten_minutes_with_default_settings(seed):
    """Issue 5 acceptance: a pair coupled (r = 0.9 at 0.5 s) except in two planted spans;
    default analysis settings find both with IoU >= 0.7 and at most one false span in
    the 10 minutes."""
    truth = [(120.0, 150.0), (400.0, 420.0)]
    sim = simulate_dyad(duration_s=600, rate_hz=10, lag_s=0.5, coupling=0.9,
                        mismatch_spans_s=truth, seed=seed)
    a, b = sim.signals["A", "x"].to_numpy(), sim.signals["B", "x"].to_numpy()
    peaks = peak_lags(windowed_xcorr(a, b, 10, fisher_z=False, **SETTINGS))
    null = surrogate_peaks(a, b, 10, n_surrogates=200, seed=seed, **SETTINGS)
    active = window_activity(a, b, 10, **SETTINGS)
    spans = mismatch_spans(peaks, null, active=active, **SPAN_SETTINGS)
    for t in truth:
        assert _iou_best(spans, t) >= 0.7
    false = [s for s in spans.itertuples() if all(_iou((s.start_s, s.end_s), t) == 0 for t in truth)]
    assert len(false) <= 1
    # the planted spans break synchrony that held before and returned after
    planted = spans[[any(_iou((s.start_s, s.end_s), t) > 0 for t in truth) for s in spans.itertuples()]]
    assert planted["rupture"].all() and planted["repaired"].all()
    assert (planted["p_value"] <= 0.05).all() and (planted["kind"] == "chance").all()


def test_quiet_partners_are_not_a_mismatch():
    """Both partners still (tiny noise) for 40 s: their correlation is at chance, but a
    pair at rest is not misattuned; when A moves and B stays still, it is, and the
    span says A made the bid and B did not follow."""
    rng = np.random.default_rng(0)
    sim = simulate_dyad(duration_s=300, rate_hz=10, lag_s=0.5, coupling=0.9, seed=4)
    a, b = sim.signals["A", "x"].to_numpy().copy(), sim.signals["B", "x"].to_numpy().copy()
    a[1000:1400] = 0.01 * rng.standard_normal(400)  # 100-140 s: both rest
    b[1000:1400] = 0.01 * rng.standard_normal(400)
    b[2000:2400] = 0.01 * rng.standard_normal(400)  # 200-240 s: A moves, B is still
    peaks = peak_lags(windowed_xcorr(a, b, 10, fisher_z=False, **SETTINGS))
    null = surrogate_peaks(a, b, 10, n_surrogates=100, seed=1, **SETTINGS)
    active = window_activity(a, b, 10, **SETTINGS)
    gated = mismatch_spans(peaks, null, active=active, **SPAN_SETTINGS)
    ungated = mismatch_spans(peaks, null, span_alpha=None, **SPAN_SETTINGS)
    assert _iou_best(ungated, (100, 140)) > 0.5  # without the gate the rest is a "mismatch"
    assert _iou_best(gated, (100, 140)) == 0
    bid = gated.iloc[int(np.argmax([_iou((s.start_s, s.end_s), (200, 240)) for s in gated.itertuples()]))]
    assert _iou((bid.start_s, bid.end_s), (200, 240)) >= 0.7
    assert bid.active == "A" and bid.not_following == "B"


def test_window_activity_hand_example():
    x = np.r_[np.ones(20), np.tile([0.0, 2.0], 10), np.ones(20)]  # SD 0, 1, 0 per 2 s
    act = window_activity(x, np.tile([0.0, 1.0], 30), 10, window_s=2, step_s=2, max_lag_s=0)
    assert act["A"].tolist() == [False, True, False]
    assert act["B"].all()
    assert act.index.tolist() == [0.0, 2.0, 4.0]


def test_negative_synchrony_span_on_a_matching_pair():
    """B mirrors A with the opposite sign in 100-130 s (smiles answered by frowns):
    found as a 'negative' span with a small p-value; a chance-level span is not
    'negative'."""
    sim = simulate_dyad(duration_s=300, rate_hz=10, lag_s=0.5, coupling=0.9, seed=2)
    a, b = sim.signals["A", "x"].to_numpy(), sim.signals["B", "x"].to_numpy().copy()
    b[1000:1300] *= -1
    xc = windowed_xcorr(a, b, 10, fisher_z=False, **SETTINGS)
    peaks = peak_lags(xc)
    peaks["trough_r"] = -peak_lags(-xc)["peak_r"]
    null, troughs = surrogate_peaks(a, b, 10, n_surrogates=100, seed=3, with_troughs=True, **SETTINGS)
    spans = mismatch_spans(peaks, null, surrogate_troughs=troughs, **SPAN_SETTINGS)
    negative = spans[spans["kind"] == "negative"]
    assert len(negative) == 1
    assert _iou((negative.start_s.iloc[0], negative.end_s.iloc[0]), (100, 130)) >= 0.7
    assert negative.p_value.iloc[0] == pytest.approx(1 / 101)
    assert negative.strength.iloc[0] > 0.1  # trough near -0.9 against a chance trough near -0.7
    # without troughs, no negative spans are looked for
    assert (mismatch_spans(peaks, null, **SPAN_SETTINGS)["kind"] == "chance").all()


def test_rupture_repair_and_placement_p_by_hand():
    """12 synchronous windows, 4 at chance, 12 synchronous (step 1 s, window 4 s): one
    rupture from 13.5 s, repaired at 17.5 s; p over the 16 placements of 4 windows that
    miss the span, all higher: 1 / 17."""
    w = pd.DataFrame({"peak_r": [0.8] * 12 + [0.1] * 4 + [0.8] * 12},
                     index=pd.Index(np.arange(28.0), name="window_start_s"))
    null = np.full((5, 28), 0.3)
    spans = mismatch_spans(w, null, window_s=4, step_s=1, min_duration_s=2)
    assert spans[["start_s", "end_s", "rupture", "repaired", "repair_time_s"]].values.tolist() == [
        [13.5, 17.5, True, True, 4.0]]
    assert spans["p_value"].iloc[0] == pytest.approx(1 / (1 + 28 - 7))
    # the span at the very start follows no synchrony: not a rupture
    w2 = pd.DataFrame({"peak_r": [0.1] * 4 + [0.8] * 24}, index=w.index)
    first = mismatch_spans(w2, null, window_s=4, step_s=1, min_duration_s=2)
    assert not first["rupture"].iloc[0] and not first["repaired"].iloc[0]
    summary = rupture_repair(pd.concat([spans, first]), duration_s=30.0)
    assert summary == {"n_ruptures": 1, "share_repaired": 1.0, "median_repair_time_s": 4.0,
                       "mismatch_share": pytest.approx(8 / 30)}


def test_session_at_chance_everywhere_keeps_its_one_span():
    """No synchronous reference: the placement p-value is undefined, the span is kept
    (it is the session) and it is no rupture."""
    w = pd.DataFrame({"peak_r": [0.1] * 20}, index=pd.Index(np.arange(20.0), name="window_start_s"))
    spans = mismatch_spans(w, np.full((5, 20), 0.3), window_s=4, step_s=1)
    assert len(spans) == 1 and np.isnan(spans["p_value"].iloc[0]) and not spans["rupture"].iloc[0]
