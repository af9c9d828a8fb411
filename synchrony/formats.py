"""Writing result files so that a killed run never leaves a half-written one.

Every file is written to a temporary name in the same folder and renamed into place:
a rename is atomic on the same file system, so readers see the old file or the whole
new one, never a truncated one.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["atomic_path", "json_ready", "write_csv", "write_json", "write_parquet"]

# Read once at import: os.umask can only be read by setting it, which is not thread-safe.
_UMASK = os.umask(0o022)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; rename it to ``path`` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        # mkstemp makes the file owner-only; results get the permissions of any new file.
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_csv(df: pd.DataFrame, path, *, index: bool = False) -> Path:
    """Write ``df`` as CSV atomically (floats at full precision, '\\n' line ends)."""
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=index, lineterminator="\n")
    return Path(path)


def write_json(obj, path) -> Path:
    """Write ``obj`` as indented, key-sorted JSON atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True, allow_nan=False) + "\n")
    return Path(path)


def write_parquet(df: pd.DataFrame, path, *, index: bool = False) -> Path:
    """Write ``df`` as Parquet (pyarrow) atomically."""
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=index, engine="pyarrow")
    return Path(path)


def json_ready(obj):
    """``obj`` with numpy scalars as Python ones and NaN/inf as None, recursively.

    >>> json_ready({"r": np.float64(0.5), "n": np.int64(3), "p": float("nan"), "ok": [np.bool_(True)]})
    {'r': 0.5, 'n': 3, 'p': None, 'ok': [True]}
    """
    if isinstance(obj, dict):
        return {str(k): json_ready(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_ready(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj
