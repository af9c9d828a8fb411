"""Analysis settings: one frozen dataclass, literature-informed defaults, validated once."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from synchrony._validate import check_positive
from synchrony.errors import ConfigError, ParameterError

__all__ = ["AnalysisConfig", "DEFAULT_PAIRS", "FACE_BACKENDS", "PAIR_SETS"]

#: Face models: ``"facemesh"``, mediapipe's legacy FaceMesh with iris (models inside the
#: mediapipe wheel; the fastest), and ``"landmarker"``, the Tasks API Face Landmarker
#: (:mod:`synchrony.extract.landmarker`: the same 478 landmarks plus 52 blendshape scores).
FACE_BACKENDS = ("facemesh", "landmarker")

#: Named sets of (feature of A, feature of B) pairs. ``cross-modal`` pairs one partner's
#: voice with the other's movement, the kind of cross-modal matching Stern described in
#: mother-infant attunement (a vocal contour answered by a movement).
#: ``expression`` mirrors the blendshape composites of the ``landmarker`` face backend
#: (:mod:`synchrony.extract.landmarker`): smile with smile, distress with distress.
PAIR_SETS = {
    "face": (("head_motion", "head_motion"), ("smile", "smile"), ("mouth_open", "mouth_open")),
    "expression": (("expr_smile", "expr_smile"), ("expr_distress", "expr_distress")),
    "voice": (("intensity_db", "intensity_db"),),
    "cross-modal": (("intensity_db", "head_motion"), ("head_motion", "intensity_db")),
}

#: Feature pairs analysed by default: every named set. Pairs whose features are missing
#: from a session are skipped (the ``expression`` pairs need ``face_backend="landmarker"``).
DEFAULT_PAIRS = (PAIR_SETS["face"] + PAIR_SETS["expression"] + PAIR_SETS["voice"]
                 + PAIR_SETS["cross-modal"])


@dataclass(frozen=True)
class AnalysisConfig:
    """Settings of one analysis, from signals to mismatch windows.

    Parameters
    ----------
    rate_hz : float, default 10.0
        Rate of the common clock the signals are put on, in Hz.
    max_gap_s : float, default 0.5
        Gaps up to this long (seconds) are interpolated; longer ones stay missing.
    window_s : float, default 4.0
        Correlation window in seconds. Face-to-face parent-infant exchanges change
        within seconds, so windows are much shorter than rMEA's 30 s for therapy.
    step_s : float, default 0.5
        Distance between window starts, in seconds.
    max_lag_s : float, default 2.0
        Largest lag in seconds. Positive lags: person B follows person A.
    n_surrogates : int, default 200
        Surrogate pairs behind the chance thresholds and p-values.
    surrogate_method : {"circular", "segment"}, default "circular"
        Circular shift of B by at least ``window_s + 2 * max_lag_s``, or B's segments of
        that length shuffled (:mod:`synchrony.analysis.surrogates`).
    alpha : float, default 0.05
        A window is at chance when its peak r is not above the ``1 - alpha`` quantile
        of the surrogate peaks in that window; mismatch spans with a p-value above
        ``alpha`` are not reported.
    min_mismatch_s : float, default 3.0
        Shortest mismatch span reported, in seconds.
    merge_gap_s : float or None, default None
        Mismatch spans this close (seconds) are merged; None means ``window_s``.
    active_fraction : float, default 0.25
        A partner is active in a window when their SD there is at least this fraction
        of their 90th-percentile window SD; at-chance windows count as mismatch only
        while someone is active.
    matching_pairs : tuple of (str, str)
        Pairs where matching is expected, so that significantly negative synchrony is
        a mismatch too (default smile with smile, geometric and blendshape alike).
    smooth_s, detrend, zscore, outlier_sd
        Preprocessing of the paired features before correlation
        (:func:`synchrony.analysis.preprocess.preprocess`): moving average of
        ``smooth_s`` seconds (rMEA uses 0.5 s), linear detrend, z-score, and samples
        more than ``outlier_sd`` SD from the mean set missing (with a warning). All
        off by default.
    seed : int, default 0
        Seed of every random draw (surrogates). Same input + config + seed = same output.
    pairs : tuple of (str, str) or names of sets
        Feature of A with feature of B to analyse; a name from ``PAIR_SETS``
        (``"face"``, ``"voice"``, ``"cross-modal"``) stands for its pairs.
    persons : tuple of str, default ("A", "B")
        Person labels: left and right half in the split layout.
    video_rate_hz : float or None, default None
        Analyse video frames at about this rate (chosen by their true timestamps)
        instead of every frame: 10 Hz matches the default clock and is several times
        faster on 25-30 fps recordings.
    face_backend : {"facemesh", "landmarker"}, default "facemesh"
        The face model (:func:`synchrony.extract.face.extract_face_split`).
        ``"facemesh"``, the default, is the faster (the Landmarker costs 1.4-1.9x its
        CPU, ``benchmarks/README.md``) and the one the gaze and head-pose features were
        validated with;
        ``"landmarker"`` adds 51 blendshape signals (``bs_<name>``) and the expression
        composites ``expr_smile``, ``expr_distress``, ``expr_eye_closure``,
        ``expr_brow_raise`` (0-1), and with them the ``expression`` pairs.
    """

    rate_hz: float = 10.0
    max_gap_s: float = 0.5
    window_s: float = 4.0
    step_s: float = 0.5
    max_lag_s: float = 2.0
    n_surrogates: int = 200
    alpha: float = 0.05
    min_mismatch_s: float = 3.0
    merge_gap_s: float | None = None
    surrogate_method: str = "circular"
    active_fraction: float = 0.25
    matching_pairs: tuple = (("smile", "smile"), ("expr_smile", "expr_smile"))
    smooth_s: float | None = None
    detrend: bool = False
    zscore: bool = False
    outlier_sd: float | None = None
    seed: int = 0
    pairs: tuple = DEFAULT_PAIRS
    persons: tuple = ("A", "B")
    video_rate_hz: float | None = None
    face_backend: str = "facemesh"

    def __post_init__(self):
        name = "AnalysisConfig"
        try:
            for field in ("rate_hz", "window_s", "step_s"):
                check_positive(getattr(self, field), field, name)
            for field in ("max_gap_s", "max_lag_s", "min_mismatch_s"):
                check_positive(getattr(self, field), field, name, allow_zero=True)
            check_positive(self.active_fraction, "active_fraction", name)
            for field in ("video_rate_hz", "smooth_s", "outlier_sd"):
                if getattr(self, field) is not None:
                    check_positive(getattr(self, field), field, name)
            if self.merge_gap_s is not None:
                check_positive(self.merge_gap_s, "merge_gap_s", name, allow_zero=True)
        except ParameterError as exc:
            raise ConfigError(str(exc)) from None
        if not isinstance(self.n_surrogates, int) or self.n_surrogates < 1:
            raise ConfigError(f"The 'n_surrogates' parameter of {name} must be an int >= 1; got {self.n_surrogates!r}.")
        if not 0 < self.alpha < 1:
            raise ConfigError(f"The 'alpha' parameter of {name} must be in (0, 1); got {self.alpha!r}.")
        if len(self.persons) != 2 or len(set(self.persons)) != 2 or not all(self.persons):
            raise ConfigError(f"The 'persons' parameter of {name} must be two different labels; got {self.persons!r}.")
        if self.face_backend not in FACE_BACKENDS:
            raise ConfigError(f"The 'face_backend' parameter of {name} must be one of {FACE_BACKENDS}; "
                              f"got {self.face_backend!r}.")
        if self.surrogate_method not in ("circular", "segment"):
            raise ConfigError(f"The 'surrogate_method' parameter of {name} must be 'circular' or 'segment'; "
                              f"got {self.surrogate_method!r}.")
        pairs = _expand_pairs(self.pairs)
        if not pairs or any(len(p) != 2 for p in pairs):
            raise ConfigError(f"The 'pairs' parameter of {name} must be (feature_a, feature_b) pairs or names "
                              f"of {sorted(PAIR_SETS)}; got {self.pairs!r}.")
        object.__setattr__(self, "pairs", pairs)
        object.__setattr__(self, "matching_pairs", tuple(tuple(p) for p in self.matching_pairs))
        object.__setattr__(self, "persons", tuple(self.persons))

    def to_dict(self) -> dict:
        """Plain JSON-ready dict of the settings."""
        d = dataclasses.asdict(self)
        d["pairs"] = [list(p) for p in self.pairs]
        d["matching_pairs"] = [list(p) for p in self.matching_pairs]
        d["persons"] = list(self.persons)
        return d


def _expand_pairs(pairs) -> tuple:
    """Pairs as (a, b) tuples in order, named sets expanded, duplicates dropped."""
    if isinstance(pairs, str):
        pairs = (pairs,)
    out = []
    for item in pairs:
        for pair in PAIR_SETS.get(item, (item,)) if isinstance(item, str) else (item,):
            pair = tuple(pair) if not isinstance(pair, str) else (pair,)
            if pair not in out:
                out.append(pair)
    return tuple(out)
