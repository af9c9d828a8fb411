"""Aggregates as rMEA reports them, and the leader/follower statement: known answers."""

import math

import numpy as np
import pandas as pd
import pytest

from synchrony import ParameterError, windowed_xcorr
from synchrony.analysis.aggregates import leader_follower, session_aggregates, window_aggregates
from synchrony.readers import read_rmea
from synchrony.simulate import simulate_dyad
from aggregates_reference import rmea_ccf, rmea_ccfres, rmea_summary

# rMEA's windowing for these data (Kleinbub & Ramseyer 2020): 25 Hz, lag 5 s, window 30 s,
# increment 10 s; the ccfRes name of each of our columns (s1 = A, s2 = B).
RATE, LAG, WIN, INC = 25, 5, 30, 10
CCFRES_NAMES = {"r_lag0": "lag_zero", "mean_all_lags": "all_lags", "mean_a_leads": "s1_lead",
                "mean_b_leads": "s2_lead", "mean_a_leads_0": "s1_lead_0",
                "mean_b_leads_0": "s2_lead_0", "best_lag_s": "bestLag"}


def _rmea_dyad(reference_dir, name, *, absolute):
    sig = read_rmea(reference_dir / "rmea" / name)
    a, b = sig["A", "motion_energy"], sig["B", "motion_energy"]
    xc = windowed_xcorr(a, b, float(RATE), window_s=WIN, step_s=INC, max_lag_s=LAG,
                        fisher_z=True, absolute=absolute)
    table, lags_s = rmea_ccf(a.to_numpy(), b.to_numpy(), RATE, LAG, WIN, INC,
                             r2z=True, absolute=absolute)
    return xc, np.array(table), lags_s


@pytest.mark.parametrize("name, absolute", [("normal/200_01.txt", False), ("dropout/100_01.txt", True)])
def test_follows_rmea_definitions_on_a_real_dyad(reference_dir, name, absolute):
    """windowed_xcorr and every aggregate equal a loop transliterating rMEA, to 1e-10."""
    xc, table, lags_s = _rmea_dyad(reference_dir, name, absolute=absolute)
    # the cross-correlation table itself (rMEA's mea$ccf)
    assert xc.shape == table.shape == (57, 251)
    np.testing.assert_allclose(xc.columns.to_numpy(), lags_s, atol=1e-12, rtol=0)
    np.testing.assert_allclose(xc.index.to_numpy(), np.arange(57) * INC, atol=1e-12, rtol=0)
    np.testing.assert_allclose(xc.to_numpy(), table, atol=1e-10, rtol=0, equal_nan=True)
    assert np.isfinite(table).all() and np.abs(table).max() < 10  # rMEA's cap never bites here

    # per window (rMEA's mea$ccfRes)
    res = rmea_ccfres(table.tolist(), lags_s, LAG, RATE)
    agg = window_aggregates(xc)
    assert agg.index.equals(xc.index)
    for ours, theirs in CCFRES_NAMES.items():
        np.testing.assert_allclose(agg[ours].to_numpy(), res[theirs], atol=1e-10, rtol=0,
                                   err_msg=ours)
    rows = np.arange(len(agg))
    best_col = np.searchsorted(xc.columns.to_numpy(), agg["best_lag_s"].to_numpy())
    np.testing.assert_array_equal(agg["best_value"].to_numpy(), xc.to_numpy()[rows, best_col])

    # per session (summary.MEAlist and ccfRes$grandAver)
    summary = rmea_summary(table.tolist(), LAG, RATE)
    sess = session_aggregates(xc)
    for ours, theirs in CCFRES_NAMES.items():
        if ours != "best_lag_s":
            assert sess[ours] == pytest.approx(summary[theirs], abs=1e-10), ours
    assert sess["mean_all_lags"] == pytest.approx(res["grandAver"], abs=1e-10)
    assert (sess["n_windows"], sess["n_valid_windows"], sess["n_valid_cells"]) == (57, 57, 57 * 251)


