"""End to end: the bundled sample session's known answer, output files, bad input."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from conftest import REPO
from _facegen import write_split_video
from _mediagen import make_video

SAMPLE = REPO / "sample_media" / "dyad_split.mp4"
TRUTH = json.loads((REPO / "sample_media" / "dyad_split.truth.json").read_text())


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "synchrony.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=600)


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("demo")
    out = run_cli("demo", cwd=cwd)
    assert out.returncode == 0, out.stderr
    assert "synchrony-demo" in out.stdout and "summary.json" in out.stdout
    return cwd / "synchrony-demo"


def _iou(a, b):
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    return inter / (max(a[1], b[1]) - min(a[0], b[0]))


def test_demo_recovers_the_planted_lag(demo_dir):
    summary = json.loads((demo_dir / "summary.json").read_text())
    head = summary["pairs"]["head_motion~head_motion"]
    rate_hz = summary["config"]["rate_hz"]
    # within one analysis sample of the true delay, and positive: B follows A
    assert abs(head["median_peak_lag_s"] - TRUTH["delay_s"]) <= 1 / rate_hz + 1e-9
    assert head["median_peak_lag_s"] > 0 and head["leader"] == "A"
    assert summary["lag_sign_convention"].startswith("positive lag = B follows A")


def test_demo_finds_the_planted_mismatch_span(demo_dir):
    mismatch = pd.read_csv(demo_dir / "mismatch.csv")
    head = mismatch[mismatch["features"] == "head_motion~head_motion"]
    truth = TRUTH["mismatch_spans_s"][0]
    best = max(_iou((s.start_s, s.end_s), truth) for s in head.itertuples())
    assert best >= 0.5


def test_demo_output_tables(demo_dir):
    signals = pd.read_csv(demo_dir / "signals.csv")
    assert signals.columns[0] == "time_s"
    for col in ["A.head_motion", "B.head_motion", "A.mouth_open", "B.face_detected", "A.intensity_db"]:
        assert col in signals.columns
    assert np.allclose(np.diff(signals["time_s"]), 0.1)
    xcorr = pd.read_csv(demo_dir / "xcorr.csv")
    assert list(xcorr.columns) == ["pair", "window_start_s", "window_end_s", "lag_s", "r"]
    windows = pd.read_csv(demo_dir / "windows.csv")
    assert list(windows.columns) == ["pair", "window_start_s", "window_end_s", "peak_r",
                                     "peak_lag_s", "trough_r", "r_lag0", "threshold_r",
                                     "mean_all_lags_z", "mean_a_leads_z", "mean_b_leads_z",
                                     "active_A", "active_B"]
    # the long table and the window table agree: r at lag 0 is the lag-0 row
    lag0 = xcorr[(xcorr["pair"] == "head_motion~head_motion") & (xcorr["lag_s"] == 0)]
    head = windows[windows["pair"] == "head_motion~head_motion"]
    np.testing.assert_allclose(lag0["r"].to_numpy(), head["r_lag0"].to_numpy())
    mismatch = pd.read_csv(demo_dir / "mismatch.csv")
    assert list(mismatch.columns) == ["start_s", "end_s", "duration_s", "features", "kind", "active",
                                      "not_following", "strength", "p_value", "rupture", "repaired",
                                      "repair_time_s"]
    stats = pd.read_csv(demo_dir / "stats.csv")
    assert list(stats.columns) == ["pair", "statistic", "method", "observed", "surrogate_mean",
                                   "surrogate_sd", "cohens_d", "p_value", "n_surrogates", "q_value"]
    # the planted coupling: head motion far above its surrogates (p at its floor, 1/201)
    head_test = stats.set_index("pair").loc["head_motion~head_motion"]
    assert head_test["p_value"] == pytest.approx(1 / 201) and head_test["cohens_d"] > 3
    summary = json.loads((demo_dir / "summary.json").read_text())
    for pair in summary["pairs"].values():
        assert {"mean_peak_r", "median_peak_lag_s", "mismatch_share", "n_ruptures", "test",
                "leader_follower", "aggregates_fisher_z"} <= set(pair)
    assert summary["session"]["audio"] == "per-person channels"
    pngs = sorted(p.name for p in demo_dir.glob("*.png"))
    for kind in ("heatmap", "signals", "lag", "surrogates"):
        assert f"{kind}_head_motion_vs_head_motion.png" in pngs
    assert "overview.png" in pngs and "thumbnails.png" not in pngs  # no pictures of people unless asked
    assert (demo_dir / "report.html").stat().st_size > 100_000
    # the annotation exports hold the mismatch spans, to the millisecond
    import pympi

    eaf = pympi.Elan.Eaf(str(demo_dir / "annotations.eaf"))
    spans = mismatch[mismatch["features"] == "head_motion~head_motion"]
    got = sorted(a[:2] for a in eaf.get_annotation_data_for_tier("mismatch head_motion~head_motion"))
    assert got == sorted(zip((spans["start_s"] * 1000).round().astype(int), (spans["end_s"] * 1000).round().astype(int)))
    assert eaf.media_descriptors[0]["RELATIVE_MEDIA_URL"].endswith("dyad_split.mp4")
    events = pd.read_csv(demo_dir / "events.tsv", sep="\t")
    assert (events["trial_type"] == "mismatch").sum() == len(mismatch)
    assert not list(demo_dir.glob(".*tmp"))  # no temporary files left behind


def _one_line_error(out, *needles):
    """Exit 1 and one 'error:' line naming the file, last on stderr, with no traceback
    (progress bars may come before it)."""
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("error: ")]
    assert len(errors) == 1 and lines[-1] == errors[0], out.stderr
    assert "Traceback" not in out.stderr
    for needle in needles:
        assert needle in errors[0]


def test_missing_file(tmp_path):
    out = run_cli("analyze", tmp_path / "nowhere.mp4", "--out", tmp_path / "o")
    _one_line_error(out, "nowhere.mp4", "not found")


def test_text_file_renamed_mp4(tmp_path):
    fake = tmp_path / "notes.mp4"
    fake.write_text("session notes, not a video\n")
    out = run_cli("analyze", fake, "--out", tmp_path / "o")
    _one_line_error(out, "notes.mp4", "not a readable media file")


def test_video_with_no_face(tmp_path):
    video = make_video(tmp_path / "empty_room.mp4", n_frames=20, size=(256, 96))
    out = run_cli("analyze", video, "--out", tmp_path / "o")
    _one_line_error(out, "empty_room.mp4", "no face")


def _sample_without_audio(path, n_frames):
    """The first frames of the sample session re-encoded with no audio track."""
    import av

    with av.open(str(SAMPLE)) as container:
        frames = [f.to_ndarray(format="rgb24") for _, f in zip(range(n_frames), container.decode(video=0))]
    write_split_video(path, [f[:, :640] for f in frames], [f[:, 640:] for f in frames])
    return path


def test_video_without_audio_gives_video_only_results(tmp_path):
    # 480 frames = 20 s: long enough for the default windows and surrogates
    video = _sample_without_audio(tmp_path / "silent.mp4", 480)
    out = run_cli("analyze", video, "--out", tmp_path / "o")
    assert out.returncode == 0, out.stderr
    warnings = [l for l in out.stderr.splitlines() if l.startswith("WARNING")]
    assert any("silent.mp4" in w and "no audio" in w for w in warnings)
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["session"]["audio"] == "none"
    assert "head_motion~head_motion" in summary["pairs"]
    assert "intensity_db~intensity_db" not in summary["pairs"]


def test_too_short_recording(tmp_path):
    video = _sample_without_audio(tmp_path / "short.mp4", 100)
    out = run_cli("analyze", video, "--out", tmp_path / "o")
    _one_line_error(out, "short.mp4", "too short to analyse")


def test_analyze_signals_is_seeded():
    """Same input, settings and seed: identical tables; another seed: other surrogates."""
    from synchrony.config import AnalysisConfig
    from synchrony.pipeline import analyze_signals
    from synchrony.simulate import simulate_dyad

    sim = simulate_dyad(duration_s=120, rate_hz=10, lag_s=0.3, mismatch_spans_s=[(50, 65)], seed=2)
    config = AnalysisConfig(pairs=(("x", "x"),), n_surrogates=50, seed=5)
    one = analyze_signals(sim.signals, config=config)
    two = analyze_signals(sim.signals, config=config)
    pd.testing.assert_frame_equal(one.windows, two.windows)
    pd.testing.assert_frame_equal(one.mismatch, two.mismatch)
    assert one.summary == two.summary
    other = analyze_signals(sim.signals, config=AnalysisConfig(pairs=(("x", "x"),), n_surrogates=50, seed=6))
    assert other.summary["pairs"]["x~x"]["chance_peak_r"] != one.summary["pairs"]["x~x"]["chance_peak_r"]
    assert one.summary["pairs"]["x~x"]["median_peak_lag_s"] == pytest.approx(0.3)


def test_thumbnails_only_when_asked(demo_dir, tmp_path):
    """--thumbnails adds a frame strip at the mismatch spans (re-using the demo's cached
    tracks, so nothing is extracted again)."""
    import shutil

    out = tmp_path / "with-thumbs"
    shutil.copytree(demo_dir, out)
    (out / "overview.png").unlink()
    run = run_cli("analyze", SAMPLE, "--out", out, "--thumbnails")
    assert run.returncode == 0, run.stderr
    assert (out / "thumbnails.png").stat().st_size > 1000 and (out / "overview.png").exists()
    assert (out / "mismatch.csv").read_bytes() == (demo_dir / "mismatch.csv").read_bytes()
