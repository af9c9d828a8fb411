"""Episodes: every source gives the same table, bad sources fail in one line, and
summaries split by episode give hand-derived answers (a Still-Face-like session)."""

import numpy as np
import pandas as pd
import pytest

from synchrony import peak_lags, windowed_xcorr
from synchrony.episodes import (episode_of, episodes_table, split_by_episode,
                                summarise_by_episode)
from synchrony.errors import InputFileError, ParameterError
from synchrony.textgrid import write_textgrid

# The Still-Face paradigm's three phases; the last ends off the 10 ms grid of an EAF
# in whole milliseconds (359960 ms) to check the ms -> s conversion is exact.
EXPECTED = pd.DataFrame({"episode": pd.Series(["play", "still-face", "reunion"], dtype=object),
                         "start_s": [0.0, 120.0, 240.0], "end_s": [120.0, 240.0, 359.96]})

CSV = "name,onset,offset,coder\nreunion,240,359.96,JK\n\nplay,0,120,JK\nstill-face,120.0,240,JK\n"

TSV = "Episode\tStart_s\tEnd_s\nplay\t0\t120\nstill-face\t120\t240\nreunion\t240\t359.96\n"

# Three tiers with labels; the one named "Episodes" is the default. "phase codes" is a
# symbolic-association tier whose annotations take their parents' times.
EAF = """<?xml version="1.0" encoding="UTF-8"?>
<ANNOTATION_DOCUMENT AUTHOR="" DATE="2024-05-01T10:00:00+01:00" FORMAT="3.0" VERSION="3.0">
  <HEADER MEDIA_FILE="" TIME_UNITS="milliseconds"/>
  <TIME_ORDER>
    <TIME_SLOT TIME_SLOT_ID="ts1" TIME_VALUE="0"/>
    <TIME_SLOT TIME_SLOT_ID="ts2" TIME_VALUE="5000"/>
    <TIME_SLOT TIME_SLOT_ID="ts3" TIME_VALUE="9000"/>
    <TIME_SLOT TIME_SLOT_ID="ts4" TIME_VALUE="120000"/>
    <TIME_SLOT TIME_SLOT_ID="ts5" TIME_VALUE="240000"/>
    <TIME_SLOT TIME_SLOT_ID="ts6" TIME_VALUE="359960"/>
  </TIME_ORDER>
  <TIER LINGUISTIC_TYPE_REF="default-lt" TIER_ID="infant gaze">
    <ANNOTATION><ALIGNABLE_ANNOTATION ANNOTATION_ID="a1" TIME_SLOT_REF1="ts2" TIME_SLOT_REF2="ts3">
      <ANNOTATION_VALUE>away</ANNOTATION_VALUE></ALIGNABLE_ANNOTATION></ANNOTATION>
  </TIER>
  <TIER LINGUISTIC_TYPE_REF="default-lt" TIER_ID="Episodes">
    <ANNOTATION><ALIGNABLE_ANNOTATION ANNOTATION_ID="a4" TIME_SLOT_REF1="ts5" TIME_SLOT_REF2="ts6">
      <ANNOTATION_VALUE>reunion</ANNOTATION_VALUE></ALIGNABLE_ANNOTATION></ANNOTATION>
    <ANNOTATION><ALIGNABLE_ANNOTATION ANNOTATION_ID="a2" TIME_SLOT_REF1="ts1" TIME_SLOT_REF2="ts4">
      <ANNOTATION_VALUE> play </ANNOTATION_VALUE></ALIGNABLE_ANNOTATION></ANNOTATION>
    <ANNOTATION><ALIGNABLE_ANNOTATION ANNOTATION_ID="a3" TIME_SLOT_REF1="ts4" TIME_SLOT_REF2="ts5">
      <ANNOTATION_VALUE>still-face</ANNOTATION_VALUE></ALIGNABLE_ANNOTATION></ANNOTATION>
  </TIER>
  <TIER LINGUISTIC_TYPE_REF="symbolic" PARENT_REF="Episodes" TIER_ID="phase codes">
    <ANNOTATION><REF_ANNOTATION ANNOTATION_ID="a5" ANNOTATION_REF="a2">
      <ANNOTATION_VALUE>P</ANNOTATION_VALUE></REF_ANNOTATION></ANNOTATION>
    <ANNOTATION><REF_ANNOTATION ANNOTATION_ID="a6" ANNOTATION_REF="a3">
      <ANNOTATION_VALUE>SF</ANNOTATION_VALUE></REF_ANNOTATION></ANNOTATION>
    <ANNOTATION><REF_ANNOTATION ANNOTATION_ID="a7" ANNOTATION_REF="a4">
      <ANNOTATION_VALUE>R</ANNOTATION_VALUE></REF_ANNOTATION></ANNOTATION>
  </TIER>
  <LINGUISTIC_TYPE GRAPHIC_REFERENCES="false" LINGUISTIC_TYPE_ID="default-lt"
                   TIME_ALIGNABLE="true"/>
  <LINGUISTIC_TYPE CONSTRAINTS="Symbolic_Association" LINGUISTIC_TYPE_ID="symbolic"
                   TIME_ALIGNABLE="false"/>
</ANNOTATION_DOCUMENT>
"""

