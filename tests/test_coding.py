"""Tests of synchrony.coding: hand-coded events read from files written by the real tools
(ELAN files by pympi-ling, TextGrids by Praat, BORIS exports in BORIS's own layouts), and
agreement scores checked against hand-derived values, a slow reference kept here, and
scikit-learn's Cohen's kappa."""

from __future__ import annotations

import doctest

import numpy as np
import pandas as pd
import pytest

from synchrony import coding as coding_module
from synchrony.coding import (CODED_COLUMNS, as_episodes, grid_kappa, overlap_agreement,
                              read_boris, read_coded_events, read_eaf_tiers)
from synchrony.episodes import episodes_table
from synchrony.errors import InputFileError, ParameterError

pympi = pytest.importorskip("pympi")
parselmouth = pytest.importorskip("parselmouth")
from parselmouth.praat import call  # noqa: E402


# ---------------------------------------------------------------------------- slow references


def reference_overlap(coded, detected, min_overlap_s=0.0):
    """Event matching by loops, and covered time by sweeping the elementary segments."""
    c = list(zip(coded["start_s"], coded["end_s"]))
    d = list(zip(detected["start_s"], detected["end_s"]))

    def matches(ev, span):
        if ev[0] == ev[1]:
            return span[0] <= ev[0] <= span[1]
        return min(ev[1], span[1]) - max(ev[0], span[0]) > min_overlap_s

    found = sum(any(matches(ev, span) for span in d) for ev in c)
    hits = sum(any(matches(ev, span) for ev in c) for span in d)
    cuts = sorted({t for iv in c + d for t in iv})
    both = in_c = in_d = 0.0
    for lo, hi in zip(cuts[:-1], cuts[1:]):
        mid = (lo + hi) / 2
        a = any(s < mid < e for s, e in c)
        b = any(s < mid < e for s, e in d)
        in_c += (hi - lo) * a
        in_d += (hi - lo) * b
        both += (hi - lo) * (a and b)
    return found, hits, both, in_c, in_d


def reference_grid(intervals, start_s, step_s, n):
    centres = [start_s + (k + 0.5) * step_s for k in range(n)]
    return np.array([any(lo <= t < hi for lo, hi in intervals) for t in centres])


def random_intervals(rng, n, total_s, max_len_s):
    lo = rng.uniform(0, total_s - max_len_s, n)
    return pd.DataFrame({"start_s": lo, "end_s": lo + rng.uniform(0.05, max_len_s, n)})


# ---------------------------------------------------------------------------- ELAN and Praat


def test_reads_an_elan_file_written_by_pympi(tmp_path):
    eaf = pympi.Elan.Eaf(author="coder")
    eaf.add_tier("infant", part="infant")
    eaf.add_tier("mother")
    for start, end, value in [(1000, 2500, "smile"), (4000, 6200, "fuss"), (7000, 8000, "")]:
        eaf.add_annotation("infant", start, end, value)
    eaf.add_annotation("mother", 1500, 3000, "smile")
    eaf.add_linguistic_type("assoc", constraints="Symbolic_Association", timealignable=False)
    eaf.add_tier("infant intensity", ling="assoc", parent="infant")
    eaf.add_ref_annotation("infant intensity", "infant", 5000, "high")
    eaf.remove_tier("default")
    path = tmp_path / "coded.eaf"
    eaf.to_file(str(path))

    events = read_coded_events(path)
    assert list(events.columns) == CODED_COLUMNS
    assert events.values.tolist() == [
        ["infant", "smile", 1.0, 2.5],
        ["mother", "smile", 1.5, 3.0],
        ["infant", "fuss", 4.0, 6.2],
        ["infant intensity", "high", 4.0, 6.2],  # a reference annotation spans its parent
    ]
    only = read_coded_events(path, tiers="mother")
    assert only.values.tolist() == [["mother", "smile", 1.5, 3.0]]
    tiers = read_eaf_tiers(path)
    assert list(tiers) == ["infant", "mother", "infant intensity"]
    assert tiers["infant"]["text"].tolist() == ["smile", "fuss", ""]  # empty kept here
    with pytest.raises(InputFileError, match=r"has no tier 'father' \(tiers: 'infant', "):
        read_coded_events(path, tiers=["father"])


