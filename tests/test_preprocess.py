"""Preprocessing: each step against a hand-derived answer, a slow loop, or rMEA's own code."""

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from synchrony import windowed_xcorr
from synchrony.analysis.preprocess import (
    RMEA_OUTLIER_SD,
    RMEA_SMOOTH_S,
    OutlierWarning,
    PreprocessWarning,
    detrend_linear,
    flag_outliers,
    moving_average,
    preprocess,
    rescale,
    zscore,
)
from synchrony.errors import ParameterError
from synchrony.readers import read_rmea


def slow_moving_average(x, m):
    """Plain loop: mean of the valid samples in x[i - m//2 : i - m//2 + m]; NaN stays NaN."""
    out = np.full(len(x), np.nan)
    for i in range(len(x)):
        if np.isnan(x[i]):
            continue
        window = [x[j] for j in range(i - m // 2, i - m // 2 + m) if 0 <= j < len(x) and not np.isnan(x[j])]
        out[i] = sum(window) / len(window)
    return out


def rmea_sasfiltb(a, samp_rate, win_sec):
    """Line-by-line port of rMEA's sasFiltB (R/rMea_filter.R, rMEA 1.2.0), with R semantics.

    R's ``i1:i2`` steps by 1 from i1 while <= i2, non-integer indices are truncated, an
    index past the end reads NA, and an NA sum becomes 0.
    """
    n = win_sec * samp_rate
    out = np.empty(len(a))
    for t in range(1, len(a) + 1):
        i1 = max(t - (n - 1) / 2, 1)
        i2 = t + (n - 1) / 2
        idx = np.trunc(i1 + np.arange(math.floor(i2 - i1 + 1e-10) + 1)).astype(int)
        vals = [a[k - 1] if k <= len(a) else np.nan for k in idx]
        res = sum(vals) / n
        out[t - 1] = 0.0 if np.isnan(res) else res
    return out


def make_signals(columns: dict, rate_hz: float) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    sig = pd.DataFrame({k: np.asarray(v, dtype=float) for k, v in columns.items()})
    sig.index = pd.Index(np.round(np.arange(n) / rate_hz, 9), name="time_s")
    sig.columns = pd.MultiIndex.from_tuples(list(columns), names=["person", "feature"])
    return sig


@pytest.fixture(scope="module")
def dyad_200(reference_dir):
    return read_rmea(reference_dir / "rmea" / "normal" / "200_01.txt")


# -- moving average ---------------------------------------------------------------------


@pytest.mark.parametrize("rate_hz, window_s, m", [(25.0, 0.5, 12), (25.0, 1.0, 25), (25.0, 0.2, 5),
                                                  (10.0, 0.5, 5), (10.0, 1.0, 10), (10.0, 0.3, 3)])
def test_moving_average_matches_slow_loop_with_missing_samples(rate_hz, window_s, m):
    rng = np.random.default_rng(5)
    x = rng.normal(3.0, 2.0, 400)
    x[rng.random(400) < 0.1] = np.nan
    x[100:117] = np.nan  # a gap longer than every window here
    got = moving_average(x, rate_hz, window_s=window_s)
    want = slow_moving_average(x, m)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(x))
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


@pytest.mark.parametrize("rate_hz, window_s, m", [(25.0, RMEA_SMOOTH_S, 12), (25.0, 1.0, 25), (25.0, 0.28, 7),
                                                  (10.0, RMEA_SMOOTH_S, 5), (10.0, 1.0, 10), (10.0, 0.25, 2),
                                                  (100.0, 0.29, 29)])
def test_window_in_seconds_is_floor_of_window_times_rate(rate_hz, window_s, m):
    # An impulse at sample 50 spreads over exactly m outputs of height 1/m: those whose
    # window x[i - m//2 : i - m//2 + m] contains sample 50.
    x = np.zeros(101)
    x[50] = 1.0
    got = moving_average(x, rate_hz, window_s=window_s)
    support = np.flatnonzero(got)
    assert support.tolist() == list(range(50 + m // 2 - m + 1, 50 + m // 2 + 1))
    np.testing.assert_allclose(got[support], 1.0 / m, rtol=1e-12)


def test_moving_average_keeps_a_constant_at_the_edges_and_beside_gaps():
    x = np.full(60, 7.0)
    x[[0, 20, 21, 22, 40]] = np.nan
    got = moving_average(pd.Series(x, index=np.arange(60) / 25.0), 25.0, window_s=0.5)
    assert isinstance(got, pd.Series) and got.index.equals(pd.Index(np.arange(60) / 25.0))
    np.testing.assert_array_equal(got.to_numpy(), x)  # mean of valid samples: nothing invented


def test_rmea_default_smoothing_on_a_real_dyad(dyad_200):
    pat = dyad_200["A", "motion_energy"].to_numpy()
    th = dyad_200["B", "motion_energy"].to_numpy()
    n = pat.size
    ours = [moving_average(x, 25.0, window_s=RMEA_SMOOTH_S) for x in (pat, th)]
    theirs = [rmea_sasfiltb(x, 25, 0.5) for x in (pat, th)]
    # rMEA divides the 12-sample sum by 0.5 * 25 = 12.5: where the window is whole
    # (samples 6 .. n-6) it is 12/12.5 times the mean, with the same window placement.
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o[6:n - 5] * 12 / 12.5, t[6:n - 5], rtol=1e-12)
        assert np.all(t[-5:] == 0)  # rMEA's window runs past the end: NA, then 0
        np.testing.assert_allclose(o[-1], pat[-6:].mean() if o is ours[0] else th[-6:].mean(), rtol=1e-12)
    # A scale factor is invisible to Pearson r: with rMEA's windowing every window whose
    # segment avoids the first 6 samples gives the same correlation at every lag.
    opts = dict(window_s=30, step_s=10, max_lag_s=5)
    xc_ours = windowed_xcorr(ours[0], ours[1], 25.0, **opts)
    xc_theirs = windowed_xcorr(theirs[0], theirs[1], 25.0, **opts)
    assert xc_ours.shape == (57, 251)
    np.testing.assert_allclose(xc_ours.iloc[1:].to_numpy(), xc_theirs.iloc[1:].to_numpy(), rtol=0, atol=1e-9)


def test_preprocess_on_a_real_dyad_smooths_and_flags_each_column_on_its_own(dyad_200):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = preprocess(dyad_200, smooth_s=RMEA_SMOOTH_S, outlier_sd=RMEA_OUTLIER_SD)  # 25 Hz from the index
    messages = []
    for person in ("A", "B"):
        x = dyad_200[person, "motion_energy"].to_numpy(dtype=float)
        spikes = np.abs(x - x.mean()) > 10 * x.std(ddof=1)
        messages.append(f"{person}.motion_energy: {100 * spikes.mean():.3g}% of samples ({spikes.sum()} of 15000) "
                        "more than 10 SD from the mean set to missing")
        want = moving_average(np.where(spikes, np.nan, x), 25.0, window_s=0.5)
        np.testing.assert_array_equal(out[person, "motion_energy"].to_numpy(), want)
    assert [str(w.message) for w in caught] == messages
    assert messages[0].startswith("A.motion_energy: 0.0733% of samples (11 of 15000)")
    assert messages[1].startswith("B.motion_energy: 0.0467% of samples (7 of 15000)")


# -- detrending, rescaling, z-scoring ---------------------------------------------------------


def test_detrend_removes_a_planted_ramp_exactly():
    rng = np.random.default_rng(11)
    i = np.arange(500, dtype=float)
    valid = rng.random(500) > 0.15
    # Noise orthogonal to (1, i) over the valid samples: the least-squares line of
    # ramp + noise is then exactly the ramp.
    design = np.column_stack([np.ones(valid.sum()), i[valid]])
    noise_valid = rng.standard_normal(valid.sum())
    noise_valid -= design @ np.linalg.lstsq(design, noise_valid, rcond=None)[0]
    noise = np.full(500, np.nan)
    noise[valid] = noise_valid
    x = 40.0 - 0.37 * i + noise
    got = detrend_linear(x)
    np.testing.assert_array_equal(np.isnan(got), ~valid)
    np.testing.assert_allclose(got[valid], noise_valid, rtol=0, atol=1e-11)
    np.testing.assert_allclose(detrend_linear(2.5 + 0.01 * i), 0.0, rtol=0, atol=1e-12)


def test_rescale_divides_by_the_sd_without_centring_as_rmea():
    np.testing.assert_array_equal(rescale([0.0, 2.0, np.nan, 4.0]), [0.0, 1.0, np.nan, 2.0])  # sd(0,2,4) = 2
    assert np.isnan(rescale([3.0, 3.0, 3.0])).all() and np.isnan(rescale([1.0, np.nan])).all()


def test_rescale_on_a_real_dyad_keeps_zero_and_gives_unit_sd(dyad_200):
    x = dyad_200["A", "motion_energy"].to_numpy()
    got = rescale(x)
    assert np.std(got, ddof=1) == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_array_equal(got == 0, x == 0)  # "no movement" stays 0
    assert (x == 0).sum() > 1000


def test_zscore_gives_mean_0_and_sd_1_on_valid_samples():
    np.testing.assert_array_equal(zscore([1.0, np.nan, 2.0, 3.0]), [-1.0, np.nan, 0.0, 1.0])
    rng = np.random.default_rng(3)
    x = rng.gamma(2.0, 50.0, 1000) + 1e4
    x[rng.random(1000) < 0.2] = np.nan
    got = zscore(pd.Series(x))
    valid = got.dropna()
    assert valid.size == np.count_nonzero(~np.isnan(x))
    assert valid.mean() == pytest.approx(0.0, abs=1e-12)
    assert valid.std(ddof=1) == pytest.approx(1.0, abs=1e-12)
    assert np.isnan(zscore(np.full(10, 1e6 + 0.1))).all()  # constant: no scale


# -- outliers ---------------------------------------------------------------------------------


def spiky(n_valid=1000, n_missing=10, seed=7):
    """N(0, 1) with 12 spikes of +-30 at known places and some missing samples."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(n_valid + n_missing)
    spikes = np.sort(rng.choice(np.arange(20, x.size - 20), 12, replace=False))
    x[spikes] = np.where(np.arange(12) % 2, 30.0, -30.0)
    missing = rng.choice(np.setdiff1d(np.arange(x.size), spikes), n_missing, replace=False)
    x[missing] = np.nan
    assert np.count_nonzero(~np.isnan(x)) == n_valid
    return x, spikes


def test_flag_outliers_finds_exactly_the_planted_spikes():
    x, spikes = spiky()
    flagged = flag_outliers(x, k_sd=5)
    assert flagged.dtype == bool and np.flatnonzero(flagged).tolist() == spikes.tolist()
    assert not flagged[np.isnan(x)].any()
    # From zero (rMEA's rule for motion energy): |x| > k * sd, hand-checked.
    y = [0.0, 0, 0, 0, 0, 0, 0, 0, 0, 10]  # sd = sqrt(10) = 3.16; 10 > 3 * 3.16, 10 - 1 < 3 * 3.16
    assert flag_outliers(y, k_sd=3, center=False)[-1] and not flag_outliers(y, k_sd=3)[-1]


def test_rmea_outlier_rule_on_a_real_dyad(dyad_200):
    # readMEA (R/rMEA_IO.R) warns with round(100 * mean(myDat > 10 * sd(myDat)), 2) over
    # both persons' values together.
    pooled = dyad_200.to_numpy().T.ravel()
    flagged = flag_outliers(pooled, k_sd=RMEA_OUTLIER_SD, center=False)
    direct = pooled > 10 * np.std(pooled, ddof=1)
    np.testing.assert_array_equal(flagged, direct)
    assert flagged.sum() == 22 and round(100 * flagged.mean(), 2) == 0.07


def test_preprocess_sets_outliers_missing_and_warns_with_the_share():
    x, spikes = spiky()
    clean = np.random.default_rng(8).standard_normal(x.size)
    sig = make_signals({("A", "head_motion"): clean, ("B", "head_motion"): x}, 25.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = preprocess(sig, outlier_sd=5)
    assert [str(w.message) for w in caught] == [
        "B.head_motion: 1.2% of samples (12 of 1000) more than 5 SD from the mean set to missing"]
    assert caught[0].category is OutlierWarning and issubclass(OutlierWarning, PreprocessWarning)
    assert caught[0].filename == __file__  # points at the caller
    np.testing.assert_array_equal(np.isnan(out["B", "head_motion"]), np.isnan(x) | np.isin(np.arange(x.size), spikes))
    np.testing.assert_array_equal(out["A", "head_motion"], clean)

    with pytest.warns(OutlierWarning, match=r"^B.head_motion: 1.2% of samples \(12 of 1000\) .* kept$"):
        kept = preprocess(sig, outlier_sd=5, outlier_action="keep")
    np.testing.assert_array_equal(kept.to_numpy(), sig.to_numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        quiet = preprocess(sig, outlier_sd=5, warn=False)
    np.testing.assert_array_equal(quiet.to_numpy(), out.to_numpy())


# -- the whole table ----------------------------------------------------------------------------


def test_preprocess_applies_the_steps_in_order_per_column():
    rng = np.random.default_rng(21)
    n = 300
    a = np.cumsum(rng.standard_normal(n)) + 0.2 * np.arange(n)
    b = rng.gamma(1.5, 10.0, n)
    a[[3, 4, 150]] = np.nan
    b[40] = 400.0  # an outlier
    sig = make_signals({("A", "x"): a, ("B", "x"): b, ("B", "face_detected"): np.ones(n)}, 10.0)
    with pytest.warns(OutlierWarning, match=r"^B\.x: 0\.333% of samples \(1 of 300\)"):
        out = preprocess(sig, smooth_s=0.5, detrend=True, rescale=True, zscore=True, outlier_sd=6,
                         columns=[("A", "x"), ("B", "x")])
    for col, x in ((("A", "x"), a), (("B", "x"), b)):
        step = np.where(flag_outliers(x, k_sd=6), np.nan, x)
        step = zscore(rescale(detrend_linear(moving_average(step, 10.0, window_s=0.5))))
        np.testing.assert_allclose(out[col], step, rtol=0, atol=1e-12)
        valid = out[col].dropna()
        assert valid.mean() == pytest.approx(0, abs=1e-12) and valid.std() == pytest.approx(1, abs=1e-12)
    assert np.isnan(out["B", "x"].iloc[40]) and np.isnan(out["A", "x"].iloc[[3, 4, 150]]).all()
    np.testing.assert_array_equal(out["B", "face_detected"], 1.0)  # not in `columns`: untouched
    assert out.index.equals(sig.index) and out.columns.equals(sig.columns)


def test_preprocess_reads_the_rate_from_the_time_index():
    x = np.random.default_rng(2).standard_normal(200)
    for rate in (10.0, 25.0):
        sig = make_signals({("A", "x"): x}, rate)
        np.testing.assert_array_equal(preprocess(sig, smooth_s=1.0)["A", "x"],
                                      moving_average(x, rate, window_s=1.0))
        # An explicit rate wins over the index.
        np.testing.assert_array_equal(preprocess(sig, smooth_s=1.0, rate_hz=5.0)["A", "x"],
                                      moving_average(x, 5.0, window_s=1.0))


def test_preprocess_without_steps_is_an_unchanged_copy():
    sig = make_signals({("A", "x"): [1.0, np.nan, 3.0], ("B", "x"): [4.0, 5.0, 6.0]}, 10.0)
    out = preprocess(sig)
    assert out is not sig
    pd.testing.assert_frame_equal(out, sig)


def test_preprocess_warns_about_a_constant_column_it_cannot_scale():
    sig = make_signals({("A", "x"): np.full(50, 2.0), ("B", "x"): np.arange(50.0)}, 10.0)
    for options, verb in ((dict(zscore=True, rescale=True), "z-scored"), (dict(rescale=True), "rescaled")):
        with pytest.warns(PreprocessWarning) as caught:
            out = preprocess(sig, **options)
        assert [str(w.message) for w in caught] == [
            f"A.x: constant or fewer than 2 valid samples, cannot be {verb}; set to missing"]
        assert out["A", "x"].isna().all() and out["B", "x"].notna().all()
    # A tuple of labels names several columns; one label names one.
    pd.testing.assert_frame_equal(preprocess(sig, zscore=True, columns=(("B", "x"),)),
                                  preprocess(sig, zscore=True, columns=("B", "x")))


# -- parameter errors ---------------------------------------------------------------------------


def test_parameter_errors_have_the_standard_message():
    sig = make_signals({("A", "x"): np.arange(10.0)}, 25.0)
    irregular = sig.copy()
    irregular.index = pd.Index([0, 0.04, 0.08, 0.2, 0.24, 0.28, 0.32, 0.36, 0.4, 0.44], name="time_s")
    cases = [
        (lambda: preprocess(sig, smooth_s=-1),
         "The 'smooth_s' parameter of preprocess must be a finite number > 0; got -1."),
        (lambda: preprocess(sig, smooth_s=0.02),
         "The 'smooth_s' parameter of preprocess must be at least one sample period (1/rate_hz = 0.04 s); got 0.02."),
        (lambda: preprocess(irregular, smooth_s=0.5),
         "The 'rate_hz' parameter of preprocess must be given when the time index is not uniform; got None."),
        (lambda: preprocess(sig, outlier_sd=0),
         "The 'outlier_sd' parameter of preprocess must be a finite number > 0; got 0."),
        (lambda: preprocess(sig, outlier_action="drop"),
         "The 'outlier_action' parameter of preprocess must be 'missing' or 'keep'; got 'drop'."),
        (lambda: preprocess(sig, detrend="linear"),
         "The 'detrend' parameter of preprocess must be True or False; got 'linear'."),
        (lambda: preprocess(sig, columns=("B", "x")),
         "The 'columns' parameter of preprocess must be columns of 'signals'; got ('B', 'x')."),
        (lambda: preprocess(sig.to_numpy()),
         "The 'signals' parameter of preprocess must be a pandas DataFrame (Signals); got 'ndarray'."),
        (lambda: moving_average(np.arange(5.0), 0, window_s=1),
         "The 'rate_hz' parameter of moving_average must be a finite number > 0; got 0."),
        (lambda: moving_average(np.arange(5.0), 10.0, window_s=0.05),
         "The 'window_s' parameter of moving_average must be at least one sample period (1/rate_hz = 0.1 s); "
         "got 0.05."),
        (lambda: flag_outliers(np.arange(5.0), k_sd=float("nan")),
         "The 'k_sd' parameter of flag_outliers must be a finite number > 0; got nan."),
        (lambda: zscore(np.zeros((3, 2))),
         "The 'x' parameter of zscore must be a 1-D numeric array; got 'shape (3, 2)'."),
        (lambda: detrend_linear([1.0, float("inf")]),
         "The 'x' parameter of detrend_linear must be finite or NaN values; got 'an infinite value'."),
    ]
    for call, message in cases:
        with pytest.raises(ParameterError) as info:
            call()
        assert str(info.value) == message
