"""Tests of synchrony.analysis.turns: turns and latencies against known boundaries,
per-turn prosody against known tones, and entrainment against planted and shuffled
pitch matching."""

from __future__ import annotations

import doctest
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from _audiogen import SR, espeak_dialogue, glide, harmonic, place, syllables
from synchrony.analysis import turns as turns_module
from synchrony.analysis.turns import entrainment, find_turns, turn_features, turn_taking
from synchrony.errors import ParameterError
from synchrony.extract.voice import voice_tracks

TOLERANCE_S = 0.1


def clock(n, step_s=0.01):
    return pd.Index(np.round(np.arange(n) * step_s, 6), name="time_s")


def activity(t, spans):
    a = np.zeros(len(t), bool)
    for on, off in spans:
        a |= (t >= on) & (t < off)
    return pd.Series(a, index=t)


def stereo(channels):
    return SimpleNamespace(samples=np.stack(channels), sr_hz=SR, start_s=0.0, path="pair.wav")


def truth_table(intervals):
    rows = [(p, on, off) for p, spans in intervals.items() for on, off in spans]
    return pd.DataFrame(rows, columns=["person", "start_s", "end_s"]).sort_values(
        "start_s", ignore_index=True)


def assert_turns_match(found, truth):
    assert len(found) == len(truth), (found, truth)
    assert (found["person"].to_numpy() == truth["person"].to_numpy()).all()
    for col in ("start_s", "end_s"):
        err = np.abs(found[col].to_numpy() - truth[col].to_numpy())
        assert err.max() <= TOLERANCE_S, f"{col} off by {err.max():.3f} s"


def assert_latencies_match(found, truth):
    got, want = turn_taking(found), turn_taking(truth)
    assert got["kind"].tolist() == want["kind"].tolist()
    err = np.abs(got["gap_s"].to_numpy() - want["gap_s"].to_numpy())
    assert err.max() <= TOLERANCE_S, f"latency off by {err.max():.3f} s"


# ------------------------------------------------------------------ find_turns


def test_pauses_are_bridged_unless_the_partner_speaks_in_them():
    t = clock(800)
    a = activity(t, [(0.5, 1.0), (1.3, 2.0), (4.0, 4.5), (4.8, 5.5), (6.2, 6.25)])
    b = activity(t, [(4.55, 4.7)])  # B speaks in A's second pause
    turns = find_turns({"A": a, "B": b}, min_turn_s=0.1, max_pause_s=0.5)
    got = turns.round(3).values.tolist()
    assert got == [["A", 0.495, 1.995, 1.5], ["A", 3.995, 4.495, 0.5],
                   ["B", 4.545, 4.695, 0.15], ["A", 4.795, 5.495, 0.7]]


def test_long_pause_splits_and_short_turn_is_dropped():
    t = clock(500)
    a = activity(t, [(0.2, 1.0), (1.6, 2.0), (3.0, 3.05)])
    turns = find_turns({"A": a}, max_pause_s=0.5, min_turn_s=0.1)
    assert turns[["start_s", "end_s"]].round(3).values.tolist() == [[0.195, 0.995],
                                                                    [1.595, 1.995]]
    bridged = find_turns({"A": a}, max_pause_s=0.61)
    assert bridged[["start_s", "end_s"]].round(3).values.tolist() == [[0.195, 1.995]]
    assert len(find_turns({"A": a}, max_pause_s=0.61, min_turn_s=0.0)) == 2
    assert len(find_turns({"A": activity(t, [])})) == 0


