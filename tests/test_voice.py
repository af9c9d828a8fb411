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
    assert all(f.empty and list(f.columns) == ["intensity_db", "voice_active"]
               for f in frames.values())


def test_stereo_tone_left_silence_right():
    rng = np.random.default_rng(1)
    left = np.concatenate([np.zeros(SR, np.float32), tone(0.5, 1.0), np.zeros(SR, np.float32)])
    left += rng.normal(0, 1e-4, left.size).astype(np.float32)
    frames = voice_tracks(track(left, np.zeros_like(left), start_s=2.0))
    assert set(frames) == {"A", "B"}
    a, b = frames["A"], frames["B"]
    assert list(a.columns) == ["intensity_db", "voice_active"]
    assert a["voice_active"].dtype == bool and not a.isna().any().any()
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
    assert "per-person channels" in caplog.text and "synthetic.wav" in caplog.text
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
