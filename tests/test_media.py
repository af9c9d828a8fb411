"""Tests of synchrony.media against recordings with planted, known answers."""

from __future__ import annotations

import logging
import math
import os
import wave
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

import av
import numpy as np
import pytest

from _mediagen import TONE_AMPLITUDE, TONE_HZ, make_video, truncate
from synchrony import media
from synchrony.errors import InputFileError, MediaError, NoAudioError, ParameterError

# Deliberately irregular: what a phone produces when it drops and bunches frames.
VFR_TIMES_S = [0.0, 0.04, 0.06, 0.15, 0.2, 0.21, 0.3, 0.45, 0.5, 0.52]


def frame_times(path, **kw):
    return [t for t, _ in media.iter_frames(path, **kw)]


def tone_onset_s(track: media.AudioTrack, channel: int = 0) -> float:
    """Session time of the first sample of the planted tone."""
    loud = np.flatnonzero(np.abs(track.samples[channel]) > TONE_AMPLITUDE / 4)
    return float(track.times_s[loud[0]])


def assert_one_line_naming(err: Exception, path) -> None:
    msg = str(err)
    assert "\n" not in msg
    assert os.path.basename(os.fspath(path)) in msg


# --------------------------------------------------------------------------- clock


def test_frame_times_are_the_planted_pts_of_a_variable_rate_file(tmp_path):
    path = make_video(tmp_path / "vfr.mp4", n_frames=len(VFR_TIMES_S), fps=20, pts_s=VFR_TIMES_S)
    times = frame_times(path)
    assert times == pytest.approx(VFR_TIMES_S, abs=1e-4)
    by_index = [i / 20 for i in range(len(VFR_TIMES_S))]
    assert not np.allclose(times, by_index, atol=1e-3)


def test_frames_are_rgb_uint8_of_the_stored_size(tmp_path):
    path = make_video(tmp_path / "v.mp4", n_frames=3, size=(64, 48))
    frames = list(media.iter_frames(path))
    assert len(frames) == 3
    for _, rgb in frames:
        assert rgb.dtype == np.uint8 and rgb.shape == (48, 64, 3)
    # the default content encodes the index as a grey level: frames come in order
    levels = [rgb.mean() for _, rgb in frames]
    assert levels == pytest.approx([40, 45, 50], abs=3)


def test_rate_hz_subsamples_constant_rate_by_time(tmp_path):
    path = make_video(tmp_path / "cfr.mp4", n_frames=30, fps=30)
    assert frame_times(path, rate_hz=10) == pytest.approx([k / 10 for k in range(10)], abs=1e-4)


def test_rate_hz_subsamples_variable_rate_by_true_time(tmp_path):
    path = make_video(tmp_path / "vfr.mp4", n_frames=len(VFR_TIMES_S), fps=20, pts_s=VFR_TIMES_S)
    # the first frame at or after each 0.1 s slot; slots no frame reaches are skipped
    expected = [0.0, 0.15, 0.2, 0.3, 0.45, 0.5]
    assert frame_times(path, rate_hz=10) == pytest.approx(expected, abs=1e-4)


def test_rate_hz_above_the_frame_rate_never_duplicates(tmp_path):
    path = make_video(tmp_path / "vfr.mp4", n_frames=len(VFR_TIMES_S), fps=20, pts_s=VFR_TIMES_S)
    assert frame_times(path, rate_hz=1000) == pytest.approx(VFR_TIMES_S, abs=1e-4)


def test_start_and_end_select_a_half_open_span(tmp_path):
    # 90 frames, keyframe every 12: start_s lands mid-GOP, so the seek must back up
    path = make_video(tmp_path / "long.mp4", n_frames=90, fps=30)
    times = frame_times(path, start_s=1.0, end_s=2.0)
    assert times == pytest.approx([1 + k / 30 for k in range(30)], abs=1e-4)
    sub = frame_times(path, start_s=1.0, end_s=2.0, rate_hz=5)
    assert sub == pytest.approx([1.0, 1.2, 1.4, 1.6, 1.8], abs=1e-4)
    assert frame_times(path, start_s=10.0) == []


def test_iteration_can_stop_early(tmp_path):
    path = make_video(tmp_path / "v.mp4", n_frames=30)
    frames = media.iter_frames(path)
    t0, _ = next(frames)
    t1, _ = next(frames)
    frames.close()
    assert (t0, t1) == pytest.approx((0, 1 / 30), abs=1e-4)


