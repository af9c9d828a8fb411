"""Tests of synchrony.textgrid: round trips through our reader and through Praat itself
(parselmouth), so a real Praat reader checks the files we write."""

from __future__ import annotations

import doctest

import numpy as np
import pandas as pd
import pytest

from synchrony import textgrid as textgrid_module
from synchrony.errors import InputFileError, ParameterError
from synchrony.textgrid import (intervals_from_activity, read_textgrid, turn_tiers,
                                write_textgrid)

parselmouth = pytest.importorskip("parselmouth")
from parselmouth.praat import call  # noqa: E402


def sample_tiers():
    return {
        "turns A": pd.DataFrame({"start_s": [0.5, 2.0], "end_s": [1.5, 3.25],
                                 "text": ["A", 'says "hi" – é']}),
        "turns B": pd.DataFrame({"start_s": [1.5, 3.5], "end_s": [2.0, 4.0],
                                 "text": ["B", "B"]}),
        "events": pd.DataFrame({"time_s": [0.1, 2.5], "text": ["bid", "smile"]}),
    }


def test_round_trip_through_our_reader(tmp_path):
    path = write_textgrid(tmp_path / "s.TextGrid", sample_tiers(), xmax_s=5.0)
    grid = read_textgrid(path)
    assert (grid.xmin_s, grid.xmax_s) == (0.0, 5.0)
    assert list(grid.tiers) == ["turns A", "turns B", "events"]
    for name, frame in sample_tiers().items():
        pd.testing.assert_frame_equal(grid.tiers[name], frame, check_dtype=False)
    filled = read_textgrid(path, keep_empty=True).tiers["turns A"]
    assert filled["text"].tolist() == ["", "A", "", 'says "hi" – é', ""]
    assert filled["start_s"].iloc[0] == 0.0 and filled["end_s"].iloc[-1] == 5.0
    assert (filled["start_s"].to_numpy()[1:] == filled["end_s"].to_numpy()[:-1]).all()


def test_praat_reads_what_we_write(tmp_path):
    path = write_textgrid(tmp_path / "s.TextGrid", sample_tiers(), xmax_s=5.0)
    grid = parselmouth.read(str(path))
    assert call(grid, "Get number of tiers") == 3
    assert call(grid, "Get start time") == 0.0 and call(grid, "Get end time") == 5.0
    assert call(grid, "Is interval tier...", 1) == 1 and call(grid, "Is interval tier...", 3) == 0
    assert call(grid, "Get tier name...", 2) == "turns B"
    # Tier 1: empty, A, empty, the quoted label, empty.
    assert call(grid, "Get number of intervals...", 1) == 5
    assert call(grid, "Get label of interval...", 1, 4) == 'says "hi" – é'
    assert call(grid, "Get start time of interval...", 1, 4) == 2.0
    assert call(grid, "Get end time of interval...", 1, 4) == 3.25
    # Tier 2 touches tier 1's times exactly: no sliver interval at 1.5 s.
    assert call(grid, "Get number of intervals...", 2) == 5
    assert call(grid, "Get number of points...", 3) == 2
    assert call(grid, "Get time of point...", 3, 2) == 2.5
    assert call(grid, "Get label of point...", 3, 1) == "bid"


@pytest.mark.parametrize("praat_format", ["Save as text file", "Save as short text file"])
def test_we_read_what_praat_writes(tmp_path, praat_format):
    grid = call("Create TextGrid...", 0.0, 3.0, "speech events", "events")
    call(grid, "Insert boundary...", 1, 0.7)
    call(grid, "Insert boundary...", 1, 1.9)
    call(grid, "Set interval text...", 1, 2, "speech ünïcode")  # Praat then writes UTF-16
    call(grid, "Insert point...", 2, 2.2, "x")
    path = tmp_path / "praat.TextGrid"
    call(grid, praat_format, str(path))
    ours = read_textgrid(path)
    assert (ours.xmin_s, ours.xmax_s) == (0.0, 3.0)
    assert ours.tiers["speech"].values.tolist() == [[0.7, 1.9, "speech ünïcode"]]
    assert ours.tiers["events"].values.tolist() == [[2.2, "x"]]


def test_float_times_survive_exactly(tmp_path):
    rng = np.random.default_rng(0)
    edges = np.sort(rng.uniform(0, 100, 40))
    tier = pd.DataFrame({"start_s": edges[0::2], "end_s": edges[1::2], "text": "v"})
    path = write_textgrid(tmp_path / "f.TextGrid", {"v": tier}, xmax_s=100.0)
    back = read_textgrid(path).tiers["v"]
    np.testing.assert_array_equal(back["start_s"], tier["start_s"])
    np.testing.assert_array_equal(back["end_s"], tier["end_s"])
    praat = parselmouth.read(str(path))
    assert call(praat, "Get start time of interval...", 1, 2) == edges[0]


def test_turn_and_activity_tiers(tmp_path):
    turns = pd.DataFrame({"person": ["A", "B", "A"], "start_s": [0.2, 1.0, 2.0],
                          "end_s": [0.9, 1.8, 2.5]})
    t = pd.Index(np.round(np.arange(300) * 0.01, 6), name="time_s")
    active = pd.Series((t >= 0.2) & (t < 0.9), index=t)
    tiers = turn_tiers(turns, {"A": active})
    assert list(tiers) == ["turns A", "turns B", "voice A"]
    path = write_textgrid(tmp_path / "t.TextGrid", tiers, xmax_s=3.0)
    grid = read_textgrid(path).tiers
    assert grid["turns A"].values.tolist() == [[0.2, 0.9, "A"], [2.0, 2.5, "A"]]
    np.testing.assert_allclose(grid["voice A"][["start_s", "end_s"]].to_numpy(),
                               [[0.195, 0.895]])
    assert intervals_from_activity(active.iloc[:0]).empty


def test_atomic_write_leaves_the_old_file_on_error(tmp_path):
    path = tmp_path / "s.TextGrid"
    write_textgrid(path, sample_tiers(), xmax_s=5.0)
    before = path.read_bytes()
    overlapping = {"x": pd.DataFrame({"start_s": [0.0, 0.5], "end_s": [1.0, 2.0]})}
    with pytest.raises(ParameterError, match="non-overlapping"):
        write_textgrid(path, overlapping)
    with pytest.raises(ParameterError, match="inside"):
        write_textgrid(path, sample_tiers(), xmax_s=2.0)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["s.TextGrid"]  # no temp files left


@pytest.mark.parametrize("tiers, match", [
    ({}, "'tiers' parameter"),
    ({"x": [1, 2]}, "DataFrames"),
    ({"x": pd.DataFrame({"a": [1]})}, "start_s/end_s or time_s"),
    ({"x": pd.DataFrame({"start_s": [1.0], "end_s": [1.0]})}, "start_s < end_s"),
    ({"x": pd.DataFrame({"time_s": []})}, "'xmax_s' parameter"),
])
def test_bad_tiers(tmp_path, tiers, match):
    with pytest.raises(ParameterError, match=match):
        write_textgrid(tmp_path / "bad.TextGrid", tiers)


def test_reading_bad_files(tmp_path):
    with pytest.raises(InputFileError, match="file not found"):
        read_textgrid(tmp_path / "missing.TextGrid")
    junk = tmp_path / "junk.TextGrid"
    junk.write_text("hello world\n")
    with pytest.raises(InputFileError, match="not a readable text TextGrid"):
        read_textgrid(junk)


def test_docstring_examples_run():
    result = doctest.testmod(textgrid_module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
