"""Tests of synchrony.extract.voice against known answers from synthetic audio."""

from __future__ import annotations

import doctest
import logging
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from synchrony.errors import ParameterError
from synchrony.extract import voice
from synchrony.extract.voice import intensity_db, voice_tracks

SR = 16000
COLUMNS = ["intensity_db", "voice_active", "f0_hz", "f0_st", "voiced"]
TONE_HZ = 200.0  # 80 samples a period: the 640-sample window holds whole periods


def tone(amplitude, duration_s, sr_hz=SR, hz=TONE_HZ):
    t = np.arange(int(round(duration_s * sr_hz))) / sr_hz
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def track(*channels, start_s=0.0):
    return SimpleNamespace(samples=np.stack(channels).astype(np.float32), sr_hz=SR,
                           start_s=start_s, path="synthetic.wav")


def reference_intensity(x, sr_hz, frame_rate_hz, window_s, floor_db):
    """A plain loop over frames, written from the documented definition."""
    n_win = int(round(window_s * sr_hz))
    times, levels, k = [], [], 0
    while True:
        start = int(np.floor(k * sr_hz / frame_rate_hz + 0.5))
        if start + n_win > len(x):
            break
        frame = np.asarray(x[start:start + n_win], dtype=np.float64)
        ms = sum(float(v) * float(v) for v in frame) / n_win
        levels.append(max(10 * np.log10(ms), floor_db) if ms > 0 else floor_db)
        times.append((start + (n_win - 1) / 2) / sr_hz)
        k += 1
    return np.array(times), np.array(levels)


@pytest.mark.parametrize("amplitude", [1.0, 0.5, 0.1, 0.001])
def test_sine_rms_matches_theory(amplitude):
    level = intensity_db(tone(amplitude, 1.0), SR)
    expected = 20 * np.log10(amplitude / np.sqrt(2))
    np.testing.assert_allclose(level.to_numpy(), expected, atol=0.1)
    assert level.name == "intensity_db" and level.index.name == "time_s"


def test_step_of_20_db_at_the_right_time():
    x = np.concatenate([tone(0.5, 1.0), tone(0.05, 2.0)[SR:]])  # phase-continuous
    level = intensity_db(x, SR)
    t = level.index.to_numpy()
    loud, quiet = level[t < 0.9].median(), level[t > 1.1].median()
    assert loud - quiet == pytest.approx(20.0, abs=0.1)
    # Linear power is half-way when half the rectangular window lies on each side.
    power = 10 ** (level.to_numpy() / 10)
    crossing = t[np.argmax(power < (10 ** (loud / 10) + 10 ** (quiet / 10)) / 2)]
    assert abs(crossing - 1.0) <= 1 / 100
    # Frames whose window lies wholly on one side read exactly the level of that side.
    assert np.allclose(level[t < 1.0 - 0.02], loud, atol=0.01)
    assert np.allclose(level[t > 1.0 + 0.02], quiet, atol=0.01)


def test_times_are_start_plus_window_centres():
    x = tone(0.5, 1.0)
    level = intensity_db(x, SR)
    shifted = intensity_db(x, SR, start_s=0.5)
    n_win = 640
    expected = (np.arange(len(level)) * 160 + (n_win - 1) / 2) / SR
    np.testing.assert_allclose(level.index.to_numpy(), expected, atol=1e-12)
    np.testing.assert_allclose(shifted.index.to_numpy(), expected + 0.5, atol=1e-12)
    np.testing.assert_array_equal(shifted.to_numpy(), level.to_numpy())
    assert len(level) == (SR - n_win) // 160 + 1


