"""Simulated dyads with a known answer: a lag, a coupling and planted mismatch spans.

Used by the tests and the docs, and by researchers choosing window and lag settings
before they analyse real sessions (how long must a window be to see a 0.4 s lag?).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from synchrony._validate import check_positive
from synchrony.errors import ParameterError

__all__ = ["SimulatedDyad", "simulate_dyad"]


@dataclass(frozen=True)
class SimulatedDyad:
    """A simulated session: its Signals table and the truth planted in it."""

    signals: pd.DataFrame
    lag_s: float
    coupling: float
    mismatch_spans_s: tuple = field(default_factory=tuple)


def simulate_dyad(
    *,
    duration_s: float,
    rate_hz: float,
    lag_s: float = 0.4,
    coupling: float = 0.8,
    mismatch_spans_s=(),
    feature: str = "x",
    persons=("A", "B"),
    smoothness_s: float = 0.5,
    seed=None,
) -> SimulatedDyad:
    """Simulate two persons' series where B follows A by ``lag_s`` seconds.

    A is a smooth AR(1) process (time constant ``smoothness_s``). B is
    ``coupling * A(t - lag_s) + sqrt(1 - coupling**2) * own AR(1)`` so both have unit
    variance and their lag-``lag_s`` correlation is ``coupling``. Inside each planted
    mismatch span B is an independent AR(1) process of the same variance: B stops
    following.

    Parameters
    ----------
    duration_s, rate_hz : float
        Length in seconds and sampling rate in Hz.
    lag_s : float, default 0.4
        How much later B repeats A, in seconds (negative: B leads). Rounded to samples.
    coupling : float in [0, 1], default 0.8
    mismatch_spans_s : sequence of (start_s, end_s)
        Spans in which B does not follow A.
    feature : str
        Feature name of the simulated column.
    persons : pair of str
    smoothness_s : float
        Time constant of the AR(1) processes, in seconds.
    seed : int or numpy.random.Generator, optional

    Returns
    -------
    SimulatedDyad
        ``signals`` is indexed by ``time_s`` with columns ``(person, feature)``.

    Examples
    --------
    >>> from synchrony.simulate import simulate_dyad
    >>> sim = simulate_dyad(duration_s=60, rate_hz=10, lag_s=0.4, seed=0)
    >>> sim.signals.shape
    (600, 2)
    """
    func = "simulate_dyad"
    check_positive(duration_s, "duration_s", func)
    check_positive(rate_hz, "rate_hz", func)
    check_positive(smoothness_s, "smoothness_s", func)
    if not 0 <= coupling <= 1:
        raise ParameterError.expected("coupling", func, "in [0, 1]", coupling)
    rng = np.random.default_rng(seed)
    n = int(round(duration_s * rate_hz))
    shift = int(round(lag_s * rate_hz))
    phi = np.exp(-1.0 / (smoothness_s * rate_hz))

    # Simulate a margin on both sides so B can follow (or lead) from the first sample.
    margin = abs(shift)
    a_long = _ar1(n + 2 * margin, phi, rng)
    a = a_long[margin : margin + n]
    a_then = a_long[margin - shift : margin - shift + n]
    b = coupling * a_then + np.sqrt(1 - coupling**2) * _ar1(n, phi, rng)

    times = np.round(np.arange(n) / rate_hz, 9)
    spans = tuple((float(s), float(e)) for s, e in mismatch_spans_s)
    for start, end in spans:
        inside = (times >= start) & (times < end)
        b[inside] = _ar1(int(inside.sum()), phi, rng)

    columns = pd.MultiIndex.from_tuples([(persons[0], feature), (persons[1], feature)],
                                        names=["person", "feature"])
    signals = pd.DataFrame(np.column_stack([a, b]), columns=columns,
                           index=pd.Index(times, name="time_s"))
    return SimulatedDyad(signals=signals, lag_s=shift / rate_hz, coupling=coupling,
                         mismatch_spans_s=spans)


def _ar1(n, phi, rng):
    """Unit-variance AR(1), started from its stationary distribution."""
    x = np.empty(n)
    eps = rng.standard_normal(n) * np.sqrt(1 - phi**2)
    prev = rng.standard_normal()
    for i in range(n):
        prev = phi * prev + eps[i]
        x[i] = prev
    return x
