"""Boundary checks shared by the public functions: validate once, fail loudly."""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from synchrony.errors import ParameterError


def check_positive(value, name: str, func: str, *, allow_zero: bool = False) -> float:
    """Return ``value`` as float if it is a finite number > 0 (or >= 0)."""
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value)
    if ok:
        ok = value >= 0 if allow_zero else value > 0
    if not ok:
        must = "a finite number >= 0" if allow_zero else "a finite number > 0"
        raise ParameterError.expected(name, func, must, value)
    return float(value)


def check_finite(value, name: str, func: str) -> float:
    """Return ``value`` as float if it is a finite real number (any sign)."""
    if not (isinstance(value, numbers.Real) and not isinstance(value, bool) and np.isfinite(value)):
        raise ParameterError.expected(name, func, "a finite number", value)
    return float(value)


def check_series(x, name: str, func: str) -> np.ndarray:
    """``x`` as a 1-D float array of finite values or NaN (missing)."""
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError.expected(name, func, "a 1-D numeric array", type(x).__name__) from None
    if arr.ndim != 1:
        raise ParameterError.expected(name, func, "a 1-D numeric array", f"shape {arr.shape}")
    if np.isinf(arr).any():
        raise ParameterError.expected(name, func, "finite or NaN values", "an infinite value")
    return arr


def check_series_pair(a, b, func: str):
    """Two 1-D float arrays of equal length, and the time of their first sample.

    Returns ``(a, b, t0_s)``. If both are pandas Series their indexes must be equal and
    ``t0_s`` is the first index value; otherwise ``t0_s`` is 0.
    """
    t0 = 0.0
    if isinstance(a, pd.Series) and isinstance(b, pd.Series):
        if not a.index.equals(b.index):
            raise ParameterError.expected("b", func, "a Series with the same index as 'a'", "a different index")
        if len(a.index):
            t0 = float(a.index[0])
    arrays = [check_series(a, "a", func), check_series(b, "b", func)]
    if arrays[0].shape != arrays[1].shape:
        raise ParameterError.expected(
            "b", func, f"the same length as 'a' ({arrays[0].size})", f"length {arrays[1].size}"
        )
    return arrays[0], arrays[1], t0
