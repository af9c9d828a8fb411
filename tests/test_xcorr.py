"""windowed_xcorr: known answers, reference values, null calibration, bad parameters."""

import numpy as np
import pandas as pd
import pytest

from synchrony import ParameterError, peak_lags, windowed_xcorr
from synchrony.simulate import simulate_dyad
from xcorr_reference import reference_xcorr



def _with_gaps(x, rng, share=0.15):
    x = x.copy()
    x[rng.random(x.size) < share] = np.nan
    # also a long hole, so some windows cross rMEA's half-missing rule
    x[200:260] = np.nan
    return x


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("n_win, n_step, n_lag", [(60, 25, 15), (61, 25, 15), (40, 40, 0), (30, 7, 29)])
def test_matches_reference_loop_with_nans(seed, n_win, n_step, n_lag):
    rng = np.random.default_rng(seed)
    n = 900
    a = _with_gaps(np.cumsum(rng.standard_normal(n)) * 3 + 50, rng)
    b = _with_gaps(rng.standard_normal(n) + 0.5 * np.roll(np.nan_to_num(a), 3), rng)
    b[500:530] = 7.0  # a constant stretch: undefined correlation there
    xc, counts = windowed_xcorr(a, b, 10.0, window_s=n_win / 10, step_s=n_step / 10,
                                max_lag_s=n_lag / 10, fisher_z=False, return_counts=True)
    ref, ref_counts = reference_xcorr(a, b, n_win, n_step, n_lag)
    assert xc.shape == ref.shape
    np.testing.assert_array_equal(np.isnan(xc.to_numpy()), np.isnan(ref))
    np.testing.assert_allclose(xc.to_numpy(), ref, atol=1e-10, rtol=0, equal_nan=True)
    np.testing.assert_array_equal(counts.to_numpy(), ref_counts)
    assert np.isnan(ref).any() and np.isfinite(ref).any()  # both branches exercised


def test_matches_reference_without_missing_data():
    """The no-NaN fast path (lag-independent sums for one side)."""
    rng = np.random.default_rng(4)
    a = np.cumsum(rng.standard_normal(700))
    b = np.roll(a, -5) + rng.standard_normal(700)
    xc = windowed_xcorr(a, b, 10.0, window_s=5, step_s=1, max_lag_s=2, fisher_z=False)
    ref, _ = reference_xcorr(a, b, 50, 10, 20)
    np.testing.assert_allclose(xc.to_numpy(), ref, atol=1e-10, rtol=0)


def test_matches_reference_on_real_rmea_dyad(reference_dir):
    """A real patient-therapist motion-energy pair (rMEA example data), rMEA's settings."""
    data = np.loadtxt(reference_dir / "rmea" / "normal" / "200_01.txt", skiprows=1)
    a, b = data[:, 0], data[:, 1]
    xc = windowed_xcorr(a, b, 25.0, window_s=30, step_s=10, max_lag_s=5, fisher_z=True)
    ref, _ = reference_xcorr(a, b, 750, 250, 125)
    np.testing.assert_allclose(xc.to_numpy(), np.arctanh(ref), atol=1e-10, rtol=0, equal_nan=True)
    assert xc.shape == (((len(a) - 875) // 250) + 1, 251)


def test_known_lag_and_sign():
    """b repeats a 0.4 s later: the peak is at +0.4 s; swapping a and b flips the sign."""
    sim = simulate_dyad(duration_s=120, rate_hz=10, lag_s=0.4, coupling=0.9, seed=3)
    a, b = sim.signals["A", "x"], sim.signals["B", "x"]
    xc = windowed_xcorr(a, b, 10, window_s=10, step_s=5, max_lag_s=2)
    assert np.median(peak_lags(xc)["peak_lag_s"]) == pytest.approx(0.4)
    xc_ba = windowed_xcorr(b, a, 10, window_s=10, step_s=5, max_lag_s=2)
    assert np.median(peak_lags(xc_ba)["peak_lag_s"]) == pytest.approx(-0.4)


def test_window_times_come_from_series_index():
    t = pd.Index(12.0 + np.arange(300) / 10, name="time_s")
    a = pd.Series(np.sin(np.arange(300) / 7.0), index=t)
    xc = windowed_xcorr(a, a, 10, window_s=5, step_s=2, max_lag_s=1)
    assert xc.index[0] == 12.0 and xc.index[1] == 14.0
    assert list(xc.columns[:3]) == [-1.0, -0.9, -0.8]


def test_null_calibration_of_lag0_r():
    """Independent white noise: Fisher z of a window's lag-0 r is ~N(0, 1/(W-3))."""
    rng = np.random.default_rng(11)
    a = rng.standard_normal(40_000)
    b = rng.standard_normal(40_000)
    z = windowed_xcorr(a, b, 10, window_s=5, step_s=5, max_lag_s=0)[0.0].to_numpy()
    scaled = z * np.sqrt(50 - 3)
    assert abs(scaled.mean()) < 0.1
    assert scaled.std() == pytest.approx(1.0, abs=0.06)
    # 5% of windows beyond +/-1.96 if calibrated
    assert np.mean(np.abs(scaled) > 1.96) == pytest.approx(0.05, abs=0.015)


def test_absolute_and_fisher():
    rng = np.random.default_rng(5)
    a = rng.standard_normal(400)
    r = windowed_xcorr(a, -a, 10, window_s=5, step_s=5, max_lag_s=0.5, fisher_z=False)
    r_abs = windowed_xcorr(a, -a, 10, window_s=5, step_s=5, max_lag_s=0.5, fisher_z=False, absolute=True)
    np.testing.assert_allclose(r_abs.to_numpy(), np.abs(r.to_numpy()))
    np.testing.assert_allclose(r[0.0], -1.0, atol=1e-12)
    z = windowed_xcorr(a, -a, 10, window_s=5, step_s=5, max_lag_s=0.5)
    np.testing.assert_allclose(np.tanh(z.drop(columns=0.0)), r.drop(columns=0.0), atol=1e-12)


def test_peak_ties_go_to_lag_nearest_zero():
    xc = pd.DataFrame([[0.5, 0.9, 0.2, 0.9, 0.9], [np.nan] * 5, [0.1, 0.3, 0.3, 0.2, 0.0]],
                      columns=pd.Index([-0.2, -0.1, 0.0, 0.1, 0.2], name="lag_s"))
    peaks = peak_lags(xc)
    assert list(peaks["peak_lag_s"].iloc[[0, 2]]) == [-0.1, 0.0]
    assert peaks.iloc[1].isna().all()
    assert peak_lags(-xc, absolute=True)["peak_r"].iloc[0] == -0.9


def test_too_short_series_gives_no_windows():
    xc = windowed_xcorr(np.arange(10.0), np.arange(10.0), 10, window_s=1, step_s=1, max_lag_s=0.5)
    assert xc.shape == (0, 11)


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(window_s=0, step_s=1, max_lag_s=1), "window_s"),
        (dict(window_s=5, step_s=-1, max_lag_s=1), "step_s"),
        (dict(window_s=5, step_s=1, max_lag_s=float("nan")), "max_lag_s"),
        (dict(window_s=0.01, step_s=1, max_lag_s=1), "window_s"),
    ],
)
def test_bad_parameters(kwargs, name):
    with pytest.raises(ParameterError, match=f"^The '{name}' parameter of windowed_xcorr must be"):
        windowed_xcorr(np.zeros(100), np.zeros(100), 10.0, **kwargs)


