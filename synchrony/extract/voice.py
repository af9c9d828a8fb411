"""Voice tracks: intensity in dB and voice activity, per person.

First version: numpy only. Pitch (Praat via parselmouth) will come later and will import
parselmouth inside its function so that ``import synchrony`` stays fast.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pandas as pd

from synchrony.errors import ParameterError

__all__ = ["intensity_db", "voice_tracks"]

log = logging.getLogger(__name__)

# Frames per chunk: bounds the (frames, window) float64 copy, so memory stays flat on long
# recordings (1024 x 1920 samples at 48 kHz = 16 MB).
_CHUNK_FRAMES = 1024
_FLOOR_PERCENTILE = 10.0
_ACTIVE_ABOVE_FLOOR_DB = 15.0
_MIN_ACTIVE_RUN_S = 0.1


def _finite(name: str, func: str, value: object, *, positive: bool = False) -> float:
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if ok and math.isfinite(value) and (not positive or value > 0):
        return float(value)
    raise ParameterError.expected(
        name, func, "a finite number greater than 0" if positive else "a finite number", value)


def intensity_db(samples, sr_hz, *, frame_rate_hz=100.0, window_s=0.04, start_s=0.0,
                 floor_db=-100.0) -> pd.Series:
    """Intensity in dB re full scale (dBFS) of one channel, frame by frame.

    Each frame is the mean of squares over a **rectangular** window of
    ``round(window_s * sr_hz)`` samples, reported as ``10 * log10(mean square)``, so a sine
    of amplitude ``A`` reads ``20 * log10(A / sqrt(2))`` exactly when the window spans whole
    periods (-3.01 dBFS for a full-scale sine). This is not Praat's Intensity, which uses a
    Kaiser window and dB re 2e-5 Pa: recordings here carry no acoustic calibration, so the
    level is relative to digital full scale and only differences between frames or
    recordings made with the same gain are meaningful.

    Parameters
    ----------
    samples : array_like of float, shape (n_samples,)
        One audio channel in full-scale units (-1..1); integer PCM must be scaled first.
    sr_hz : float
        Sample rate in Hz.
    frame_rate_hz : float, default 100.0
        Frames per second; at most ``sr_hz``. Frame ``k`` starts at sample
        ``floor(k * sr_hz / frame_rate_hz + 0.5)``.
    window_s : float, default 0.04
        Window length in seconds; must cover at least two samples.
    start_s : float, default 0.0
        Session-clock time of ``samples[0]`` in seconds.
    floor_db : float, default -100.0
        Values below it (digital silence included) are set to it, never ``-inf``.

    Returns
    -------
    pandas.Series of float, shape (n_frames,)
        Named ``intensity_db``, indexed by ``time_s``: the window centre on the session
        clock, ``start_s + (first_sample + (n_window - 1) / 2) / sr_hz``. Only whole
        windows are reported, so audio shorter than one window gives an empty Series.

    Raises
    ------
    ParameterError
        If a rate is not positive, the window is under two samples, or ``samples`` is not
        1-D, real and finite.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(16000) / 16000
    >>> level = intensity_db(0.5 * np.sin(2 * np.pi * 200 * t), 16000, start_s=10.0)
    >>> round(float(level.iloc[0]), 2), float(level.index[0]), len(level)
    (-9.03, 10.01996875, 97)
    """
    func = "intensity_db"
    sr_hz = _finite("sr_hz", func, sr_hz, positive=True)
    frame_rate_hz = _finite("frame_rate_hz", func, frame_rate_hz, positive=True)
    if frame_rate_hz > sr_hz:
        raise ParameterError.expected("frame_rate_hz", func, f"<= sr_hz={sr_hz:g}", frame_rate_hz)
    window_s = _finite("window_s", func, window_s, positive=True)
    n_win = int(round(window_s * sr_hz))
    if n_win < 2:
        raise ParameterError.expected(
            "window_s", func, f"at least two samples long ({2 / sr_hz:g} s at {sr_hz:g} Hz)",
            window_s)
    start_s = _finite("start_s", func, start_s)
    floor_db = _finite("floor_db", func, floor_db)
    x = np.asarray(samples)
    if x.ndim != 1 or x.dtype.kind not in "iuf" or not np.isfinite(x).all():
        raise ParameterError.expected(
            "samples", func, "a 1-D array of finite real numbers",
            f"array of shape {x.shape} and dtype {x.dtype}")

    hop = sr_hz / frame_rate_hz
    k = np.arange(max(int((x.size - n_win) / hop) + 2, 0))
    starts = np.floor(k * hop + 0.5).astype(np.int64)
    starts = starts[starts + n_win <= x.size]

    # Each window is summed on its own (strided view, not differences of a running cumsum):
    # a quiet frame after loud ones keeps full precision, silence sums to exactly 0.0, and a
    # frame's value does not depend on the chunking.
    mean_sq = np.empty(starts.size)
    for i in range(0, starts.size, _CHUNK_FRAMES):
        s = starts[i:i + _CHUNK_FRAMES]
        seg = x[s[0]:s[-1] + n_win].astype(np.float64)
        windows = np.lib.stride_tricks.sliding_window_view(seg * seg, n_win)
        mean_sq[i:i + s.size] = windows[s - s[0]].mean(axis=1)
    with np.errstate(divide="ignore"):
        level = np.maximum(10.0 * np.log10(mean_sq), floor_db)
    time_s = start_s + (starts + (n_win - 1) / 2) / sr_hz
    return pd.Series(level, index=pd.Index(time_s, name="time_s"), name="intensity_db")


def _voice_active(level: np.ndarray, frame_rate_hz: float) -> np.ndarray:
    """First-version activity: above the channel's noise floor + 15 dB for >= 0.1 s."""
    if level.size == 0:
        return np.zeros(0, dtype=bool)
    active = level > np.percentile(level, _FLOOR_PERCENTILE) + _ACTIVE_ABOVE_FLOOR_DB
    edges = np.flatnonzero(np.diff(np.concatenate(([0], active.astype(np.int8), [0]))))
    lengths = np.diff(edges)[0::2]
    too_short = np.repeat(lengths < math.ceil(_MIN_ACTIVE_RUN_S * frame_rate_hz - 1e-9), lengths)
    active[active] = ~too_short  # runs in order, so per-run flags map onto active frames
    return active


