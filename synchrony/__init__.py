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
    "run_batch",
    "windowed_xcorr",
]


def __getattr__(name):
    # run_batch loads on first use: `import synchrony` stays fast and batch.py can
    # import __version__ from here.
    if name == "run_batch":
        from synchrony.batch import run_batch

        return run_batch
    raise AttributeError(f"module 'synchrony' has no attribute {name!r}")