# Praat's long format as Praat writes it: the phase tier tiles 0-400 s with empty filler
# intervals (not episodes); a second interval tier and a point tier beside it.
TEXTGRID = '''File type = "ooTextFile"
Object class = "TextGrid"

xmin = 0 
xmax = 400 
tiers? <exists> 
size = 3 
item []: 
    item [1]:
        class = "IntervalTier" 
        name = "infant affect" 
        xmin = 0 
        xmax = 400 
        intervals: size = 2 
        intervals [1]:
            xmin = 0 
            xmax = 200 
            text = "positive" 
        intervals [2]:
            xmin = 200 
            xmax = 400 
            text = "negative" 
    item [2]:
        class = "IntervalTier" 
        name = "phase" 
        xmin = 0 
        xmax = 400 
        intervals: size = 4 
        intervals [1]:
            xmin = 0 
            xmax = 120 
            text = "play" 
        intervals [2]:
            xmin = 120 
            xmax = 240 
            text = "still-face" 
        intervals [3]:
            xmin = 240 
            xmax = 359.96 
            text = "reunion" 
        intervals [4]:
            xmin = 359.96 
            xmax = 400 
            text = "" 
    item [3]:
        class = "TextTier" 
        name = "events" 
        xmin = 0 
        xmax = 400 
        points: size = 1 
        points [1]:
            number = 121.5 
            mark = "mother turns away" 
'''


