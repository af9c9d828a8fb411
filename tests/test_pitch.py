"""Tests of synchrony.extract.pitch against harmonic tones of known f0, and espeak-ng."""

from __future__ import annotations

import doctest

import numpy as np
import pandas as pd
import pytest

from _audiogen import SR, add_noise, espeak, glide, harmonic, place
from synchrony.errors import ParameterError
from synchrony.extract import pitch as pitch_module
from synchrony.extract.pitch import pitch_track, semitones_re_median
from synchrony.extract.voice import intensity_db

LEAD_S = 0.5  # silence before each test tone

# f0 contours per sample at 16 kHz: adult male and female speech ranges, infant
# vocalisation, a cry up to 950 Hz, a fall, and vibrato (5 Hz, +-0.5 st).
CONTOURS = {
    "male 85-140 Hz": glide(85, 140, 2.0),
    "female 180-320 Hz": glide(180, 320, 2.0),
    "infant 250-600 Hz": glide(250, 600, 1.5),
    "cry 400-950 Hz": glide(400, 950, 1.5),
    "fall 500-150 Hz": glide(500, 150, 1.5),
    "vibrato 220 Hz": 220 * 2 ** (0.5 / 12 * np.sin(2 * np.pi * 5 * np.arange(2 * SR) / SR)),
}


def _at_rate(f0, sr_hz):
    n = int(round(f0.size * sr_hz / SR))
    return np.interp(np.arange(n) / sr_hz, np.arange(f0.size) / SR, f0)


def share_within_1_st(f0, sr_hz=SR, *, snr_db=None, method="praat", seed=0):
    """Share of the truly voiced frames (window wholly inside the tone) tracked within
    1 semitone; an unvoiced verdict there counts as a miss."""
    f0 = _at_rate(f0, sr_hz)
    x = place([(LEAD_S, harmonic(f0, sr_hz))], f0.size / sr_hz + 2 * LEAD_S, sr_hz)
    if snr_db is not None:
        x = add_noise(x, snr_db, np.random.default_rng(seed))
    track = pitch_track(x, sr_hz, method=method)
    t = track.index.to_numpy() - LEAD_S
    inside = (t >= 0.02) & (t <= f0.size / sr_hz - 0.02)
    truth = np.interp(t, np.arange(f0.size) / sr_hz, f0)
    with np.errstate(invalid="ignore"):
        error_st = np.abs(12 * np.log2(track["f0_hz"].to_numpy() / truth))
    outside = (t < -0.02) | (t > f0.size / sr_hz + 0.02)
    return float((error_st < 1.0)[inside].mean()), float(track["voiced"][outside].mean())


@pytest.mark.parametrize("name", list(CONTOURS))
@pytest.mark.parametrize("sr_hz", [16000, 48000])
def test_praat_within_one_semitone_on_95_percent(name, sr_hz):
    hit, false_voiced = share_within_1_st(CONTOURS[name], sr_hz)
    assert hit >= 0.95, f"{name}: {hit:.1%} of voiced frames within 1 st"
    assert false_voiced <= 0.02


@pytest.mark.parametrize("name", ["male 85-140 Hz", "infant 250-600 Hz", "cry 400-950 Hz"])
def test_praat_within_one_semitone_at_10_db_snr(name):
    hit, _ = share_within_1_st(CONTOURS[name], snr_db=10.0, seed=3)
    assert hit >= 0.95, f"{name} in noise: {hit:.1%}"


def test_weak_fundamental_does_not_cause_octave_errors():
    """Telephone-like audio (fundamental filtered out) with the 1000 Hz ceiling."""
    from scipy.signal import butter, sosfilt

    f0 = CONTOURS["male 85-140 Hz"]
    x = sosfilt(butter(4, 300, "highpass", fs=SR, output="sos"), harmonic(f0))
    x = place([(LEAD_S, x)], f0.size / SR + 2 * LEAD_S)
    track = pitch_track(x, SR)
    t = track.index.to_numpy() - LEAD_S
    inside = (t >= 0.02) & (t <= f0.size / SR - 0.02)
    error = np.abs(12 * np.log2(track["f0_hz"].to_numpy()[inside]
                                / np.interp(t[inside], np.arange(f0.size) / SR, f0)))
    assert (error < 1).mean() >= 0.95


@pytest.mark.parametrize("name", ["female 180-320 Hz", "cry 400-950 Hz"])
def test_pyin_within_one_semitone(name):
    hit, false_voiced = share_within_1_st(CONTOURS[name][: int(1.2 * SR)], method="pyin")
    assert hit >= 0.95 and false_voiced <= 0.05