def test_turns_of_two_tone_voices_match_known_boundaries():
    """Voice-like harmonic bursts, each person on their own channel."""
    rng = np.random.default_rng(5)
    truth = {"A": [], "B": []}
    pieces = {"A": [], "B": []}
    at, who = 0.6, "A"
    for gap_s in [0.4, 0.9, -0.35, 0.25, 1.3, 0.6, -0.2, 0.5, 0.8]:
        d = rng.uniform(0.8, 1.6)
        f0 = glide(*(rng.uniform(110, 180, 2) if who == "A" else rng.uniform(280, 450, 2)), d)
        pieces[who].append((at, harmonic(f0) * syllables(d, 4.0, depth_db=10)))
        truth[who].append((at, at + d))
        at, who = at + d + gap_s, "B" if who == "A" else "A"
    duration_s = at + 1.0
    voices = voice_tracks(stereo([place(pieces[p], duration_s) for p in ("A", "B")]))
    found = find_turns({p: v["voice_active"] for p, v in voices.items()})
    assert_turns_match(found, truth_table(truth))
    assert_latencies_match(found, truth_table(truth))


def test_turns_of_two_espeak_voices_match_known_boundaries():
    channels, intervals, _ = espeak_dialogue()
    voices = voice_tracks(stereo([channels["A"], channels["B"]]))
    found = find_turns({p: v["voice_active"] for p, v in voices.items()})
    truth = truth_table(intervals)
    assert_turns_match(found, truth)
    assert_latencies_match(found, truth)
    kinds = turn_taking(found)["kind"].tolist()
    assert kinds.count("overlap") == 1 and kinds.count("switch") == 6


def test_find_turns_checks_its_inputs():
    t = clock(10)
    with pytest.raises(ParameterError, match="'activity' parameter of find_turns"):
        find_turns({"A": pd.Series(np.zeros(10), index=t)})
    with pytest.raises(ParameterError, match="common clock"):
        find_turns({"A": activity(t, []), "B": activity(clock(11), [])})
    with pytest.raises(ParameterError, match="uniform"):
        uneven = pd.Index([0, 0.01, 0.02, 0.05, 0.06], name="time_s")
        find_turns({"A": activity(uneven, [])})
    with pytest.raises(ParameterError, match="'max_pause_s' parameter of find_turns"):
        find_turns({"A": activity(t, [])}, max_pause_s=-1)


# ------------------------------------------------------------------ turn_taking


def test_turn_taking_kinds_and_gaps():
    turns = pd.DataFrame({"person": ["A", "B", "A", "B", "A", "A"],
                          "start_s": [0.0, 1.0, 5.5, 6.8, 9.0, 11.0],
                          "end_s": [5.0, 1.3, 7.0, 8.0, 10.0, 12.0]})
    events = turn_taking(turns)
    assert events[["from_person", "to_person", "kind"]].values.tolist() == [
        ["A", "B", "inside"], ["A", "A", "pause"], ["A", "B", "overlap"],
        ["B", "A", "switch"], ["A", "A", "pause"]]
    np.testing.assert_allclose(events["gap_s"], [-4.0, 0.5, -0.2, 1.0, 1.0])
    assert events["from_turn"].tolist() == [0, 0, 2, 3, 4]
    assert events["to_turn"].tolist() == [1, 2, 3, 4, 5]
    assert turn_taking(turns.iloc[:1]).empty
    with pytest.raises(ParameterError, match="'turns' parameter of turn_taking"):
        turn_taking(pd.DataFrame({"person": ["A"]}))


# ------------------------------------------------------------------ turn_features