def test_hand_derived_table_with_missing_cells():
    """A 3 x 5 table worked out by hand: NaN skipped, an empty window, ties, pooling."""
    nan = np.nan
    xc = pd.DataFrame([[0.1, 0.3, 0.2, 0.3, nan],    # tie at -0.1 and +0.1: the first wins
                       [nan, nan, nan, nan, nan],    # nothing defined
                       [-0.4, nan, 0.0, 0.2, 0.6]],
                      index=pd.Index([0.0, 5.0, 10.0], name="window_start_s"),
                      columns=pd.Index([-0.2, -0.1, 0.0, 0.1, 0.2], name="lag_s"))
    agg = window_aggregates(xc)
    expected = pd.DataFrame(
        {"r_lag0": [0.2, nan, 0.0],
         "mean_all_lags": [0.9 / 4, nan, 0.4 / 4],
         "mean_a_leads": [0.3, nan, 0.4],
         "mean_b_leads": [0.2, nan, -0.4],
         "mean_a_leads_0": [0.25, nan, 0.8 / 3],
         "mean_b_leads_0": [0.2, nan, -0.2],
         "best_lag_s": [-0.1, nan, 0.2],
         "best_value": [0.3, nan, 0.6]}, index=xc.index)
    pd.testing.assert_frame_equal(agg, expected, atol=1e-15, rtol=0)

    sess = session_aggregates(xc)
    # pooled over the 8 defined cells, not the mean of window means ((0.225 + 0.1) / 2)
    assert sess["mean_all_lags"] == pytest.approx(1.3 / 8, abs=1e-15)
    assert sess["mean_a_leads"] == pytest.approx(1.1 / 3, abs=1e-15)
    assert sess["mean_b_leads"] == pytest.approx(0.0, abs=1e-15)
    assert sess["r_lag0"] == pytest.approx(0.1, abs=1e-15)
    assert (sess["n_windows"], sess["n_valid_windows"], sess["n_valid_cells"]) == (3, 2, 8)


def test_best_lag_of_infinite_fisher_z():
    """r = -1 at every lag is Fisher z = -inf: still a defined maximum (the first lag)."""
    xc = pd.DataFrame([[-np.inf, -np.inf, -np.inf]], index=pd.Index([0.0]),
                      columns=pd.Index([-1.0, 0.0, 1.0]))
    agg = window_aggregates(xc)
    assert agg.loc[0.0, "best_lag_s"] == -1.0 and agg.loc[0.0, "best_value"] == -np.inf


def _xc(lag_s, *, coupling=0.8, seed=5, duration_s=600):
    sim = simulate_dyad(duration_s=duration_s, rate_hz=10, lag_s=lag_s, coupling=coupling, seed=seed)
    return windowed_xcorr(sim.signals["A", "x"], sim.signals["B", "x"], 10.0,
                          window_s=30, step_s=10, max_lag_s=5)


def test_planted_lag_b_follows_a():
    """B repeats A 0.4 s later: A-leads lags carry the synchrony and A is named leader."""
    xc = _xc(0.4)
    agg = window_aggregates(xc)
    # one window's A-leads mean can lose to chance over 125 lags; the session's cannot
    assert (agg["mean_a_leads"] > agg["mean_b_leads"]).mean() >= 0.9
    assert (np.abs(agg["best_lag_s"] - 0.4) < 1e-9).all()
    sess = session_aggregates(xc)
    assert sess["mean_a_leads"] > sess["mean_b_leads"] + 0.05

    lf = leader_follower(xc, window_s=30, seed=0)
    assert lf["leader"] == "A"
    assert lf["median_best_lag_s"] == pytest.approx(0.4)
    lo, hi = lf["median_best_lag_ci_s"]
    assert 0 < lo <= 0.4 <= hi
    d_lo, d_hi = lf["lead_difference_ci"]
    assert 0 < d_lo <= lf["lead_difference"] <= d_hi
    assert lf["lead_difference"] == pytest.approx(
        (agg["mean_a_leads"] - agg["mean_b_leads"]).mean(), abs=1e-12)
    assert lf["statement"].startswith("A leads by 0.40 s (95% CI 0.40 to 0.40 s")
    assert (lf["n_windows"], lf["block_windows"]) == (57, 7)  # blocks of 2 x 35 s


def test_planted_lag_a_follows_b():
    """The mirror case: A repeats B 0.4 s later, so B leads, under the given names."""
    xc = _xc(-0.4)
    agg = window_aggregates(xc)
    assert (agg["mean_b_leads"] > agg["mean_a_leads"]).mean() >= 0.9
    assert (np.abs(agg["best_lag_s"] + 0.4) < 1e-9).all()
    lf = leader_follower(xc, window_s=30, seed=0, persons=("infant", "mother"))
    assert lf["leader"] == "mother"
    assert lf["median_best_lag_s"] == pytest.approx(-0.4)
    lo, hi = lf["median_best_lag_ci_s"]
    assert lo <= -0.4 <= hi < 0
    assert lf["lead_difference_ci"][1] < 0
    assert lf["statement"].startswith("mother leads by 0.40 s (95% CI 0.40 to 0.40 s")


