"""Voice activity: which voice frames hold speech (or other vocalisation), per channel.

The rule, frame by frame on the grid of :func:`synchrony.extract.voice.frame_times_s`:

1. **Noise floor.** The channel's background level is tracked as a low percentile (10th)
   of its frame intensity over a sliding 10 s window (recomputed every second, linearly
   interpolated between). It ignores the speech on top of the background as long as at
   least 10% of every 10 s is free of voice (a pause between phrases or turns; a single
   vocalisation may last up to about 9 s), and follows a background that changes (a fan
   switched on, the infant moved closer to the microphone) within about 4 s: the window
   must be 90% past a step before its 10th percentile moves, and until then a background
   that rose by more than the margins below reads as activity. Longer windows tolerate
   longer uninterrupted speech but lag more after such a step.
2. **Evidence.** A frame is a *core* frame when it is voiced (the pitch tracker found a
   periodic sound) and at least ``voiced_margin_db`` (6 dB) above the floor, or when it
   is ``loud_margin_db`` (15 dB) above the floor whether voiced or not (laughs, unvoiced
   consonants, cries the tracker cannot follow). Stationary noise is seldom
   periodic and never 15 dB above its own floor, so noise alone does not make speech;
   periodic noise (mains hum) is not 6 dB above itself either.
3. **Hangover.** Each run of core frames grows, forward and backward, by up to
   ``hangover_s`` (0.2 s) over frames still ``weak_margin_db`` (3 dB) above the floor:
   soft onsets and trailing consonants around the voiced core belong to the utterance,
   but a run cannot spread into the flat background.
4. **Gaps and minimum length.** Gaps up to ``max_gap_s`` (0.2 s: stop closures and
   breaths inside an utterance) are bridged, then runs shorter than ``min_active_s``
   (0.1 s: clicks, knocks) are dropped.

Timing. Frames are 40 ms windows reported at their centres, so a sharp onset makes a
frame active up to about 20 ms before it, and an offset keeps one active about 20 ms
after it: runs are about half a window too long at each end, and gaps between them
(response latencies) about 40 ms too short. On espeak-ng dialogue the boundaries are 15-25
ms outside the truth, and latencies 40 ms short (tests/test_turns.py).

Cross-talk from a partner's microphone is not removed here (it is speech); see
``crosstalk_db`` in :func:`synchrony.extract.voice.voice_tracks`.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from synchrony._validate import check_finite, check_positive
from synchrony.errors import ParameterError
from synchrony.extract.voice import _channel, intensity_db

__all__ = ["voice_activity", "noise_floor_db", "drop_short_runs"]

# Floor percentiles are recomputed every this many seconds: the background changes
# slowly, and a 1 s step keeps the cost at a few ms for an hour of audio.
_FLOOR_STEP_S = 1.0


def voice_activity(samples, sr_hz, *, frame_rate_hz=100.0, start_s=0.0, intensity=None,
                   voiced=None, noise_percentile=10.0, noise_window_s=10.0,
                   voiced_margin_db=6.0, loud_margin_db=15.0, weak_margin_db=3.0,
                   hangover_s=0.2, max_gap_s=0.2, min_active_s=0.1) -> pd.Series:
    """Voice activity of one audio channel, robust to steady background noise.

    The rule is in this module's docstring. ``intensity`` and ``voiced`` may be passed
    when already computed (as :func:`~synchrony.extract.voice.voice_tracks` does);
    otherwise they are computed here with the defaults of
    :func:`~synchrony.extract.voice.intensity_db` and
    :func:`~synchrony.extract.pitch.pitch_track`.

    Parameters
    ----------
    samples : array_like of float, shape (n_samples,)
        One audio channel in full-scale units (-1..1).
    sr_hz : float
        Sample rate in Hz.
    frame_rate_hz : float, default 100.0
        Frames per second.
    start_s : float, default 0.0
        Session-clock time of ``samples[0]`` in seconds.
    intensity : pandas.Series, optional
        The channel's ``intensity_db`` at this frame rate (dBFS).
    voiced : array_like of bool, optional
        Per frame, whether the pitch tracker found a pitch; same length as the frames.
    noise_percentile : float, default 10.0
        Percentile (0-100) of frame intensity taken as the noise floor.
    noise_window_s : float, default 10.0
        Length of the sliding window of the noise floor, in seconds.
    voiced_margin_db, loud_margin_db, weak_margin_db : float, default 6, 15 and 3
        Margins above the noise floor, in dB, for voiced core frames, any core frame, and
        the frames a run may grow into.
    hangover_s : float, default 0.2
        Largest growth of a run at each end, in seconds.
    max_gap_s : float, default 0.2
        Longest gap bridged inside an utterance, in seconds.
    min_active_s : float, default 0.1
        Shortest run kept, in seconds.

    Returns
    -------
    pandas.Series of bool
        Named ``voice_active``, indexed by ``time_s`` (the frame times of
        :func:`~synchrony.extract.voice.intensity_db`).

    Raises
    ------
    ParameterError
        If a setting is out of range or ``intensity``/``voiced`` do not match the frames.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> t = np.arange(3 * 16000) / 16000
    >>> x = 0.01 * rng.standard_normal(t.size)            # background noise
    >>> x += np.where((t >= 1) & (t < 2), 0.3 * np.sin(2 * np.pi * 150 * t), 0.0)
    >>> active = voice_activity(x, 16000)
    >>> speech = active.index[active.to_numpy()]             # frame centres, s
    >>> round(float(speech[0]), 2), round(float(speech[-1]), 2)
    (0.99, 2.01)
    """
    func = "voice_activity"
    x = _channel(samples, func)
    frame_rate_hz = check_positive(frame_rate_hz, "frame_rate_hz", func)
    options = {"noise_window_s": noise_window_s, "voiced_margin_db": voiced_margin_db,
               "loud_margin_db": loud_margin_db, "weak_margin_db": weak_margin_db,
               "hangover_s": hangover_s, "max_gap_s": max_gap_s,
               "min_active_s": min_active_s}
    for name, value in options.items():
        options[name] = check_finite(value, name, func)
        if options[name] < 0:
            raise ParameterError.expected(name, func, "a finite number >= 0", value)
    noise_percentile = check_finite(noise_percentile, "noise_percentile", func)
    if not 0 <= noise_percentile <= 100:
        raise ParameterError.expected("noise_percentile", func, "between 0 and 100",
                                      noise_percentile)
    if intensity is None:
        intensity = intensity_db(x, sr_hz, frame_rate_hz=frame_rate_hz, start_s=start_s)
    elif not isinstance(intensity, pd.Series):
        raise ParameterError.expected("intensity", func, "a pandas Series from intensity_db "
                                      "or None", type(intensity).__name__)
    level = intensity.to_numpy(dtype=float)
    if voiced is None:
        from synchrony.extract.pitch import pitch_track

        voiced = pitch_track(x, sr_hz, start_s=start_s, frame_rate_hz=frame_rate_hz)["voiced"]
    voiced = np.asarray(voiced, dtype=bool)
    if voiced.shape != level.shape:
        raise ParameterError.expected("voiced", func, f"one flag per frame ({level.size})",
                                      f"shape {voiced.shape}")

    floor = noise_floor_db(intensity, percentile=noise_percentile,
                           window_s=options["noise_window_s"]).to_numpy()
    above = level - floor
    core = (voiced & (above > options["voiced_margin_db"])) | (above > options["loud_margin_db"])
    active = _grow(core, above > options["weak_margin_db"],
                   int(round(options["hangover_s"] * frame_rate_hz)))
    active = _bridge(active, int(math.floor(options["max_gap_s"] * frame_rate_hz + 1e-9)))
    active = drop_short_runs(active, frame_rate_hz=frame_rate_hz,
                             min_active_s=options["min_active_s"])
    return pd.Series(active, index=intensity.index, name="voice_active")


def noise_floor_db(intensity, *, percentile=10.0, window_s=10.0) -> pd.Series:
    """Background level of a channel: a running low percentile of its intensity.

    Parameters
    ----------
    intensity : pandas.Series of float
        Frame intensity in dB, indexed by ``time_s`` on a uniform clock.
    percentile : float, default 10.0
        Percentile (0-100) taken over each window.
    window_s : float, default 10.0
        Window length in seconds; the percentile is taken every second over the window
        centred there (shifted inside the recording at its ends) and interpolated
        linearly between. A recording shorter than the window gets one value.

    Returns
    -------
    pandas.Series of float
        Named ``noise_floor_db``, indexed like ``intensity``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> level = pd.Series(np.r_[np.full(50, -60.0), np.full(50, -20.0)],
    ...                   index=pd.Index(np.arange(100) / 100, name="time_s"))
    >>> float(noise_floor_db(level).iloc[0])
    -60.0
    """
    level = intensity.to_numpy(dtype=float)
    t = np.asarray(intensity.index, dtype=float)
    rate_hz = 1.0 / float(np.median(np.diff(t))) if t.size > 1 else 1.0
    n_win = max(1, int(round(window_s * rate_hz)))
    if level.size <= n_win:
        value = np.percentile(level, percentile) if level.size else np.nan
        return pd.Series(np.full(level.size, value), index=intensity.index,
                         name="noise_floor_db")
    step = max(1, int(round(_FLOOR_STEP_S * rate_hz)))
    centres = np.arange(0, level.size, step)
    if centres[-1] != level.size - 1:
        centres = np.append(centres, level.size - 1)
    lo = np.clip(centres - n_win // 2, 0, level.size - n_win)
    windows = np.lib.stride_tricks.sliding_window_view(level, n_win)[lo]
    floors = np.percentile(windows, percentile, axis=1)
    return pd.Series(np.interp(np.arange(level.size), centres, floors),
                     index=intensity.index, name="noise_floor_db")


def drop_short_runs(active, *, frame_rate_hz=100.0, min_active_s=0.1) -> np.ndarray:
    """Clear the runs of True shorter than ``min_active_s`` seconds.

    A run of ``n`` frames lasts ``n / frame_rate_hz`` seconds.

    Parameters
    ----------
    active : array_like of bool
    frame_rate_hz : float, default 100.0
    min_active_s : float, default 0.1

    Returns
    -------
    numpy.ndarray of bool

    Examples
    --------
    >>> drop_short_runs([True] * 5 + [False] + [True] * 20).astype(int).tolist()[:8]
    [0, 0, 0, 0, 0, 0, 1, 1]
    """
    active = np.array(active, dtype=bool)
    if active.size == 0:
        return active
    starts, ends = _runs(active)
    min_frames = math.ceil(min_active_s * frame_rate_hz - 1e-9)
    for s, e in zip(starts, ends):
        if e - s < min_frames:
            active[s:e] = False
    return active


def _runs(mask: np.ndarray):
    """Start and end (exclusive) indices of the runs of True."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], mask.astype(np.int8), [0]))))
    return edges[0::2], edges[1::2]