def test_digital_silence_gives_floor_not_minus_inf():
    assert (intensity_db(np.zeros(SR), SR) == -100.0).all()
    assert (intensity_db(np.zeros(SR), SR, floor_db=-120.0) == -120.0).all()
    # Silence inside loud audio: the cumulative sums must still difference to exactly 0.
    x = np.concatenate([tone(0.9, 0.5), np.zeros(SR // 2, np.float32), tone(0.9, 0.5)])
    level = intensity_db(x, SR)
    t = level.index.to_numpy()
    assert (level[(t > 0.53) & (t < 0.97)] == -100.0).all()
    assert np.isfinite(level).all()


@pytest.mark.parametrize("sr_hz, frame_rate_hz, window_s", [
    (16000, 100.0, 0.04), (22050, 100.0, 0.04), (8000, 33.3, 0.025), (44100, 240.0, 0.011)])
def test_vectorised_kernel_matches_plain_loop(sr_hz, frame_rate_hz, window_s, monkeypatch):
    rng = np.random.default_rng(7)
    n = int(1.3 * sr_hz)
    envelope = np.repeat(rng.uniform(0.0, 1.0, 13), -(-n // 13))[:n]
    x = (rng.standard_normal(n) * 0.3 * envelope).astype(np.float32)
    x[n // 3:n // 3 + sr_hz // 10] = 0.0  # a stretch of digital silence
    monkeypatch.setattr(voice, "_CHUNK_FRAMES", 7)  # many chunks, ragged last one
    level = intensity_db(x, sr_hz, frame_rate_hz=frame_rate_hz, window_s=window_s,
                         start_s=0.0, floor_db=-100.0)
    times, levels = reference_intensity(x, sr_hz, frame_rate_hz, window_s, -100.0)
    np.testing.assert_allclose(level.index.to_numpy(), times, rtol=0, atol=1e-10)
    np.testing.assert_allclose(level.to_numpy(), levels, rtol=0, atol=1e-10)


def test_short_audio_gives_empty_series():
    level = intensity_db(np.ones(100), SR)
    assert level.empty and level.index.name == "time_s"
    frames = voice_tracks(track(np.ones(100), np.ones(100)))
    assert all(f.empty and list(f.columns) == COLUMNS for f in frames.values())


def test_stereo_tone_left_silence_right():
    rng = np.random.default_rng(1)
    left = np.concatenate([np.zeros(SR, np.float32), tone(0.5, 1.0), np.zeros(SR, np.float32)])
    left += rng.normal(0, 1e-4, left.size).astype(np.float32)
    frames = voice_tracks(track(left, np.zeros_like(left), start_s=2.0))
    assert set(frames) == {"A", "B"}
    a, b = frames["A"], frames["B"]
    assert list(a.columns) == COLUMNS
    assert a["voice_active"].dtype == bool and a["voiced"].dtype == bool
    assert not a[["intensity_db", "voice_active", "voiced"]].isna().any().any()
    t = a.index.to_numpy() - 2.0
    assert a["voice_active"][(t > 1.05) & (t < 1.95)].all()
    assert not a["voice_active"][(t < 0.95) | (t > 2.05)].any()
    assert not b["voice_active"].any() and (b["intensity_db"] == -100.0).all()
    pd.testing.assert_index_equal(a.index, b.index)


def test_voice_active_agrees_with_known_bursts():
    rng = np.random.default_rng(3)
    duration_s = 6.0
    bursts = [(0.30, 0.80), (1.50, 1.72), (2.40, 3.10), (4.00, 4.15), (4.90, 5.60)]
    n = int(duration_s * SR)
    t = np.arange(n) / SR
    x = rng.normal(0, 1e-3, n)
    for on, off in bursts:
        inside = (t >= on) & (t < off)
        x[inside] += 0.3 * np.sin(2 * np.pi * 180 * t[inside])
    frame = voice_tracks(track(x))["mixed"]
    centres = frame.index.to_numpy()
    truth = np.zeros(centres.size, bool)
    for on, off in bursts:
        truth |= (centres >= on) & (centres < off)
    assert (frame["voice_active"].to_numpy() == truth).mean() >= 0.95


def test_runs_shorter_than_minimum_are_dropped():
    rng = np.random.default_rng(4)
    x = rng.normal(0, 1e-3, 3 * SR)
    x[SR:SR + 480] += 0.3 * np.sin(2 * np.pi * 180 * np.arange(480) / SR)  # a 30 ms click
    x[2 * SR:2 * SR + 4800] += 0.3 * np.sin(2 * np.pi * 180 * np.arange(4800) / SR)  # 0.3 s
    active = voice_tracks(track(x))["mixed"]["voice_active"]
    t = active.index.to_numpy()
    assert not active[(t > 0.9) & (t < 1.2)].any()
    assert active[(t > 2.02) & (t < 2.28)].all()


def test_mono_track_is_mixed_and_logs(caplog):
    with caplog.at_level(logging.INFO, logger="synchrony.extract.voice"):
        frames = voice_tracks(track(tone(0.5, 1.0)))
    assert list(frames) == ["mixed"]
    assert "mixed" in caplog.text and "synthetic.wav" in caplog.text
    one_d = SimpleNamespace(samples=tone(0.5, 1.0), sr_hz=SR, start_s=0.0, path="x.wav")
    assert list(voice_tracks(one_d)) == ["mixed"]


def test_channels_map_to_persons_in_order():
    frames = voice_tracks(track(tone(0.5, 1.0), tone(0.05, 1.0)), persons=("parent", "infant"))
    assert list(frames) == ["parent", "infant"]
    diff = frames["parent"]["intensity_db"] - frames["infant"]["intensity_db"]
    np.testing.assert_allclose(diff, 20.0, atol=0.01)


MESSAGE = r"^The '{name}' parameter of {func} must be .+; got .+\.$"


@pytest.mark.parametrize("kwargs, name", [
    ({"sr_hz": 0}, "sr_hz"),
    ({"sr_hz": -16000}, "sr_hz"),
    ({"sr_hz": float("nan")}, "sr_hz"),
    ({"frame_rate_hz": 0.0}, "frame_rate_hz"),
    ({"frame_rate_hz": 20000.0}, "frame_rate_hz"),
    ({"window_s": 0.0}, "window_s"),
    ({"window_s": 5e-5}, "window_s"),
    ({"window_s": "40ms"}, "window_s"),
    ({"start_s": float("inf")}, "start_s"),
    ({"floor_db": None}, "floor_db"),
    ({"samples": np.zeros((2, 100))}, "samples"),
    ({"samples": np.array([0.0, np.nan, 0.0] * 400)}, "samples"),
    ({"samples": np.array(["a"] * 1000)}, "samples"),
])
def test_bad_parameters_raise_parameter_error(kwargs, name):
    args = {"samples": np.zeros(SR), "sr_hz": SR, **kwargs}
    samples, sr_hz = args.pop("samples"), args.pop("sr_hz")
    with pytest.raises(ParameterError, match=MESSAGE.format(name=name, func="intensity_db")):
        intensity_db(samples, sr_hz, **args)


@pytest.mark.parametrize("persons", [("A",), ("A", "B", "C"), ("A", "A"), ("A", ""), "AB"])
def test_persons_must_label_each_channel_once(persons):
    with pytest.raises(ParameterError, match=MESSAGE.format(name="persons", func="voice_tracks")):
        voice_tracks(track(tone(0.5, 0.2), tone(0.5, 0.2)), persons=persons)


def test_options_are_keyword_only():
    with pytest.raises(TypeError):
        intensity_db(np.zeros(SR), SR, 100.0)
    with pytest.raises(TypeError):
        voice_tracks(track(np.zeros(SR)), ("A", "B"))


def test_docstring_examples_run():
    result = doctest.testmod(voice, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_import_does_not_load_heavy_audio_libraries():
    code = ("import sys, synchrony.extract.voice; "
            "print(sorted({'parselmouth', 'librosa'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ------------------------------------------------------------- pitch, f0_st, options


def harmonic_tone(f0_hz, duration_s, amplitude=0.3, sr_hz=SR):
    from _audiogen import harmonic

    return harmonic(np.full(int(round(duration_s * sr_hz)), f0_hz), sr_hz, amplitude=amplitude)


def test_pitch_columns_per_person():
    from _audiogen import place

    a = place([(0.5, harmonic_tone(120.0, 1.0)), (2.0, harmonic_tone(240.0, 1.0))], 3.5)
    b = place([(1.0, harmonic_tone(400.0, 1.5))], 3.5)
    frames = voice_tracks(track(a, b), persons=("parent", "infant"))
    parent, infant = frames["parent"], frames["infant"]
    pd.testing.assert_index_equal(parent.index, infant.index)
    t = parent.index.to_numpy()
    np.testing.assert_allclose(parent["f0_hz"][(t > 0.6) & (t < 1.4)], 120.0, rtol=0.01)
    np.testing.assert_allclose(parent["f0_hz"][(t > 2.1) & (t < 2.9)], 240.0, rtol=0.01)
    np.testing.assert_allclose(infant["f0_hz"][(t > 1.1) & (t < 2.4)], 400.0, rtol=0.01)
    # f0_st is re each person's own median: the parent's two tones sit an octave apart
    # around a median that is one of them; the infant's single tone reads 0 st.
    st = parent["f0_st"][parent["voiced"]]
    assert set(np.round(st, 1)) <= {-12.0, 0.0, 12.0, -0.0}
    assert np.ptp(st) == pytest.approx(12.0, abs=0.1)
    np.testing.assert_allclose(infant["f0_st"][infant["voiced"]], 0.0, atol=0.05)
    for frame in frames.values():
        assert not frame["voiced"][~frame["voice_active"]].any()
        assert frame["f0_hz"].isna().equals(~frame["voiced"])
        assert frame["f0_st"].isna().equals(~frame["voiced"])


def test_48_khz_gives_the_same_frames_and_pitch_as_16_khz():
    from scipy.signal import resample_poly

    x16 = np.concatenate([np.zeros(SR // 2, np.float32), harmonic_tone(180.0, 1.0),
                          np.zeros(SR // 2, np.float32)])
    x48 = resample_poly(x16, 3, 1).astype(np.float32)
    v16 = voice_tracks(track(x16))["mixed"]
    v48 = voice_tracks(SimpleNamespace(samples=x48[None], sr_hz=48000, start_s=0.0,
                                       path="x.wav"))["mixed"]
    np.testing.assert_allclose(v48.index.to_numpy(), v16.index.to_numpy(), atol=1e-4)
    assert (v48["voice_active"].to_numpy() == v16["voice_active"].to_numpy()).mean() > 0.98
    np.testing.assert_allclose(v48["f0_hz"].median(), 180.0, rtol=0.005)


def test_pyin_and_pitch_range_options_pass_through():
    x = np.concatenate([np.zeros(SR // 2, np.float32), harmonic_tone(300.0, 1.0)])
    pyin = voice_tracks(track(x), pitch_method="pyin")["mixed"]
    assert pyin["f0_hz"].median() == pytest.approx(300.0, rel=0.01)
    capped = voice_tracks(track(x), ceiling_hz=250.0)["mixed"]
    assert not (capped["f0_hz"] > 260).any()
    with pytest.raises(ParameterError, match="'method' parameter of pitch_track"):
        voice_tracks(track(x), pitch_method="swipe")


def test_crosstalk_option_removes_the_partner_leaking_into_a_microphone():
    from _audiogen import place

    rng = np.random.default_rng(2)
    a = place([(0.5, harmonic_tone(130.0, 1.0)), (3.0, harmonic_tone(140.0, 0.5))], 4.0)
    b = place([(2.0, harmonic_tone(350.0, 0.8))], 4.0)
    noise_floor = rng.normal(0, 1e-4, (2, a.size))
    # Each microphone also picks up the other person 20 dB down.
    mics = np.stack([a + 0.1 * b, b + 0.1 * a]) + noise_floor
    plain = voice_tracks(track(*mics))
    cleaned = voice_tracks(track(*mics), crosstalk_db=10.0)
    t = plain["A"].index.to_numpy()
    b_speaks = (t > 2.05) & (t < 2.75)
    assert plain["A"]["voice_active"][b_speaks].all()  # leakage counts as speech...
    assert not cleaned["A"]["voice_active"][b_speaks].any()  # ...unless removed
    assert cleaned["B"]["voice_active"][b_speaks].all()
    assert cleaned["A"]["voice_active"][(t > 0.55) & (t < 1.45)].all()
    assert not cleaned["B"]["voice_active"][(t > 0.55) & (t < 1.45)].any()
    assert cleaned["A"]["f0_hz"][b_speaks].isna().all()
    with pytest.raises(ParameterError, match="'crosstalk_db' parameter of voice_tracks"):
        voice_tracks(track(*mics), crosstalk_db=-3)


# ------------------------------------------------------------- speaker attribution


def mouth_scene(rng, *, duration_s=60.0, video_hz=30.0):
    """A mixed track where the parent (A) and the infant (B) take turns, some without a
    pause between them, and each person's mouth opening at the video's (jittered) frame
    times: syllable-rate movement while speaking, landmark noise always, slow smiles
    and some silent mouthing by the infant while the parent speaks.

    Returns ``(mixed samples, truth spans [(person, start_s, end_s)], mouth series)``.
    """
    from _audiogen import harmonic, place, syllables

    spans, at = [], 0.8
    while at < duration_s - 4:
        who = rng.choice(["A", "B"])
        d = rng.uniform(0.6, 2.5)
        spans.append((who, at, at + d))
        if rng.random() < 0.25:  # the other one answers with no pause at all
            d2 = rng.uniform(0.8, 1.8)
            spans.append(("B" if who == "A" else "A", at + d, at + d + d2))
            d += d2
        at += d + rng.uniform(0.4, 1.5)
    pieces = []
    for who, on, off in spans:
        d = off - on
        f0 = rng.uniform(110, 160) if who == "A" else rng.uniform(300, 450)
        pieces.append((on, harmonic(np.full(int(round(d * SR)), f0))
                       * syllables(d, rng.uniform(3.5, 5.0), depth_db=10)))
    mixed = place(pieces, duration_s) + rng.normal(0, 3e-4, int(duration_s * SR))

    tv = np.cumsum(rng.uniform(0.8, 1.2, int(duration_s * video_hz)) / video_hz)
    tv = tv[tv < duration_s]
    mouths = {}
    # The infant's face is smaller in the picture: noisier landmarks, smaller movements.
    for who, jitter, talk in (("A", 0.003, 0.06), ("B", 0.008, 0.035)):
        opening = 0.08 + jitter * rng.standard_normal(tv.size)
        opening += 0.02 * np.sin(2 * np.pi * tv / rng.uniform(7, 13))  # slow smiles
        for s_who, on, off in spans:
            inside = (tv >= on) & (tv < off)
            rate = rng.uniform(3.5, 5.0)
            phase = 2 * np.pi * (tv[inside] - on)
            if s_who == who:
                opening[inside] += talk * (0.5 - 0.5 * np.cos(rate * phase))
            elif who == "B" and rng.random() < 0.3:  # silent mouthing, weaker
                opening[inside] += 0.4 * talk * (0.5 - 0.5 * np.cos(2 * phase))
        opening[rng.random(tv.size) < 0.03] = np.nan  # face lost now and then
        mouths[who] = pd.Series(opening, index=pd.Index(tv, name="time_s"))
    return mixed.astype(np.float32), spans, mouths


def attribution_accuracy(who, spans):
    t = who.index.to_numpy()
    truth = np.full(t.size, None, dtype=object)
    for person, on, off in spans:
        truth[(t >= on) & (t < off)] = person
    voiced = truth != None  # noqa: E711  (element-wise)
    return float((who["speaker"].to_numpy()[voiced] == truth[voiced]).mean())


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_mouth_movement_attributes_at_least_90_percent_of_voiced_time(seed):
    from synchrony.extract.voice import attribute_speaker

    mixed, spans, mouths = mouth_scene(np.random.default_rng(seed))
    active = voice_tracks(track(mixed))["mixed"]["voice_active"]
    who = attribute_speaker(active, mouths)
    assert attribution_accuracy(who, spans) >= 0.90
    assert who["confidence"][active].between(0, 1).all()
    assert who["speaker"][~active].isna().all() and who["confidence"][~active].isna().all()


def test_attribution_confidence_and_undecided_segments():
    from synchrony.extract.voice import attribute_speaker

    t = pd.Index(np.arange(600) / 100, name="time_s")
    active = pd.Series(((t >= 1) & (t < 2)) | ((t >= 3) & (t < 4)) | ((t >= 5) & (t < 5.5)),
                       index=t)
    tv = pd.Index(np.arange(180) / 30, name="time_s")
    rng = np.random.default_rng(0)
    base = 0.1 + 0.002 * rng.standard_normal(180)
    talk = 0.05 * np.sin(2 * np.pi * 4 * tv.to_numpy())
    a = base + np.where((tv >= 1) & (tv < 2), talk, 0) + np.where((tv >= 3) & (tv < 4), talk, 0)
    b = base[::-1] + np.where((tv >= 3) & (tv < 4), talk, 0)
    b[(tv >= 4.9) & (tv < 5.6)] = np.nan  # B's face lost in the third stretch
    who = attribute_speaker(active, {"A": pd.Series(a, index=tv), "B": pd.Series(b, index=tv)})
    first, second, third = who.loc[1.5], who.loc[3.5], who.loc[5.2]
    assert first.speaker == "A" and first.confidence > 0.6
    assert second.confidence < 0.35  # both mouths move alike: low confidence
    assert third.speaker is None and np.isnan(third.confidence)  # nothing to compare
    strict = attribute_speaker(active, {"A": pd.Series(a, index=tv),
                                        "B": pd.Series(b, index=tv)}, min_confidence=0.5)
    assert strict.loc[3.5, "speaker"] is None and strict.loc[1.5, "speaker"] == "A"
    assert who["segment"].max() == 2 and (who["segment"][~active] == -1).all()


def test_speaker_activity_feeds_turns():
    from synchrony.analysis.turns import find_turns
    from synchrony.extract.voice import attribute_speaker, speaker_activity

    mixed, spans, mouths = mouth_scene(np.random.default_rng(4), duration_s=30.0)
    active = voice_tracks(track(mixed))["mixed"]["voice_active"]
    per_person = speaker_activity(attribute_speaker(active, mouths), ["A", "B"])
    assert set(per_person) == {"A", "B"}
    assert all(s.dtype == bool and s.index.equals(active.index) for s in per_person.values())
    assert not (per_person["A"] & per_person["B"]).any()
    turns = find_turns(per_person)
    assert set(turns["person"]) == {"A", "B"}


@pytest.mark.parametrize("args, name", [
    (("not a series", {"A": pd.Series(dtype=float), "B": pd.Series(dtype=float)}),
     "voice_active"),
    ((pd.Series([True]), {"A": pd.Series(dtype=float)}), "mouth_open"),
])
def test_attribution_checks_inputs(args, name):
    from synchrony.extract.voice import attribute_speaker

    with pytest.raises(ParameterError, match=f"'{name}' parameter of attribute_speaker"):
        attribute_speaker(*args)



def test_dead_microphone_is_named_in_a_warning(caplog):
    """A channel of exact zeros (a dead or unplugged mic) is reported, not left to show up
    later as a pair with no data; the other channel is analysed as usual."""
    with caplog.at_level(logging.WARNING, logger="synchrony"):
        frames = voice_tracks(track(tone(0.5, 1.0), np.zeros(SR)), persons=("parent", "infant"))
    assert "channel 2 of 2 (infant) is silent throughout" in caplog.text and "synthetic.wav" in caplog.text
    assert not frames["infant"]["voice_active"].any()
    assert (frames["parent"]["intensity_db"] > frames["infant"]["intensity_db"] + 20).all()
