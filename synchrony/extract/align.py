"""Offset between two recordings of one session, from their audio.

When each person has a camera, the files start at different moments. Both microphones
hear the same room, so the loudness contours of their tracks are one curve shifted by
the difference in start times (plus each microphone's own noise and colouring). The
shift is found by cross-correlating the two contours.

Sign. ``estimate_offset_s(a, b).offset_s`` is the time on ``a``'s clock of ``b``'s time
0: positive when ``b`` started recording after ``a``. Example: camera B switched on 2 s
after camera A gives +2.0; a clap at 5.0 s into A is at 3.0 s into B. With ``a`` at
session offset 0 it is ``b``'s entry of :attr:`synchrony.session.Session.offsets_s`.

Method (:func:`estimate_offset_s`)
    1. Each track is mixed to mono and band-passed to 100-4000 Hz (zero phase, so no
       delay; it drops rumble and hum that one microphone hears and the other does not).
    2. Its energy (squared samples) is resampled to the envelope rate ``rate_hz`` with
       :func:`scipy.signal.resample_poly` (anti-aliased, zero phase), which also puts
       tracks of different sample rates on one grid; smoothed over 15 ms; taken in dB
       with a floor 40 dB below the loud parts; and differentiated. The envelope is thus
       the rate of change of loudness: onsets and offsets, which match by chance far
       less often than on/off patterns of sound and silence, and which ignore a
       microphone's gain and slow level drifts.
    3. The Pearson correlation ``r`` of the two envelopes over their overlap is computed
       at every lag at once (FFT for the products, cumulative sums for each lag's
       overlap means and variances), for lags with ``|offset_s| <= max_offset_s`` and at
       least ``min_overlap_s`` of overlap.
    4. The best lag is refined by a parabola through ``r`` there and at its two
       neighbours: resolution well below one envelope sample (1 ms at 1 kHz), far below
       a video frame (33-42 ms). Identical sound gives the offset to a fraction of a ms;
       different reverberation at the two microphones delays one contour more than the
       other and biases it (by 0-30 ms in the simulated rooms below).

Confidence
    ``confidence = (peak_r - second_r) / chance_sd_r``: ``peak_r`` is ``r`` at the best
    lag, ``second_r`` the highest local maximum of ``r`` more than ``guard_s`` from it
    (the best rival alignment), ``chance_sd_r`` the robust standard deviation of ``r``
    over all lags searched (1.4826 x median absolute deviation), i.e. the spread of
    chance alignments. So it counts by how many chance standard deviations the best
    alignment beats every other one. It grows with the square root of the overlap for a
    true match and stays low for unrelated tracks (whose best two alignments are both
    chance maxima); it is low too for repetitive sounds, where several lags fit.
    Calibration (seeded voice-like test sounds, 1 kHz envelopes): 440 unrelated pairs of
    10-90 s never reached 2.8 (95th percentile 1.6). Matching pairs of 10-30 s recorded
    through different simulated rooms (0.3 s and 0.5 s reverberation) and microphone
    colouring gave 3.5-10 with light noise; with noise 5x stronger, 9 of 30 fell below
    3, among them the only estimate off by more than a video frame (46 ms, confidence
    1.4), while all those at 3 or more were within 32 ms. Below :data:`MIN_CONFIDENCE` = 3.0
    the pipeline should warn and ask for ``offsets_s``.

Clock drift between two cameras (tens of ppm) is not modelled: one offset is estimated
for the whole overlap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from synchrony._validate import check_positive
from synchrony.errors import MediaError, ParameterError

__all__ = ["MIN_CONFIDENCE", "OffsetEstimate", "estimate_offset_s"]

#: Confidence (in chance standard deviations, see the module docstring) below which an
#: estimated offset should not be trusted: warn and ask for the offsets.
MIN_CONFIDENCE = 3.0

_BAND_HZ = (100.0, 4000.0)
_SMOOTH_S = 0.015
_RANGE_DB = 40.0


@dataclass(frozen=True)
class OffsetEstimate:
    """Result of :func:`estimate_offset_s`.

    Attributes
    ----------
    offset_s : float
        Session-clock shift of ``b`` relative to ``a`` in seconds: ``b``'s time 0 is at
        ``a``'s time ``offset_s`` (positive: ``b`` started recording later).
    confidence : float
        ``(peak_r - second_r) / chance_sd_r`` (>= 0): how many standard deviations of a
        chance alignment the best alignment stands above its best rival; see the module
        docstring. Below :data:`MIN_CONFIDENCE` (3.0), do not trust ``offset_s``.
    peak_r : float
        Pearson correlation of the two envelopes at the best lag.
    second_r : float
        The highest local maximum of the correlation more than ``guard_s`` from the best
        lag (the best rival alignment).
    chance_sd_r : float
        Robust standard deviation of the correlation over all lags searched (1.4826 times
        the median absolute deviation): the spread of chance alignments.
    overlap_s : float
        How long the two tracks overlap at the estimated offset, in seconds.
    rate_hz : float
        Envelope rate used, in Hz.
    """

    offset_s: float
    confidence: float
    peak_r: float
    second_r: float
    chance_sd_r: float
    overlap_s: float
    rate_hz: float

    @property
    def reliable(self) -> bool:
        """True when ``confidence >= MIN_CONFIDENCE``."""
        return self.confidence >= MIN_CONFIDENCE


def estimate_offset_s(a, b, *, max_offset_s=30.0, rate_hz=1000.0, min_overlap_s=5.0,
                      guard_s=0.5) -> OffsetEstimate:
    """Estimate by how much ``b``'s recording started after ``a``'s, from their audio.

    Parameters
    ----------
    a, b : synchrony.media.AudioTrack
        The two tracks (any channels; any sample rates of 1000 Hz and 2 * ``rate_hz``
        or more),
        each with its ``start_s`` on its own file's clock (as
        :func:`synchrony.media.read_audio` gives it).
    max_offset_s : float, default 30.0
        Largest ``|offset_s|`` searched, in seconds.
    rate_hz : float, default 1000.0
        Envelope rate in Hz; the offset resolution is a fraction of ``1 / rate_hz``.
    min_overlap_s : float, default 5.0
        Lags at which the tracks overlap for less than this (seconds) are not searched:
        a few seconds can match by chance.
    guard_s : float, default 0.5
        Half-width in seconds of the zone around the best lag excluded when looking for
        the second-best alignment (the best peak's own shoulders are not rivals).

    Returns
    -------
    OffsetEstimate
        ``offset_s`` is the time on ``a``'s clock of ``b``'s time 0; so a sound heard at
        ``b``-time ``t`` is heard at ``a``-time ``t + offset_s``. With ``a`` at session
        offset 0, ``offset_s`` is ``b``'s entry in ``Session.offsets_s``.

    Raises
    ------
    MediaError
        A track is silent, or the tracks cannot overlap by ``min_overlap_s`` within
        ``max_offset_s``.
    ParameterError
        An option is out of its domain, or a track is not an AudioTrack.

    Examples
    --------
    A camera switched on 2 s after the first one:

    >>> from synchrony.media import read_audio                          # doctest: +SKIP
    >>> est = estimate_offset_s(read_audio("mother.mp4"), read_audio("infant.mp4"))  # doctest: +SKIP
    >>> round(est.offset_s, 3), est.reliable                            # doctest: +SKIP
    (2.0, True)
    >>> Session("two-files", ("mother.mp4", "infant.mp4"),
    ...         offsets_s=(0.0, est.offset_s))                          # doctest: +SKIP
    """
    func = "estimate_offset_s"
    max_offset_s = check_positive(max_offset_s, "max_offset_s", func, allow_zero=True)
    rate_hz = check_positive(rate_hz, "rate_hz", func)
    min_overlap_s = check_positive(min_overlap_s, "min_overlap_s", func)
    guard_s = check_positive(guard_s, "guard_s", func)
    for name, track in (("a", a), ("b", b)):
        samples = getattr(track, "samples", None)
        if not (isinstance(samples, np.ndarray) and samples.ndim == 2
                and hasattr(track, "sr_hz") and hasattr(track, "start_s")):
            raise ParameterError.expected(
                name, func, "an AudioTrack (from synchrony.media.read_audio)",
                type(track).__name__)
        if not track.sr_hz >= 1000:  # room for the 100-4000 Hz band, or part of it
            raise ParameterError.expected(
                name, func, "an AudioTrack sampled at 1000 Hz or more", f"{track.sr_hz} Hz")
        if not track.sr_hz >= 2 * rate_hz:
            raise ParameterError.expected(
                "rate_hz", func, f"at most half of {name}'s sample rate ({track.sr_hz} Hz)",
                rate_hz)
    x, y = _envelope(a, rate_hz), _envelope(b, rate_hz)

    # offset_s = d0_s + k / rate_hz, where x[n + k] and y[n] are simultaneous.
    d0_s = float(a.start_s) - float(b.start_s)
    min_n = int(math.ceil(min_overlap_s * rate_hz))
    k_lo = max(-(y.size - min_n), math.ceil((-max_offset_s - d0_s) * rate_hz))
    k_hi = min(x.size - min_n, math.floor((max_offset_s - d0_s) * rate_hz))
    if k_lo > k_hi or min(x.size, y.size) < min_n:
        raise MediaError(
            getattr(b, "path", "") or "b",
            f"its audio cannot overlap {getattr(a, 'path', '') or 'a'} for "
            f"{min_overlap_s:g} s at any offset within ±{max_offset_s:g} s (tracks of "
            f"{x.size / rate_hz:.1f} s and {y.size / rate_hz:.1f} s)")
    lags = np.arange(k_lo, k_hi + 1)
    r = _lagged_pearson(x, y, lags)
    best = int(np.nanargmax(r))
    peak_r = float(r[best])
    shift = 0.0
    if 0 < best < r.size - 1:  # parabolic refinement between envelope samples
        left, right = r[best - 1], r[best + 1]
        curvature = left - 2 * peak_r + right
        if curvature < 0:
            shift = float(np.clip(0.5 * (left - right) / curvature, -0.5, 0.5))
    median_r = float(np.nanmedian(r))
    # Robust spread of chance alignments: the true peak is a handful of lags among
    # thousands, so it hardly moves the median absolute deviation.
    chance_sd_r = 1.4826 * float(np.nanmedian(np.abs(r - median_r)))
    second_r = _second_peak(r, best, int(round(guard_s * rate_hz)), median_r)
    confidence = (peak_r - second_r) / chance_sd_r if chance_sd_r > 0 else 0.0
    k = lags[best] + shift
    overlap_n = min(x.size, y.size + lags[best]) - max(lags[best], 0)
    return OffsetEstimate(
        offset_s=d0_s + float(k) / rate_hz, confidence=float(confidence), peak_r=peak_r,
        second_r=second_r, chance_sd_r=chance_sd_r, overlap_s=float(overlap_n / rate_hz),
        rate_hz=rate_hz)


def _envelope(track, rate_hz):
    """Rate of change of the band-passed, smoothed log energy, at ``rate_hz`` (float64)."""
    from scipy.ndimage import uniform_filter1d
    from scipy.signal import butter, resample_poly, sosfiltfilt

    path = getattr(track, "path", "") or "audio"
    sr_hz = float(track.sr_hz)
    x = track.samples.astype(np.float64).mean(axis=0)
    if x.size < 2 * sr_hz / rate_hz or not np.all(np.isfinite(x)):
        raise MediaError(path, "audio track is too short or holds non-finite samples to "
                         "estimate an offset from")
    low, high = _BAND_HZ[0], min(_BAND_HZ[1], 0.45 * sr_hz)
    sos = butter(4, (low, high), btype="bandpass", fs=sr_hz, output="sos")
    x = sosfiltfilt(sos, x - x.mean())
    ratio = Fraction(rate_hz).limit_denominator(1000) / Fraction(sr_hz).limit_denominator(1000)
    energy = resample_poly(x * x, ratio.numerator, ratio.denominator)
    smooth_n = max(1, int(round(_SMOOTH_S * rate_hz)))
    energy = uniform_filter1d(np.maximum(energy, 0.0), smooth_n, mode="nearest")
    loud = float(np.percentile(energy, 99))
    if not loud > 0:
        raise MediaError(path, "audio track is silent: no offset can be estimated from it")
    db = 10 * np.log10(energy + loud * 10 ** (-_RANGE_DB / 10))
    # The rate of change of loudness, not loudness itself: on/off patterns of sound and
    # silence match by chance at many lags, their edges much less; and it ignores a
    # microphone's gain and slow level drifts (automatic gain control).
    slope = np.gradient(db)
    if not slope.std() > 0:
        raise MediaError(path, "audio track is silent: no offset can be estimated from it")
    return slope


def _lagged_pearson(x, y, lags):
    """Pearson r of x[n + k] with y[n] over their overlap, for each lag k in ``lags``."""
    from scipy.signal import correlate

    x = (x - x.mean()) / x.std()
    y = (y - y.mean()) / y.std()
    full = correlate(x, y, mode="full", method="fft")  # full[i] is lag i - (len(y) - 1)
    sxy = full[lags + y.size - 1]
    cx, cxx = _cumsum0(x), _cumsum0(x * x)
    cy, cyy = _cumsum0(y), _cumsum0(y * y)
    x_lo, x_hi = np.maximum(lags, 0), np.minimum(x.size, y.size + lags)
    y_lo, y_hi = x_lo - lags, x_hi - lags
    n = (x_hi - x_lo).astype(float)
    sx, sxx = cx[x_hi] - cx[x_lo], cxx[x_hi] - cxx[x_lo]
    sy, syy = cy[y_hi] - cy[y_lo], cyy[y_hi] - cyy[y_lo]
    cov = sxy - sx * sy / n
    var = (sxx - sx * sx / n) * (syy - sy * sy / n)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(var > 0, cov / np.sqrt(np.maximum(var, 0)), np.nan)
    return np.clip(r, -1, 1)


def _cumsum0(v):
    out = np.empty(v.size + 1)
    out[0] = 0.0
    np.cumsum(v, out=out[1:])
    return out


def _second_peak(r, best, guard_n, floor):
    """Highest local maximum of ``r`` more than ``guard_n`` samples from ``best``."""
    inner = r[1:-1]
    is_peak = np.zeros(r.size, bool)
    is_peak[1:-1] = (inner >= r[:-2]) & (inner >= r[2:])
    is_peak[[0, -1]] = True  # an edge of the searched range may hide a rival's top
    is_peak[max(best - guard_n, 0): best + guard_n + 1] = False
    rivals = r[is_peak & np.isfinite(r)]
    return float(rivals.max()) if rivals.size else floor