def voice_tracks(track, *, persons=("A", "B"), frame_rate_hz=100.0) -> dict[str, pd.DataFrame]:
    """Intensity and voice activity per person from one audio track.

    With two or more channels, channel ``i`` belongs to ``persons[i]`` (one microphone per
    person). With one channel (a mixed track) the result has the single key ``"mixed"``:
    a dyad-level intensity, since attributing speech to a speaker needs per-person
    channels for now.

    ``voice_active`` is a first version: a frame is active when its intensity exceeds the
    channel's noise floor (10th percentile of its intensity) by 15 dB, and active runs
    shorter than 0.1 s are dropped. The floor is over-estimated when someone speaks in more
    than 90% of the frames, and cross-talk from the partner's microphone counts as activity.

    Parameters
    ----------
    track : AudioTrack-like
        Has ``samples`` (float, shape (n_channels, n_samples) or (n_samples,), -1..1),
        ``sr_hz``, ``start_s`` (session-clock time of the first sample, s) and ``path``.
    persons : sequence of str, default ("A", "B")
        One unique label per channel, used only when there are two or more channels.
    frame_rate_hz : float, default 100.0
        Frames per second; the window is 40 ms (see :func:`intensity_db`).

    Returns
    -------
    dict of str to pandas.DataFrame
        Keyed by person (or ``"mixed"``); each frame has shape (n_frames, 2), index
        ``time_s`` (window centres, s) and columns ``intensity_db`` (float, dBFS) and
        ``voice_active`` (bool). There are no NaNs: every frame lies inside the audio.

    Raises
    ------
    ParameterError
        If ``persons`` does not give one unique label per channel, or the samples or
        rates are invalid (see :func:`intensity_db`).

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> t = np.arange(32000) / 16000
    >>> left = np.where(t < 1.0, 0.5 * np.sin(2 * np.pi * 200 * t), 0.0)
    >>> track = SimpleNamespace(samples=np.stack([left, np.zeros_like(t)]), sr_hz=16000,
    ...                         start_s=0.0, path="session.wav")
    >>> voices = voice_tracks(track, persons=("parent", "infant"))
    >>> {who: round(float(v["voice_active"].mean()), 2) for who, v in voices.items()}
    {'parent': 0.51, 'infant': 0.0}
    """
    samples = np.asarray(track.samples)
    if samples.ndim == 1:
        samples = samples[np.newaxis, :]
    if samples.ndim != 2:
        raise ParameterError.expected("track", "voice_tracks",
                                      "audio with samples of shape (n_channels, n_samples)",
                                      f"shape {samples.shape} from {track.path}")
    if samples.shape[0] == 1:
        log.info("%s: one mixed audio channel; speaker attribution needs per-person "
                 "channels for now, so voice is reported for the dyad as 'mixed'.", track.path)
        labels = ["mixed"]
    else:
        labels = list(persons) if not isinstance(persons, str) else [persons]
        if (len(labels) != samples.shape[0] or len(set(labels)) != len(labels)
                or not all(isinstance(p, str) and p for p in labels)):
            raise ParameterError.expected(
                "persons", "voice_tracks",
                f"one unique label per audio channel ({samples.shape[0]} in {track.path})",
                persons)
    out = {}
    for label, channel in zip(labels, samples):
        level = intensity_db(channel, track.sr_hz, frame_rate_hz=frame_rate_hz,
                             start_s=track.start_s)
        out[label] = pd.DataFrame(
            {"intensity_db": level.to_numpy(),
             "voice_active": _voice_active(level.to_numpy(), float(frame_rate_hz))},
            index=level.index)
    return out