def test_frames_line_up_with_intensity_and_start_time():
    x = place([(0.2, harmonic(np.full(SR, 150.0)))], 1.5)
    track = pitch_track(x, SR, start_s=12.5)
    level = intensity_db(x, SR, start_s=12.5)
    pd.testing.assert_index_equal(track.index, level.index)
    assert list(track.columns) == ["f0_hz", "voiced"] and track["voiced"].dtype == bool
    assert track["f0_hz"].isna().equals(~track["voiced"])
    # Praat's frames are centred on the same instants (up to float rounding), so no
    # frame is dropped: every frame whose window lies inside the tone is voiced.
    t = track.index.to_numpy() - 12.5
    assert track["voiced"][(t > 0.25) & (t < 1.15)].all()
    pyin = pitch_track(x, SR, start_s=12.5, method="pyin")
    pd.testing.assert_index_equal(pyin.index, level.index)


@pytest.mark.parametrize("kind", ["silence", "white", "pink"])
def test_no_pitch_in_silence_or_noise(kind):
    from _audiogen import noise

    x = (np.zeros(2 * SR) if kind == "silence"
         else 0.05 * noise(2 * SR, np.random.default_rng(5), kind))
    assert pitch_track(x, SR)["voiced"].mean() <= 0.02


def test_short_audio():
    assert pitch_track(np.zeros(100), SR).empty
    short = pitch_track(harmonic(np.full(700, 200.0)), SR)  # 44 ms: one frame, no pitch
    assert len(short) == 1 and not short["voiced"].any()


def test_semitones_re_median():
    f0 = pd.Series([100.0, 200.0, np.nan, 400.0, 0.0], index=[1.0, 2.0, 3.0, 4.0, 5.0])
    st = semitones_re_median(f0)
    assert st.name == "f0_st" and st.index.equals(f0.index)
    np.testing.assert_allclose(st.to_numpy(), [-12, 0, np.nan, 12, np.nan])
    assert semitones_re_median([np.nan, np.nan]).isna().all()
    assert semitones_re_median(np.array([], dtype=float)).empty
    with pytest.raises(ParameterError, match="'f0_hz' parameter of semitones_re_median"):
        semitones_re_median(np.ones((2, 2)))


def test_espeak_speech_is_voiced_in_adult_range():
    x = espeak("where is the little ball", voice="en-us", pitch=40)
    track = pitch_track(place([(0.3, x)], x.size / SR + 0.6), SR)
    t = track.index.to_numpy()
    inside = (t > 0.3) & (t < 0.3 + x.size / SR)
    assert track["voiced"][inside].mean() >= 0.5
    assert not track["voiced"][t < 0.25].any()
    assert 70 <= track["f0_hz"].median() <= 250


def test_wide_ceiling_agrees_with_praat_adult_settings_on_speech():
    """The 1000 Hz ceiling (for infants) does not move adult f0 against Praat's own
    75-600 Hz settings: within 1 st on the frames both call voiced."""
    for voice, pitch in (("en-us", 30), ("en-us+f3", 70)):
        x = espeak("shall we read the book about the sleepy cat", voice=voice, pitch=pitch)
        wide = pitch_track(x, SR)
        adult = pitch_track(x, SR, ceiling_hz=600.0)
        both = wide["voiced"] & adult["voiced"]
        assert both.sum() > 100
        error = np.abs(12 * np.log2(wide["f0_hz"][both] / adult["f0_hz"][both]))
        assert (error < 1).mean() >= 0.95
        assert (wide["voiced"] != adult["voiced"]).mean() <= 0.05


MESSAGE = r"^The '{name}' parameter of pitch_track must be .+; got .+\.$"


@pytest.mark.parametrize("kwargs, name", [
    ({"floor_hz": 0}, "floor_hz"),
    ({"ceiling_hz": 60.0}, "ceiling_hz"),
    ({"ceiling_hz": 9000.0}, "ceiling_hz"),
    ({"method": "crepe"}, "method"),
    ({"frame_rate_hz": -1}, "frame_rate_hz"),
    ({"start_s": float("nan")}, "start_s"),
    ({"octave_cost": "high"}, "octave_cost"),
    ({"analysis_sr_hz": 0}, "analysis_sr_hz"),
])
def test_bad_parameters(kwargs, name):
    with pytest.raises(ParameterError, match=MESSAGE.format(name=name)):
        pitch_track(np.zeros(SR), SR, **kwargs)
    with pytest.raises(ParameterError, match=MESSAGE.format(name="samples")):
        pitch_track(np.zeros((2, SR)), SR)


def test_options_are_keyword_only():
    with pytest.raises(TypeError):
        pitch_track(np.zeros(SR), SR, 0.0)


def test_docstring_examples_run():
    result = doctest.testmod(pitch_module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
