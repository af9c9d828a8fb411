"""build_signals: bin means on the common clock, gap policy, quality shares, flat CSV form."""

import numpy as np
import pandas as pd
import pytest

from synchrony import ParameterError
from synchrony.signals import build_signals, from_flat, to_flat


def _track(times, **columns):
    return pd.DataFrame(columns, index=pd.Index(times, name="time_s"))


def test_bin_means_on_a_grid_anchored_at_zero():
    # 25 fps frames starting at 0.013 s (a container start offset): bins of 0.1 s
    t = 0.013 + np.arange(50) / 25
    track = _track(t, x=np.arange(50.0))
    sig = build_signals({"A": track}, rate_hz=10)
    assert sig.index[0] == 0.0 and np.allclose(np.diff(sig.index), 0.1)
    # bin at 0.5 s holds frames with times in [0.45, 0.55): indices 11, 12, 13
    assert sig.loc[0.5, ("A", "x")] == pytest.approx(np.mean([11, 12, 13]))


def test_short_gaps_filled_long_gaps_kept():
    t = np.arange(100) / 10
    x = np.arange(100.0)
    x[20:24] = np.nan  # 0.4 s gap: filled
    x[50:60] = np.nan  # 1.0 s gap: kept
    sig = build_signals({"A": _track(t, x=x)}, rate_hz=10, max_gap_s=0.5)["A", "x"].to_numpy()
    np.testing.assert_allclose(sig[20:24], np.arange(20.0, 24.0))
    assert np.isnan(sig[50:60]).all()
    no_fill = build_signals({"A": _track(t, x=x)}, rate_hz=10, max_gap_s=0)["A", "x"]
    assert no_fill.isna().sum() == 14


def test_pitch_is_never_interpolated():
    x = np.r_[np.arange(5.0), [np.nan] * 2, np.arange(3.0)]
    sig = build_signals({"A": _track(np.arange(10) / 10, f0_hz=x + 200, mouth_open=x)}, rate_hz=10)
    assert sig["A", "f0_hz"].isna().sum() == 2 and sig["A", "mouth_open"].isna().sum() == 0


def test_edge_gaps_are_not_extrapolated():
    x = np.r_[np.nan, np.nan, np.arange(8.0)]
    sig = build_signals({"A": _track(np.arange(10) / 10, x=x)}, rate_hz=10, max_gap_s=1)
    assert sig["A", "x"].isna().sum() == 2


def test_quality_columns_become_shares_and_are_not_interpolated():
    t = np.arange(40) / 20  # 20 Hz
    det = np.ones(40, dtype=bool)
    det[10:12] = False  # the 0.5 s bin holds frames 9 (found) and 10 (lost)
    det[30:40] = False
    sig = build_signals({"A": _track(t, face_detected=det)}, rate_hz=10)
    assert sig.loc[0.5, ("A", "face_detected")] == pytest.approx(0.5)
    assert sig.loc[1.6, ("A", "face_detected")] == 0.0


def test_two_persons_share_the_clock_and_flat_roundtrip():
    a = _track(np.arange(30) / 30, x=np.ones(30))
    b = _track(0.02 + np.arange(20) / 20, y=np.zeros(20))
    sig = build_signals({"A": a, "B": b}, rate_hz=10)
    assert list(sig.columns) == [("A", "x"), ("B", "y")]
    flat = to_flat(sig)
    assert list(flat.columns) == ["time_s", "A.x", "B.y"]
    back = from_flat(flat)
    pd.testing.assert_frame_equal(back, sig)


def test_bad_parameters():
    with pytest.raises(ParameterError, match="^The 'rate_hz' parameter of build_signals must be"):
        build_signals({"A": _track([0.0], x=[1.0])}, rate_hz=0)
    with pytest.raises(ParameterError, match="'tracks' parameter"):
        build_signals({}, rate_hz=10)