def test_reads_a_textgrid_written_by_praat(tmp_path):
    grid = call("Create TextGrid...", 0.0, 20.0, "gaze events", "events")
    call(grid, "Insert boundary...", 1, 2.0)
    call(grid, "Insert boundary...", 1, 3.5)
    call(grid, "Insert boundary...", 1, 9.0)
    call(grid, "Insert boundary...", 1, 12.25)
    call(grid, "Set interval text...", 1, 2, "at partner")
    call(grid, "Set interval text...", 1, 4, "away")
    call(grid, "Insert point...", 2, 10.5, "bid")
    path = tmp_path / "coded.TextGrid"
    call(grid, "Save as text file", str(path))

    events = read_coded_events(path)
    assert events.values.tolist() == [["gaze", "at partner", 2.0, 3.5],
                                      ["gaze", "away", 9.0, 12.25],
                                      ["events", "bid", 10.5, 10.5]]  # a point event
    assert read_coded_events(path, tiers="events")["label"].tolist() == ["bid"]
    eps = as_episodes(events, tier="gaze")
    pd.testing.assert_frame_equal(eps, episodes_table([("at partner", 2.0, 3.5),
                                                       ("away", 9.0, 12.25)]))


# ---------------------------------------------------------------------------- BORIS

BORIS8_TABULAR = (
    "Observation id,Observation date,Description,Observation duration,Observation type,"
    "Source,Time offset (s),Media duration (s),FPS,Subject,Behavior,Behavioral category,"
    "Modifier #1,Behavior type,Time,Media file name,Image index,Image file path,Comment\n"
    "s01,2024-05-02 10:00:00,,120.000,Media file(s),player #1:/d/s01.mp4,0.000,120.000,"
    "25.000,infant,smile,positive,broad,START,12.400,/d/s01.mp4,310,NA,\n"
    "s01,2024-05-02 10:00:00,,120.000,Media file(s),player #1:/d/s01.mp4,0.000,120.000,"
    "25.000,mother,smile,positive,,START,13.000,/d/s01.mp4,325,NA,\n"
    "s01,2024-05-02 10:00:00,,120.000,Media file(s),player #1:/d/s01.mp4,0.000,120.000,"
    "25.000,infant,smile,positive,broad,STOP,15.600,/d/s01.mp4,390,NA,\n"
    "s01,2024-05-02 10:00:00,,120.000,Media file(s),player #1:/d/s01.mp4,0.000,120.000,"
    "25.000,infant,vocalise,vocal,,POINT,16.040,/d/s01.mp4,401,NA,\"a \"\"coo\"\", short\"\n"
    "s01,2024-05-02 10:00:00,,120.000,Media file(s),player #1:/d/s01.mp4,0.000,120.000,"
    "25.000,mother,smile,positive,,STOP,18.000,/d/s01.mp4,450,NA,\n"
    "s01,2024-05-02 10:00:00,,120.000,Media file(s),player #1:/d/s01.mp4,0.000,120.000,"
    "25.000,infant,smile,positive,,START,40.000,/d/s01.mp4,1000,NA,\n"
    "s01,2024-05-02 10:00:00,,120.000,Media file(s),player #1:/d/s01.mp4,0.000,120.000,"
    "25.000,infant,smile,positive,,STOP,41.200,/d/s01.mp4,1030,NA,\n"
)

BORIS7_TABULAR_TSV = "\n".join([
    "Observation id\ts07",
    "Observation date\t2019-03-01 10:00:00",
    "Description\t",
    "Time offset (s)\t0.000",
    "",
    "Media file(s)",
    "Player #1\t/d/s07.mp4",
    "",
    "Time\tMedia file path\tTotal length\tFPS\tSubject\tBehavior\tBehavioral category\t"
    "Comment\tStatus",
    "3.500\t/d/s07.mp4\t60.000\t25.00\tNo focal subject\tgaze away\tgaze\t\tSTART",
    "7.250\t/d/s07.mp4\t60.000\t25.00\tNo focal subject\tgaze away\tgaze\t\tSTOP",
    "9.000\t/d/s07.mp4\t60.000\t25.00\tNo focal subject\tlaugh\tvocal\t\tPOINT",
    "",
])

