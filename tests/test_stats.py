"""Surrogate tests: calibrated under independence, powerful under coupling, seeded, FDR."""

import numpy as np
import pytest

from synchrony import peak_lags, windowed_xcorr
from synchrony.analysis.stats import fdr_bh, mean_peak_z, null_comparison, pseudo_dyad_test, surrogate_test
from synchrony.analysis.surrogates import circular_shift, pseudo_dyad_pairs, segment_shuffle, surrogate_peaks
from synchrony.errors import ParameterError

RATE = 10.0
SHORT = dict(window_s=10.0, step_s=5.0, max_lag_s=1.0)


def _ar1(rng, n, phi=0.7):
    """AR(1) noise with unit variance."""
    e = rng.standard_normal(n) * np.sqrt(1 - phi**2)
    x = np.empty(n)
    x[0] = rng.standard_normal()
    for i in range(1, n):
        x[i] = phi * x[i - 1] + e[i]
    return x


def _rejection_rate(p_values):
    return float(np.mean(np.asarray(p_values) < 0.05))


# 20 surrogates: p = (1 + k) / 21 < 0.05 only when k = 0 (p = 1/21), which independence
# makes a 1-in-21 event (4.8%) when the observed pair is exchangeable with its surrogates.
@pytest.mark.parametrize("method", ["circular", "segment"])
def test_null_calibration_of_pair_surrogates(method):
    """1,000 seeded independent AR(1) pairs of 2 minutes: p < 0.05 in 5% +/- 2% of runs.

    (Much shorter series fail this, rightly: a 12 s minimum shift of a 30 s series
    leaves shifts in a 6 s band, so the surrogates are near copies of one another.)"""
    p = []
    for run in range(1000):
        rng = np.random.default_rng(run)
        a, b = _ar1(rng, 1200), _ar1(rng, 1200)
        p.append(surrogate_test(a, b, RATE, method=method, n_surrogates=20, seed=run, **SHORT)["p_value"])
    assert _rejection_rate(p) == pytest.approx(0.05, abs=0.02)
    # the whole distribution is uniform on {1/21, ..., 21/21}, not just its tail
    for k in (2, 5, 10, 15):
        assert np.mean(np.asarray(p) <= k / 21 + 1e-9) == pytest.approx(k / 21, abs=0.04)


def test_null_calibration_of_pseudo_dyads():
    """1,000 seeded runs of 5 independent dyads: dyad 0 against its 20 pseudo-dyads
    gives p < 0.05 (k = 0 of 20: p = 1/21) in 5% +/- 2% of runs."""
    p = []
    for run in range(1000):
        rng = np.random.default_rng(10_000 + run)
        dyads = [(_ar1(rng, 300), _ar1(rng, 300)) for _ in range(5)]
        out = pseudo_dyad_test(dyads, RATE, n_draws=1, seed=run, **SHORT)
        p.append(out["dyads"]["p_value"].iloc[0])
    assert _rejection_rate(p) == pytest.approx(0.05, abs=0.02)


@pytest.mark.parametrize("method", ["circular", "segment"])
@pytest.mark.parametrize("lag_samples", [4, -4])
def test_lagged_coupling_is_detected_with_its_sign(method, lag_samples):
    """B repeats A 0.4 s later (or earlier): p < 0.01 and the peak lag has that sign."""
    rng = np.random.default_rng(3)
    a = _ar1(rng, 1800)
    b = 0.6 * np.roll(a, lag_samples) + 0.8 * _ar1(rng, 1800)
    settings = dict(window_s=10.0, step_s=5.0, max_lag_s=2.0)
    out = surrogate_test(a, b, RATE, method=method, n_surrogates=199, seed=0, **settings)
    assert out["p_value"] < 0.01
    assert out["cohens_d"] > 3
    lag = np.nanmedian(peak_lags(windowed_xcorr(a, b, RATE, **settings))["peak_lag_s"])
    assert lag == pytest.approx(lag_samples / RATE)


def test_pseudo_dyads_detect_real_coupling():
    rng = np.random.default_rng(5)
    dyads = []
    for _ in range(6):
        a = _ar1(rng, 600)
        dyads.append((a, 0.6 * np.roll(a, 3) + 0.8 * _ar1(rng, 600)))
    out = pseudo_dyad_test(dyads, RATE, seed=1, **SHORT)
    assert len(out["pseudo"]) == 30
    assert (out["dyads"]["p_value"] <= 1 / 31).all()
    assert out["group"]["p_value"] < 0.01 and out["group"]["cohens_d"] > 2


