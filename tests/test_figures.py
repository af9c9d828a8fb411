"""Tests of synchrony.report.figures: each figure's drawn data is checked against what it
must show (the mean over windows per lag, the surrogate histogram and observed value, the
shaded spans and episodes, the video frame at each span's start)."""

from __future__ import annotations

import doctest
import math

import matplotlib

matplotlib.use("Agg")  # noqa: E402  (the figures need no display; this keeps pyplot quiet)

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from synchrony import windowed_xcorr
from synchrony.analysis.stats import null_comparison
from synchrony.errors import ParameterError
from synchrony.report import figures as figures_module
from synchrony.report.figures import (lag_plot, mismatch_thumbnails, save_figure,
                                      session_overview, signals_with_mismatch,
                                      surrogate_distribution, xcorr_heatmap)
from synchrony.simulate import simulate_dyad

RATE_HZ = 10.0


def dyad(seed=3, **kw):
    kw = {"duration_s": 240.0, "rate_hz": RATE_HZ, "lag_s": 0.8, "coupling": 0.9, **kw}
    return simulate_dyad(seed=seed, feature="head_motion", **kw).signals


def test_lag_plot_shows_the_mean_over_windows_per_lag():
    sig = dyad()
    a, b = sig["A", "head_motion"], sig["B", "head_motion"]
    xc = windowed_xcorr(a, b, RATE_HZ, window_s=30.0, step_s=10.0, max_lag_s=5.0)
    xc.iloc[2, 5] = np.nan  # a missing value is skipped, not propagated
    fig = lag_plot(xc, labels=("infant", "mother"), value_label="Fisher z")
    ax = fig.axes[0]
    (line,) = [ln for ln in ax.lines if ln.get_gid() == "mean"]
    np.testing.assert_array_equal(line.get_xdata(), xc.columns.to_numpy(dtype=float))
    expected = [np.mean(xc[lag].dropna()) for lag in xc.columns]
    np.testing.assert_allclose(line.get_ydata(), expected, rtol=0, atol=1e-12)
    # B follows A by 0.8 s: the mean peaks at +0.8 s, and the axis says what + means.
    assert xc.columns[np.argmax(line.get_ydata())] == pytest.approx(0.8)
    assert "mother follows infant →" in ax.get_xlabel()
    assert ax.get_ylabel() == "mean Fisher z"


def test_surrogate_distribution_marks_the_observed_value_and_p():
    rng = np.random.default_rng(5)
    null = rng.normal(0.3, 0.05, 200)
    null[:3] = np.nan
    observed = 0.38
    fig = surrogate_distribution(observed, null, bins=20)
    ax = fig.axes[0]
    bars = [p for p in ax.patches if p.get_gid() == "surrogates"]
    counts, edges = np.histogram(null[3:], bins=20)
    assert [bar.get_height() for bar in bars] == counts.tolist()
    np.testing.assert_allclose([bar.get_x() for bar in bars], edges[:-1])
    (marker,) = [ln for ln in ax.lines if ln.get_gid() == "observed"]
    assert list(marker.get_xdata()) == [observed, observed]
    p = null_comparison(observed, null)["p_value"]
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["surrogates (n = 197)", f"observed 0.38 (p = {p:.3g})"]
    given = surrogate_distribution(observed, null, p_value=0.001).axes[0]
    assert given.get_legend().get_texts()[1].get_text() == "observed 0.38 (p = 0.001)"


def test_signals_with_mismatch_shades_spans_and_episodes():
    sig = dyad(duration_s=60.0)
    a, b = sig["A", "head_motion"], sig["B", "head_motion"]
    spans = pd.DataFrame({"start_s": [12.0, 40.0], "end_s": [18.0, 47.5]})
    plain = signals_with_mismatch(a, b, spans, labels=("infant", "mother")).axes[0]
    # Without episodes: as before, two lines and one red span per mismatch span.
    assert [ln.get_label() for ln in plain.lines] == ["infant", "mother"]
    np.testing.assert_array_equal(plain.lines[0].get_ydata(), a.to_numpy())
    assert [p.get_gid() for p in plain.patches] == ["mismatch", "mismatch"]
    assert len(plain.texts) == 0
    episodes = [("play", 0.0, 30.0), ("still-face", 30.0, 60.0)]
    ax = signals_with_mismatch(a, b, spans, episodes=episodes).axes[0]
    shaded = [p for p in ax.patches if p.get_gid() == "episode"]
    extents = [(p.get_x(), p.get_x() + p.get_width()) for p in shaded]
    assert extents == [(0.0, 30.0), (30.0, 60.0)]
    assert [t.get_text() for t in ax.texts] == ["play", "still-face"]
    assert all(p.get_zorder() < ln.get_zorder() for p in shaded for ln in ax.lines)
    red = [(p.get_x(), p.get_x() + p.get_width()) for p in ax.patches if p.get_gid() == "mismatch"]
    assert red == [(12.0, 18.0), (40.0, 47.5)]