AGGREGATED_TSV = "\n".join([
    "Observation id\tObservation date\tDescription\tObservation type\tSource\tTotal length\t"
    "FPS\tSubject\tObservation duration by subject by observation\tBehavior\t"
    "Behavioral category\tModifiers\tBehavior type\tStart (s)\tStop (s)\tDuration (s)\t"
    "Image index start\tImage index stop\tImage file path start\tImage file path stop\t"
    "Comment start\tComment stop",
    "s01\t2024-05-02 10:00:00\t\tMedia file\tplayer #1:/d/s01.mp4\t120.000\t25.000\tinfant\t"
    "4.400\tsmile\tpositive\tbroad\tSTATE\t12.400\t15.600\t3.200\t310\t390\tNA\tNA\t\t",
    "s01\t2024-05-02 10:00:00\t\tMedia file\tplayer #1:/d/s01.mp4\t120.000\t25.000\tinfant\t"
    "4.400\tvocalise\tvocal\t\tPOINT\t16.040\t16.040\tNA\t401\t401\tNA\tNA\t\t",
    "s01\t2024-05-02 10:00:00\t\tMedia file\tplayer #1:/d/s01.mp4\t120.000\t25.000\tmother\t"
    "5.000\tsmile\tpositive\t\tSTATE\t13.000\t18.000\t5.000\t325\t450\tNA\tNA\t\t",
    "s02\t2024-05-03 10:00:00\t\tMedia file\tplayer #1:/d/s02.mp4\t90.000\t25.000\tinfant\t"
    "1.000\tsmile\tpositive\t\tSTATE\t2.000\t3.000\t1.000\t50\t75\tNA\tNA\t\t",
    "",
])

S01_EVENTS = [["infant", "smile", 12.4, 15.6, "broad"],
              ["mother", "smile", 13.0, 18.0, ""],
              ["infant", "vocalise", 16.04, 16.04, ""]]


def test_boris_tabular_events_are_paired(tmp_path):
    path = tmp_path / "s01.csv"
    path.write_text(BORIS8_TABULAR, encoding="utf-8")
    events = read_boris(path)
    assert list(events.columns) == [*CODED_COLUMNS, "modifiers"]
    assert events.values.tolist() == S01_EVENTS + [["infant", "smile", 40.0, 41.2, ""]]
    assert read_coded_events(path).equals(events)
    assert read_coded_events(path, tiers="mother")["start_s"].tolist() == [13.0]


def test_boris7_tabular_tsv_with_its_header_block(tmp_path):
    path = tmp_path / "s07.tsv"
    path.write_text(BORIS7_TABULAR_TSV, encoding="utf-8")
    assert read_coded_events(path).values.tolist() == [
        ["", "gaze away", 3.5, 7.25, ""], ["", "laugh", 9.0, 9.0, ""]]


def test_boris_aggregated_events(tmp_path):
    path = tmp_path / "aggregated.tsv"
    path.write_text(AGGREGATED_TSV, encoding="utf-8")
    with pytest.raises(InputFileError, match=r"several observations \('s01', 's02'\)"):
        read_boris(path)
    assert read_boris(path, observation="s01").values.tolist() == S01_EVENTS
    assert read_coded_events(path, observation="s02").values.tolist() == [
        ["infant", "smile", 2.0, 3.0, ""]]
    with pytest.raises(InputFileError, match="has no observation 's03'"):
        read_boris(path, observation="s03")


