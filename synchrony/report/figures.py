"""Figures of one session's analysis, each a function returning a matplotlib Figure.

They build ``matplotlib.figure.Figure`` objects directly (no pyplot state), so they
work the same in Jupyter, in batch workers and on machines without a display.

Lag sign convention everywhere: a positive lag means B follows A (A leads), as in
:func:`synchrony.windowed_xcorr`.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd

__all__ = ["xcorr_heatmap", "signals_with_mismatch", "lag_plot", "surrogate_distribution",
           "session_overview", "mismatch_thumbnails", "save_figure", "OVERVIEW_FEATURES"]

#: Features :func:`session_overview` shows by default (those present), one per modality.
OVERVIEW_FEATURES = ("head_motion", "smile", "mouth_open", "brow_raise", "expr_smile",
                     "expr_distress", "gaze_yaw_deg", "looking_at_partner", "intensity_db", "f0_st",
                     "motion_energy")
_MISMATCH_COLOUR = "tab:red"
_EPISODE_COLOURS = ("0.55", "0.8")  # alternating greys: neighbouring episodes stay apart


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
                          *, labels=("A", "B"), title: str = "", ylabel: str = "",
                          episodes=None):
    """Two persons' signals over time with mismatch spans (and episodes) shaded.

    Parameters
    ----------
    a, b : pandas.Series
        Indexed by ``time_s``.
    mismatch : pandas.DataFrame, optional
        Rows with ``start_s`` and ``end_s`` (seconds) to shade, in red.
    labels : pair of str
    title, ylabel : str
    episodes : optional
        Anything :func:`synchrony.episodes.episodes_table` reads: each episode is shaded
        in grey (alternating shades) behind the signals and named at the top.

    Returns
    -------
    matplotlib.figure.Figure
        Mismatch patches have gid ``"mismatch"``, episode patches gid ``"episode"``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> t = pd.Index(np.arange(0, 60, 0.1), name="time_s")
    >>> a = pd.Series(np.sin(t), index=t)
    >>> fig = signals_with_mismatch(a, a.shift(5), pd.DataFrame({"start_s": [20.0],
    ...                             "end_s": [30.0]}), episodes=[("play", 0, 40)])
    >>> [p.get_gid() for p in fig.axes[0].patches]
    ['episode', 'mismatch']
    """
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 3.2), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    if episodes is not None:
        _shade_episodes(ax, episodes, names=True)
    ax.plot(a.index, a.to_numpy(), lw=1, label=labels[0])
    ax.plot(b.index, b.to_numpy(), lw=1, label=labels[1], alpha=0.85)
    if mismatch is not None:
        for i, span in enumerate(mismatch.itertuples()):
            ax.axvspan(span.start_s, span.end_s, color=_MISMATCH_COLOUR, alpha=0.15,
                       label="mismatch" if i == 0 else None, gid="mismatch")
    ax.set_xlabel("time (s)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if episodes is None:
        ax.legend(loc="upper right", ncols=3, fontsize="small")
    else:  # outside, so it never hides an episode's name
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
    return fig


def lag_plot(xc: pd.DataFrame, *, labels=("A", "B"), title: str = "",
             value_label: str = "r"):
    """Synchrony by lag averaged over windows (rMEA's lag plot).

    For each lag, the mean over windows (NaN windows skipped) of the windowed
    cross-correlation, with a band of one standard deviation across windows.

    Parameters
    ----------
    xc : pandas.DataFrame, shape (n_windows, n_lags)
        Output of :func:`synchrony.windowed_xcorr`: index ``window_start_s``, columns
        ``lag_s`` (s). Values are averaged as given: pass Fisher z values
        (``fisher_z=True``) to average in z, as rMEA does.
    labels : pair of str
        Names of A and B, for the axis label that states the sign convention.
    title : str
    value_label : str
        Label of the averaged value ("r" or "Fisher z").

    Returns
    -------
    matplotlib.figure.Figure
        One line (gid ``"mean"``): x the lags in s, y the mean per lag; positive lag =
        B follows A.

    Examples
    --------
    >>> import pandas as pd
    >>> xc = pd.DataFrame([[0.1, 0.5, 0.2], [0.3, 0.7, 0.0]], columns=[-1.0, 0.0, 1.0])
    >>> lag_plot(xc).axes[0].lines[0].get_ydata().round(3).tolist()
    [0.2, 0.6, 0.1]
    """
    from matplotlib.figure import Figure

    lags = np.asarray(xc.columns, dtype=float)
    values = xc.to_numpy(dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a lag with no defined window: NaN
        mean = np.nanmean(values, axis=0) if len(values) else np.full(lags.size, np.nan)
        sd = np.nanstd(values, axis=0) if len(values) else np.full(lags.size, np.nan)
    fig = Figure(figsize=(6, 3.5), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    ax.fill_between(lags, mean - sd, mean + sd, color="tab:blue", alpha=0.2, lw=0,
                    label="± 1 SD over windows")
    ax.plot(lags, mean, color="tab:blue", lw=1.5, label=f"mean over {len(values)} windows",
            gid="mean")
    ax.axvline(0, color="k", lw=0.6, alpha=0.5)
    ax.axhline(0, color="k", lw=0.6, alpha=0.3)
    a, b = labels
    ax.set_xlabel(f"lag (s)   ← {a} follows {b} | {b} follows {a} →")
    ax.set_ylabel(f"mean {value_label}")
    ax.set_title(title)
    ax.legend(loc="upper right", fontsize="small")
    return fig


def surrogate_distribution(observed: float, surrogates, *, p_value: float | None = None,
                           statistic_label: str = "mean peak synchrony (Fisher z)",
                           title: str = "", bins: int = 30):
    """The observed statistic against its surrogate distribution.

    Parameters
    ----------
    observed : float
        The statistic in the real pair (e.g. ``stats.csv``'s ``observed``).
    surrogates : array-like, shape (n_surrogates,)
        The same statistic in each surrogate pair; NaN values are dropped.
    p_value : float, optional
        Shown in the legend; default ``(1 + #{surrogates >= observed}) / (1 +
        n_surrogates)``, as :func:`synchrony.analysis.stats.null_comparison` computes it.
    statistic_label : str
        The x-axis label.
    title : str
    bins : int, default 30
        Histogram bins.

    Returns
    -------
    matplotlib.figure.Figure
        A histogram of the surrogates (gid ``"surrogates"`` on its bars) and a vertical
        line at the observed value (gid ``"observed"``) whose legend entry gives ``p``.

    Examples
    --------
    >>> fig = surrogate_distribution(0.9, [0.1, 0.2, 0.3, 1.0])
    >>> fig.axes[0].get_legend().get_texts()[1].get_text()
    'observed 0.9 (p = 0.4)'
    """
    from matplotlib.figure import Figure

    from synchrony.analysis.stats import null_comparison

    null = np.asarray(surrogates, dtype=float).ravel()
    null = null[np.isfinite(null)]
    if p_value is None:
        p_value = null_comparison(float(observed), null)["p_value"]
    fig = Figure(figsize=(6, 3.5), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    if null.size:
        _, _, bars = ax.hist(null, bins=bins, color="0.6", edgecolor="white",
                             label=f"surrogates (n = {null.size})")
        for bar in bars:
            bar.set_gid("surrogates")
    else:  # keep the legend's order: surrogates first, observed second
        ax.plot([], [], color="0.6", label="surrogates (n = 0)")
    p_text = "n/a" if p_value is None or not math.isfinite(p_value) else f"{p_value:.3g}"
    ax.axvline(observed, color=_MISMATCH_COLOUR, lw=2, gid="observed",
               label=f"observed {observed:.3g} (p = {p_text})")
    ax.set_xlabel(statistic_label)
    ax.set_ylabel("surrogates")
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize="small")
    return fig


def session_overview(signals: pd.DataFrame, *, features=None, persons=None,
                     mismatch: pd.DataFrame | None = None, episodes=None, title: str = ""):
    """Several modalities of both persons on one time axis: stacked panels sharing x.

    Parameters
    ----------
    signals : pandas.DataFrame
        Signals: index ``time_s`` (s), columns ``(person, feature)``.
    features : sequence of str, optional
        One panel per feature, top to bottom. Default: those of
        :data:`OVERVIEW_FEATURES` present, or else every feature.
    persons : sequence of str, optional
        Whose lines to draw; default every person in the columns, in order.
    mismatch : pandas.DataFrame, optional
        Mismatch spans (``start_s``, ``end_s``, ``features``): each is shaded in the
        panels of the features of its pair (``"smile~head_motion"`` shades ``smile``
        and ``head_motion``), or in every panel when it has no ``features``.
    episodes : optional
        Anything :func:`synchrony.episodes.episodes_table` reads, shaded in every panel
        and named in the top one.
    title : str

    Returns
    -------
    matplotlib.figure.Figure
        One Axes per feature, all sharing the x axis (time in s); each has one line per
        person (labelled with the person) and the feature as its y label.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> t = pd.Index(np.arange(0, 10, 0.5), name="time_s")
    >>> cols = pd.MultiIndex.from_product([["A", "B"], ["smile", "head_motion"]])
    >>> sig = pd.DataFrame(np.zeros((t.size, 4)), index=t, columns=cols)
    >>> [ax.get_ylabel() for ax in session_overview(sig).axes]
    ['head_motion', 'smile']
    """
    from matplotlib.figure import Figure

    if not isinstance(signals, pd.DataFrame) or signals.columns.nlevels != 2:
        from synchrony.errors import ParameterError

        raise ParameterError.expected("signals", "session_overview", "a DataFrame with "
                                      "(person, feature) columns", type(signals).__name__)
    present = list(dict.fromkeys(signals.columns.get_level_values(1)))
    if features is None:
        features = [f for f in OVERVIEW_FEATURES if f in present] or present
    persons = list(dict.fromkeys(signals.columns.get_level_values(0))) if persons is None \
        else list(persons)
    features = [str(f) for f in features]
    missing = [f for f in features if f not in present]
    if missing or not features:
        from synchrony.errors import ParameterError

        raise ParameterError.expected("features", "session_overview", "features of the "
                                      "signals (" + ", ".join(present) + ")",
                                      missing[0] if missing else features)
    fig = Figure(figsize=(10, 0.6 + 1.5 * len(features)), dpi=100, layout="constrained")
    axes = fig.subplots(len(features), 1, sharex=True, squeeze=False)[:, 0]
    t = np.asarray(signals.index, dtype=float)
    for k, (ax, feature) in enumerate(zip(axes, features)):
        if episodes is not None:
            _shade_episodes(ax, episodes, names=k == 0)
        for person in persons:
            if (person, feature) in signals.columns:
                ax.plot(t, signals[person, feature].to_numpy(dtype=float), lw=0.9,
                        label=str(person))
        if mismatch is not None:
            for span in mismatch.itertuples():
                pair = str(getattr(span, "features", "") or "")
                if not pair or feature in pair.split("~"):
                    ax.axvspan(span.start_s, span.end_s, color=_MISMATCH_COLOUR, alpha=0.15,
                               gid="mismatch")
        ax.set_ylabel(feature)
    axes[0].legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize="small")
    axes[-1].set_xlabel("time (s)")
    if title:
        fig.suptitle(title)
    return fig


def mismatch_thumbnails(video, mismatch: pd.DataFrame, *, offset_s: float = 0.0,
                        thumb_width_px: int = 160, columns: int = 6, max_spans: int = 24,
                        title: str = ""):
    """A strip of video frames, one at the start of each mismatch span.

    Each thumbnail is the first frame at or after the span's start (decoded with
    :func:`synchrony.media.iter_frames`, which seeks), shrunk by averaging blocks of
    pixels to at most ``thumb_width_px`` wide, titled with the span's start time and
    feature pair.

    Parameters
    ----------
    video : path-like
        The session's video.
    mismatch : pandas.DataFrame
        Mismatch spans (``start_s``, ``end_s`` in s on the session clock, optional
        ``features``); spans cut at episode boundaries are joined back first
        (:func:`synchrony.export.join_split_spans`).
    offset_s : float, default 0.0
        Session time of the video's time 0 (``Session.offsets_s`` of this video): the
        frame shown for a span is the one at file time ``start_s - offset_s``.
    thumb_width_px : int, default 160
    columns : int, default 6
        Thumbnails per row.
    max_spans : int, default 24
        At most this many spans (the earliest) are shown; the title says so.
    title : str

    Returns
    -------
    matplotlib.figure.Figure
        One Axes per span in time order, each with one image (uint8 RGB array), or no
        image and the text "no frame" when the video has no frame at that time.

    Raises
    ------
    synchrony.errors.MediaError
        If the video cannot be opened.
    """
    from matplotlib.figure import Figure

    from synchrony._validate import check_finite
    from synchrony.errors import ParameterError
    from synchrony.export import join_split_spans

    func = "mismatch_thumbnails"
    offset_s = check_finite(offset_s, "offset_s", func)
    for name, value in (("thumb_width_px", thumb_width_px), ("columns", columns),
                        ("max_spans", max_spans)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise ParameterError.expected(name, func, "a whole number >= 1", value)
    spans = join_split_spans(mismatch) if len(mismatch) else mismatch
    n_all = len(spans)
    spans = spans.sort_values("start_s", kind="stable").head(max_spans) if n_all else spans
    n = len(spans)
    n_cols = max(1, min(columns, n))
    n_rows = max(1, math.ceil(n / n_cols))
    fig = Figure(figsize=(1.9 * n_cols, 1.7 * n_rows + 0.4), dpi=100, layout="constrained")
    if n == 0:
        ax = fig.add_subplot()
        ax.text(0.5, 0.5, "no mismatch spans", ha="center", va="center")
        ax.set_axis_off()
        return fig
    axes = fig.subplots(n_rows, n_cols, squeeze=False).ravel()
    for ax, span in zip(axes, spans.itertuples()):
        frame = _frame_at(video, max(0.0, float(span.start_s) - offset_s))
        if frame is None:
            ax.text(0.5, 0.5, "no frame", ha="center", va="center", transform=ax.transAxes)
        else:
            ax.imshow(_shrink(frame, thumb_width_px), interpolation="nearest")
        pair = str(getattr(span, "features", "") or "")
        ax.set_title(f"{span.start_s:.1f} s" + (f"\n{pair}" if pair else ""), fontsize="small")
        ax.set_axis_off()
    for ax in axes[n:]:
        ax.set_axis_off()
    heading = title or "frames at the start of each mismatch span"
    if n < n_all:
        heading += f" (first {n} of {n_all})"
    fig.suptitle(heading, fontsize="medium")
    return fig


def _frame_at(video, t_s):
    """The first frame at or after ``t_s`` (file time), or None past the end."""
    from synchrony.media import iter_frames

    frames = iter_frames(video, start_s=t_s)
    try:
        return next(frames, (None, None))[1]
    finally:
        frames.close()  # closes the container now, not at garbage collection


def _shrink(rgb: np.ndarray, width_px: int) -> np.ndarray:
    """Average blocks of k x k pixels so the picture is at most ``width_px`` wide."""
    k = max(1, math.ceil(rgb.shape[1] / width_px))
    if k == 1:
        return rgb
    h, w = rgb.shape[0] // k * k, rgb.shape[1] // k * k
    blocks = rgb[:h, :w].reshape(h // k, k, w // k, k, rgb.shape[2]).astype(np.float32)
    return np.rint(blocks.mean(axis=(1, 3))).astype(np.uint8)


def _shade_episodes(ax, episodes, *, names: bool):
    from synchrony.episodes import episodes_table

    table = episodes_table(episodes)
    for i, ep in enumerate(table.itertuples()):
        ax.axvspan(ep.start_s, ep.end_s, color=_EPISODE_COLOURS[i % 2], alpha=0.18, lw=0,
                   zorder=0, gid="episode")
        if names:
            ax.text((ep.start_s + ep.end_s) / 2, 0.98, ep.episode, ha="center", va="top",
                    fontsize="small", color="0.25", transform=ax.get_xaxis_transform(),
                    clip_on=True)


def save_figure(fig, path) -> None:
    """Save a figure as PNG atomically, with no timestamp metadata (reproducible bytes)."""
    from synchrony.formats import atomic_path

    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", metadata={"Software": None})
