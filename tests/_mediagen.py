"""Small synthetic recordings with known answers, written with PyAV for tests.

Every planted quantity (frame times, audio start, channel content, display rotation) is
under the caller's control, so tests can compare what synchrony reads with what was
written. Import from tests as ``from _mediagen import make_video`` (pytest puts the
tests directory on ``sys.path``).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from fractions import Fraction

import av
import numpy as np

# mpeg4 accepts time bases up to 1/65535; 1/10000 s represents every planted time used
# in tests exactly and is fine enough for variable frame rates.
VIDEO_TIME_BASE = Fraction(1, 10000)
TONE_HZ = 440.0
TONE_AMPLITUDE = 0.5


def grey_frame(i: int, size: tuple[int, int]) -> np.ndarray:
    """Default frame content: a flat grey whose level encodes the frame index."""
    width, height = size
    return np.full((height, width, 3), (40 + 5 * i) % 256, np.uint8)


def make_video(
    path: os.PathLike | str,
    *,
    n_frames: int,
    fps: float = 30.0,
    size: tuple[int, int] = (64, 48),
    pts_s: Sequence[float] | None = None,
    with_audio: bool = False,
    audio_start_s: float = 0.0,
    audio_sr_hz: int = 16000,
    audio_channels: int = 2,
    audio_codec: str | None = None,
    rotation_deg: int = 0,
    display_matrix: Sequence[int] | None = None,
    frame_fn: Callable[[int, tuple[int, int]], np.ndarray] | None = None,
    codec: str = "mpeg4",
    faststart: bool = False,
) -> str:
    """Write a small test recording and return its path.

    Parameters
    ----------
    n_frames, fps : frame count and nominal rate in Hz (frame i at i / fps unless
        ``pts_s`` gives explicit per-frame times in seconds: variable frame rate).
    size : (width, height) in pixels as stored.
    with_audio : add an audio stream starting at ``audio_start_s`` seconds and lasting to
        the end of the video: a 440 Hz tone of amplitude 0.5 in channel 0 only, silence in
        the others. ``audio_codec`` defaults to AAC for .mp4 and .ts, PCM otherwise (exact timing).
    rotation_deg : counter-clockwise display rotation written as a display matrix
        (PyAV's ``set_display_rotation``); ``display_matrix`` writes a raw 9-int matrix.
    frame_fn : ``frame_fn(i, size) -> (height, width, 3) uint8`` picture of frame i.
    faststart : put the index (moov) first in .mp4/.mov, as streaming encoders do.
    """
    path = os.fspath(path)
    width, height = size
    if pts_s is None:
        pts_s = [i / fps for i in range(n_frames)]
    assert len(pts_s) == n_frames
    frame_fn = frame_fn or grey_frame
    options = {"movflags": "faststart"} if faststart and path.endswith((".mp4", ".mov")) else {}
    with av.open(path, "w", options=options) as container:
        video = container.add_stream(codec, rate=round(fps))
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.codec_context.time_base = VIDEO_TIME_BASE
        video.time_base = VIDEO_TIME_BASE
        video.bit_rate = 4_000_000
        if display_matrix is not None:
            video.set_display_matrix(display_matrix)
        elif rotation_deg:
            video.set_display_rotation(rotation_deg)
        audio = None
        if with_audio:
            if audio_codec is None:
                audio_codec = "aac" if path.endswith((".mp4", ".ts")) else "pcm_s16le"
            layout = {1: "mono", 2: "stereo"}[audio_channels]
            audio = container.add_stream(audio_codec, rate=audio_sr_hz, layout=layout)
        for i, t in enumerate(pts_s):
            frame = av.VideoFrame.from_ndarray(frame_fn(i, size), format="rgb24")
            frame.pts = round(t / VIDEO_TIME_BASE)
            frame.time_base = VIDEO_TIME_BASE
            container.mux(video.encode(frame))
        container.mux(video.encode())
        if audio is not None:
            end_s = pts_s[-1] + 1 / fps
            _write_tone(container, audio, audio_start_s, end_s, audio_sr_hz, audio_channels)
    return path


def _write_tone(container, stream, start_s, end_s, sr_hz, n_channels):
    n = int(round((end_s - start_s) * sr_hz))
    t = np.arange(n) / sr_hz
    x = np.zeros((n_channels, n), np.float32)
    x[0] = TONE_AMPLITUDE * np.sin(2 * np.pi * TONE_HZ * t)
    fmt = stream.codec_context.format.name  # fltp for aac, s16 for pcm_s16le
    layout = stream.codec_context.layout.name
    first = int(round(start_s * sr_hz))
    hop = 1024
    for k in range(0, n, hop):
        chunk = x[:, k : k + hop]
        if fmt == "s16":  # packed int16: one row, channels interleaved
            chunk = np.round(chunk.T * 32767).astype(np.int16).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format=fmt, layout=layout)
        frame.sample_rate = sr_hz
        frame.pts = first + k
        frame.time_base = Fraction(1, sr_hz)
        container.mux(stream.encode(frame))
    container.mux(stream.encode())


def truncate(path: os.PathLike | str, out: os.PathLike | str, fraction: float = 0.5) -> str:
    """Copy the first ``fraction`` of a file's bytes, like an interrupted copy or upload."""
    data = open(path, "rb").read()
    with open(out, "wb") as f:
        f.write(data[: int(len(data) * fraction)])
    return os.fspath(out)