def test_unequal_lengths():
    with pytest.raises(ParameterError, match="'b' parameter .* same length"):
        windowed_xcorr(np.zeros(100), np.zeros(99), 10.0, window_s=2, step_s=1, max_lag_s=1)


def test_accuracy_on_quiet_windows_between_bursts():
    """Near-constant quiet stretches beside huge bursts (motion energy looks like this)."""
    rng = np.random.default_rng(8)
    n = 3000
    a = rng.poisson(1.0, n).astype(float)
    b = rng.poisson(1.0, n).astype(float)
    for x in (a, b):
        bursts = rng.choice(n, 40, replace=False)
        x[bursts] += rng.uniform(1e3, 1e4, 40)
    a[rng.random(n) < 0.05] = np.nan
    xc = windowed_xcorr(a, b, 25, window_s=4, step_s=1, max_lag_s=1, fisher_z=False)
    ref, _ = reference_xcorr(a, b, 100, 25, 25)
    np.testing.assert_allclose(xc.to_numpy(), ref, atol=1e-10, rtol=0, equal_nan=True)


# --- the kernel's paths (issue #5: faster kernel, same answers) -------------------------
# Each test below checks one path of synchrony.analysis.xcorr's kernel against the
# reference loop (tests/xcorr_reference.py) and shows, with a spy on the private step,
# that its data really reach that path.


def _spy(monkeypatch, name):
    """Count the calls of one private kernel step."""
    from synchrony.analysis import xcorr as module

    calls = []
    real = getattr(module, name)

    def spy(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, spy)
    return calls


