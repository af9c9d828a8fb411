"""Offset between two recordings from their audio: a generated pair whose second file
starts 2.0 s after the first, both hearing one synthesised sound."""

from __future__ import annotations

import numpy as np
import pytest
from _layoutgen import FPS, OFFSET_S, through_room, voice_like_audio, write_two_files_pair

from synchrony.errors import MediaError, ParameterError
from synchrony.extract.align import MIN_CONFIDENCE, OffsetEstimate, estimate_offset_s
from synchrony.media import AudioTrack, read_audio
from synchrony.session import Session

FRAME_S = 1 / FPS  # one video frame of the 23.976 fps pair


@pytest.fixture(scope="module")
def pair(reference_dir, tmp_path_factory):
    clip = reference_dir / "media" / "WolfgangLanger_Pexels.mp4"
    return write_two_files_pair(clip, tmp_path_factory.mktemp("two_files"))


@pytest.fixture(scope="module")
def tracks(pair):
    return read_audio(pair[0]), read_audio(pair[1])


def _track(samples, sr_hz, start_s=0.0, path="memory"):
    return AudioTrack(np.asarray(samples, np.float32).reshape(-1, np.shape(samples)[-1]),
                      sr_hz, start_s, path)


def test_known_offset_within_one_frame_and_confident(tracks):
    a, b = tracks
    assert (a.n_channels, b.n_channels) == (1, 2)  # B is mixed to mono inside
    est = estimate_offset_s(a, b)
    assert isinstance(est, OffsetEstimate)
    assert abs(est.offset_s - OFFSET_S) < FRAME_S
    assert abs(est.offset_s - OFFSET_S) < 0.002  # the same sound: far better than a frame
    assert est.reliable and est.confidence > 2 * MIN_CONFIDENCE
    assert est.peak_r > 0.8
    assert est.overlap_s == pytest.approx(a.duration_s - OFFSET_S, abs=0.05)
    # The sign convention, end to end: B's time 0 is at session time offset_s.
    session = Session("two-files", tuple(map(str, (a.path, b.path))),
                      offsets_s=(0.0, est.offset_s))
    assert session.offsets_s[1] == est.offset_s


def test_swapped_order_gives_the_negative_offset(tracks):
    a, b = tracks
    est = estimate_offset_s(b, a)
    assert abs(est.offset_s + OFFSET_S) < FRAME_S
    assert est.reliable


def test_different_sample_rates(pair, tracks):
    a, _ = tracks
    b_22k = read_audio(pair[1], sr_hz=22050)
    a_44k = read_audio(pair[0], sr_hz=44100)
    for x, y in ((a, b_22k), (a_44k, b_22k), (b_22k, a)):
        est = estimate_offset_s(x, y)
        sign = 1 if y is b_22k else -1
        assert abs(est.offset_s - sign * OFFSET_S) < FRAME_S, (x.sr_hz, y.sr_hz)
        assert est.reliable


def test_track_start_times_are_honoured(tracks):
    # Audio that starts 0.25 s into its file (its start_s): the file's clock moves, so the
    # offset of the files' time 0s changes by the same amount.
    a, b = tracks
    late_b = AudioTrack(b.samples, b.sr_hz, b.start_s + 0.25, b.path)
    est = estimate_offset_s(a, late_b)
    assert est.offset_s == pytest.approx(OFFSET_S - 0.25, abs=0.002)


def test_unrelated_audio_has_low_confidence(tracks):
    a, _ = tracks
    for seed in range(100, 106):
        other = _track(voice_like_audio(a.duration_s, a.sr_hz, seed=seed), a.sr_hz)
        est = estimate_offset_s(a, other)
        assert not est.reliable, (seed, est)
        assert est.confidence < MIN_CONFIDENCE


def test_different_rooms_and_microphones():
    # Two microphones in different acoustics, one band-limited and quieter, each with its
    # own noise: the contours differ, the estimate is still within a frame.
    from scipy.signal import butter, sosfiltfilt

    sr_hz, true_s = 16000, 3.5
    rng = np.random.default_rng(0)
    sound = voice_like_audio(24.0, sr_hz, seed=11)
    n, k = 20 * sr_hz, int(true_s * sr_hz)
    a = through_room(sound, sr_hz, reverb_s=0.3, seed=1)[:n] + 0.01 * rng.standard_normal(n)
    sos = butter(2, (300, 3000), btype="bandpass", fs=sr_hz, output="sos")
    b = sosfiltfilt(sos, 0.3 * through_room(sound, sr_hz, reverb_s=0.5, seed=2)[k:k + n])
    b = b + 0.003 * rng.standard_normal(n)
    est = estimate_offset_s(_track(a, sr_hz), _track(b, sr_hz))
    assert abs(est.offset_s - true_s) < FRAME_S
    assert est.reliable


def test_silence_and_no_overlap_are_one_line_errors(tracks):
    a, _ = tracks
    silent = _track(np.zeros(a.samples.shape[1]), a.sr_hz, path="quiet.wav")
    with pytest.raises(MediaError, match=r"^quiet\.wav: audio track is silent") as err:
        estimate_offset_s(a, silent)
    assert "\n" not in str(err.value)
    short = _track(a.samples[0, : 3 * a.sr_hz], a.sr_hz, path="short.wav")
    with pytest.raises(MediaError, match=r"^short\.wav: its audio cannot overlap") as err:
        estimate_offset_s(a, short)
    assert "\n" not in str(err.value)
    # Same length, but their clocks are 60 s apart and only 1 s of offset is searched.
    early = AudioTrack(a.samples, a.sr_hz, a.start_s - 60.0, a.path)
    with pytest.raises(MediaError, match="cannot overlap"):
        estimate_offset_s(a, early, max_offset_s=1.0)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"max_offset_s": -1}, "max_offset_s"), ({"rate_hz": 0}, "rate_hz"),
     ({"rate_hz": 30000.0}, "rate_hz"), ({"min_overlap_s": float("nan")}, "min_overlap_s"),
     ({"guard_s": "1"}, "guard_s"), ({"b": np.zeros((1, 100))}, "b")],
)
def test_bad_arguments_name_the_parameter(tracks, kwargs, name):
    a, b = tracks
    args = {"b": b, **kwargs}
    with pytest.raises(ParameterError, match=f"^The '{name}' parameter of estimate_offset_s"):
        estimate_offset_s(a, args.pop("b"), **args)
