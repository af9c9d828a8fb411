"""Tests of synchrony.extract.vad: frame agreement with known speech, in clean audio and
at 10 dB SNR, on tones and on espeak-ng speech."""

from __future__ import annotations

import doctest

import numpy as np
import pandas as pd
import pytest

from _audiogen import (SR, add_noise, espeak_dialogue, frame_truth, glide, harmonic, noise,
                       place, syllables)
from synchrony.errors import ParameterError
from synchrony.extract import vad as vad_module
from synchrony.extract.pitch import pitch_track
from synchrony.extract.vad import drop_short_runs, noise_floor_db, voice_activity
from synchrony.extract.voice import intensity_db


def agreement(active, intervals):
    truth = frame_truth(intervals, active.index.to_numpy())
    return float((active.to_numpy() == truth).mean())


@pytest.fixture(scope="module")
def dialogue():
    channels, intervals, duration_s = espeak_dialogue()
    mixed = channels["A"] + channels["B"]
    return mixed, intervals["A"] + intervals["B"]


def test_clean_speech_agreement_at_least_95_percent(dialogue):
    mixed, truth = dialogue
    assert agreement(voice_activity(mixed, SR), truth) >= 0.95


@pytest.mark.parametrize("kind, seed", [("white", 1), ("white", 2), ("pink", 3), ("pink", 4)])
def test_speech_in_noise_at_10_db_snr_agreement_at_least_90_percent(dialogue, kind, seed):
    mixed, truth = dialogue
    noisy = add_noise(mixed, 10.0, np.random.default_rng(seed), kind=kind)
    assert agreement(voice_activity(noisy, SR), truth) >= 0.90


def vocal_scene(rng):
    """Voice-like bursts (harmonic glides with syllable envelopes) at known times."""
    spans = [(0.6, 1.9), (2.5, 2.9), (3.8, 5.6), (6.3, 7.0), (8.1, 9.4)]
    pieces = []
    for on, off in spans:
        d = off - on
        f0 = glide(rng.uniform(100, 400), rng.uniform(100, 400), d)
        pieces.append((on, harmonic(f0) * syllables(d, rng.uniform(3, 5), depth_db=12)))
    return place(pieces, 10.0), spans


@pytest.mark.parametrize("snr_db, kind, minimum", [
    (None, "white", 0.95), (10.0, "white", 0.90), (10.0, "pink", 0.90)])
def test_voice_like_bursts(snr_db, kind, minimum):
    rng = np.random.default_rng(11)
    x, spans = vocal_scene(rng)
    if snr_db is not None:
        x = add_noise(x, snr_db, rng, kind=kind)
    assert agreement(voice_activity(x, SR), spans) >= minimum


@pytest.mark.parametrize("kind", ["white", "pink", "hum"])
def test_background_alone_is_not_voice(kind):
    rng = np.random.default_rng(2)
    t = np.arange(8 * SR) / SR
    if kind == "hum":  # mains hum with harmonics: periodic, so the tracker calls it voiced
        x = 0.02 * sum(np.sin(2 * np.pi * 50 * k * t) / k for k in range(1, 6))
        x = x + 0.002 * noise(t.size, rng)
    else:
        x = 0.02 * noise(t.size, rng, kind)
    assert not voice_activity(x, SR).any()