@pytest.mark.parametrize("edit, match", [
    (lambda t: t.replace("STOP,41.200", "POINT,41.200"),
     r"line 7: START of 'smile' \(subject 'infant'\) has no STOP"),
    (lambda t: t.replace("STOP,15.600", "POINT,15.600"),
     r"line 7: START of 'smile' \(subject 'infant'\) while the one on line 2 is not stopped"),
    (lambda t: t.replace("START,13.000", "POINT,13.000"),
     r"line 6: STOP of 'smile' \(subject 'mother'\) without a START"),
    (lambda t: t.replace("START,12.400", "START,12s"), r"line 2: Time .12s. is not a number"),
    (lambda t: t.replace("Behavior,", "Action,"), "is not a BORIS event export"),
])
def test_bad_boris_files(tmp_path, edit, match):
    path = tmp_path / "bad.csv"
    path.write_text(edit(BORIS8_TABULAR), encoding="utf-8")
    with pytest.raises(InputFileError, match=match) as err:
        read_boris(path)
    assert str(err.value).startswith(str(path)) and "\n" not in str(err.value)


def test_unknown_or_missing_files(tmp_path):
    with pytest.raises(InputFileError, match="file not found"):
        read_coded_events(tmp_path / "none.eaf")
    other = tmp_path / "codes.xlsx"
    other.write_bytes(b"PK")
    with pytest.raises(InputFileError, match="unknown coded-events file type"):
        read_coded_events(other)
    junk = tmp_path / "junk.eaf"
    junk.write_text("<ANNOTATION_DOCUMENT><TIER", encoding="utf-8")
    with pytest.raises(InputFileError, match="not well-formed XML"):
        read_coded_events(junk)


# ---------------------------------------------------------------------------- agreement


def test_overlap_agreement_hand_derived():
    coded = pd.DataFrame({"start_s": [10.0, 40.0, 70.0, 90.0], "end_s": [20.0, 50.0, 75.0, 90.0]})
    found = pd.DataFrame({"start_s": [12.0, 45.0, 100.0, 85.0],
                          "end_s": [48.0, 46.0, 110.0, 95.0]})
    out = overlap_agreement(coded, found)
    # Found: [10,20] and [40,50] (by 12-48), the point at 90 (inside 85-95); not [70,75].
    # Hits: 12-48, 45-46, 85-95; not 100-110.
    assert (out["n_found"], out["n_hits"]) == (3, 3)
    assert out["recall"] == 0.75 and out["precision"] == 0.75 and out["f1"] == 0.75
    # Time: coded union 25 s; detected union 36 + 10 + 10 = 56 s; shared 8 + 8 = 16 s.
    assert (out["coded_s"], out["detected_s"], out["overlap_s"]) == (25.0, 56.0, 16.0)
    assert out["recall_time"] == 16 / 25 and out["precision_time"] == 16 / 56
    # With 9 s required no interval overlaps enough (8, 8 and 1 s); the point still counts.
    strict = overlap_agreement(coded, found, min_overlap_s=9.0)
    assert (strict["n_found"], strict["n_hits"]) == (1, 1)


def test_overlap_agreement_matches_the_slow_reference():
    rng = np.random.default_rng(7)
    for trial in range(20):
        coded = random_intervals(rng, 12, 300.0, 20.0)
        found = random_intervals(rng, 9, 300.0, 30.0)
        min_overlap = [0.0, 2.0][trial % 2]
        out = overlap_agreement(coded, found, min_overlap_s=min_overlap)
        n_found, n_hits, both, in_c, in_d = reference_overlap(coded, found, min_overlap)
        assert (out["n_found"], out["n_hits"]) == (n_found, n_hits)
        assert out["overlap_s"] == pytest.approx(both, abs=1e-9)
        assert out["coded_s"] == pytest.approx(in_c, abs=1e-9)
        assert out["detected_s"] == pytest.approx(in_d, abs=1e-9)


def test_overlap_agreement_edge_cases():
    none = pd.DataFrame({"start_s": [], "end_s": []})
    some = pd.DataFrame({"start_s": [1.0], "end_s": [2.0]})
    out = overlap_agreement(some, none)
    assert out["recall"] == 0.0 and np.isnan(out["precision"]) and np.isnan(out["f1"])
    touching = pd.DataFrame({"start_s": [2.0], "end_s": [3.0]})
    assert overlap_agreement(some, touching)["n_found"] == 0  # touching is no overlap
    assert overlap_agreement(some, some)["f1"] == 1.0


