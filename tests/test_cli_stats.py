"""`synchrony xcorr` with the statistics options, on a real rMEA dyad."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd

from synchrony.analysis.stats import surrogate_test
from synchrony.readers import read_rmea


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "synchrony.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def test_xcorr_with_segment_surrogates_and_episodes(reference_dir, tmp_path):
    path = reference_dir / "rmea" / "normal" / "200_01.txt"
    episodes = tmp_path / "episodes.csv"
    episodes.write_text("episode,start_s,end_s\nopening,0,300\nrest,300,600\n")
    out = tmp_path / "out"
    run = _cli("xcorr", path, "--surrogates", "segment", "--n-surrogates", 49, "--seed", 3,
               "--episodes", episodes, "--out", out)
    assert run.returncode == 0, run.stderr
    stats = pd.read_csv(out / "stats.csv")
    assert stats["method"].tolist() == ["segment"] and stats["n_surrogates"].tolist() == [49]
    # the same numbers as the library call with the same settings and seed
    signals = read_rmea(path)
    expected = surrogate_test(signals["A", "motion_energy"].to_numpy(), signals["B", "motion_energy"].to_numpy(),
                              25.0, window_s=30, step_s=10, max_lag_s=5, method="segment",
                              n_surrogates=49, seed=3)
    assert stats["p_value"].iloc[0] == expected["p_value"]
    assert np.isclose(stats["observed"].iloc[0], expected["observed"], atol=1e-12)
    assert stats["q_value"].iloc[0] == stats["p_value"].iloc[0]  # one pair: FDR changes nothing
    windows = pd.read_csv(out / "windows.csv")
    # window centres (start + 15 s) before 300 s are 'opening', the rest 'rest'
    centre = windows["window_start_s"] + 15
    assert (windows["episode"] == np.where(centre < 300, "opening", "rest")).all()
    summary = json.loads((out / "summary.json").read_text())
    rows = {r["episode"]: r for r in summary["episodes"]["pairs"]["motion_energy~motion_energy"]}
    assert set(rows) == {"opening", "rest", "all"}
    assert rows["opening"]["peak_r_count"] + rows["rest"]["peak_r_count"] == rows["all"]["peak_r_count"] == 57


def test_xcorr_bad_pair_name_is_one_line(reference_dir, tmp_path):
    run = _cli("xcorr", reference_dir / "rmea" / "normal" / "200_01.txt", "--pairs", "faces",
               "--out", tmp_path / "o")
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert run.stderr.strip().splitlines()[-1].startswith("error: The 'pairs' parameter of AnalysisConfig")


def test_pseudo_dyads_cli_on_the_twenty_real_dyads(reference_dir, tmp_path):
    """rMEA's shuffle test over the twenty real dyads: 380 cross-session pairings, never a
    real pair, and the same numbers as the library call."""
    from synchrony.analysis.stats import pseudo_dyad_test

    files = sorted((reference_dir / "rmea").glob("*/*.txt"))
    assert len(files) == 20
    run = _cli("pseudo-dyads", *files, "--out", tmp_path / "pd", "--seed", 1)
    assert run.returncode == 0, run.stderr
    pseudo = pd.read_csv(tmp_path / "pd" / "pseudo.csv")
    assert len(pseudo) == 380 and not (pseudo["session_a"] == pseudo["session_b"]).any()
    dyads = pd.read_csv(tmp_path / "pd" / "dyads.csv")
    assert dyads["file"].tolist() == [f.name for f in files]
    series = [read_rmea(f) for f in files]
    expected = pseudo_dyad_test([(s["A", "motion_energy"].to_numpy(), s["B", "motion_energy"].to_numpy())
                                 for s in series], 25.0, window_s=30, step_s=10, max_lag_s=5, seed=1)
    np.testing.assert_allclose(dyads["p_value"], expected["dyads"]["p_value"])
    assert json.loads((tmp_path / "pd" / "group.json").read_text()) == expected["group"]