def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _one_line_error(exc_info, path):
    message = str(exc_info.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    return message


# ---------------------------------------------------------------------------- sources


def test_every_input_form_gives_the_same_table(tmp_path):
    as_textgrid = write_textgrid(tmp_path / "written.TextGrid",
                                 {"episodes": EXPECTED.rename(columns={"episode": "text"})},
                                 xmax_s=400.0)
    specs = {
        "DataFrame": EXPECTED.iloc[::-1],
        "DataFrame with aliases": EXPECTED.rename(columns={"episode": "label", "start_s": "Start",
                                                           "end_s": "END"}),
        "list": [("still-face", 120, 240), ("play", 0, 120), ("reunion", 240, 359.96)],
        "dict": {"reunion": (240, 359.96), "play": (0.0, 120.0), "still-face": (120, 240)},
        "csv": _write(tmp_path, "ep.csv", CSV),
        "csv as str": str(_write(tmp_path, "ep2.csv", CSV)),
        "tsv": _write(tmp_path, "ep.tsv", TSV),
        "semicolon txt": _write(tmp_path, "ep.txt", CSV.replace(",", ";")),
        "eaf": _write(tmp_path, "ep.eaf", EAF),
        "TextGrid": _write(tmp_path, "ep.TextGrid", TEXTGRID),
        "TextGrid we wrote": as_textgrid,
    }
    for form, spec in specs.items():
        tier = "phase" if form == "TextGrid" else None
        got = episodes_table(spec, tier=tier) if tier else episodes_table(spec)
        pd.testing.assert_frame_equal(got, EXPECTED, obj=form)


def test_elan_reference_tier_takes_its_parents_times(tmp_path):
    got = episodes_table(_write(tmp_path, "ep.eaf", EAF), tier="phase codes")
    assert got["episode"].tolist() == ["P", "SF", "R"]
    np.testing.assert_array_equal(got[["start_s", "end_s"]], EXPECTED[["start_s", "end_s"]])
    gaze = episodes_table(_write(tmp_path, "ep.eaf", EAF), tier="infant gaze")
    assert gaze.values.tolist() == [["away", 5.0, 9.0]]


def test_a_textgrid_with_one_labelled_tier_needs_no_tier_name(tmp_path):
    one = write_textgrid(tmp_path / "one.TextGrid",
                         {"phases": pd.DataFrame({"start_s": [10.0], "end_s": [20.0],
                                                  "text": ["play"]})}, xmax_s=30.0)
    assert episodes_table(one).values.tolist() == [["play", 10.0, 20.0]]


def test_gaps_and_touching_episodes_are_allowed_and_names_may_repeat():
    got = episodes_table([("play", 0, 60), ("still-face", 60, 120), ("play", 150, 210)])
    assert got.values.tolist() == [["play", 0.0, 60.0], ["still-face", 60.0, 120.0],
                                   ["play", 150.0, 210.0]]
    assert episodes_table([]).columns.tolist() == ["episode", "start_s", "end_s"]


# ---------------------------------------------------------------------------- errors


@pytest.mark.parametrize("spec, needle", [
    ([("play", 0, 130), ("still-face", 120, 240)],
     "must be non-overlapping; got \"'play' [0, 130) s overlaps 'still-face' [120, 240) s\""),
    ({"play": (0, 120), "reunion": (100, 110)},
     "'play' [0, 120) s overlaps 'reunion' [100, 110) s"),
    ([("play", 120, 120)], "must be start_s < end_s; got \"'play' from 120 to 120 s (item 0)\""),
    ([("play", 0, np.inf)], "must be finite times in seconds"),
    ([("play", "0", 10)], "must be finite times in seconds"),
    ([("  ", 0, 10)], "must be non-empty names"),
    ([(None, 0, 10)], "must be non-empty names"),
    ({"play": 10}, "a dict of name -> (start_s, end_s)"),
    ([("play", 0)], "a list of (name, start_s, end_s) tuples"),
    (42, "a DataFrame, list, dict or file path; got 'int'"),
    (pd.DataFrame({"episode": ["play"], "start_s": [0.0]}), "missing column 'end_s'"),
    (pd.DataFrame({"name": ["p"], "label": ["q"], "start": [0.0], "end": [1.0]}),
     "several episode columns: 'name', 'label'"),
])
def test_bad_episodes_in_code_raise_one_line_parameter_errors(spec, needle):
    with pytest.raises(ParameterError) as info:
        episodes_table(spec)
    message = str(info.value)
    assert message.startswith("The 'spec' parameter of episodes_table must be ")
    assert needle in message and "\n" not in message


@pytest.mark.parametrize("name, text, tier, needle", [
    ("ov.csv", "episode,start_s,end_s\nplay,0,130\nstill-face,120,240\n", None,
     "'play' [0, 130) s overlaps 'still-face' [120, 240) s (episodes must be non-overlapping)"),
    ("cols.csv", "episode,begin,end_s\nplay,0,120\n", None,
     "missing column 'start_s' (or start, onset, onset_s); columns: 'episode', 'begin', 'end_s'"),
    ("num.csv", "episode,start_s,end_s\nplay,0,120\n\nstill-face,12O,240\n", None,
     "line 4: start_s '12O' is not a number"),
    ("short.csv", "episode,start_s,end_s\nplay,0\n", None, "line 2: no end_s value"),
    ("order.tsv", "episode\tstart_s\tend_s\nplay\t120\t0\n", None,
     "'play' from 120 to 0 s (line 2) (episodes must be start_s < end_s)"),
    ("noname.csv", "episode,start_s,end_s\n,0,120\n", None,
     "an empty or non-text name '' (line 2)"),
    ("empty.csv", "\n\n", None, "is empty"),
    ("header.csv", "episode,start_s,end_s\n", None, "holds no episodes"),
    ("ep.eaf", EAF, "mother affect", "has no tier 'mother affect' (tiers: 'infant gaze', "
     "'Episodes', 'phase codes')"),
    ("ep.TextGrid", TEXTGRID, None, "has several tiers that could hold the episodes "
     "('infant affect', 'phase'); choose one with tier="),
    ("ep2.TextGrid", TEXTGRID, "phases", "has no tier 'phases' (tiers: 'infant affect', "
     "'phase', 'events')"),
    ("ep3.TextGrid", TEXTGRID, "events", "tier 'events' is a point tier"),
    ("bad.eaf", EAF[:600], None, "is not well-formed XML ("),
    ("root.eaf", "<?xml version='1.0'?><TextGrid/>", None, "is not an ELAN file (root element "
     "<TextGrid>)"),
    ("slot.eaf", EAF.replace('TIME_SLOT_ID="ts4" TIME_VALUE="120000"', 'TIME_SLOT_ID="ts4"'),
     None, "annotation 'a2' uses the unaligned time slot 'ts4'"),
    ("ov.eaf", EAF.replace('"a4" TIME_SLOT_REF1="ts5"', '"a4" TIME_SLOT_REF1="ts2"'), None,
     "'play' [0, 120) s overlaps 'reunion' [5, 359.96) s (episodes must be non-overlapping)"),
    ("ep.json", "{}", None, "unknown episode file type '.json' (expected .csv, .tsv, .txt, "
     ".eaf or .TextGrid)"),
    ("trunc.TextGrid", TEXTGRID[:300], "phase", "not a readable text TextGrid"),
])
def test_bad_episode_files_raise_one_line_errors_naming_the_file(tmp_path, name, text, tier,
                                                                 needle):
    path = _write(tmp_path, name, text)
    with pytest.raises(InputFileError) as info:
        episodes_table(path, tier=tier)
    assert needle in _one_line_error(info, path)


def test_a_missing_file_is_named(tmp_path):
    path = tmp_path / "nowhere.csv"
    with pytest.raises(InputFileError) as info:
        episodes_table(path)
    assert _one_line_error(info, path) == f"{path}: file not found"


def test_tier_is_only_for_annotation_files(tmp_path):
    with pytest.raises(ParameterError, match="'tier' parameter of episodes_table"):
        episodes_table(_write(tmp_path, "ep.csv", CSV), tier="phase")
    with pytest.raises(ParameterError, match="'tier' parameter of episodes_table"):
        episodes_table(EXPECTED, tier="phase")


# ---------------------------------------------------------------------------- labelling


def test_episode_of_uses_half_open_intervals():
    episodes = [("play", 0, 120), ("still-face", 120, 240), ("reunion", 250, 360)]
    times = [-0.1, 0.0, 119.999, 120.0, 239.99, 240.0, 245.0, 250.0, 359.999, 360.0, np.nan]
    got = episode_of(times, episodes)
    assert got.dtype == object
    assert got.tolist() == ["", "play", "play", "still-face", "still-face", "", "", "reunion",
                            "reunion", "", ""]
    grid = episode_of(np.arange(0, 360, 0.04).reshape(-1, 25), episodes)  # 25 Hz, any shape
    assert grid.shape == (360, 25)
    assert (grid == "play").sum() == 3000 and (grid == "still-face").sum() == 3000
    assert (grid == "").sum() == 250 and (grid == "reunion").sum() == 2750


def _still_face_windows():
    """30 s windows every 10 s over 0-360 s. A window inside play, still-face or reunion
    has peak_r 0.8, 0.1 or 0.5; the four windows crossing a boundary have 0.3."""
    starts = np.arange(0.0, 340.0, 10.0)
    ends = starts + 30
    peak = np.full(starts.size, 0.3)
    peak[ends <= 120] = 0.8
    peak[(starts >= 120) & (ends <= 240)] = 0.1
    peak[starts >= 240] = 0.5
    return pd.DataFrame({"pair": "head_motion~head_motion", "window_start_s": starts,
                         "window_end_s": ends, "peak_r": peak, "peak_lag_s": 0.5})


STILL_FACE = {"play": (0, 120), "still-face": (120, 240), "reunion": (240, 360)}


def test_still_face_windows_wholly_inside_each_episode_give_its_mean():
    windows = _still_face_windows()
    assert len(windows) == 34
    got = summarise_by_episode(windows, STILL_FACE, columns=["peak_r", "peak_lag_s"],
                               how="within")
    assert got.index.tolist() == ["play", "still-face", "reunion", "all"]
    np.testing.assert_allclose(got["peak_r_mean"], [0.8, 0.1, 0.5, 15.2 / 34], rtol=1e-12)
    np.testing.assert_allclose(got["peak_r_median"], [0.8, 0.1, 0.5, 0.5], rtol=1e-12)
    assert got["n_rows"].tolist() == [10, 10, 10, 34]
    assert got["peak_r_count"].tolist() == [10, 10, 10, 34]
    np.testing.assert_allclose(got["peak_lag_s_mean"], 0.5)


def test_still_face_windows_by_centre_take_the_straddling_windows():
    windows = _still_face_windows()
    # Windows starting at 100 and 110 have centres 115 (play) and 125 (still-face); 220
    # and 230 have 235 (still-face) and 245 (reunion).
    expected_mean = [(8 + 0.3) / 11, (1 + 0.6) / 12, (5 + 0.3) / 11, 15.2 / 34]
    for how in ("centre", "majority", None):
        got = summarise_by_episode(windows, STILL_FACE, columns="peak_r", how=how)
        np.testing.assert_allclose(got["peak_r_mean"], expected_mean, rtol=1e-12, err_msg=how)
        np.testing.assert_allclose(got["peak_r_median"], [0.8, 0.1, 0.5, 0.5], err_msg=how)
        assert got["n_rows"].tolist() == [11, 12, 11, 34]
    labelled = split_by_episode(windows, STILL_FACE)
    assert labelled["episode"].iloc[9:13].tolist() == ["play", "play", "still-face",
                                                       "still-face"]


def test_windows_indexed_by_start_need_window_s():
    windows = _still_face_windows().set_index("window_start_s")[["peak_r"]]
    with pytest.raises(ParameterError, match="'window_s' parameter of split_by_episode"):
        split_by_episode(windows, STILL_FACE)
    got = summarise_by_episode(windows, STILL_FACE, columns="peak_r", window_s=30)
    np.testing.assert_allclose(got["peak_r_mean"],
                               [(8 + 0.3) / 11, (1 + 0.6) / 12, (5 + 0.3) / 11, 15.2 / 34])


def test_planted_coupling_per_episode_is_recovered_from_real_xcorr_output():
    # B repeats A 0.5 s later in play and reunion; in the still-face B is unrelated noise.
    rate_hz, lag = 10.0, 5
    rng = np.random.default_rng(7)
    n = int(360 * rate_hz)
    a = rng.standard_normal(n + lag)
    b = np.concatenate([np.zeros(lag), a[:-lag]])[lag:]
    a = a[lag:]
    t = np.arange(n) / rate_hz
    still = (t >= 120) & (t < 240)
    b[still] = rng.standard_normal(still.sum())
    idx = pd.Index(t, name="time_s")
    xc = windowed_xcorr(pd.Series(a, idx), pd.Series(b, idx), rate_hz, window_s=30, step_s=10,
                        max_lag_s=2, fisher_z=False)
    peaks = peak_lags(xc)
    # The data behind a window spans window_s + max_lag_s (the lagged partner's samples), so
    # that is the extent that must lie within an episode: starts 0-80, 120-200, 240-320.
    assert peaks.index.tolist() == list(np.arange(0.0, 330.0, 10.0))
    got = summarise_by_episode(peaks, STILL_FACE, columns=["peak_r", "peak_lag_s"],
                               window_s=30 + 2, how="within")
    assert got["n_rows"].tolist() == [9, 9, 9, 33]
    np.testing.assert_allclose(got.loc[["play", "reunion"], "peak_r_mean"], 1.0, atol=1e-9)
    np.testing.assert_allclose(got.loc[["play", "reunion"], "peak_lag_s_median"], 0.5)
    assert got.loc["still-face", "peak_r_mean"] < 0.3


# ---------------------------------------------------------------------------- spans


def _spans():
    return pd.DataFrame({"start_s": [100.0, 230.0, 350.0, 370.0],
                         "end_s": [130.0, 250.0, 370.0, 380.0],
                         "duration_s": [30.0, 20.0, 20.0, 10.0],
                         "strength": [0.9, 0.4, 0.7, 0.2]}, index=[10, 11, 12, 13])


def test_spans_crossing_boundaries_are_split_and_clipped():
    got = split_by_episode(_spans(), STILL_FACE)
    assert got.index.tolist() == [10, 10, 11, 11, 12, 12, 13]
    assert got[["start_s", "end_s", "duration_s", "strength", "episode"]].values.tolist() == [
        [100.0, 120.0, 20.0, 0.9, "play"], [120.0, 130.0, 10.0, 0.9, "still-face"],
        [230.0, 240.0, 10.0, 0.4, "still-face"], [240.0, 250.0, 10.0, 0.4, "reunion"],
        [350.0, 360.0, 10.0, 0.7, "reunion"], [360.0, 370.0, 10.0, 0.7, ""],
        [370.0, 380.0, 10.0, 0.2, ""]]
    assert got["duration_s"].sum() == _spans()["duration_s"].sum()
    summary = summarise_by_episode(_spans(), STILL_FACE, columns="duration_s",
                                   stats=("sum", "count", "max"))
    assert summary["duration_s_sum"].tolist() == [20.0, 20.0, 20.0, 80.0]
    assert summary["duration_s_count"].tolist() == [1, 2, 2, 4]
    assert summary["duration_s_max"].tolist() == [20.0, 10.0, 10.0, 30.0]


def test_spans_by_majority_go_whole_to_the_longest_overlap_earlier_on_ties():
    got = split_by_episode(_spans(), STILL_FACE, how="majority")
    # 100-130: 20 s play vs 10 s still-face; 230-250: 10 s each, the earlier wins;
    # 350-370: 10 s reunion vs 10 s outside; 370-380: in no episode.
    assert got["episode"].tolist() == ["play", "still-face", "reunion", ""]
    assert got[["start_s", "end_s"]].equals(_spans()[["start_s", "end_s"]])
    within = split_by_episode(_spans(), STILL_FACE, how="within")
    assert within["episode"].tolist() == ["", "", "", ""]
    points = pd.DataFrame({"start_s": [120.0, 360.0], "end_s": [120.0, 360.0]})
    assert split_by_episode(points, STILL_FACE, how="majority")["episode"].tolist() == [
        "still-face", ""]
    assert split_by_episode(points, STILL_FACE)["episode"].tolist() == ["still-face", ""]


def test_repeated_episode_names_are_pooled():
    episodes = [("play", 0, 60), ("still-face", 60, 120), ("play", 120, 180)]
    samples = pd.DataFrame({"x": np.r_[np.full(6, 1.0), np.full(6, 5.0), np.full(6, 3.0)]},
                           index=pd.Index(np.arange(0, 180, 10.0), name="time_s"))
    got = summarise_by_episode(samples, episodes, columns="x")
    assert got.index.tolist() == ["play", "still-face", "all"]
    assert got["x_mean"].tolist() == [2.0, 5.0, 3.0]
    assert got["x_count"].tolist() == [12, 6, 18]


def test_an_episode_with_no_rows_gets_count_zero_and_nan():
    windows = _still_face_windows()
    got = summarise_by_episode(windows, {**STILL_FACE, "follow-up": (900, 960)},
                               columns="peak_r")
    assert got.loc["follow-up", "n_rows"] == 0 and got.loc["follow-up", "peak_r_count"] == 0
    assert np.isnan(got.loc["follow-up", "peak_r_mean"])


@pytest.mark.parametrize("kwargs, name", [
    (dict(columns="nope"), "columns"),
    (dict(columns="pair"), "columns"),
    (dict(columns=[]), "columns"),
    (dict(columns="peak_r", stats=("mean", "mode")), "stats"),
    (dict(columns="peak_r", all_label="play"), "all_label"),
    (dict(columns="peak_r", how="split"), "how"),
    (dict(columns="peak_r", how="center"), "how"),
    (dict(columns="peak_r", window_s=30), "window_s"),
    (dict(columns="peak_r", time_column="missing"), "time_column"),
])
def test_bad_summary_arguments_raise_parameter_errors(kwargs, name):
    with pytest.raises(ParameterError) as info:
        summarise_by_episode(_still_face_windows(), STILL_FACE, **kwargs)
    assert str(info.value).startswith(f"The {name!r} parameter of ")


def test_a_table_already_split_is_refused():
    labelled = split_by_episode(_still_face_windows(), STILL_FACE)
    with pytest.raises(ParameterError, match="without an 'episode' column"):
        split_by_episode(labelled, STILL_FACE)