def _grow(core: np.ndarray, weak: np.ndarray, max_frames: int) -> np.ndarray:
    """Core frames plus weak frames reachable from one within max_frames through weak."""
    n = core.size
    if n == 0 or max_frames <= 0:
        return core.copy()
    weak = weak | core
    idx = np.arange(n)
    # Frames of one weak run share an id; growth never crosses a frame below the margin.
    run_id = np.cumsum(np.concatenate(([True], weak[1:] & ~weak[:-1])) | ~weak)
    last = np.maximum.accumulate(np.where(core, idx, -1))
    nxt = np.minimum.accumulate(np.where(core, idx, n)[::-1])[::-1]
    from_last = (last >= 0) & (idx - last <= max_frames)
    from_last &= run_id[np.clip(last, 0, n - 1)] == run_id
    from_next = (nxt < n) & (nxt - idx <= max_frames)
    from_next &= run_id[np.clip(nxt, 0, n - 1)] == run_id
    return core | (weak & (from_last | from_next))


def _bridge(active: np.ndarray, max_frames: int) -> np.ndarray:
    """Fill interior gaps of at most max_frames frames."""
    active = active.copy()
    if max_frames <= 0 or not active.any():
        return active
    starts, ends = _runs(~active)
    for s, e in zip(starts, ends):
        if s > 0 and e < active.size and e - s <= max_frames:
            active[s:e] = True
    return active
