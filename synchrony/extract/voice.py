"""Voice tracks per person: intensity, pitch, voice activity; speaker attribution.

:func:`voice_tracks` is what the pipeline calls: it runs :func:`intensity_db` (here),
:func:`synchrony.extract.pitch.pitch_track` and :func:`synchrony.extract.vad.voice_activity`
on every channel, all on one frame grid (:func:`frame_times_s`). For a single mixed
channel, :func:`attribute_speaker` gives each voiced stretch to the person whose mouth
moves during it.

parselmouth and librosa are imported inside the pitch functions, so ``import synchrony``
stays fast.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from synchrony._validate import check_finite, check_positive
from synchrony.errors import ParameterError

__all__ = ["intensity_db", "voice_tracks", "frame_times_s", "attribute_speaker",
           "speaker_activity"]

log = logging.getLogger(__name__)

# Frames per chunk: bounds the (frames, window) float64 copy, so memory stays flat on long
# recordings (1024 x 1920 samples at 48 kHz = 16 MB).
_CHUNK_FRAMES = 1024
#: Analysis window of every voice frame, in seconds (intensity, and the frame grid that
#: pitch and voice activity are reported on).
WINDOW_S = 0.04


def _channel(samples, func: str) -> np.ndarray:
    """One audio channel as a 1-D finite real array, or a ParameterError."""
    x = np.asarray(samples)
    if x.ndim != 1 or x.dtype.kind not in "iuf" or not np.isfinite(x).all():
        raise ParameterError.expected(
            "samples", func, "a 1-D array of finite real numbers",
            f"array of shape {x.shape} and dtype {x.dtype}")
    return x


def _frame_starts(n_samples: int, sr_hz: float, frame_rate_hz: float, n_win: int) -> np.ndarray:
    hop = sr_hz / frame_rate_hz
    k = np.arange(max(int((n_samples - n_win) / hop) + 2, 0))
    starts = np.floor(k * hop + 0.5).astype(np.int64)
    return starts[starts + n_win <= n_samples]


def frame_times_s(n_samples, sr_hz, *, frame_rate_hz=100.0, window_s=WINDOW_S,
                  start_s=0.0) -> np.ndarray:
    """Session-clock centres, in seconds, of the voice frames of ``n_samples`` of audio.

    Frame ``k`` covers samples ``[s_k, s_k + n_win)`` with
    ``s_k = floor(k * sr_hz / frame_rate_hz + 0.5)`` and ``n_win = round(window_s * sr_hz)``;
    only whole windows count. Its time is the window centre,
    ``start_s + (s_k + (n_win - 1) / 2) / sr_hz``. Intensity, pitch and voice activity
    are all reported at these times, so their frames line up exactly.

    Parameters
    ----------
    n_samples : int
        Length of the audio in samples.
    sr_hz, frame_rate_hz, window_s, start_s : float
        As in :func:`intensity_db`.

    Returns
    -------
    numpy.ndarray of float, shape (n_frames,)

    Examples
    --------
    >>> frame_times_s(1000, 16000)
    array([0.01996875, 0.02996875, 0.03996875])
    """
    func = "frame_times_s"
    sr_hz = check_positive(sr_hz, "sr_hz", func)
    frame_rate_hz = check_positive(frame_rate_hz, "frame_rate_hz", func)
    n_win = int(round(check_positive(window_s, "window_s", func) * sr_hz))
    start_s = check_finite(start_s, "start_s", func)
    starts = _frame_starts(int(n_samples), sr_hz, frame_rate_hz, max(n_win, 1))
    return start_s + (starts + (n_win - 1) / 2) / sr_hz


def intensity_db(samples, sr_hz, *, frame_rate_hz=100.0, window_s=WINDOW_S, start_s=0.0,
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
    sr_hz = check_positive(sr_hz, "sr_hz", func)
    frame_rate_hz = check_positive(frame_rate_hz, "frame_rate_hz", func)
    if frame_rate_hz > sr_hz:
        raise ParameterError.expected("frame_rate_hz", func, f"<= sr_hz={sr_hz:g}", frame_rate_hz)
    window_s = check_positive(window_s, "window_s", func)
    n_win = int(round(window_s * sr_hz))
    if n_win < 2:
        raise ParameterError.expected(
            "window_s", func, f"at least two samples long ({2 / sr_hz:g} s at {sr_hz:g} Hz)",
            window_s)
    start_s = check_finite(start_s, "start_s", func)
    floor_db = check_finite(floor_db, "floor_db", func)
    x = _channel(samples, func)

    starts = _frame_starts(x.size, sr_hz, frame_rate_hz, n_win)

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


def voice_tracks(track, *, persons=("A", "B"), frame_rate_hz=100.0, floor_hz=None,
                 ceiling_hz=None, pitch_method="praat", crosstalk_db=None
                 ) -> dict[str, pd.DataFrame]:
    """Intensity, pitch and voice activity per person from one audio track.

    With two or more channels, channel ``i`` belongs to ``persons[i]`` (one microphone per
    person). With one channel (a mixed track) the result has the single key ``"mixed"``;
    :func:`attribute_speaker` then splits its voiced stretches between the persons by
    mouth movement.

    Every column is on the frame grid of :func:`frame_times_s` (40 ms windows):
    intensity from :func:`intensity_db`, pitch from
    :func:`synchrony.extract.pitch.pitch_track`, activity from
    :func:`synchrony.extract.vad.voice_activity` (which uses both). Pitch is kept only
    inside voice activity: a voiced frame outside it is background (hum, a partner's voice
    leaking into this microphone) rather than this person speaking. A channel of digital
    silence (every sample 0: a dead microphone) is logged as a warning naming the file.

    Parameters
    ----------
    track : AudioTrack-like
        Has ``samples`` (float, shape (n_channels, n_samples) or (n_samples,), -1..1),
        ``sr_hz``, ``start_s`` (session-clock time of the first sample, s) and ``path``.
    persons : sequence of str, default ("A", "B")
        One unique label per channel, used only when there are two or more channels.
    frame_rate_hz : float, default 100.0
        Frames per second.
    floor_hz, ceiling_hz : float, optional
        Pitch search range in Hz; default that of
        :func:`~synchrony.extract.pitch.pitch_track` (75-1000 Hz: adults and infants).
    pitch_method : {"praat", "pyin"}, default "praat"
        Pitch tracker (see :func:`~synchrony.extract.pitch.pitch_track`).
    crosstalk_db : float, optional
        With per-person microphones, the partner's voice leaks into each one, quieter.
        If given, a frame stays active for a channel only if its intensity is within
        ``crosstalk_db`` dB of the loudest channel's in that frame (e.g. 10 dB for
        lapel microphones). Off by default: it assumes the channels have similar gain,
        which two separately recorded files may not.

    Returns
    -------
    dict of str to pandas.DataFrame
        Keyed by person (or ``"mixed"``); each frame is indexed by ``time_s`` (window
        centres, s) with columns ``intensity_db`` (float, dBFS, never NaN),
        ``voice_active`` (bool), ``f0_hz`` (float, NaN where not voiced), ``f0_st``
        (semitones re the median ``f0_hz`` of that channel, NaN where not voiced) and
        ``voiced`` (bool: the tracker found a pitch and the frame is voice-active).

    Raises
    ------
    ParameterError
        If ``persons`` does not give one unique label per channel, or the samples,
        rates or pitch settings are invalid.

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
    >>> round(float(voices["parent"]["f0_hz"].median()), 1)
    200.0
    """
    # Imported here, not at the top: pitch and vad build on this module's frame grid.
    from synchrony.extract.pitch import semitones_re_median
    from synchrony.extract.vad import drop_short_runs

    func = "voice_tracks"
    samples = np.asarray(track.samples)
    if samples.ndim == 1:
        samples = samples[np.newaxis, :]
    if samples.ndim != 2:
        raise ParameterError.expected("track", func,
                                      "audio with samples of shape (n_channels, n_samples)",
                                      f"shape {samples.shape} from {track.path}")
    if samples.shape[0] == 1:
        log.info("%s: one mixed audio channel; voice is reported for the dyad as 'mixed' "
                 "(attribute_speaker splits it by mouth movement, without per-person "
                 "channels).", track.path)
        labels = ["mixed"]
    else:
        labels = list(persons) if not isinstance(persons, str) else [persons]
        if (len(labels) != samples.shape[0] or len(set(labels)) != len(labels)
                or not all(isinstance(p, str) and p for p in labels)):
            raise ParameterError.expected(
                "persons", func,
                f"one unique label per audio channel ({samples.shape[0]} in {track.path})",
                persons)
    if crosstalk_db is not None:
        crosstalk_db = check_positive(crosstalk_db, "crosstalk_db", func)
    pitch_options = {"method": pitch_method}
    if floor_hz is not None:
        pitch_options["floor_hz"] = floor_hz
    if ceiling_hz is not None:
        pitch_options["ceiling_hz"] = ceiling_hz
    # Channels one after the other: Praat already spreads one pitch analysis over all
    # cores with its own threads, so channels in parallel would only compete for them.
    results = [_analyse_channel(channel, track.sr_hz, track.start_s, frame_rate_hz,
                                pitch_options) for channel in samples]
    levels, pitches, actives = (list(r) for r in zip(*results))
    if crosstalk_db is not None and len(labels) > 1 and len(levels[0]):
        stacked = np.stack([lv.to_numpy() for lv in levels])
        loud_enough = stacked >= stacked.max(axis=0) - crosstalk_db
        actives = [drop_short_runs(a & ok, frame_rate_hz=float(frame_rate_hz))
                   for a, ok in zip(actives, loud_enough)]

    for i, (label, channel) in enumerate(zip(labels, samples)):
        # A dead microphone or a camera with its audio off records digital silence: the
        # voice columns are then flat, and the user must know why their pairs are missing.
        if not np.any(channel):
            log.warning("%s: audio channel %d of %d (%s) is silent throughout (every sample is 0): "
                        "no voice for %s", track.path, i + 1, len(labels), label,
                        "the dyad" if label == "mixed" else label)
    out = {}
    for label, level, pitch, active in zip(labels, levels, pitches, actives):
        voiced = pitch["voiced"].to_numpy() & active
        f0 = pd.Series(np.where(voiced, pitch["f0_hz"].to_numpy(), np.nan), index=level.index)
        out[label] = pd.DataFrame(
            {"intensity_db": level.to_numpy(), "voice_active": active,
             "f0_hz": f0.to_numpy(), "f0_st": semitones_re_median(f0).to_numpy(),
             "voiced": voiced},
            index=level.index)
    return out


def _analyse_channel(channel, sr_hz, start_s, frame_rate_hz, pitch_options):
    """Intensity, pitch and activity of one channel."""
    from synchrony.extract.pitch import pitch_track
    from synchrony.extract.vad import voice_activity

    level = intensity_db(channel, sr_hz, frame_rate_hz=frame_rate_hz, start_s=start_s)
    pitch = pitch_track(channel, sr_hz, start_s=start_s, frame_rate_hz=frame_rate_hz,
                        **pitch_options)
    active = voice_activity(channel, sr_hz, frame_rate_hz=frame_rate_hz, start_s=start_s,
                            intensity=level, voiced=pitch["voiced"])
    return level, pitch, active.to_numpy()


def attribute_speaker(voice_active, mouth_open, *, max_segment_s=1.0, pad_s=0.1,
                      min_confidence=0.0) -> pd.DataFrame:
    """Who is speaking in a mixed track: the person whose mouth moves during the voice.

    The rule, for one audio channel shared by everyone:

    1. Voiced stretches are the runs of ``voice_active``; runs longer than
       ``max_segment_s`` are cut into equal segments no longer than that, so that a
       stretch where the speakers take over from each other without a pause is split.
    2. Each person's mouth motion is the absolute rate of change of their mouth opening,
       ``|Δ mouth_open| / Δt`` between consecutive video frames (NaN when either frame
       has no face), divided by that person's median motion over the whole session. The
       division puts people on one scale: a small or distant face, or noisier landmarks,
       would otherwise look like more or less movement.
    3. A segment's score per person is the mean normalised motion over the frames inside
       the segment widened by ``pad_s`` on each side (lips move just before sound starts).
       The speaker is the person with the highest score, and the confidence is the
       contrast between the best two, ``(top - second) / (top + second)``: 0 when both
       mouths move alike, 1 when only one moves.

    A segment is left unattributed (``speaker`` None) when fewer than two persons have a
    visible face in it (nothing to compare), when no mouth moves at all, or when the
    confidence is below ``min_confidence``. Overlapping speech goes to one person (the
    one who moves more); mouth movement without voice (chewing, mouthing, smiling) is
    harmless only while it is weaker than the speaker's.

    Parameters
    ----------
    voice_active : pandas.Series of bool
        Voice activity of the mixed track, indexed by ``time_s`` (s) on a uniform clock,
        e.g. ``voice_tracks(track)["mixed"]["voice_active"]``.
    mouth_open : mapping of str to pandas.Series
        Person -> mouth opening (any unit, e.g. the face extractor's ``mouth_open`` in
        face sizes) indexed by ``time_s`` on the same session clock, at its own rate
        (video frames). NaN where no face was found. At least two persons.
    max_segment_s : float, default 1.0
        Longest segment attributed as one, in seconds.
    pad_s : float, default 0.1
        Widening of each segment when averaging mouth motion, in seconds (>= 0).
    min_confidence : float, default 0.0
        Segments with a lower confidence (0-1) get no speaker.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``voice_active``; columns ``speaker`` (object: a person label, or
        None where inactive or unattributed), ``confidence`` (float 0-1, NaN where
        inactive or not comparable) and ``segment`` (int: segment number, -1 where
        inactive).

    Raises
    ------
    ParameterError
        If the inputs are not as described or an option is out of range.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> t = pd.Index(np.arange(300) / 100, name="time_s")
    >>> active = pd.Series((t >= 1.0) & (t < 2.0), index=t)
    >>> tv = pd.Index(np.arange(90) / 30, name="time_s")      # video frames, 30/s
    >>> jitter = 0.001 * np.cos(7 * np.arange(90))             # landmark noise
    >>> talking = 0.05 * np.sin(2 * np.pi * 4 * tv) * ((tv >= 1) & (tv < 2))
    >>> mouths = {"parent": pd.Series(0.1 + jitter + talking, index=tv),
    ...           "infant": pd.Series(0.1 + jitter, index=tv)}
    >>> who = attribute_speaker(active, mouths)
    >>> who.loc[1.5, "speaker"], round(float(who.loc[1.5, "confidence"]), 2)
    ('parent', 0.95)
    """
    func = "attribute_speaker"
    if not isinstance(voice_active, pd.Series) or voice_active.dtype != bool:
        raise ParameterError.expected("voice_active", func, "a bool pandas Series indexed by "
                                      "time_s", type(voice_active).__name__)
    if (not isinstance(mouth_open, Mapping) or len(mouth_open) < 2
            or not all(isinstance(m, pd.Series) for m in mouth_open.values())):
        raise ParameterError.expected("mouth_open", func, "a mapping of two or more persons "
                                      "to pandas Series indexed by time_s", mouth_open)
    max_segment_s = check_positive(max_segment_s, "max_segment_s", func)
    pad_s = check_finite(pad_s, "pad_s", func)
    if pad_s < 0:
        raise ParameterError.expected("pad_s", func, "a time >= 0 in seconds", pad_s)
    min_confidence = check_finite(min_confidence, "min_confidence", func)

    t = np.asarray(voice_active.index, dtype=float)
    active = voice_active.to_numpy()
    step_s = float(np.median(np.diff(t))) if t.size > 1 else 1.0
    seg_starts, seg_ends = _segments(active, max(1, int(math.floor(max_segment_s / step_s
                                                                    + 1e-9))))
    lo = t[seg_starts] - step_s / 2 - pad_s if seg_starts.size else np.zeros(0)
    hi = t[seg_ends - 1] + step_s / 2 + pad_s if seg_starts.size else np.zeros(0)

    persons = list(mouth_open)
    scores = np.stack([_mean_motion(mouth_open[p], lo, hi) for p in persons])  # (P, S)
    order = np.argsort(np.where(np.isnan(scores), -np.inf, scores), axis=0)[::-1]
    top = np.take_along_axis(scores, order[:1], axis=0)[0]
    second = np.take_along_axis(scores, order[1:2], axis=0)[0]
    with np.errstate(invalid="ignore", divide="ignore"):
        confidence = np.where(top + second > 0, (top - second) / (top + second), np.nan)
    confidence[np.isnan(top) | np.isnan(second)] = np.nan
    named = ~np.isnan(confidence) & (confidence >= min_confidence)

    speaker = np.full(t.size, None, dtype=object)
    conf = np.full(t.size, np.nan)
    segment = np.full(t.size, -1, dtype=np.int64)
    for k, (s, e) in enumerate(zip(seg_starts, seg_ends)):
        segment[s:e] = k
        conf[s:e] = confidence[k]
        if named[k]:
            speaker[s:e] = persons[order[0, k]]
    # object dtype keeps None (pandas 3 would infer its string dtype and turn it to NaN).
    return pd.DataFrame({"speaker": pd.Series(speaker, index=voice_active.index, dtype=object),
                         "confidence": conf, "segment": segment}, index=voice_active.index)


def speaker_activity(attribution, persons) -> dict[str, pd.Series]:
    """Per-person voice activity from :func:`attribute_speaker`'s table.

    Parameters
    ----------
    attribution : pandas.DataFrame
        The result of :func:`attribute_speaker`.
    persons : sequence of str
        Labels to return, in order.

    Returns
    -------
    dict of str to pandas.Series of bool
        Person -> frames attributed to them (named ``voice_active``), ready for
        :func:`synchrony.analysis.turns.find_turns`.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"speaker": ["A", None, "B"]}, index=[0.0, 0.01, 0.02])
    >>> {p: a.tolist() for p, a in speaker_activity(table, ["A", "B"]).items()}
    {'A': [True, False, False], 'B': [False, False, True]}
    """
    speaker = attribution["speaker"]
    return {p: (speaker == p).fillna(False).astype(bool).rename("voice_active")
            for p in persons}


def _segments(active: np.ndarray, max_frames: int):
    """Start and end (exclusive) frame of each segment: runs cut into equal pieces."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], active.astype(np.int8), [0]))))
    starts, ends = [], []
    for s, e in zip(edges[0::2], edges[1::2]):
        n = -(-(e - s) // max_frames)
        cuts = np.round(np.linspace(s, e, n + 1)).astype(np.int64)
        starts.extend(cuts[:-1])
        ends.extend(cuts[1:])
    return np.asarray(starts, dtype=np.int64), np.asarray(ends, dtype=np.int64)


def _mean_motion(mouth: pd.Series, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Mean normalised mouth motion inside each ``[lo, hi]`` (NaN where none is known)."""
    tm = np.asarray(mouth.index, dtype=float)
    m = mouth.to_numpy(dtype=float)
    if tm.size < 2:
        return np.full(lo.size, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        motion = np.abs(np.diff(m)) / np.diff(tm)
    mid = (tm[1:] + tm[:-1]) / 2
    ok = np.isfinite(motion)
    mid, motion = mid[ok], motion[ok]
    if motion.size == 0:
        return np.full(lo.size, np.nan)
    scale = np.median(motion)
    if scale <= 0:  # a mouth still most of the time: fall back on its mean
        scale = motion.mean()
    motion = motion / scale if scale > 0 else motion
    total = np.concatenate(([0.0], np.cumsum(motion)))
    i0 = np.searchsorted(mid, lo, side="left")
    i1 = np.searchsorted(mid, hi, side="right")
    count = i1 - i0
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, (total[i1] - total[i0]) / count, np.nan)