def _plateaus(rng, n, nan_share=0.0):
    """Quiet plateaus (noise SD 1) at levels spread over 0..10,000: most windows sit far
    from the series median relative to their own spread, the ill-conditioned case."""
    x = np.repeat(rng.uniform(0, 1e4, n // 100), 100) + rng.standard_normal(n)
    x[rng.random(n) < nan_share] = np.nan
    return x


@pytest.mark.parametrize("n_win, n_step, n_lag, nan_share, two_pass", [
    (40, 20, 10, 0.0, False),   # shifted copies of the windows suffice
    (40, 20, 10, 0.05, False),  # the same with missing samples (masked sums)
    (20, 10, 30, 0.0, True),    # lags beyond the window: some cells need two-pass
])
def test_ill_conditioned_windows_match_reference(monkeypatch, n_win, n_step, n_lag,
                                                 nan_share, two_pass):
    rng = np.random.default_rng(7)
    a, b = _plateaus(rng, 1200, nan_share), _plateaus(rng, 1200, nan_share)
    shifted = _spy(monkeypatch, "_shifted_row_sums")
    direct = _spy(monkeypatch, "_direct_cells")
    xc, counts = windowed_xcorr(a, b, 10.0, window_s=n_win / 10, step_s=n_step / 10,
                                max_lag_s=n_lag / 10, fisher_z=False, return_counts=True)
    ref, ref_counts = reference_xcorr(a, b, n_win, n_step, n_lag)
    np.testing.assert_array_equal(np.isnan(xc.to_numpy()), np.isnan(ref))
    np.testing.assert_allclose(xc.to_numpy(), ref, atol=1e-10, rtol=0, equal_nan=True)
    np.testing.assert_array_equal(counts.to_numpy(), ref_counts)
    assert shifted and bool(direct) == two_pass


def test_real_dyad_with_ill_conditioned_windows(reference_dir, monkeypatch):
    """rMEA's 203_01: the patient's quiet windows lie far below the series median."""
    data = np.loadtxt(reference_dir / "rmea" / "normal" / "203_01.txt", skiprows=1)
    a, b = data[:, 0], data[:, 1]
    shifted = _spy(monkeypatch, "_shifted_row_sums")
    xc = windowed_xcorr(a, b, 25.0, window_s=30, step_s=10, max_lag_s=5, fisher_z=False)
    ref, _ = reference_xcorr(a, b, 750, 250, 125)
    np.testing.assert_allclose(xc.to_numpy(), ref, atol=1e-10, rtol=0)
    assert shifted


@pytest.mark.parametrize("use_blas", [True, False])
def test_lags_longer_than_the_window_without_missing_data(monkeypatch, use_blas):
    """Blocks of 16 samples (BLAS dot products, or einsum as on NumPy < 2) and lags up
    to 40 samples beyond a 32-sample window (the lagged sums' van Herk path)."""
    from synchrony.analysis import xcorr as module

    if not use_blas:
        monkeypatch.setattr(module, "_vecdot", None)
    rng = np.random.default_rng(3)
    a = np.cumsum(rng.standard_normal(800))
    b = np.roll(a, 12) + rng.standard_normal(800)
    xc = windowed_xcorr(a, b, 10.0, window_s=3.2, step_s=1.6, max_lag_s=4.0, fisher_z=False)
    ref, _ = reference_xcorr(a, b, 32, 16, 40)
    np.testing.assert_allclose(xc.to_numpy(), ref, atol=1e-10, rtol=0)
    assert xc.iloc[:, 40 + 12].mean() > 0.5  # the planted lag (+1.2 s) stands out


@pytest.mark.parametrize("nan_share", [0.0, 0.1])
def test_long_recordings_are_done_in_stretches(monkeypatch, nan_share):
    """A small working-array cap splits the windows into stretches; the answer is the
    same as in one pass and as the reference loop, and so are the counts."""
    from synchrony.analysis import xcorr as module

    rng = np.random.default_rng(11)
    a = np.cumsum(rng.standard_normal(6000))
    b = np.roll(a, 7) + 3 * rng.standard_normal(6000)
    for x in (a, b):
        x[rng.random(x.size) < nan_share] = np.nan
    kwargs = dict(window_s=6.0, step_s=2.0, max_lag_s=3.0, fisher_z=False, return_counts=True)
    whole, whole_counts = windowed_xcorr(a, b, 10.0, **kwargs)
    stretches = _spy(monkeypatch, "_stretch")
    monkeypatch.setattr(module, "_MAX_BLOCK_CELLS", 600)
    parts, part_counts = windowed_xcorr(a, b, 10.0, **kwargs)
    assert len(stretches) > 10
    np.testing.assert_allclose(parts.to_numpy(), whole.to_numpy(), atol=1e-12, rtol=0)
    np.testing.assert_array_equal(part_counts.to_numpy(), whole_counts.to_numpy())
    ref, ref_counts = reference_xcorr(a, b, 60, 20, 30)
    np.testing.assert_allclose(parts.to_numpy(), ref, atol=1e-10, rtol=0, equal_nan=True)
    np.testing.assert_array_equal(part_counts.to_numpy(), ref_counts)


def test_working_memory_does_not_grow_with_length(monkeypatch):
    """Beyond one stretch, 16 times the recording needs no more working memory: what
    the kernel allocates and frees again, besides its standardised copy of the input
    and that copy's missing-sample mask (tracemalloc: peak minus what is still held)."""
    import tracemalloc

    from synchrony.analysis import xcorr as module

    monkeypatch.setattr(module, "_MAX_BLOCK_CELLS", 4096)

    def working_mib(n):
        rng = np.random.default_rng(0)
        a = rng.standard_normal(n)
        b = np.roll(a, 5) + rng.standard_normal(n)
        tracemalloc.start()
        try:
            result = module._xcorr_kernel(a, b, 250, 100, 50)  # held: the outputs
            held, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert result[0].shape == ((n - 300) // 100 + 1, 101)
        return (peak - held - 2 * n * 9) / 2**20

    short, long_ = working_mib(15_000), working_mib(240_000)
    assert long_ < 1.1 * short + 0.01, (short, long_)
