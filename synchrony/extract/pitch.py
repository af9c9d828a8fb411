"""Fundamental frequency (f0) per voice frame: Praat's autocorrelation pitch, or pYIN.

Search range. The defaults, 75-1000 Hz, cover both partners of a parent-infant session:
adult speech spans about 75-500 Hz (Praat's own default floor is 75 Hz), infant
non-cry vocalisations about 250-600 Hz and cries 300-900 Hz (hyperphonated cry segments
above 1000 Hz are reported unvoiced, or at half their pitch, rather than guessed). Praat's
default ceiling of 600 Hz would cut the cries.

Praat's path-finder settings are Praat's defaults (octave cost 0.01 per octave, octave
jump cost 0.35, voiced/unvoiced cost 0.14, voicing threshold 0.45, silence threshold
0.03). The wide range does not cost adult voices accuracy: the octave cost already
favours the lower of two octave-related candidates only weakly, and the octave-jump cost
keeps a voice from hopping an octave between frames. The tests check it: harmonic glides
from 85 to 950 Hz are tracked within 1 semitone, and on synthetic speech these settings
agree with Praat's 75-600 Hz adult settings on the frames both call voiced.

Speed. Praat spreads the frames of one pitch analysis over the machine's cores with its
own threads (both cores of a 2-core machine; parselmouth holds Python's lock meanwhile, so
Python threads would add nothing). It does not gain accuracy from audio above 16 kHz (f0
up to 1 kHz and its first harmonics lie far below 8 kHz), but its run time grows with the
sample rate, so higher rates are first resampled to ``analysis_sr_hz`` (polyphase filter,
scipy).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from synchrony._validate import check_finite, check_positive
from synchrony.errors import ParameterError
from synchrony.extract.voice import WINDOW_S, _channel, frame_times_s

__all__ = ["pitch_track", "semitones_re_median", "DEFAULT_FLOOR_HZ", "DEFAULT_CEILING_HZ"]

#: Lowest f0 searched, in Hz (Praat's default; deep adult male voices).
DEFAULT_FLOOR_HZ = 75.0
#: Highest f0 searched, in Hz: above infant cries, which Praat's 600 Hz default would cut.
DEFAULT_CEILING_HZ = 1000.0
_METHODS = ("praat", "pyin")


def pitch_track(samples, sr_hz, *, start_s=0.0, frame_rate_hz=100.0,
                floor_hz=DEFAULT_FLOOR_HZ, ceiling_hz=DEFAULT_CEILING_HZ, method="praat",
                analysis_sr_hz=16000, voicing_threshold=0.45, octave_cost=0.01,
                octave_jump_cost=0.35, voiced_unvoiced_cost=0.14,
                silence_threshold=0.03) -> pd.DataFrame:
    """f0 of one audio channel, on the voice frame grid.

    ``method="praat"`` is Praat's "To Pitch (ac)" (Boersma 1993) through parselmouth,
    with time step ``1 / frame_rate_hz``; its analysis window is three periods of
    ``floor_hz`` (40 ms at 75 Hz). ``method="pyin"`` is librosa's probabilistic YIN
    (Mauch & Dixon 2014), about a hundred times slower, as a second opinion. Either
    tracker's frames are then read out at the frame times of :func:`frame_times_s`
    (40 ms windows), taking the tracker frame nearest in time (at most half a step
    away), so pitch lines up with ``intensity_db`` frame for frame.

    Parameters
    ----------
    samples : array_like of float, shape (n_samples,)
        One audio channel in full-scale units (-1..1).
    sr_hz : float
        Sample rate in Hz.
    start_s : float, default 0.0
        Session-clock time of ``samples[0]`` in seconds.
    frame_rate_hz : float, default 100.0
        Frames per second.
    floor_hz, ceiling_hz : float, default 75.0 and 1000.0
        Pitch search range in Hz (see the module docstring for why these suit adults and
        infants). ``ceiling_hz`` must be below half of the analysis rate.
    method : {"praat", "pyin"}, default "praat"
    analysis_sr_hz : int, default 16000
        Audio sampled faster is resampled to this rate (Hz) before tracking.
    voicing_threshold, octave_cost, octave_jump_cost : float
    voiced_unvoiced_cost, silence_threshold : float
        Praat's settings of the same names (``method="praat"`` only); Praat's defaults.

    Returns
    -------
    pandas.DataFrame, shape (n_frames, 2)
        Indexed by ``time_s`` (s, :func:`frame_times_s`); columns ``f0_hz`` (float, NaN
        where unvoiced) and ``voiced`` (bool).

    Raises
    ------
    ParameterError
        If the samples are not a finite 1-D array or a setting is out of range.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.arange(16000) / 16000
    >>> f0 = pitch_track(0.5 * np.sin(2 * np.pi * 220 * t), 16000)
    >>> round(float(f0["f0_hz"].median()), 1), bool(f0["voiced"].mean() > 0.9)
    (220.0, True)
    """
    func = "pitch_track"
    x = _channel(samples, func)
    sr_hz = check_positive(sr_hz, "sr_hz", func)
    frame_rate_hz = check_positive(frame_rate_hz, "frame_rate_hz", func)
    start_s = check_finite(start_s, "start_s", func)
    floor_hz = check_positive(floor_hz, "floor_hz", func)
    ceiling_hz = check_positive(ceiling_hz, "ceiling_hz", func)
    analysis_sr_hz = check_positive(analysis_sr_hz, "analysis_sr_hz", func)
    if method not in _METHODS:
        raise ParameterError.expected("method", func, "'praat' or 'pyin'", method)
    if ceiling_hz <= floor_hz:
        raise ParameterError.expected("ceiling_hz", func, f"above floor_hz={floor_hz:g}",
                                      ceiling_hz)
    target_sr = min(sr_hz, analysis_sr_hz)
    if ceiling_hz >= target_sr / 2:
        raise ParameterError.expected("ceiling_hz", func, f"below half the analysis rate "
                                      f"({target_sr / 2:g} Hz)", ceiling_hz)
    if frame_rate_hz > sr_hz:
        raise ParameterError.expected("frame_rate_hz", func, f"<= sr_hz={sr_hz:g}",
                                      frame_rate_hz)
    praat = {"voicing_threshold": voicing_threshold, "octave_cost": octave_cost,
             "octave_jump_cost": octave_jump_cost,
             "voiced_unvoiced_cost": voiced_unvoiced_cost,
             "silence_threshold": silence_threshold}
    for name, value in praat.items():
        praat[name] = check_finite(value, name, func)

    grid = frame_times_s(x.size, sr_hz, frame_rate_hz=frame_rate_hz, start_s=start_s)
    f0 = np.full(grid.size, np.nan)
    # Trackers need a few periods of the floor; shorter audio has no pitch to find.
    if grid.size and x.size / sr_hz >= 3.0 / floor_hz + 1.0 / frame_rate_hz:
        y, y_sr = _resampled(x, sr_hz, analysis_sr_hz)
        if method == "praat":
            times, values = _praat(y, y_sr, frame_rate_hz, floor_hz, ceiling_hz, praat)
        else:
            times, values = _pyin(y, y_sr, frame_rate_hz, floor_hz, ceiling_hz)
        f0 = _nearest(times + start_s, values, grid, 0.5 / frame_rate_hz)
    voiced = np.isfinite(f0)
    return pd.DataFrame({"f0_hz": f0, "voiced": voiced},
                        index=pd.Index(grid, name="time_s"))


def semitones_re_median(f0_hz) -> pd.Series:
    """f0 in semitones relative to the speaker's median f0: ``12 * log2(f0 / median)``.

    The median is over the voiced frames (finite, positive ``f0_hz``). Semitones put a
    low adult voice and a high infant voice on one scale: a rise of 2 st is the same
    musical interval for both.

    Parameters
    ----------
    f0_hz : pandas.Series or array_like of float
        f0 in Hz, NaN (or 0) where unvoiced.

    Returns
    -------
    pandas.Series of float
        Named ``f0_st``, with the input's index (a default one for arrays); NaN where
        unvoiced, and everywhere if no frame is voiced.

    Examples
    --------
    >>> semitones_re_median([100.0, 200.0, float("nan"), 400.0]).tolist()
    [-12.0, 0.0, nan, 12.0]
    """
    index = f0_hz.index if isinstance(f0_hz, pd.Series) else None
    try:
        f = np.asarray(f0_hz, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError.expected("f0_hz", "semitones_re_median", "numbers in Hz",
                                      type(f0_hz).__name__) from None
    if f.ndim != 1:
        raise ParameterError.expected("f0_hz", "semitones_re_median", "a 1-D series",
                                      f"shape {f.shape}")
    voiced = np.isfinite(f) & (f > 0)
    st = np.full(f.size, np.nan)
    if voiced.any():
        st[voiced] = 12.0 * np.log2(f[voiced] / np.median(f[voiced]))
    return pd.Series(st, index=index, name="f0_st")


def _resampled(x: np.ndarray, sr_hz: float, analysis_sr_hz: float):
    x = x.astype(np.float64)
    if sr_hz <= analysis_sr_hz:
        return x, sr_hz
    from scipy.signal import resample_poly

    if float(sr_hz).is_integer() and float(analysis_sr_hz).is_integer():
        g = math.gcd(int(sr_hz), int(analysis_sr_hz))
        up, down = int(analysis_sr_hz) // g, int(sr_hz) // g
    else:  # an odd rate: the nearest rational ratio is close enough for pitch
        from fractions import Fraction

        ratio = Fraction(analysis_sr_hz / sr_hz).limit_denominator(1000)
        up, down = ratio.numerator, ratio.denominator
    return resample_poly(x, up, down), sr_hz * up / down


def _praat(y, sr_hz, frame_rate_hz, floor_hz, ceiling_hz, settings):
    import parselmouth

    sound = parselmouth.Sound(y, sampling_frequency=sr_hz)
    pitch = sound.to_pitch_ac(time_step=1.0 / frame_rate_hz, pitch_floor=floor_hz,
                              pitch_ceiling=ceiling_hz, **settings)
    values = pitch.selected_array["frequency"].astype(float)
    values[values <= 0] = np.nan  # Praat writes 0 for unvoiced
    # Praat puts the first sample at xmin + dx / 2 (sample centres); ours is at 0.
    return np.asarray(pitch.xs(), dtype=float) - 0.5 / sr_hz, values


def _pyin(y, sr_hz, frame_rate_hz, floor_hz, ceiling_hz):
    import librosa

    hop = max(1, int(round(sr_hz / frame_rate_hz)))
    # Four periods of the floor per frame: YIN's window (half a frame) then spans two.
    frame_length = 2 ** math.ceil(math.log2(4 * sr_hz / floor_hz))
    f0, voiced, _ = librosa.pyin(y, fmin=floor_hz, fmax=ceiling_hz, sr=sr_hz,
                                 frame_length=frame_length, hop_length=hop, center=True)
    f0 = np.where(voiced, f0, np.nan)
    times = np.arange(f0.size) * hop / sr_hz
    # centre=True pads by half a frame, so tracker frames near the ends see padding;
    # keep only frames whose YIN window lies inside the audio.
    inside = (times >= WINDOW_S / 2) & (times <= y.size / sr_hz - WINDOW_S / 2)
    return times[inside], f0[inside]


def _nearest(src_t: np.ndarray, src_v: np.ndarray, grid: np.ndarray, tol_s: float):
    """Value of the source frame nearest each grid time, NaN when none is within tol."""
    out = np.full(grid.size, np.nan)
    if src_t.size == 0:
        return out
    j = np.clip(np.searchsorted(src_t, grid), 1, src_t.size - 1) if src_t.size > 1 \
        else np.zeros(grid.size, dtype=np.int64)
    if src_t.size > 1:
        j = np.where(np.abs(src_t[j - 1] - grid) <= np.abs(src_t[j] - grid), j - 1, j)
    close = np.abs(src_t[j] - grid) <= tol_s + 1e-9
    out[close] = src_v[j[close]]
    return out
