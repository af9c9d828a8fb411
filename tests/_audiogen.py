"""Synthetic test audio with known answers: harmonic tones and glides, noise at a set SNR,
and speech from espeak-ng (a Debian package; tests skip when it is not installed).

Everything here is made on the fly: nobody recorded it, so it carries no personal data.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest

SR = 16000


def harmonic(f0_hz, sr_hz=SR, *, amplitude=0.3, max_harmonic_hz=5000.0):
    """A harmonic complex following ``f0_hz`` (one value per sample, Hz).

    Harmonic ``k`` has amplitude ``1 / k`` (a voice-like falling spectrum, fundamental
    strongest) and every harmonic stays below ``max_harmonic_hz`` and the Nyquist rate.
    The phase is the running integral of f0, so glides are continuous. The result is
    scaled to peak ``amplitude``; the true f0 of sample ``i`` is ``f0_hz[i]``.
    """
    f0 = np.asarray(f0_hz, dtype=float)
    phase = 2 * np.pi * np.cumsum(f0) / sr_hz
    top = min(max_harmonic_hz, 0.45 * sr_hz)
    x = np.zeros(f0.size)
    for k in range(1, int(top // f0.min()) + 1):
        x += np.where(k * f0 < top, np.sin(k * phase) / k, 0.0)
    return (amplitude * x / np.abs(x).max()).astype(np.float32)


def glide(f_start_hz, f_end_hz, duration_s, sr_hz=SR):
    """f0 per sample gliding exponentially (evenly in semitones) between two values."""
    n = int(round(duration_s * sr_hz))
    return f_start_hz * (f_end_hz / f_start_hz) ** (np.arange(n) / max(n - 1, 1))


def syllables(duration_s, rate_hz=4.0, sr_hz=SR, *, depth_db=20.0):
    """Amplitude envelope with ``rate_hz`` syllable-like peaks per second (raised cosine
    in dB, ``depth_db`` between peak and dip), starting and ending at a dip."""
    t = np.arange(int(round(duration_s * sr_hz))) / sr_hz
    cycle = 0.5 - 0.5 * np.cos(2 * np.pi * rate_hz * t)  # 0 at t=0, 1 at peaks
    return 10 ** (-depth_db * (1 - cycle) / 20)


def place(pieces, duration_s, sr_hz=SR):
    """One channel of ``duration_s`` seconds with each ``(start_s, samples)`` added in."""
    out = np.zeros(int(round(duration_s * sr_hz)), dtype=np.float64)
    for start_s, x in pieces:
        i = int(round(start_s * sr_hz))
        out[i:i + len(x)] += x[:max(0, out.size - i)]
    return out.astype(np.float32)


def noise(n, rng, kind="white"):
    """Unit-variance noise: ``white``, or ``pink`` (power falling 3 dB per octave, like
    many rooms' background)."""
    w = rng.standard_normal(n)
    if kind == "pink":
        spectrum = np.fft.rfft(w)
        f = np.arange(spectrum.size)
        spectrum[1:] /= np.sqrt(f[1:])
        spectrum[0] = 0
        w = np.fft.irfft(spectrum, n)
    return w / w.std()


def add_noise(x, snr_db, rng, *, active=None, kind="white"):
    """``x`` plus noise ``snr_db`` below the power of ``x`` over its ``active`` samples
    (default: the samples that are not digital silence), i.e. the speech-to-noise ratio
    while someone speaks, not diluted by the pauses."""
    x = np.asarray(x, dtype=np.float64)
    active = np.abs(x) > 0 if active is None else active
    p_signal = np.mean(x[active] ** 2)
    n = noise(x.size, rng, kind) * np.sqrt(p_signal / 10 ** (snr_db / 10))
    return (x + n).astype(np.float32)


def frame_truth(intervals, times_s):
    """Per frame time: True inside any ``(start_s, end_s)`` interval."""
    truth = np.zeros(len(times_s), bool)
    for on, off in intervals:
        truth |= (times_s >= on) & (times_s < off)
    return truth


# ------------------------------------------------------------------------ espeak-ng


def require_espeak():
    """Skip the calling test when the espeak-ng binary is absent."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng not installed: apt-get install -y espeak-ng")


def espeak(text, *, voice="en-us", pitch=50, speed_wpm=160, sr_hz=SR):
    """Speech from espeak-ng as float32 at ``sr_hz``, trimmed to its audible extent.

    Trimming keeps the samples from the first to the last one above -60 dB re the peak,
    so the utterance starts at sample 0 and ends at its last sample: placed at ``t`` it
    occupies exactly ``[t, t + len / sr_hz)``, which is the truth the tests compare with.
    """
    require_espeak()
    from scipy.io import wavfile
    from scipy.signal import resample_poly

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "say.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-p", str(pitch), "-s", str(speed_wpm),
                        "-w", str(path), text], check=True, capture_output=True)
        rate, pcm = wavfile.read(path)
    x = pcm.astype(np.float64) / 32768.0
    g = np.gcd(int(rate), int(sr_hz))
    x = resample_poly(x, sr_hz // g, rate // g)
    loud = np.flatnonzero(np.abs(x) > 1e-3 * np.abs(x).max())
    return x[loud[0]:loud[-1] + 1].astype(np.float32)


# Parent-infant-like exchange for espeak-ng: (person, text, voice, pitch 0-99, words per
# minute, gap in s after the previous utterance's end: negative = overlap).
DIALOGUE = [
    ("A", "look at the little duck", "en-us", 40, 150, 0.7),
    ("B", "where is it going now", "en-us+f3", 75, 170, 0.45),
    ("A", "can you see the red ball", "en-us", 30, 140, 1.2),
    ("B", "oh yes I can", "en-us+f3", 85, 180, -0.30),
    ("A", "shall we play a game together", "en-gb", 50, 160, 0.60),
    ("B", "peekaboo", "en-us+f3", 90, 130, 1.5),
    ("A", "that was fun wasn't it", "en-us", 45, 175, 0.25),
    ("B", "more please", "en-us+f3", 70, 150, 0.9),
]


def espeak_dialogue(lines=DIALOGUE, *, sr_hz=SR, tail_s=0.8):
    """Two people's utterances on one timeline.

    Returns ``(channels, intervals, duration_s)``: person -> float32 samples (one
    close microphone each, no cross-talk), person -> list of ``(start_s, end_s)`` of
    their utterances (the truth), and the length in seconds.
    """
    pieces = {p: [] for p, *_ in lines}
    intervals = {p: [] for p in pieces}
    end_s = 0.0
    for person, text, voice, pitch, wpm, gap_s in lines:
        x = espeak(text, voice=voice, pitch=pitch, speed_wpm=wpm, sr_hz=sr_hz)
        start_s = end_s + gap_s
        pieces[person].append((start_s, x))
        end_s = start_s + x.size / sr_hz
        intervals[person].append((start_s, end_s))
    duration_s = end_s + tail_s
    channels = {p: place(pieces[p], duration_s, sr_hz) for p in pieces}
    return channels, intervals, duration_s
