"""synchrony: dyadic synchrony analysis of recorded two-person sessions.

Importing the package is fast and has no side effects: video and audio libraries
(PyAV, mediapipe, cv2, parselmouth, librosa) load only inside the extractors.
"""

from synchrony.analysis.xcorr import peak_lags, windowed_xcorr
from synchrony.readers import load_signals
from synchrony.errors import (
    ConfigError,
    InputFileError,
    MediaError,
    NoFaceError,
    ParameterError,
    SynchronyError,
)

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "InputFileError",
    "MediaError",
    "NoFaceError",
    "ParameterError",
    "SynchronyError",
    "load_signals",
    "peak_lags",
    "windowed_xcorr",
]