def test_independent_pairs_rarely_get_a_leader():
    """No coupling: the 95% interval of the lead difference holds 0 in >= 90 of 100."""
    holds_zero = no_leader = 0
    for seed in range(100):
        lf = leader_follower(_xc(0.0, coupling=0.0, seed=1000 + seed), window_s=30, seed=seed)
        lo, hi = lf["lead_difference_ci"]
        holds_zero += lo <= 0 <= hi
        no_leader += lf["leader"] is None
    assert holds_zero >= 90
    assert no_leader >= 90


def test_constant_window_values_give_a_point_interval():
    """Every window identical: every resample is identical, the interval is a point."""
    lags = np.round(np.arange(-5, 6) / 10, 9)
    row = np.where(lags > 0, 0.5, 0.1)
    row[lags == 0.3] = 0.9  # best lag +0.3 s
    xc = pd.DataFrame(np.tile(row, (40, 1)), index=pd.Index(np.arange(40) * 10.0),
                      columns=pd.Index(lags))
    lf = leader_follower(xc, window_s=30, seed=1)
    expected_diff = (0.5 * 4 + 0.9) / 5 - 0.1
    assert lf["lead_difference"] == pytest.approx(expected_diff, abs=1e-12)
    assert lf["lead_difference_ci"] == pytest.approx((expected_diff, expected_diff), abs=1e-12)
    assert lf["median_best_lag_ci_s"] == pytest.approx((0.3, 0.3), abs=1e-12)
    assert lf["leader"] == "A" and lf["statement"].startswith("A leads by 0.30 s")


def test_same_seed_same_output_different_seed_different_bootstrap():
    xc = _xc(0.0, coupling=0.0, seed=3)
    first = leader_follower(xc, window_s=30, seed=7)
    assert leader_follower(xc, window_s=30, seed=7) == first
    assert leader_follower(xc, window_s=30, seed=np.random.default_rng(7)) == first
    other = leader_follower(xc, window_s=30, seed=8)
    assert other["lead_difference_ci"] != first["lead_difference_ci"]
    assert other["lead_difference"] == first["lead_difference"]  # the estimate is not random


def test_too_few_windows_for_two_blocks():
    xc = _xc(0.4, duration_s=100)  # 7 windows, blocks of 7
    lf = leader_follower(xc, window_s=30, seed=0)
    assert lf["n_windows"] == 7 and lf["block_windows"] == 7
    assert lf["leader"] is None and all(math.isnan(v) for v in lf["lead_difference_ci"])
    assert lf["median_best_lag_s"] == pytest.approx(0.4)
    assert lf["statement"].startswith("no clear leader: 7 usable window(s)")
    short = leader_follower(xc, window_s=30, seed=0, block_s=20)  # blocks of 2 windows
    assert short["block_windows"] == 2 and short["leader"] == "A"


@pytest.mark.parametrize("call, message", [
    (lambda xc: window_aggregates(xc.to_numpy()),
     "The 'xc' parameter of window_aggregates must be a DataFrame from windowed_xcorr; got 'ndarray'."),
    (lambda xc: session_aggregates(xc.drop(columns=[0.0])),
     "The 'xc' parameter of session_aggregates must be a table whose lag_s columns increase and include 0"),
    (lambda xc: leader_follower(xc, window_s=-30),
     "The 'window_s' parameter of leader_follower must be a finite number > 0; got -30."),
    (lambda xc: leader_follower(xc, window_s=30, n_boot=1),
     "The 'n_boot' parameter of leader_follower must be an integer >= 2; got 1."),
    (lambda xc: leader_follower(xc, window_s=30, alpha=1.5),
     "The 'alpha' parameter of leader_follower must be a number strictly between 0 and 1; got 1.5."),
    (lambda xc: leader_follower(xc, window_s=30, block_s=0),
     "The 'block_s' parameter of leader_follower must be a finite number > 0; got 0."),
    (lambda xc: leader_follower(xc, window_s=30, persons="AB"),
     "The 'persons' parameter of leader_follower must be a pair of names; got 'AB'."),
])
def test_bad_parameters(call, message):
    xc = _xc(0.4, duration_s=120)
    with pytest.raises(ParameterError) as info:
        call(xc)
    assert str(info.value).startswith(message)