def test_grid_kappa_hand_derived():
    coded = pd.DataFrame({"start_s": [0.0], "end_s": [5.0]})
    found = pd.DataFrame({"start_s": [0.0], "end_s": [4.0]})
    out = grid_kappa(coded, found, step_s=1.0, end_s=10.0)
    # 10 bins: coded 5, detected 4, agree on 9. p_o = .9, p_e = .5*.4 + .5*.6 = .5.
    assert (out["n_bins"], out["p_observed"], out["p_chance"]) == (10, 0.9, 0.5)
    assert out["kappa"] == pytest.approx(0.8, abs=1e-12)
    opposite = grid_kappa(coded, pd.DataFrame({"start_s": [5.0], "end_s": [10.0]}),
                          step_s=1.0, end_s=10.0)
    assert opposite["kappa"] == pytest.approx(-1.0, abs=1e-12)
    assert grid_kappa(coded, coded, step_s=0.5, end_s=10.0)["kappa"] == pytest.approx(1.0)
    empty = pd.DataFrame({"start_s": [], "end_s": []})
    assert np.isnan(grid_kappa(empty, empty, end_s=10.0)["kappa"])


def test_grid_kappa_matches_sklearn_on_the_reference_grid():
    cohen_kappa_score = pytest.importorskip("sklearn.metrics").cohen_kappa_score
    rng = np.random.default_rng(11)
    for _ in range(10):
        coded = random_intervals(rng, 8, 120.0, 15.0)
        found = random_intervals(rng, 6, 120.0, 15.0)
        out = grid_kappa(coded, found, step_s=0.25, start_s=2.0, end_s=120.0)
        n = int((120.0 - 2.0) / 0.25)
        a = reference_grid(list(zip(coded.start_s, coded.end_s)), 2.0, 0.25, n)
        b = reference_grid(list(zip(found.start_s, found.end_s)), 2.0, 0.25, n)
        assert out["n_bins"] == n
        assert out["coded_share"] == a.mean() and out["detected_share"] == b.mean()
        assert out["kappa"] == pytest.approx(cohen_kappa_score(a, b), abs=1e-12)


def test_exported_spans_agree_perfectly_with_themselves(tmp_path):
    from synchrony.export import export_annotations

    spans = pd.DataFrame({"start_s": [12.0, 50.0], "end_s": [20.5, 75.0],
                          "features": ["smile~smile"] * 2, "kind": ["chance"] * 2})
    eaf, grid, *_ = export_annotations(tmp_path, mismatch=spans, duration_s=100.0)
    for path in (eaf, grid):
        coded = read_coded_events(path, tiers="mismatch smile~smile")
        assert overlap_agreement(coded, spans)["f1"] == 1.0
        assert grid_kappa(coded, spans, step_s=0.1, end_s=100.0)["kappa"] == 1.0


def test_bad_agreement_inputs():
    ok = pd.DataFrame({"start_s": [1.0], "end_s": [2.0]})
    with pytest.raises(ParameterError, match="'detected' parameter of overlap_agreement"):
        overlap_agreement(ok, pd.DataFrame({"start_s": [1.0]}))
    with pytest.raises(ParameterError, match="end_s >= start_s"):
        overlap_agreement(ok, pd.DataFrame({"start_s": [3.0], "end_s": [2.0]}))
    with pytest.raises(ParameterError, match="'step_s' parameter of grid_kappa"):
        grid_kappa(ok, ok, step_s=0)
    with pytest.raises(ParameterError, match="'end_s' parameter of grid_kappa"):
        grid_kappa(ok, ok, step_s=1.0, end_s=0.5)
    with pytest.raises(ParameterError, match="'tier' parameter of as_episodes"):
        as_episodes(pd.DataFrame({"tier": ["a", "b"], "label": ["x", "y"],
                                  "start_s": [0.0, 1.0], "end_s": [1.0, 2.0]}))


def test_docstring_examples_run():
    result = doctest.testmod(coding_module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
