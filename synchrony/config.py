"""Analysis settings: one frozen dataclass, literature-informed defaults, validated once."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from synchrony._validate import check_positive
from synchrony.errors import ConfigError, ParameterError

__all__ = ["AnalysisConfig", "DEFAULT_PAIRS"]

#: Feature pairs analysed by default: each person's feature with the same feature of the
#: partner. Pairs whose features are missing from a session are skipped.
DEFAULT_PAIRS = (
    ("head_motion", "head_motion"),
    ("smile", "smile"),
    ("mouth_open", "mouth_open"),
    ("intensity_db", "intensity_db"),
)


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
        Circularly shifted pseudo pairs behind the chance threshold.
    alpha : float, default 0.05
        A window is at chance when its peak r is not above the ``1 - alpha`` quantile
        of the surrogate peaks.
    min_mismatch_s : float, default 3.0
        Shortest mismatch span reported, in seconds.
    merge_gap_s : float, default 1.0
        Mismatch spans this close (seconds) are merged.
    seed : int, default 0
        Seed of every random draw (surrogates). Same input + config + seed = same output.
    pairs : tuple of (str, str)
        Feature of A with feature of B to analyse.
    persons : tuple of str, default ("A", "B")
        Person labels: left and right half in the split layout.
    video_rate_hz : float or None, default None
        Analyse video frames at about this rate (chosen by their true timestamps)
        instead of every frame: 10 Hz matches the default clock and is several times
        faster on 25-30 fps recordings.
    """

    rate_hz: float = 10.0
    max_gap_s: float = 0.5
    window_s: float = 4.0
    step_s: float = 0.5
    max_lag_s: float = 2.0
    n_surrogates: int = 200
    alpha: float = 0.05
    min_mismatch_s: float = 3.0
    merge_gap_s: float = 1.0
    seed: int = 0
    pairs: tuple = DEFAULT_PAIRS
    persons: tuple = ("A", "B")
    video_rate_hz: float | None = None

    def __post_init__(self):
        name = "AnalysisConfig"
        try:
            for field in ("rate_hz", "window_s", "step_s"):
                check_positive(getattr(self, field), field, name)
            for field in ("max_gap_s", "max_lag_s", "min_mismatch_s", "merge_gap_s"):
                check_positive(getattr(self, field), field, name, allow_zero=True)
            if self.video_rate_hz is not None:
                check_positive(self.video_rate_hz, "video_rate_hz", name)
        except ParameterError as exc:
            raise ConfigError(str(exc)) from None
        if not isinstance(self.n_surrogates, int) or self.n_surrogates < 1:
            raise ConfigError(f"The 'n_surrogates' parameter of {name} must be an int >= 1; got {self.n_surrogates!r}.")
        if not 0 < self.alpha < 1:
            raise ConfigError(f"The 'alpha' parameter of {name} must be in (0, 1); got {self.alpha!r}.")
        if len(self.persons) != 2 or len(set(self.persons)) != 2 or not all(self.persons):
            raise ConfigError(f"The 'persons' parameter of {name} must be two different labels; got {self.persons!r}.")
        pairs = tuple(tuple(p) for p in self.pairs)
        if not pairs or any(len(p) != 2 for p in pairs):
            raise ConfigError(f"The 'pairs' parameter of {name} must be (feature_a, feature_b) pairs; got {self.pairs!r}.")
        object.__setattr__(self, "pairs", pairs)
        object.__setattr__(self, "persons", tuple(self.persons))

    def to_dict(self) -> dict:
        """Plain JSON-ready dict of the settings."""
        d = dataclasses.asdict(self)
        d["pairs"] = [list(p) for p in self.pairs]
        d["persons"] = list(self.persons)
        return d
