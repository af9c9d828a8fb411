"""Figures of one session's analysis, each a function returning a matplotlib Figure.

They build ``matplotlib.figure.Figure`` objects directly (no pyplot state), so they
work the same in Jupyter, in batch workers and on machines without a display.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["xcorr_heatmap", "signals_with_mismatch", "save_figure"]


def xcorr_heatmap(xc: pd.DataFrame, *, title: str = "", value_label: str = "r"):
    """Window x lag heatmap of a windowed cross-correlation (rMEA's MEAheatmap look).

    Parameters
    ----------
    xc : pandas.DataFrame
        Output of :func:`synchrony.windowed_xcorr`: index ``window_start_s``, columns
        ``lag_s``.
    title : str
    value_label : str
        Colour-bar label ("r" or "Fisher z").

    Returns
    -------
    matplotlib.figure.Figure
        Time runs down the vertical axis, lag across; positive lag = B follows A.
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 5), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    lags = np.asarray(xc.columns, dtype=float)
    starts = np.asarray(xc.index, dtype=float)
    limit = np.nanmax(np.abs(xc.to_numpy())) if np.isfinite(xc.to_numpy()).any() else 1.0
    extent = [lags[0], lags[-1], starts[-1] if len(starts) else 1, starts[0] if len(starts) else 0]
    image = ax.imshow(xc.to_numpy(), aspect="auto", cmap="RdBu_r", vmin=-limit, vmax=limit,
                      extent=extent, interpolation="nearest")
    ax.axvline(0, color="k", lw=0.6, alpha=0.5)
    ax.set_xlabel("lag (s)   ← B leads | A leads →")
    ax.set_ylabel("window start (s)")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, label=value_label)
    return fig


def signals_with_mismatch(a: pd.Series, b: pd.Series, mismatch: pd.DataFrame | None = None,
                          *, labels=("A", "B"), title: str = "", ylabel: str = ""):
    """Two persons' signals over time with mismatch spans shaded.

    Parameters
    ----------
    a, b : pandas.Series
        Indexed by ``time_s``.
    mismatch : pandas.DataFrame, optional
        Rows with ``start_s`` and ``end_s`` (seconds) to shade.
    labels : pair of str
    title, ylabel : str

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 3.2), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    ax.plot(a.index, a.to_numpy(), lw=1, label=labels[0])
    ax.plot(b.index, b.to_numpy(), lw=1, label=labels[1], alpha=0.85)
    if mismatch is not None:
        for i, span in enumerate(mismatch.itertuples()):
            ax.axvspan(span.start_s, span.end_s, color="tab:red", alpha=0.15,
                       label="mismatch" if i == 0 else None)
    ax.set_xlabel("time (s)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(loc="upper right", ncols=3, fontsize="small")
    return fig


def save_figure(fig, path) -> None:
    """Save a figure as PNG atomically, with no timestamp metadata (reproducible bytes)."""
    from synchrony.formats import atomic_path

    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", metadata={"Software": None})