def test_turn_features_of_known_tones():
    spans = [("A", 0.5, 2.0, 200.0, 1.0), ("B", 2.5, 3.7, 400.0, 0.5),
             ("A", 4.2, 5.4, 150.0, 0.25)]
    pieces = {"A": [], "B": []}
    for person, on, off, f0, amp in spans:
        d = off - on
        pieces[person].append((on, amp * harmonic(np.full(int(d * SR), f0))
                               * syllables(d, 4.0, depth_db=12)))
    voices = voice_tracks(stereo([place(pieces[p], 6.0) for p in ("A", "B")]))
    turns = pd.DataFrame([(p, on, off) for p, on, off, *_ in spans],
                         columns=["person", "start_s", "end_s"], index=[10, 11, 12])
    feats = turn_features(turns, {p: v["f0_hz"] for p, v in voices.items()},
                          {p: v["intensity_db"] for p, v in voices.items()})
    assert list(feats.index) == [10, 11, 12]
    assert list(feats.columns) == ["person", "start_s", "end_s", "f0_mean_hz", "f0_range_st",
                                   "intensity_mean_db", "speaking_rate_proxy", "n_voiced"]
    np.testing.assert_allclose(feats["f0_mean_hz"], [200, 400, 150], rtol=0.01)
    assert (feats["f0_range_st"] < 0.3).all()
    # Same envelope, amplitude halved twice: mean level 6 dB lower each time.
    level = feats["intensity_mean_db"].to_numpy()
    assert level[0] - level[2] == pytest.approx(12.0, abs=0.5)
    # 4 syllables per second; the turn's edges may cut one syllable.
    assert ((feats["speaking_rate_proxy"] >= 3.0) & (feats["speaking_rate_proxy"] <= 4.5)).all()


def test_f0_range_of_a_glide():
    t = pd.Index(np.arange(300) / 100, name="time_s")
    f0 = pd.Series(glide(200, 400, 3.0, sr_hz=100), index=t)  # 12 st over 3 s
    level = pd.Series(-30.0, index=t)
    turns = pd.DataFrame({"person": ["A"], "start_s": [0.0], "end_s": [3.0]})
    row = turn_features(turns, {"A": f0}, {"A": level}).iloc[0]
    assert row.f0_range_st == pytest.approx(0.9 * 12, abs=0.1)  # 5th to 95th percentile
    assert row.speaking_rate_proxy == 0.0  # flat intensity: no syllable peaks
    with pytest.raises(ParameterError, match="a series for every person"):
        turn_features(turns, {"B": f0}, {"A": level})


# ------------------------------------------------------------------ entrainment


def paired_turns(rng, *, n_pairs=24, track=True):
    """A's turn pitch random; B answers at 1.6 x A's previous turn pitch (or, with
    track=False, B's pitches are the same values in shuffled order)."""
    a_f0 = rng.uniform(150, 280, n_pairs)
    b_f0 = 1.6 * a_f0 * 2 ** (rng.normal(0, 0.5, n_pairs) / 12)
    if not track:
        b_f0 = rng.permutation(b_f0)
    rows, at = [], 0.5
    for fa, fb in zip(a_f0, b_f0):
        for person, f0 in (("A", fa), ("B", fb)):
            d = rng.uniform(0.7, 1.3)
            rows.append((person, at, at + d, f0))
            at += d + rng.uniform(0.4, 0.9)
    return rows, at + 0.5


def audio_entrainment(rows, duration_s, seed):
    pieces = {"A": [], "B": []}
    for person, on, off, f0 in rows:
        d = off - on
        contour = f0 * 2 ** (np.linspace(1, -1, int(round(d * SR))) / 12)  # fall 2 st
        pieces[person].append((on, harmonic(contour) * syllables(d, 4.0, depth_db=10)))
    voices = voice_tracks(stereo([place(pieces[p], duration_s) for p in ("A", "B")]))
    turns = find_turns({p: v["voice_active"] for p, v in voices.items()})
    feats = turn_features(turns, {p: v["f0_hz"] for p, v in voices.items()},
                          {p: v["intensity_db"] for p, v in voices.items()})
    assert len(turns) == len(rows)
    return entrainment(feats, n_surrogates=999, seed=seed)


def pick(result, measure, direction="A->B", feature="f0_mean_hz"):
    rows = result[(result["feature"] == feature) & (result["measure"] == measure)
                  & (result["direction"] == direction)]
    assert len(rows) == 1
    return rows.iloc[0]