@pytest.mark.parametrize("name", ["a.mov", "a.mkv", "a.mp4", "a.ts"])
def test_audio_and_video_share_one_clock(tmp_path, name):
    # Audio planted 0.5 s after the first frame. PCM (mov, mkv) starts exactly there; AAC
    # (mp4, ts) carries one frame of encoder priming before the tone, which the containers
    # keep, so its first sample is up to 1024 samples early but the tone is on time.
    path = make_video(tmp_path / name, n_frames=30, fps=30, with_audio=True, audio_start_s=0.5)
    first_frame_s = frame_times(path)[0]
    track = media.read_audio(path)
    assert track.start_s - first_frame_s == pytest.approx(0.5, abs=1024 / 16000)
    assert tone_onset_s(track) - first_frame_s == pytest.approx(0.5, abs=0.003)
    if name.endswith((".mov", ".mkv")):
        assert track.start_s == pytest.approx(0.5, abs=1 / 16000)


def test_session_clock_starts_at_the_earliest_stream(tmp_path):
    # video starts 0.3 s after the audio: the audio is the origin, frames keep their offset
    path = make_video(tmp_path / "late.mov", n_frames=10, pts_s=[0.3 + i / 30 for i in range(10)],
                      with_audio=True, audio_start_s=0.0)
    info = media.probe(path)
    assert info.audio.start_time_s == pytest.approx(0.0)
    assert info.video.start_time_s == pytest.approx(0.3, abs=1e-4)
    assert frame_times(path)[0] == pytest.approx(0.3, abs=1e-4)
    assert media.read_audio(path).start_s == pytest.approx(0.0)


# ----------------------------------------------------- skipping frames the grid leaves out


def reference_frames(path, *, rate_hz=None, start_s=0.0, end_s=math.inf):
    """Slow, obvious reference for iter_frames: decode every frame (no skipping), time it
    by its PTS on the session clock, keep frames in [start_s, end_s) and with rate_hz the
    first frame of each slot [start_s + k / rate_hz, start_s + (k + 1) / rate_hz),
    converted with PyAV's own ``to_ndarray(format="rgb24")``. Only kept frames are stored."""
    kept, slots = [], set()
    with av.open(os.fspath(path)) as container:
        origin_s = min(float(s.start_time * s.time_base) for s in container.streams
                       if s.start_time is not None)
        for frame in container.decode(video=0):
            t = float(frame.pts * frame.time_base) - origin_s
            if not start_s - 1e-6 <= t < end_s - 1e-6:
                continue
            slot = math.floor((t - start_s) * rate_hz + 1e-6) if rate_hz else t
            if slot not in slots:
                slots.add(slot)
                kept.append((t, frame.to_ndarray(format="rgb24")))
    return kept


def moving_pattern(i, size):
    """A pattern drifting a few pixels per frame: x264 codes it with B-frames that no
    other frame refers to, the frames a skipping decoder can drop."""
    width, height = size
    x, y = np.arange(width)[None, :], np.arange(height)[:, None]
    grey = (128 + 60 * np.sin((x + 3 * i) / 7) * np.cos((y - 2 * i) / 9)
            + 30 * np.sin((x - y + 5 * i) / 5))
    return np.repeat(grey[:, :, None], 3, axis=2).clip(0, 255).astype(np.uint8)


def decoded_count(path, rate_hz, start_s=0.0, end_s=None):
    """How many frames the skipping decoder hands out (the grid then picks from these)."""
    with av.open(os.fspath(path)) as container:
        stream = container.streams.video[0]
        keep = media._grid(rate_hz, start_s, end_s)
        return sum(1 for _ in media._decode_skipping(
            stream, container.demux(stream), keep, media._origin_s(container), "x"))


def assert_same_frames(got, want):
    assert [t for t, _ in got] == pytest.approx([t for t, _ in want], abs=1e-9)
    for (t, a), (_, b) in zip(got, want):
        assert a.shape == b.shape, t
        assert np.array_equal(a, b), t  # same pixels: same frame, same colour conversion