def test_same_seed_same_surrogates_different_seed_different():
    rng = np.random.default_rng(0)
    a, b = _ar1(rng, 400), _ar1(rng, 400)
    for method in ("circular", "segment"):
        one = surrogate_peaks(a, b, RATE, method=method, n_surrogates=5, seed=7, **SHORT)
        two = surrogate_peaks(a, b, RATE, method=method, n_surrogates=5, seed=7, **SHORT)
        other = surrogate_peaks(a, b, RATE, method=method, n_surrogates=5, seed=8, **SHORT)
        np.testing.assert_array_equal(one, two)
        assert not np.array_equal(one, other)
    dyads = [(_ar1(rng, 300), _ar1(rng, 300)) for _ in range(4)]
    one = pseudo_dyad_test(dyads, RATE, n_pairs=6, seed=3, **SHORT)
    two = pseudo_dyad_test(dyads, RATE, n_pairs=6, seed=3, **SHORT)
    other = pseudo_dyad_test(dyads, RATE, n_pairs=6, seed=4, **SHORT)
    assert one["pseudo"].equals(two["pseudo"]) and one["group"] == two["group"]
    assert not one["pseudo"].equals(other["pseudo"])


def test_circular_shift_respects_minimum_shift():
    x = np.arange(100.0)
    copies = circular_shift(x, RATE, n_surrogates=500, min_shift_s=2.0, seed=0)
    shifts = (copies[:, 0] * -1) % 100  # copy[0] = x[-shift]
    assert shifts.min() >= 20 and shifts.max() <= 80
    np.testing.assert_array_equal(np.sort(copies, axis=1), np.tile(x, (500, 1)))


def test_segment_shuffle_keeps_segments_whole():
    x = np.arange(23.0)  # segments of 5 samples: 4 whole + one of 3
    copies = segment_shuffle(x, RATE, n_surrogates=50, segment_s=0.5, seed=1)
    for copy in copies:
        pieces = np.split(copy, np.flatnonzero(np.diff(copy) != 1) + 1)
        starts = sorted(int(p[0]) for p in pieces)
        assert set(starts) <= {0, 5, 10, 15, 20}
        assert all((p[0] % 5 == 0) for p in pieces)
    assert not all(np.array_equal(c, x) for c in copies)


def test_pseudo_dyad_pairs_are_cross_session():
    pairs = pseudo_dyad_pairs(20)
    assert len(pairs) == 380 and not np.any(pairs[:, 0] == pairs[:, 1])
    some = pseudo_dyad_pairs(20, n_pairs=200, seed=0)
    assert len({tuple(p) for p in some}) == 200 and not np.any(some[:, 0] == some[:, 1])


def test_null_comparison_hand_values():
    out = null_comparison(0.9, [0.1, 0.2, 0.3, 1.0])
    assert out["surrogate_mean"] == pytest.approx(0.4)
    assert out["surrogate_sd"] == pytest.approx(np.sqrt(0.5 / 3))
    assert out["cohens_d"] == pytest.approx(0.5 / np.sqrt(0.5 / 3))
    assert out["p_value"] == pytest.approx(2 / 5)  # (1 + one surrogate >= 0.9) / (1 + 4)
    assert null_comparison(5.0, np.zeros(99) + np.arange(99) / 99)["p_value"] == pytest.approx(1 / 100)


def test_mean_peak_z_is_fisher_mean():
    assert mean_peak_z([0.5, np.nan, -0.5]) == pytest.approx(0.0)
    assert mean_peak_z([[0.5, 0.5], [np.nan, np.nan]])[0] == pytest.approx(np.arctanh(0.5))
    assert np.isnan(mean_peak_z([[0.5, 0.5], [np.nan, np.nan]])[1])


def test_fdr_bh_matches_hand_derivation():
    # sorted p 0.01, 0.03, 0.04, 0.2 (m = 4): m p / rank = 0.04, 0.06, 0.0533, 0.2;
    # running minimum from the top: 0.04, 0.0533, 0.0533, 0.2
    q = fdr_bh([0.04, 0.2, 0.01, np.nan, 0.03])
    np.testing.assert_allclose(q[[0, 1, 2, 4]], [0.16 / 3, 0.2, 0.04, 0.16 / 3])
    assert np.isnan(q[3])
    assert fdr_bh([0.9, 0.95]).tolist() == [0.95, 0.95]
    with pytest.raises(ParameterError, match="'p_values' parameter of fdr_bh"):
        fdr_bh([0.5, 1.5])


def test_bad_parameters_fail_with_one_message():
    with pytest.raises(ParameterError, match="The 'method' parameter of surrogate_peaks must be one of"):
        surrogate_peaks(np.zeros(100), np.zeros(100), RATE, method="shuffle", **SHORT)
    with pytest.raises(ParameterError, match="The 'segment_s' parameter of segment_shuffle"):
        segment_shuffle(np.zeros(100), RATE, n_surrogates=2, segment_s=8.0)
    with pytest.raises(ParameterError, match="The 'n_surrogates' parameter of circular_shift"):
        circular_shift(np.zeros(100), RATE, n_surrogates=0, min_shift_s=1)
    with pytest.raises(ParameterError, match="The 'dyads' parameter of pseudo_dyad_test"):
        pseudo_dyad_test([(np.zeros(10), np.zeros(11)), (np.zeros(10), np.zeros(10))], RATE, **SHORT)