def test_session_overview_stacks_modalities_on_one_time_axis():
    t = pd.Index(np.round(np.arange(0, 30, 0.1), 6), name="time_s")
    rng = np.random.default_rng(1)
    cols = pd.MultiIndex.from_product([["A", "B"],
                                       ["head_motion", "smile", "intensity_db", "face_detected"]])
    sig = pd.DataFrame(rng.normal(size=(t.size, cols.size)), index=t, columns=cols)
    spans = pd.DataFrame({"start_s": [5.0, 20.0], "end_s": [8.0, 25.0],
                          "features": ["smile~smile", "intensity_db~head_motion"]})
    fig = session_overview(sig, mismatch=spans, episodes=[("play", 0, 15), ("sf", 15, 30)])
    axes = fig.axes
    # Default: the known modalities present, in OVERVIEW_FEATURES order; quality left out.
    assert [ax.get_ylabel() for ax in axes] == ["head_motion", "smile", "intensity_db"]
    assert all(axes[0].get_shared_x_axes().joined(axes[0], ax) for ax in axes[1:])
    for ax, feature in zip(axes, ["head_motion", "smile", "intensity_db"]):
        assert [ln.get_label() for ln in ax.lines] == ["A", "B"]
        np.testing.assert_array_equal(ax.lines[1].get_ydata(), sig["B", feature].to_numpy())
        np.testing.assert_array_equal(ax.lines[1].get_xdata(), t.to_numpy())
        assert len([p for p in ax.patches if p.get_gid() == "episode"]) == 2
    red = {ax.get_ylabel(): [p.get_x() for p in ax.patches if p.get_gid() == "mismatch"]
           for ax in axes}
    assert red == {"head_motion": [20.0], "smile": [5.0], "intensity_db": [20.0]}
    assert [t.get_text() for t in axes[0].texts] == ["play", "sf"]
    assert len(axes[1].texts) == 0
    chosen = session_overview(sig, features=["face_detected"], persons=["B"])
    assert [ln.get_label() for ln in chosen.axes[0].lines] == ["B"]
    with pytest.raises(ParameterError, match="'features' parameter of session_overview"):
        session_overview(sig, features=["f0_hz"])


def grey_level(i: int) -> int:
    return 10 + 6 * i


def make_clock_video(path, n_frames=40, fps=10.0):
    from _mediagen import make_video

    def frame(i, size):
        w, h = size
        return np.full((h, w, 3), grey_level(i), np.uint8)

    return make_video(path, n_frames=n_frames, fps=fps, size=(128, 96), frame_fn=frame)


def frame_index_shown(image: np.ndarray) -> int:
    levels = np.array([grey_level(i) for i in range(40)])
    return int(np.argmin(np.abs(levels - image.astype(float).mean())))


def test_thumbnails_show_the_frame_at_each_span_start(tmp_path):
    video = make_clock_video(tmp_path / "clock.mp4")
    # 0.0 s -> frame 0; 1.05 s -> first frame at or after it, 1.1 s (frame 11); 2.5 -> 25.
    spans = pd.DataFrame({"start_s": [2.5, 0.0, 1.05, 9.0], "end_s": [3.0, 0.5, 2.0, 9.5],
                          "features": ["smile~smile"] * 4})
    fig = mismatch_thumbnails(video, spans, thumb_width_px=40)
    axes = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in axes] == ["0.0 s\nsmile~smile", "1.1 s\nsmile~smile",
                                               "2.5 s\nsmile~smile", "9.0 s\nsmile~smile"]
    shown = []
    for ax in axes[:3]:
        (image,) = ax.images
        pixels = np.asarray(image.get_array())
        assert pixels.dtype == np.uint8 and pixels.shape == (24, 32, 3)  # 128/4 x 96/4
        assert np.ptp(pixels.astype(int)) <= 4  # a flat grey frame stays flat
        shown.append(frame_index_shown(pixels))
    assert shown == [0, 11, 25]
    assert len(axes[3].images) == 0 and axes[3].texts[0].get_text() == "no frame"  # past the end
    # The video starts 1 s into the session: the span at 2.5 s shows file time 1.5 s.
    late = mismatch_thumbnails(video, spans.iloc[[0]], offset_s=1.0)
    assert frame_index_shown(late.axes[0].images[0].get_array()) == 15
    save_figure(fig, tmp_path / "thumbs.png")
    assert (tmp_path / "thumbs.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_thumbnails_wrap_rows_and_cap_the_count(tmp_path):
    video = make_clock_video(tmp_path / "clock.mp4")
    starts = np.arange(10) * 0.3
    spans = pd.DataFrame({"start_s": starts, "end_s": starts + 0.2})
    fig = mismatch_thumbnails(video, spans, columns=4, max_spans=7)
    assert len([ax for ax in fig.axes if ax.images]) == 7
    assert len(fig.axes) == 8  # two rows of four, the last one empty
    assert fig.get_suptitle().endswith("(first 7 of 10)")
    empty = mismatch_thumbnails(video, spans.iloc[:0])
    assert empty.axes[0].texts[0].get_text() == "no mismatch spans"
    with pytest.raises(ParameterError, match="'columns' parameter of mismatch_thumbnails"):
        mismatch_thumbnails(video, spans, columns=0)


def test_every_figure_renders_with_agg(tmp_path):
    sig = dyad(duration_s=60.0)
    a, b = sig["A", "head_motion"], sig["B", "head_motion"]
    xc = windowed_xcorr(a, b, RATE_HZ, window_s=20.0, step_s=5.0, max_lag_s=2.0)
    figs = [xcorr_heatmap(xc), lag_plot(xc), surrogate_distribution(0.5, [0.1, 0.2]),
            signals_with_mismatch(a, b, None, episodes=[("x", 0, 10)]),
            session_overview(sig)]
    for k, fig in enumerate(figs):
        assert isinstance(fig, Figure)
        save_figure(fig, tmp_path / f"f{k}.png")
        assert (tmp_path / f"f{k}.png").stat().st_size > 1000
    assert not math.isnan(float(np.nanmean(xc.to_numpy())))


def test_docstring_examples_run():
    result = doctest.testmod(figures_module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