@pytest.mark.parametrize("kwargs", [
    {"rate_hz": 10, "end_s": 6.0},
    {"rate_hz": 4, "start_s": 7.3, "end_s": 11.0},  # starts mid-GOP: seek, then skip
    {"start_s": 3.1, "end_s": 4.0},  # every frame of a span
    {"rate_hz": 10, "end_s": 6.0, "decoder_threads": 1},  # what the face extractors use
    {"start_s": 3.1, "end_s": 4.0, "decoder_threads": 3},
])
def test_skipping_decode_yields_exactly_the_frames_of_a_full_decode(reference_dir, kwargs):
    # the reference face clip: H.264 (High) with B-frames, 472 frames at 23.976 fps; with
    # skip_frame="NONREF" throughout, its decoder outputs only 254 of them
    clip = reference_dir / "media" / "WolfgangLanger_Pexels.mp4"
    got = list(media.iter_frames(clip, **kwargs))
    kwargs.pop("decoder_threads", None)
    assert_same_frames(got, reference_frames(clip, **kwargs))
    if "rate_hz" in kwargs:
        assert len(got) == pytest.approx(kwargs["rate_hz"] * (kwargs["end_s"]
                                                              - kwargs.get("start_s", 0)), abs=1)


def test_decoder_threads_is_the_decoders_thread_count(reference_dir):
    clip = reference_dir / "media" / "WolfgangLanger_Pexels.mp4"
    for threads in (1, 3):
        frames = media.iter_frames(clip, rate_hz=10, decoder_threads=threads)
        next(frames)
        stream = frames.gi_frame.f_locals["stream"]
        assert stream.codec_context.thread_count == threads
        frames.close()


def test_the_decoder_really_skips_frames_the_grid_leaves_out(reference_dir):
    clip = reference_dir / "media" / "WolfgangLanger_Pexels.mp4"
    assert media.probe(clip).video.codec == "h264"
    n_kept = len(list(media.iter_frames(clip, rate_hz=10)))
    assert n_kept == 197
    # measured: 343 of 472 decoded; every kept frame among them (the test above)
    assert n_kept < decoded_count(clip, 10.0) < 0.8 * 472


# (codec, pixel format, colour tags set on the encoder, file name): 8-bit YUV of several
# subsamplings, limited and full range, BT.709 and unspecified matrices, RGB, grey, odd
# sizes; 10-bit, which the converter leaves to PyAV's reformatter
COLOUR_CASES = [
    ("libx264", "yuv420p", {}, "plain.mp4"),
    ("libx264", "yuv420p", {"colorspace": 1, "color_primaries": 1, "color_trc": 1}, "bt709.mp4"),
    ("libx264", "yuvj420p", {"color_range": 2}, "full_range.mp4"),
    ("libx264", "yuv444p", {}, "yuv444.mp4"),
    ("libx264", "yuv420p10le", {}, "ten_bit.mp4"),
    ("mjpeg", "yuvj422p", {}, "mjpeg.avi"),
    ("mpeg4", "yuv420p", {}, "mpeg4.avi"),
    ("libvpx-vp9", "yuv420p", {}, "vp9.webm"),
    ("ffv1", "bgr0", {}, "rgb.mkv"),
    ("ffv1", "gray", {}, "grey.mkv"),
]