def test_b_tracking_a_pitch_is_significant_entrainment_and_shuffled_is_not():
    rows, duration_s = paired_turns(np.random.default_rng(21))
    result = audio_entrainment(rows, duration_s, seed=1)
    assert pick(result, "synchrony").value > 0.8
    assert pick(result, "synchrony").p_value < 0.05
    assert pick(result, "proximity").p_value < 0.05
    assert pick(result, "synchrony", "all").p_value < 0.05
    # A does not follow B: no entrainment B->A.
    assert pick(result, "synchrony", "B->A").p_value >= 0.05

    rows, duration_s = paired_turns(np.random.default_rng(21), track=False)
    shuffled = audio_entrainment(rows, duration_s, seed=1)
    for measure in ("synchrony", "proximity"):
        assert pick(shuffled, measure).p_value >= 0.05


def null_features(rng, n_pairs=20):
    values = rng.normal(0, 1, 2 * n_pairs)
    start = np.arange(2 * n_pairs) * 2.0
    return pd.DataFrame({"person": ["A", "B"] * n_pairs, "start_s": start,
                         "end_s": start + 1.5, "x": values})


def test_p_values_are_calibrated_under_no_entrainment():
    rng = np.random.default_rng(0)
    p = {m: [] for m in ("proximity", "convergence", "synchrony")}
    for k in range(150):
        res = entrainment(null_features(rng), feature_names=["x"], n_surrogates=99, seed=k)
        for m in p:
            p[m].append(pick(res, m, "A->B", "x").p_value)
    for m, values in p.items():
        values = np.asarray(values)
        assert (values < 0.05).mean() <= 0.10, m
        assert 0.35 <= values.mean() <= 0.65, m  # uniform p-values average 0.5


def test_entrainment_table_shape_and_seeding():
    rng = np.random.default_rng(3)
    feats = null_features(rng)
    feats["y"] = rng.normal(size=len(feats))
    res = entrainment(feats, feature_names=["x", "y", "absent"], n_surrogates=49, seed=7)
    assert list(res.columns) == ["feature", "measure", "direction", "value", "surrogate_mean",
                                 "surrogate_sd", "p_value", "n_pairs"]
    assert len(res) == 2 * 3 * 3  # features x measures x (A->B, B->A, all)
    assert set(res["direction"]) == {"A->B", "B->A", "all"}
    assert (res["p_value"] >= 1 / 50).all() and (res["p_value"] <= 1).all()
    assert res.loc[res["direction"] == "all", "n_pairs"].eq(39).all()
    pd.testing.assert_frame_equal(res, entrainment(feats, feature_names=["x", "y"],
                                                   n_surrogates=49, seed=7))
    assert not res.equals(entrainment(feats, feature_names=["x", "y"], n_surrogates=49,
                                      seed=8))


def test_entrainment_with_too_few_pairs_is_nan():
    feats = null_features(np.random.default_rng(1), n_pairs=1)
    res = entrainment(feats, feature_names=["x"], n_surrogates=9, seed=0)
    assert res["value"].isna().all() and res["p_value"].isna().all()


@pytest.mark.parametrize("kwargs, name", [
    ({"n_surrogates": 0}, "n_surrogates"),
    ({"alternative": "less"}, "alternative"),
])
def test_entrainment_bad_parameters(kwargs, name):
    with pytest.raises(ParameterError, match=f"'{name}' parameter of entrainment"):
        entrainment(null_features(np.random.default_rng(0)), **kwargs)


def test_two_sided_alternative_flags_anti_entrainment():
    rng = np.random.default_rng(4)
    feats = null_features(rng, n_pairs=30)
    a = feats.index[feats["person"] == "A"]
    feats.loc[a + 1, "x"] = -feats.loc[a, "x"].to_numpy() + rng.normal(0, 0.1, a.size)
    one = pick(entrainment(feats, feature_names=["x"], n_surrogates=199, seed=0),
               "synchrony", feature="x")
    two = pick(entrainment(feats, feature_names=["x"], n_surrogates=199, seed=0,
                           alternative="two-sided"), "synchrony", feature="x")
    assert one.value < -0.9 and one.p_value > 0.9 and two.p_value < 0.05


def test_docstring_examples_run():
    result = doctest.testmod(turns_module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
