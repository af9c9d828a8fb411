"""analyze_signals: the statistics stage on a simulated dyad with known answers."""

import numpy as np
import pytest

from synchrony.config import AnalysisConfig
from synchrony.pipeline import analyze_signals
from synchrony.simulate import simulate_dyad

CONFIG = AnalysisConfig(pairs=(("x", "x"),), n_surrogates=99)


@pytest.fixture(scope="module")
def sim():
    return simulate_dyad(duration_s=300, rate_hz=10, lag_s=0.5, coupling=0.9,
                         mismatch_spans_s=[(150.0, 180.0)], seed=11)


def test_coupled_pair_tested_led_and_ruptured(sim):
    result = analyze_signals(sim.signals, config=CONFIG)
    test = result.stats.iloc[0]
    assert test["p_value"] == pytest.approx(1 / 100) and test["q_value"] == pytest.approx(1 / 100)
    assert test["cohens_d"] > 3
    pair = result.summary["pairs"]["x~x"]
    assert pair["leader_follower"]["leader"] == "A"
    assert pair["leader_follower"]["median_best_lag_s"] == pytest.approx(0.5)
    assert pair["n_ruptures"] == 1 and pair["share_repaired"] == 1.0
    span = result.mismatch.iloc[0]
    inter = min(span.end_s, 180) - max(span.start_s, 150)
    assert inter / (max(span.end_s, 180) - min(span.start_s, 150)) >= 0.7
    assert pair["median_repair_time_s"] == pytest.approx(span.repair_time_s)


def test_zscore_leaves_pearson_r_unchanged(sim):
    """Pearson r is invariant to a linear change of a whole series."""
    plain = analyze_signals(sim.signals, config=CONFIG)
    scaled = analyze_signals(sim.signals, config=AnalysisConfig(pairs=(("x", "x"),), n_surrogates=99, zscore=True))
    np.testing.assert_allclose(scaled.windows["peak_r"], plain.windows["peak_r"], atol=1e-10)
    assert scaled.stats["p_value"].equals(plain.stats["p_value"])


def test_outliers_are_set_missing_with_a_warning(sim):
    signals = sim.signals.copy()
    signals.iloc[[100, 900, 2000], signals.columns.get_loc(("B", "x"))] = 40.0
    config = AnalysisConfig(pairs=(("x", "x"),), n_surrogates=19, outlier_sd=6)
    with pytest.warns(UserWarning, match=r"B\.x: 0\.1% of samples \(3 of 3000\)"):
        result = analyze_signals(signals, config=config)
    assert result.signals["B", "x"].iloc[[100, 900, 2000]].isna().all()


def test_episodes_split_windows_and_spans(sim):
    episodes = [("play", 0.0, 150.0), ("still-face", 150.0, 180.0), ("reunion", 180.0, 300.0)]
    result = analyze_signals(sim.signals, config=CONFIG, episodes=episodes)
    windows = result.windows
    centre = windows["window_start_s"] + CONFIG.window_s / 2
    expected = np.select([centre < 150, centre < 180, centre < 300], ["play", "still-face", "reunion"], "")
    assert (windows["episode"] == expected).all()
    table = {r["episode"]: r for r in result.summary["episodes"]["pairs"]["x~x"]}
    # the planted span (B stops following) is the still-face: lowest synchrony there
    assert table["still-face"]["peak_r_mean"] < 0.6 < min(table["play"]["peak_r_mean"], table["reunion"]["peak_r_mean"])
    assert table["still-face"]["mismatch_s"] > 20
    assert sum(table[e]["mismatch_s"] for e in ("play", "still-face", "reunion")) <= table["all"]["mismatch_s"] + 1e-9
    # the rupture begins just before the still-face (windows are 4 s wide) or in it, once
    assert table["all"]["n_ruptures"] == 1 == sum(table[e]["n_ruptures"] for e in ("play", "still-face", "reunion"))
    assert table["all"]["n_repaired"] == 1