def write_colour_clip(path, codec, pix_fmt, tags, *, size=(66, 50), n_frames=6):
    """Colourful noisy frames through one encoder; returns ``path``."""
    rng = np.random.default_rng(7)
    width, height = size
    y, x = np.mgrid[0:height, 0:width]
    with av.open(os.fspath(path), "w") as container:
        stream = container.add_stream(codec, rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height, pix_fmt
        for name, value in tags.items():
            setattr(stream.codec_context, name, value)
        for i in range(n_frames):
            rgb = np.stack([x * 4 + 9 * i, y * 5, (x + y) * 3 + 20 * i], axis=-1) % 256
            rgb = (rgb + rng.integers(-25, 25, rgb.shape)).clip(0, 255).astype(np.uint8)
            container.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        container.mux(stream.encode())
    return path


@pytest.mark.parametrize("codec, pix_fmt, tags, name", COLOUR_CASES,
                         ids=[case[-1] for case in COLOUR_CASES])
def test_rgb_pixels_are_those_of_pyavs_own_conversion(tmp_path, codec, pix_fmt, tags, name):
    path = write_colour_clip(tmp_path / name, codec, pix_fmt, tags)
    got = list(media.iter_frames(path))
    assert len(got) == 6
    assert_same_frames(got, reference_frames(path))


def test_rgb_converter_follows_a_change_of_frame_size_and_format(tmp_path):
    # one converter fed frames of three streams in turn, as a stream whose frames change
    # size or format mid-way would feed it
    clips = [write_colour_clip(tmp_path / f"{i}.mkv", "ffv1", fmt, {}, size=size, n_frames=2)
             for i, (fmt, size) in enumerate([("yuv420p", (66, 50)), ("yuv444p", (40, 30)),
                                              ("yuv420p", (66, 50))])]
    convert = media._rgb_converter("x")
    for clip in clips:
        with av.open(os.fspath(clip)) as container:
            for frame in container.decode(video=0):
                want = frame.to_ndarray(format="rgb24")
                assert np.array_equal(convert(frame), want)


def test_skipping_on_a_variable_rate_file_keeps_the_first_frame_of_every_slot(tmp_path):
    rng = np.random.default_rng(0)
    steps = rng.choice([0.02, 0.033, 0.05, 0.07], size=89)
    planted = np.round(np.concatenate([[0.0], np.cumsum(steps)]), 4)
    path = make_video(tmp_path / "vfr.mp4", n_frames=90, fps=30, size=(96, 64),
                      pts_s=planted.tolist(), codec="libx264", frame_fn=moving_pattern)
    got = list(media.iter_frames(path, rate_hz=10))
    times = np.array([t for t, _ in got])
    # hand-derived from the planted times alone: the first of each 0.1 s slot
    slots = np.floor(planted * 10 + 1e-6)
    first_of_slot = planted[np.r_[True, np.diff(slots) > 0]]
    np.testing.assert_allclose(times, first_of_slot, atol=1e-4)
    assert np.isin(np.round(times, 4), planted).all()  # true PTS, never index / fps
    # no slot that holds a frame is left empty, so no gap exceeds a slot plus the
    # planted file's own largest step
    assert np.diff(times).max() < 0.1 + steps.max()
    assert_same_frames(got, reference_frames(path, rate_hz=10))
    assert len(got) < decoded_count(path, 10.0) < 90  # measured: 41 < 64 < 90


class _FakeStream:
    """Stands in for a PyAV stream: records each packet's skip setting, decodes nothing."""

    def __init__(self):
        self.time_base = Fraction(1, 30)
        self.codec_context = SimpleNamespace(skip_frame="DEFAULT")
        self.modes = {}

    def decode(self, packet):
        self.modes[packet.pts] = self.codec_context.skip_frame
        return [packet.pts]


def _packets(pts):
    return [SimpleNamespace(pts=p, size=100) for p in pts]


def test_packets_are_skipped_only_when_their_frame_is_not_on_the_grid(monkeypatch):
    # 30 frames/s, 10 Hz grid: frames 0, 3, 6, ... are kept. Decode order is the usual
    # I P B B pattern: the P frame 3 ahead is read before the two B frames before it.
    monkeypatch.setattr(media, "_LOOKAHEAD_PACKETS", 4)
    order = [0, 3, 1, 2, 6, 4, 5, 9, 7, 8, 12, 10, 11]
    stream = _FakeStream()
    out = list(media._decode_skipping(stream, _packets(order), media._grid(10, 0.0, None),
                                      0.0, "x"))
    assert out == order  # every packet decoded, in decode order
    assert {p: m == "DEFAULT" for p, m in stream.modes.items()} == {
        p: p % 3 == 0 for p in order}


def test_a_frame_later_than_the_lookahead_ends_the_skipping(monkeypatch):
    monkeypatch.setattr(media, "_LOOKAHEAD_PACKETS", 2)
    # frame 1 arrives 6 packets after frame 7: too late to plan around, so from there on
    # every frame is decoded whole
    order = [0, 3, 2, 4, 5, 6, 7, 1, 8, 10, 11]
    stream = _FakeStream()
    list(media._decode_skipping(stream, _packets(order), media._grid(10, 0.0, None), 0.0, "x"))
    assert [stream.modes[p] for p in (0, 3, 2, 4, 5)] == ["DEFAULT", "DEFAULT"] + ["NONREF"] * 3
    assert all(stream.modes[p] == "DEFAULT" for p in (1, 8, 10, 11))


# --------------------------------------------------------------------------- audio


def test_stereo_keeps_channels_and_the_tone_stays_left(tmp_path):
    path = make_video(tmp_path / "st.mov", n_frames=30, with_audio=True, audio_channels=2)
    track = media.read_audio(path)
    assert track.samples.dtype == np.float32
    assert track.samples.shape == (2, 16000)
    assert track.sr_hz == 16000 and track.duration_s == pytest.approx(1.0)
    rms = np.sqrt((track.samples**2).mean(axis=1))
    assert rms[0] == pytest.approx(TONE_AMPLITUDE / np.sqrt(2), rel=0.01)
    assert rms[1] < 1e-3


def test_mono_and_resampling(tmp_path):
    path = make_video(tmp_path / "st.mov", n_frames=30, with_audio=True, audio_start_s=0.25)
    track = media.read_audio(path, sr_hz=8000, mono=True)
    assert track.samples.shape == (1, 6000) and track.sr_hz == 8000
    assert track.start_s == pytest.approx(0.25, abs=1 / 8000)
    spectrum = np.abs(np.fft.rfft(track.samples[0]))
    assert np.fft.rfftfreq(6000, 1 / 8000)[spectrum.argmax()] == pytest.approx(TONE_HZ, abs=2)
    # channel mean: the left-only tone at half amplitude
    assert np.abs(track.samples).max() == pytest.approx(TONE_AMPLITUDE / 2, rel=0.02)
    assert tone_onset_s(media.read_audio(path, sr_hz=44100)) == pytest.approx(0.25, abs=1e-3)


def test_mono_file_has_one_channel(tmp_path):
    path = make_video(tmp_path / "m.mov", n_frames=5, with_audio=True, audio_channels=1)
    assert media.read_audio(path).samples.shape[0] == 1


# --------------------------------------------------------------------------- rotation


def upright_picture(height=64, width=48):
    """Dark picture, bright top-left quadrant: every rotation and flip changes it."""
    img = np.full((height, width, 3), 30, np.uint8)
    img[: height // 2, : width // 2] = 220
    return img


def assert_is_upright(rgb, upright):
    assert rgb.shape == upright.shape
    h, w = rgb.shape[0] // 2, rgb.shape[1] // 2
    quadrants = [rgb[:h, :w], rgb[:h, w:], rgb[h:, :w], rgb[h:, w:]]
    means = [q.mean() for q in quadrants]
    assert means[0] > 180 and max(means[1:]) < 70, means


@pytest.mark.parametrize("rotation_deg", [90, 180, 270])
def test_rotated_recordings_come_out_upright(tmp_path, rotation_deg):
    upright = upright_picture()
    k = rotation_deg // 90
    stored = np.ascontiguousarray(np.rot90(upright, -k))  # what the sensor wrote
    size = (stored.shape[1], stored.shape[0])
    path = make_video(tmp_path / "rot.mp4", n_frames=3, size=size, rotation_deg=rotation_deg,
                      frame_fn=lambda i, size: stored)
    info = media.probe(path)
    assert info.video.rotation_deg == rotation_deg
    assert (info.video.width, info.video.height) == size
    assert (info.video.upright_width, info.video.upright_height) == (48, 64)
    for _, rgb in media.iter_frames(path):
        assert_is_upright(rgb, upright)


def test_phone_portrait_display_matrix(tmp_path):
    # The matrix a phone held upright writes (ffprobe: "rotation of -90.00 degrees",
    # legacy tag rotate=90): players turn the stored landscape picture clockwise.
    upright = upright_picture()
    stored = np.ascontiguousarray(np.rot90(upright, 1))  # turning it clockwise gives upright
    path = make_video(tmp_path / "phone.mov", n_frames=2, size=(64, 48),
                      display_matrix=[0, 65536, 0, -65536, 0, 0, 0, 0, 1 << 30],
                      frame_fn=lambda i, size: stored)
    assert media.probe(path).video.rotation_deg == 270
    for _, rgb in media.iter_frames(path):
        assert_is_upright(rgb, upright)


def test_unrotated_file_reports_zero(tmp_path):
    info = media.probe(make_video(tmp_path / "v.mp4", n_frames=2))
    assert info.video.rotation_deg == 0
    assert (info.video.upright_width, info.video.upright_height) == (64, 48)


# --------------------------------------------------------------------------- probe


def test_probe_a_synthetic_file(tmp_path):
    path = make_video(tmp_path / "v.mov", n_frames=30, fps=30, with_audio=True, audio_start_s=0.5)
    info = media.probe(path)
    assert info.path == os.fspath(path) and info.format_name.startswith("mov")
    assert info.duration_s == pytest.approx(1.0, abs=0.05)
    v, a = info.video, info.audio
    assert (v.width, v.height, v.codec, v.n_frames) == (64, 48, "mpeg4", 30)
    assert v.declared_fps == pytest.approx(30) and v.average_fps == pytest.approx(30)
    assert (a.sample_rate_hz, a.n_channels, a.codec) == (16000, 2, "pcm_s16le")
    assert a.start_time_s == pytest.approx(0.5) and a.duration_s == pytest.approx(0.5)


def test_probe_without_audio(tmp_path):
    assert media.probe(make_video(tmp_path / "v.mp4", n_frames=2)).audio is None


def test_count_frames_when_the_header_has_no_count(tmp_path):
    path = make_video(tmp_path / "v.mkv", n_frames=25)  # Matroska stores no frame count
    assert media.probe(path).video.n_frames is None
    assert media.count_frames(path) == 25
    assert media.probe(path, count_frames=True).video.n_frames == 25


def test_real_variable_rate_phone_clip(reference_dir):
    # a phone recording (HEVC in QuickTime): 169 frames at ~26.4 fps, labelled 30 fps
    clip = reference_dir / "media" / "face_noface.mov"
    info = media.probe(clip)
    assert info.duration_s == pytest.approx(6.42, abs=0.05)
    assert info.video.n_frames == 169
    assert info.video.average_fps == pytest.approx(26.4, abs=0.1)
    assert info.video.declared_fps == pytest.approx(30)  # the label, not the truth
    assert info.audio.start_time_s == pytest.approx(2.43, abs=0.01)  # audio starts late

    times = np.array(frame_times(clip))
    assert len(times) == 169 and np.all(np.diff(times) > 0)
    dt = np.diff(times)
    # measured: intervals 13.7-41.7 ms, std 4.6 ms; a constant-rate file has std ~0
    assert dt.std() > 0.003 and dt.max() - dt.min() > 0.02
    assert times[-1] == pytest.approx(6.36, abs=0.01)
    # Why container times matter here: a clock built as index / fps puts frames far from
    # where they were shot. With the declared 30 fps the last frame lands 0.76 s early;
    # even with the clip's own average rate some frames are 0.36 s off: several samples
    # of a 10 Hz analysis clock, enough to fake or hide a partner's response lag.
    index = np.arange(len(times))
    assert times[-1] - index[-1] / info.video.declared_fps > 0.7
    assert np.abs(times - index / info.video.average_fps).max() > 0.3

    sub = np.array(frame_times(clip, rate_hz=10))
    assert len(np.unique(np.floor(sub * 10 + 1e-6))) == len(sub)  # at most one per slot
    assert 60 <= len(sub) <= 64

    track = media.read_audio(clip, sr_hz=16000)
    assert track.start_s == pytest.approx(info.audio.start_time_s, abs=1024 / 44100)
    assert track.samples.shape[0] == 2


# --------------------------------------------------------------------------- bad input


def test_missing_file(tmp_path):
    path = tmp_path / "nope.mp4"
    for call in (media.probe, media.iter_frames, media.read_audio, media.count_frames):
        with pytest.raises(InputFileError, match="file not found") as info:
            call(path)  # iter_frames checks at call time, before iteration
        assert_one_line_naming(info.value, path)


@pytest.mark.parametrize("content", [b"", b"hello, this is not a video\n" * 10])
def test_unreadable_files(tmp_path, content):
    path = tmp_path / "clip.mp4"
    path.write_bytes(content)
    for call in (media.probe, media.iter_frames, media.read_audio):
        with pytest.raises(MediaError, match="not a readable media file") as info:
            call(path)
        assert_one_line_naming(info.value, path)


def test_directory_is_not_a_recording(tmp_path):
    with pytest.raises(InputFileError, match="directory"):
        media.probe(tmp_path)


def test_video_without_audio(tmp_path):
    path = make_video(tmp_path / "silent.mp4", n_frames=3)
    with pytest.raises(NoAudioError, match="no audio track") as info:
        media.read_audio(path)
    assert_one_line_naming(info.value, path)


def test_audio_without_video(tmp_path):
    path = tmp_path / "voice.wav"
    with wave.open(os.fspath(path), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(8000)
        w.writeframes(np.zeros(800, np.int16).tobytes())
    assert media.probe(path).video is None
    assert media.read_audio(path).samples.shape == (1, 800)
    for call in (media.iter_frames, media.count_frames):
        with pytest.raises(MediaError, match="no video stream") as info:
            call(path)
        assert_one_line_naming(info.value, path)


def test_truncated_file_without_index_is_an_error(tmp_path):
    # mp4 writers put the index (moov) last: half a file has no index at all
    full = make_video(tmp_path / "full.mp4", n_frames=60, with_audio=True)
    cut = truncate(full, tmp_path / "cut.mp4")
    for call in (media.probe, media.iter_frames, media.read_audio):
        with pytest.raises(MediaError) as info:
            call(cut)
        assert_one_line_naming(info.value, cut)


@pytest.mark.parametrize("name", ["full.mp4", "full.mov"])
def test_truncated_file_yields_what_it_holds_then_warns(tmp_path, caplog, name):
    # With the index first (as streaming writers do) half a file opens, and the data
    # just stops: the header's duration is the only sign, so it must be checked.
    rng = np.random.default_rng(0)
    noise = [rng.integers(0, 256, (48, 64, 3), dtype=np.uint8) for _ in range(60)]
    full = make_video(tmp_path / name, n_frames=60, faststart=True, codec="libx264",
                      with_audio=True, frame_fn=lambda i, size: noise[i])
    cut = truncate(full, tmp_path / ("cut" + Path(name).suffix))
    with caplog.at_level(logging.WARNING, logger="synchrony"):
        times = frame_times(cut)
        track = media.read_audio(cut)
    assert 10 < len(times) < 60 and 0.2 < track.duration_s < 1.9
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert all(cut in w and "truncated" in w and "\n" not in w for w in warnings)


class _FailingContainer:
    """Stands in for a PyAV container whose decoder fails after ``n_good`` frames."""

    def __init__(self, n_good):
        self.n_good = n_good

    def decode(self, stream):
        for i in range(self.n_good):
            yield SimpleNamespace(time=i / 30)
        raise av.error.InvalidDataError(-1094995529, "Invalid data found when processing input")


def test_decoder_error_after_frames_ends_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="synchrony"):
        frames = list(media._decode(_FailingContainer(3), None, "clip.mp4", "video", 0.0, 0.25))
    assert len(frames) == 3
    (record,) = caplog.records
    assert "clip.mp4" in record.getMessage() and "after 3 frames" in record.getMessage()


def test_decoder_error_before_any_frame_is_a_media_error():
    with pytest.raises(MediaError, match="no decodable video") as info:
        list(media._decode(_FailingContainer(0), None, "clip.mp4", "video", 0.0, 0.25))
    assert_one_line_naming(info.value, "clip.mp4")


def test_complete_file_does_not_warn(tmp_path, caplog):
    path = make_video(tmp_path / "v.mp4", n_frames=30, with_audio=True)
    with caplog.at_level(logging.WARNING, logger="synchrony"):
        frame_times(path)
        media.read_audio(path)
    assert not caplog.records


@pytest.mark.parametrize(
    "kwargs", [{"rate_hz": 0}, {"rate_hz": float("nan")}, {"start_s": -1},
               {"start_s": 2, "end_s": 1}, {"rate_hz": "10"}, {"decoder_threads": 0},
               {"decoder_threads": 1.0}, {"decoder_threads": True}])
def test_bad_iter_frames_parameters(tmp_path, kwargs):
    path = make_video(tmp_path / "v.mp4", n_frames=2)
    name = next(k for k in ("rate_hz", "end_s", "start_s", "decoder_threads") if k in kwargs)
    with pytest.raises(ParameterError, match=f"'{name}' parameter of iter_frames"):
        media.iter_frames(path, **kwargs)


@pytest.mark.parametrize("sr_hz", [0, -8000, 8000.5, "8000"])
def test_bad_sample_rate(tmp_path, sr_hz):
    path = make_video(tmp_path / "v.mov", n_frames=2, with_audio=True)
    with pytest.raises(ParameterError, match="'sr_hz' parameter of read_audio"):
        media.read_audio(path, sr_hz=sr_hz)