def test_noise_floor_adapts_when_the_background_gets_louder():
    """A fan switches on halfway (+20 dB of noise): the louder background is not speech,
    and speech above it is still found."""
    rng = np.random.default_rng(4)
    n = 80 * SR
    background = noise(n, rng) * np.where(np.arange(n) < n // 2, 0.001, 0.01)
    spans = [(10.0, 12.0), (30.0, 31.5), (50.0, 52.0), (70.0, 71.0)]
    voice = place([(on, harmonic(np.full(int((off - on) * SR), 180.0), amplitude=0.2))
                   for on, off in spans], 80.0)
    active = voice_activity(background + voice, SR)
    t = active.index.to_numpy()
    truth = frame_truth(spans, t)
    near = frame_truth([(on - 0.1, off + 0.1) for on, off in spans], t)
    # The documented lag: the floor catches up within about 4 s of the step.
    assert not active[(t > 44.5) & ~near].any()
    assert not active[(t < 39.9) & ~near].any()
    assert active[truth].mean() >= 0.99
    assert agreement(active, spans) >= 0.95
    floor = noise_floor_db(intensity_db(background + voice, SR))
    t = floor.index.to_numpy()
    assert floor[t > 60].median() - floor[t < 20].median() == pytest.approx(20.0, abs=1.0)


def test_long_vocalisation_is_not_taken_for_background():
    """An 8 s cry-like sound (no pause) in 10 dB noise stays active throughout."""
    rng = np.random.default_rng(12)
    d = 8.0
    cry = harmonic(glide(450, 700, d)) * syllables(d, 1.2, depth_db=6)
    x = add_noise(place([(6.0, cry)], 20.0), 10.0, rng)
    assert agreement(voice_activity(x, SR), [(6.0, 6.0 + d)]) >= 0.97


def test_clicks_are_dropped_and_short_gaps_bridged():
    rng = np.random.default_rng(6)
    x = 1e-3 * rng.standard_normal(4 * SR)
    tone = harmonic(np.full(SR, 200.0))
    x[SR // 2:SR // 2 + 480] += tone[:480]                 # 30 ms click
    x[2 * SR:2 * SR + 4000] += tone[:4000]                 # 0.25 s, then a 0.12 s gap,
    x[2 * SR + 5920:2 * SR + 9920] += tone[:4000]          # then 0.25 s more
    active = voice_activity(x, SR)
    t = active.index.to_numpy()
    assert not active[(t > 0.4) & (t < 0.7)].any()
    assert active[(t > 2.0) & (t < 2.6)].all()
    runs = np.flatnonzero(np.diff(active.to_numpy().astype(int)) == 1)
    assert runs.size == 1


def test_hangover_is_bounded_by_the_background():
    """A fading tail is followed for at most hangover_s, and not into flat noise."""
    rng = np.random.default_rng(8)
    n = 4 * SR
    t = np.arange(n) / SR
    x = 1e-3 * rng.standard_normal(n)
    fade = np.clip(1 - (t - 2.0) / 1.0, 0, 1) ** 4              # slow decay after 2 s
    x += np.where((t >= 1.0), harmonic(np.full(n, 160.0)) * np.where(t < 2.0, 1, fade), 0)
    level = intensity_db(x, SR)
    voiced_off = pd.Series(np.zeros(len(level), bool), index=level.index)
    # Only the loud criterion can make core frames here, so growth shows alone.
    active = voice_activity(x, SR, intensity=level, voiced=voiced_off.to_numpy(),
                            hangover_s=0.2)
    floor = noise_floor_db(level).to_numpy()
    above = level.to_numpy() - floor
    last_core = level.index[above > 15][-1]
    last_active = active.index[active.to_numpy()][-1]
    assert 0 < last_active - last_core <= 0.2 + 1e-9


def test_given_intensity_and_voicing_are_used_as_is():
    rng = np.random.default_rng(9)
    x, _ = vocal_scene(rng)
    level = intensity_db(x, SR)
    voiced = pitch_track(x, SR)["voiced"]
    pd.testing.assert_series_equal(voice_activity(x, SR, intensity=level, voiced=voiced),
                                   voice_activity(x, SR))
    with pytest.raises(ParameterError, match="'voiced' parameter of voice_activity"):
        voice_activity(x, SR, intensity=level, voiced=voiced[:-1])


def test_result_shape_and_times():
    x = place([(0.5, harmonic(np.full(SR, 200.0)))], 2.0)
    active = voice_activity(x, SR, start_s=3.0)
    assert active.name == "voice_active" and active.dtype == bool
    pd.testing.assert_index_equal(active.index, intensity_db(x, SR, start_s=3.0).index)
    assert voice_activity(np.zeros(10), SR).empty


def test_drop_short_runs():
    a = np.array([1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1], bool)
    out = drop_short_runs(a, frame_rate_hz=100, min_active_s=0.05)
    np.testing.assert_array_equal(out, [0, 0, 0] + [1] * 10 + [0, 0])
    assert drop_short_runs(np.zeros(0, bool)).size == 0


@pytest.mark.parametrize("kwargs, name", [
    ({"noise_percentile": 101}, "noise_percentile"),
    ({"max_gap_s": -0.1}, "max_gap_s"),
    ({"min_active_s": float("nan")}, "min_active_s"),
    ({"frame_rate_hz": 0}, "frame_rate_hz"),
    ({"intensity": [0.0] * 10}, "intensity"),
])
def test_bad_parameters(kwargs, name):
    with pytest.raises(ParameterError,
                       match=rf"^The '{name}' parameter of voice_activity must be .+; got .+\.$"):
        voice_activity(np.zeros(SR), SR, **kwargs)


def test_docstring_examples_run():
    result = doctest.testmod(vad_module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
