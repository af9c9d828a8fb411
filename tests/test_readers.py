"""load_signals: rMEA text, OpenFace CSV and generic tables, and their one-line errors."""

import numpy as np
import pandas as pd
import pytest

from synchrony import InputFileError
from synchrony.readers import load_signals, read_openface


def test_rmea_real_dyad(reference_dir):
    path = reference_dir / "rmea" / "normal" / "200_01.txt"
    sig = load_signals(path, persons=("patient", "therapist"))
    raw = np.loadtxt(path, skiprows=1)
    assert list(sig.columns) == [("patient", "motion_energy"), ("therapist", "motion_energy")]
    np.testing.assert_array_equal(sig.to_numpy(), raw)
    assert sig.index[1] == 0.04 and sig.index[-1] == pytest.approx((len(raw) - 1) / 25)


def test_openface_real_file(reference_dir):
    path = reference_dir / "media" / "OpenFace_Test.csv"
    track = read_openface(path)
    raw = pd.read_csv(path, skipinitialspace=True)
    np.testing.assert_allclose(track.index, raw["timestamp"])
    ok = (raw["success"] == 1) & (raw["confidence"] >= 0.75)
    np.testing.assert_array_equal(track["face_detected"], ok)
    np.testing.assert_allclose(track.loc[ok.to_numpy(), "head_yaw_deg"], np.degrees(raw.loc[ok, "pose_Ry"]))
    assert {"au12_lip_corner_puller", "gaze_yaw_deg", "gaze_pitch_deg"} <= set(track.columns)


def test_openface_low_confidence_frames_become_nan(tmp_path):
    rows = ["frame, timestamp, confidence, success, pose_Rx, pose_Ry, pose_Rz, AU12_r",
            "1, 0.0, 0.98, 1, 0.1, 0.2, 0.0, 1.5",
            "2, 0.04, 0.30, 1, 0.1, 0.2, 0.0, 2.5",
            "3, 0.08, 0.95, 0, 0.1, 0.2, 0.0, 3.5",
            "4, 0.12, 0.97, 1, 0.0, -0.1, 0.0, 0.5"]
    path = tmp_path / "infant.csv"
    path.write_text("\n".join(rows) + "\n")
    track = read_openface(path)
    assert track["face_detected"].tolist() == [True, False, False, True]
    assert track["au12_lip_corner_puller"].isna().tolist() == [False, True, True, False]
    assert track["head_pitch_deg"].iloc[0] == pytest.approx(np.degrees(0.1))
    both = load_signals([path, path], persons=("infant", "mother"), rate_hz=25)
    assert ("mother", "head_yaw_deg") in both.columns


def test_generic_csv_with_time_column_and_rate(tmp_path):
    path = tmp_path / "hr.tsv"
    t = np.arange(50) / 4
    pd.DataFrame({"time_s": t, "A.heart_rate": 70 + t, "B.heart_rate": 80 - t}).to_csv(path, sep="\t", index=False)
    sig = load_signals(path)
    assert sig.loc[2.0, ("A", "heart_rate")] == pytest.approx(72.0)
    plain = tmp_path / "plain.csv"
    pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [3.0, 2.0, 1.0]}).to_csv(plain, index=False)
    sig = load_signals(plain, rate_hz=2, columns={"x": ("infant", "arousal"), "y": ("mother", "arousal")})
    assert list(sig.index) == [0.0, 0.5, 1.0]
    assert sig["mother", "arousal"].tolist() == [3.0, 2.0, 1.0]


def _error(path, **kwargs):
    with pytest.raises(InputFileError) as info:
        load_signals(path, **kwargs)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    return message


def test_bad_inputs(tmp_path):
    assert "file not found" in _error(tmp_path / "none.txt")
    cell = tmp_path / "cell.txt"
    cell.write_text("pat th\n1 2\n3 x7\n5 6\n")
    assert "non-numeric value 'x7' in column 'th' at data row 2" in _error(cell)
    short = tmp_path / "short.txt"
    short.write_text("pat th\n1 2\n3\n5 6\n")
    assert "data row 2 has fewer than two values" in _error(short)
    back = tmp_path / "back.csv"
    back.write_text("time_s,A.x,B.x\n0.0,1,2\n0.1,1,2\n0.05,1,2\n")
    assert "goes backwards at data row 3" in _error(back)
    dup = tmp_path / "dup.csv"
    dup.write_text("time_s,A.x,B.x\n0.0,1,2\n0.1,1,2\n0.1,1,2\n")
    assert "repeats a time at data row 3" in _error(dup)
    col = tmp_path / "col.csv"
    col.write_text("t,A.x\n0,1\n")
    assert "missing column 'A.y'" in _error(col, rate_hz=10, columns={"A.y": ("A", "y")})
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert "cannot be read" in _error(empty, rate_hz=10)


def test_xcorr_cli_on_a_real_rmea_dyad(reference_dir, tmp_path):
    """`synchrony xcorr FILE` runs rMEA's windowing on a real dyad: its window table equals
    windowed_xcorr + peak_lags on the same series."""
    import subprocess
    import sys

    from synchrony import peak_lags, windowed_xcorr

    path = reference_dir / "rmea" / "normal" / "200_01.txt"
    out = tmp_path / "out"
    run = subprocess.run([sys.executable, "-m", "synchrony.cli", "xcorr", str(path),
                          "--persons", "patient,therapist", "--out", str(out)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    windows = pd.read_csv(out / "windows.csv")
    raw = np.loadtxt(path, skiprows=1)
    xc = windowed_xcorr(raw[:, 0], raw[:, 1], 25.0, window_s=30, step_s=10, max_lag_s=5, fisher_z=False)
    expected = peak_lags(xc)
    assert len(windows) == len(expected) == 57
    np.testing.assert_allclose(windows["peak_r"], expected["peak_r"], atol=1e-12)
    np.testing.assert_allclose(windows["peak_lag_s"], expected["peak_lag_s"])
    assert "therapist follows patient" in run.stdout
