"""The session's ``report.html`` and a batch's ``index.html``: single offline files.

A report holds everything it shows: figures are PNGs embedded as base64 ``data:`` URIs,
the style sheet is inline, there is no JavaScript, and a Content-Security-Policy allows
nothing but inline styles and embedded images, so the page never loads a thing from
anywhere (infant recordings are sensitive data; reports get mailed and archived). Every
text that comes from data is HTML-escaped. The same Result gives the same bytes: nothing
about the run (time, host, paths) is written.

Lag sign convention everywhere: a positive lag means B follows A (A leads), as in
:func:`synchrony.windowed_xcorr`.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import numbers
import os
import re
from pathlib import Path, PurePosixPath
from urllib.parse import quote

import numpy as np
import pandas as pd

from synchrony.errors import InputFileError, ParameterError

__all__ = ["render_report", "write_report", "report_figures", "render_index", "write_index",
           "study_index_rows"]

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_DASH = "—"
# Captions by figure-name prefix (the names write_result gives the PNG files).
_CAPTIONS = {
    "overview": "All signals on one time axis, mismatch spans shaded",
    "heatmap": "Windowed cross-correlation: window start down, lag across; positive lag = B follows A",
    "lag": "Synchrony by lag, averaged over windows",
    "surrogates": "Observed synchrony against its surrogates",
    "signals": "Both signals over time, mismatch spans shaded",
    "thumbnails": "A video frame at the start of each mismatch span",
}
_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
_CSS = """
body{font-family:system-ui,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#1d2329;margin:0;
 background:#fff;line-height:1.4;font-size:15px}
main{max-width:1160px;margin:0 auto;padding:16px 20px 40px}
h1{font-size:1.6em;margin:.2em 0 .1em}h2{font-size:1.25em;margin:1.6em 0 .5em;border-bottom:1px solid #d5dae0;
 padding-bottom:.2em}h3{font-size:1.05em;margin:1.2em 0 .4em}
p.note{color:#4a5560;margin:.3em 0 .8em}
.cols{display:flex;flex-wrap:wrap;gap:28px}.cols>section{flex:1 1 340px;min-width:0}
.scroll{overflow-x:auto}
table{border-collapse:collapse;font-size:.9em;margin:.3em 0 .8em}
th,td{border-bottom:1px solid #e3e7eb;padding:4px 9px;text-align:left;vertical-align:top}
th{background:#f2f4f6;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
ul{margin:.3em 0 .8em;padding-left:1.3em}li{margin:.15em 0}tr.bad td{background:#fdf0ef}
figure{margin:0 0 18px}figure img{max-width:100%;height:auto;border:1px solid #e3e7eb}
figcaption{font-size:.85em;color:#4a5560}
.figs{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}.figs figure{flex:1 1 480px;min-width:0}
footer{margin-top:2.5em;font-size:.85em;color:#5b6670}
"""


# --- public -------------------------------------------------------------------------

def render_report(result, *, figures: dict | None = None, title: str | None = None) -> str:
    """One session's report as a single self-contained HTML page.

    Parameters
    ----------
    result : synchrony.pipeline.Result
        The analysis to report.
    figures : dict of str to (matplotlib.figure.Figure or bytes or path-like), optional
        Figures to embed, by name: a Figure (rendered to PNG at its own size and dpi),
        PNG bytes, or the path of a PNG file. Names as :func:`synchrony.pipeline.write_result`
        gives its files (``overview``, ``heatmap_<a>_vs_<b>``, ...; a ``.png`` suffix is
        ignored): ``overview*`` comes first, then each pair's figures (names ending in
        the pair, ``~`` written ``_vs_``) in the given order, then the rest. None: the
        figures of :func:`report_figures`.
    title : str, optional
        Page title; default ``"Synchrony report: <file>"``.

    Returns
    -------
    str
        The HTML document. It holds the session facts, data quality per person, the
        per-pair summary (mean peak r, median peak lag, leader, p, q, Cohen's d, mismatch
        and rupture-repair numbers), the mismatch spans with start and end as ``mm:ss.s``,
        episodes and turn-level entrainment when present, the figures, every setting and
        the synchrony version. Lags in seconds, positive = B follows A.

    Raises
    ------
    synchrony.errors.ParameterError
        ``result`` is not a Result, or a figure is not a Figure, PNG bytes or a path.
    synchrony.errors.InputFileError
        A figure path is missing or not a PNG file.

    Examples
    --------
    >>> from synchrony.config import AnalysisConfig
    >>> from synchrony.pipeline import analyze_signals
    >>> from synchrony.simulate import simulate_dyad
    >>> sim = simulate_dyad(duration_s=60, rate_hz=10, lag_s=0.5, seed=0)
    >>> result = analyze_signals(sim.signals, config=AnalysisConfig(pairs=(("x", "x"),), n_surrogates=19))
    >>> page = render_report(result, figures={})
    >>> page.startswith("<!DOCTYPE html>"), "x~x" in page
    (True, True)
    """
    func = "render_report"
    _check_result(result, func)
    if figures is None:
        figures = report_figures(result)
    if not isinstance(figures, dict):
        raise ParameterError.expected("figures", func, "a dict of name to Figure, PNG bytes or PNG path",
                                      type(figures).__name__)
    images = {_stem(name): _png_bytes(fig, name, func) for name, fig in figures.items()}
    summary = result.summary
    persons = list(summary.get("config", {}).get("persons") or _persons_of(result.signals))
    facts = summary.get("session") or {}
    if title is None:
        title = f"Synchrony report: {facts.get('file') or 'session'}"
    pairs = list(summary.get("pairs", {}))
    overview, by_pair, rest = _group_figures(images, pairs)
    a, b = (persons + ["A", "B"])[:2]
    convention = f"Lag sign: a positive lag means {b} follows {a} ({a} leads); a negative lag, {a} follows {b}."

    body = [f"<h1>{_e(title)}</h1>",
            f'<p class="note">{_e(convention)} Times are mm:ss.s on the session clock.</p>',
            '<div class="cols">',
            _section("Session", _kv_table("facts", _session_facts(facts, result, persons)), level=2),
            _section("Data quality", _quality_table(result, persons)
                     + '<p class="note">Share of frames (or samples) per person; missing data is never filled '
                     "in beyond the documented gap policy.</p>", level=2),
            "</div>",
            _section("Synchrony per pair", _pairs_table(summary, persons), level=2)]
    if overview:
        body.append(_figures_block(overview))
    body.append(_section("Mismatch spans", _mismatch_block(result.mismatch), level=2))
    if result.episodes is not None or summary.get("episodes"):
        body.append(_section("Episodes", _episodes_block(result.episodes, summary.get("episodes") or {}), level=2))
    if summary.get("entrainment"):
        body.append(_section("Turn-level prosodic entrainment", _entrainment_table(summary["entrainment"]),
                             level=2))
    if any(by_pair.values()):
        parts = [_section(pair, _figures_block(by_pair[pair]), level=3) for pair in pairs if by_pair[pair]]
        body.append(_section("Figures per pair", "".join(parts), level=2))
    if rest:
        body.append(_section("More figures", _figures_block(rest), level=2))
    body.append(_section("Settings", _kv_table("settings", sorted((summary.get("config") or {}).items())),
                         level=2))
    version = summary.get("synchrony_version") or _version()
    body.append(f"<footer>Analysed with synchrony {_e(version)}. {_e(summary.get('lag_sign_convention', ''))}"
                "</footer>")
    return _page(title, "\n".join(body))


def write_report(result, path, **kwargs) -> Path:
    """Write :func:`render_report` of ``result`` to ``path`` atomically (UTF-8).

    Parameters
    ----------
    result : synchrony.pipeline.Result
    path : path-like
        Usually ``<out_dir>/report.html``.
    **kwargs
        ``figures`` and ``title``, as for :func:`render_report`.

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> import tempfile
    >>> from synchrony.config import AnalysisConfig
    >>> from synchrony.pipeline import analyze_signals
    >>> from synchrony.simulate import simulate_dyad
    >>> sim = simulate_dyad(duration_s=60, rate_hz=10, seed=0)
    >>> result = analyze_signals(sim.signals, config=AnalysisConfig(pairs=(("x", "x"),), n_surrogates=19))
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     write_report(result, Path(folder) / "report.html", figures={}).name
    'report.html'
    """
    return _write_text(render_report(result, **kwargs), path)


def report_figures(result) -> dict:
    """The figures :func:`synchrony.pipeline.write_result` writes, as Figures by name.

    Parameters
    ----------
    result : synchrony.pipeline.Result

    Returns
    -------
    dict of str to matplotlib.figure.Figure
        ``overview``, then per pair ``heatmap_<stem>``, ``lag_<stem>``,
        ``surrogates_<stem>`` and ``signals_<stem>`` (``<stem>`` is the pair with ``~``
        written ``_vs_``). No video thumbnails: without a request no output holds a
        picture of anyone.
    """
    from synchrony.report.figures import (lag_plot, session_overview, signals_with_mismatch,
                                          surrogate_distribution, xcorr_heatmap)

    _check_result(result, "report_figures")
    persons = list(result.summary["config"]["persons"])
    out = {"overview": session_overview(result.signals, persons=persons, mismatch=result.mismatch,
                                        episodes=result.episodes, title="Session overview")}
    for pair, xc in result.xcorr_wide.items():
        feat_a, feat_b = pair.split("~")
        stem = pair.replace("~", "_vs_")
        test = result.summary["pairs"][pair]["test"]
        spans = result.mismatch[result.mismatch["features"] == pair]
        out[f"heatmap_{stem}"] = xcorr_heatmap(xc, title=f"{pair}: windowed cross-correlation")
        out[f"lag_{stem}"] = lag_plot(xc, labels=persons, title=f"{pair}: synchrony by lag")
        out[f"surrogates_{stem}"] = surrogate_distribution(
            test["observed"], result.surrogate_statistics[pair], p_value=test["p_value"],
            title=f"{pair}: observed vs surrogates")
        out[f"signals_{stem}"] = signals_with_mismatch(
            result.signals[persons[0], feat_a], result.signals[persons[1], feat_b], spans,
            episodes=result.episodes, labels=persons, title=f"{pair} with mismatch spans",
            ylabel=feat_a if feat_a == feat_b else "")
    return out


def render_index(rows: pd.DataFrame, *, title: str = "Synchrony study") -> str:
    """A batch's ``index.html``: one row per session, linking each session's report.

    Parameters
    ----------
    rows : pandas.DataFrame
        One row per session. Required columns: ``status`` and ``report`` (the session's
        ``report.html`` relative to the index, e.g. ``"s01/report.html"``; missing for a
        session without a report). ``session_id`` (else the index) names the session
        and links its report; ``reason`` is shown for failed sessions; every other
        column (headline numbers) is shown as it is, numbers rounded for reading.
        :func:`study_index_rows` builds such rows from a batch's tables.
    title : str

    Returns
    -------
    str
        The HTML document. Sessions whose status is not ``done`` or ``skipped`` are
        highlighted with their reason.

    Raises
    ------
    synchrony.errors.ParameterError
        ``rows`` is not a DataFrame with those columns, or a ``report`` is not a
        relative path.

    Examples
    --------
    >>> import pandas as pd
    >>> rows = pd.DataFrame({"session_id": ["s01", "s02"], "status": ["done", "failed"],
    ...                      "reason": [None, "no face found"], "report": ["s01/report.html", None]})
    >>> page = render_index(rows, title="Pilot")
    >>> '<a href="s01/report.html">s01</a>' in page, "no face found" in page
    (True, True)
    """
    func = "render_index"
    if not isinstance(rows, pd.DataFrame):
        raise ParameterError.expected("rows", func, "a pandas DataFrame", type(rows).__name__)
    missing = [c for c in ("status", "report") if c not in rows.columns]
    if missing:
        raise ParameterError.expected("rows", func, "a table with columns 'status' and 'report'",
                                      f"no column {missing[0]!r}")
    labels = rows["session_id"] if "session_id" in rows.columns else pd.Series(rows.index, index=rows.index)
    links = [_relative_link(r, func) for r in rows["report"]]
    shown = [c for c in ("status", "reason") if c in rows.columns]
    shown += [c for c in rows.columns if c not in ("session_id", "status", "reason", "report")]
    head = "".join(f"<th>{_e(c)}</th>" for c in ["session", *shown])
    body = []
    for (i, row), label, link in zip(rows.iterrows(), labels, links):
        name = _e(_text(label))
        first = f'<td><a href="{_e(link)}">{name}</a></td>' if link else f"<td>{name}</td>"
        cells = "".join(_cell(row[c]) for c in shown)
        opening = "<tr>" if row["status"] in ("done", "skipped") else '<tr class="bad">'
        body.append(f"{opening}{first}{cells}</tr>")
    counts = rows["status"].value_counts(sort=False)
    tally = ", ".join(f"{n} {_text(s)}" for s, n in counts.items())
    parts = [f"<h1>{_e(title)}</h1>",
             f'<p class="note">{len(rows)} session(s): {_e(tally)}. Each session links its report; lags in '
             "seconds, positive = the second person follows the first.</p>",
             f'<div class="scroll"><table id="sessions"><thead><tr>{head}</tr></thead><tbody>'
             + "".join(body) + "</tbody></table></div>",
             f"<footer>synchrony {_e(_version())}</footer>"]
    return _page(title, "\n".join(parts))


def write_index(rows: pd.DataFrame, path, *, title: str = "Synchrony study") -> Path:
    """Write :func:`render_index` of ``rows`` to ``path`` atomically (UTF-8).

    Examples
    --------
    >>> import tempfile, pandas as pd
    >>> rows = pd.DataFrame({"session_id": ["s01"], "status": ["done"], "report": ["s01/report.html"]})
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     write_index(rows, Path(folder) / "index.html").name
    'index.html'
    """
    return _write_text(render_index(rows, title=title), path)


def study_index_rows(sessions: pd.DataFrame, synchrony: pd.DataFrame | None = None, *,
                     report_name: str = "report.html",
                     measures=("mean_peak_r", "median_peak_lag_s", "q_value", "mismatch_share")) -> pd.DataFrame:
    """Rows for :func:`render_index` from a batch's ``sessions`` and ``synchrony`` tables.

    Parameters
    ----------
    sessions : pandas.DataFrame
        :attr:`synchrony.batch.BatchResult.sessions`: ``session_id``, ``status``,
        ``reason``, ``folder`` (relative to the batch folder) and optional facts
        (``duration_s``, ``face_share_a``, ``face_share_b``).
    synchrony : pandas.DataFrame, optional
        :attr:`synchrony.batch.BatchResult.synchrony`: one row per session and pair.
    report_name : str
        File name of a session's report inside its folder.
    measures : sequence of str
        Columns of ``synchrony`` shown per pair, as ``"<pair> <measure>"``.

    Returns
    -------
    pandas.DataFrame
        One row per session, in the order of ``sessions``: ``session_id``, ``status``,
        ``reason``, the facts present, the measures per pair, and ``report``
        (``<folder>/<report_name>`` for done and skipped sessions, else None).

    Examples
    --------
    >>> import pandas as pd
    >>> sessions = pd.DataFrame({"session_id": ["s1"], "status": ["done"], "reason": [None], "folder": ["s1"]})
    >>> sync = pd.DataFrame({"session_id": ["s1"], "pair": ["x~x"], "mean_peak_r": [0.8]})
    >>> study_index_rows(sessions, sync, measures=("mean_peak_r",)).iloc[0].to_dict()
    {'session_id': 's1', 'status': 'done', 'reason': None, 'x~x mean_peak_r': 0.8, 'report': 's1/report.html'}
    """
    func = "study_index_rows"
    if not isinstance(sessions, pd.DataFrame) or not {"session_id", "status", "folder"} <= set(sessions.columns):
        raise ParameterError.expected("sessions", func, "a table with columns session_id, status and folder",
                                      type(sessions).__name__ if not isinstance(sessions, pd.DataFrame)
                                      else sorted(map(str, sessions.columns)))
    keep = [c for c in ("session_id", "status", "reason", "duration_s", "face_share_a", "face_share_b")
            if c in sessions.columns]
    out = sessions[keep].reset_index(drop=True).astype(object)
    out = out.where(pd.notna(out), None)
    if synchrony is not None and len(synchrony) and "pair" in synchrony.columns:
        for pair in pd.unique(synchrony["pair"]):
            of_pair = synchrony[synchrony["pair"] == pair].drop_duplicates("session_id").set_index("session_id")
            for m in measures:
                if m in of_pair.columns:
                    out[f"{pair} {m}"] = out["session_id"].map(of_pair[m]).to_numpy()
    done = sessions["status"].isin(("done", "skipped")).to_numpy()
    out["report"] = pd.Series([str(PurePosixPath(str(f)) / report_name) if ok else None
                               for f, ok in zip(sessions["folder"], done)], dtype=object)
    return out


# --- report sections ----------------------------------------------------------------

def _session_facts(facts: dict, result, persons) -> list:
    signals = result.signals
    rate = (result.summary.get("config") or {}).get("rate_hz")
    items = []
    if facts.get("files") or facts.get("file"):
        items.append(("files", ", ".join(facts.get("files") or [facts["file"]])))
    if facts.get("layout"):
        items.append(("layout", facts["layout"]))
    named = len(persons) == 2 and list(persons) != ["A", "B"]
    items.append(("persons", f"{persons[0]} (A), {persons[1]} (B)" if named else ", ".join(persons)))
    if facts.get("duration_s") is not None:
        items.append(("recording duration", f"{_clock(facts['duration_s'])} ({facts['duration_s']:.2f} s)"))
    if len(signals) and rate:
        items.append(("signals", f"{len(signals)} samples at {rate:g} Hz, "
                                 f"{_clock(float(signals.index[0]))} to {_clock(float(signals.index[-1]))}"))
    if facts.get("video_fps_average"):
        items.append(("video frame rate", f"{facts['video_fps_average']:.3f} frames/s on average"))
    if facts.get("offsets_s") is not None:
        items.append(("start offsets", ", ".join(f"{o:+.3f} s" for o in facts["offsets_s"])))
    estimate = facts.get("offset_estimate")
    if estimate:
        items.append(("offset estimate", f"{_fmt(estimate.get('offset_s'), '+.3f', ' s')} from the audio, "
                                         f"confidence {_fmt(estimate.get('confidence'), '.1f')} "
                                         f"({'reliable' if estimate.get('reliable') else 'LOW: check it'})"))
    if facts.get("audio"):
        items.append(("audio", facts["audio"]))
    known = {"file", "files", "layout", "persons", "duration_s", "video_fps_average", "offsets_s",
             "offset_estimate", "audio", "face_detected_share"}
    items += [(k, v) for k, v in sorted(facts.items()) if k not in known]
    return items


def _quality_table(result, persons) -> str:
    signals = result.signals
    shares = (result.summary.get("session") or {}).get("face_detected_share") or {}
    rows = []

    def share_of(feature):
        return [float(signals[p, feature].mean()) if (p, feature) in signals.columns else None for p in persons]

    faces = [shares.get(p) for p in persons]
    if all(v is None for v in faces):
        faces = share_of("face_detected")
    for label, values in (("frames with a face", faces), ("voiced frames", share_of("voiced")),
                          ("voice-active frames", share_of("voice_active"))):
        if any(v is not None for v in values):
            rows.append((label, values))
    used = {}
    for pair in (result.summary.get("pairs") or {}):
        for person, feature in zip(persons, pair.split("~")):
            used.setdefault(feature, set()).add(person)
    for feature in used:
        rows.append((f"samples with a value: {feature}",
                     [float(signals[p, feature].notna().mean()) if p in used[feature] and (p, feature) in signals
                      else None for p in persons]))
    head = "<th></th>" + "".join(f"<th>{_e(p)}</th>" for p in persons)
    body = "".join(f"<tr><th>{_e(label)}</th>" + "".join(_num_cell(v, ".1%") for v in values) + "</tr>"
                   for label, values in rows)
    return f'<table id="quality"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _pairs_table(summary, persons) -> str:
    head = ["pair", "mean peak r", "median peak lag (s)", "leader", "p", "q",
            "Cohen's d", "mismatch share", "chance share", "ruptures", "repaired", "median repair time (s)"]
    body, statements = [], []
    for pair, s in (summary.get("pairs") or {}).items():
        test = s.get("test") or {}
        statement = (s.get("leader_follower") or {}).get("statement")
        if statement:
            statements.append(f"<li><strong>{_e(pair)}</strong>: {_e(statement)}</li>")
        body.append("<tr>" + f"<td>{_e(pair)}</td>" + "".join([
            _num_cell(s.get("mean_peak_r"), ".2f"), _num_cell(s.get("median_peak_lag_s"), "+.2f"),
            f"<td>{_e(s.get('leader') or 'none clear')}</td>",
            _num_cell(test.get("p_value"), ".3g"), _num_cell(test.get("q_value"), ".3g"),
            _num_cell(test.get("cohens_d"), ".2f"), _num_cell(s.get("mismatch_share"), ".0%"),
            _num_cell(s.get("chance_share"), ".0%"), _num_cell(s.get("n_ruptures"), "d"),
            _num_cell(s.get("share_repaired"), ".0%"), _num_cell(s.get("median_repair_time_s"), ".1f")]) + "</tr>")
    if not body:
        return '<p class="note">No pair could be analysed (no window with enough data).</p>'
    n = (summary.get("config") or {}).get("n_surrogates")
    method = (summary.get("config") or {}).get("surrogate_method", "")
    note = (f'<p class="note">Peak r per window averaged over windows; p from {n} {_e(method)} surrogates '
            "(the share at least as high, counting the observed), q the Benjamini-Hochberg FDR across the "
            "pairs; d = (observed - surrogate mean) / surrogate SD. Mismatch share: time in mismatch spans; "
            "chance share: windows at chance while someone was active. Repaired: share of ruptures after which "
            "synchrony returned.</p>")
    leaders = ('<h3>Who leads</h3><p class="note">Block bootstrap over windows; a leader is named only when '
               "both intervals exclude 0 on the same side.</p>"
               f'<ul id="leaders">{"".join(statements)}</ul>') if statements else ""
    return _table("pairs", head, body) + note + leaders


def _mismatch_block(mismatch: pd.DataFrame) -> str:
    if mismatch is None or not len(mismatch):
        return '<p class="note">No mismatch span was found.</p>'
    has_episode = "episode" in mismatch.columns
    head = ["pair", "start", "end", "duration (s)", "kind", "active (bid)", "not following", "strength", "p",
            "rupture", "repaired", "repair time (s)"] + (["episode"] if has_episode else [])
    body = []
    for _, span in mismatch.iterrows():
        cells = [f"<td>{_e(_text(span.get('features')))}</td>", _td(_clock(span["start_s"])),
                 _td(_clock(span["end_s"])),
                 _num_cell(span.get("duration_s"), ".2f"), f"<td>{_e(_text(span.get('kind')))}</td>",
                 f"<td>{_e(_text(span.get('active')))}</td>", f"<td>{_e(_text(span.get('not_following')))}</td>",
                 _num_cell(span.get("strength"), ".2f"), _num_cell(span.get("p_value"), ".3g"),
                 _td(_yes(span.get("rupture"))), _td(_yes(span.get("repaired"))),
                 _num_cell(span.get("repair_time_s"), ".1f")]
        if has_episode:
            cells.append(f"<td>{_e(_text(span['episode']))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    note = ('<p class="note">Spans where the pair\'s synchrony fell to chance (or below it, kind "negative") while '
            "someone was active. p: how unusual so low a stretch is elsewhere in the session (no p for a span "
            "covering most of it). Repair time runs from the span's start to the return of synchrony.</p>")
    return _table("mismatch", head, body) + note


def _episodes_block(episodes, summary_episodes) -> str:
    out = []
    table = episodes if episodes is not None else pd.DataFrame(summary_episodes.get("table") or [])
    if len(table):
        body = ["<tr>" + f"<td>{_e(_text(ep['episode']))}</td>" + _td(_clock(ep["start_s"])) + _td(_clock(ep["end_s"]))
                + _num_cell(ep["end_s"] - ep["start_s"], ".1f") + "</tr>" for _, ep in table.iterrows()]
        out.append(_table("episodes", ["episode", "start", "end", "duration (s)"], body))
    body = []
    for pair, rows in (summary_episodes.get("pairs") or {}).items():
        for row in rows:
            body.append("<tr>" + f"<td>{_e(pair)}</td><td>{_e(_text(row.get('episode')))}</td>" + "".join([
                _num_cell(row.get("peak_r_count"), "d"), _num_cell(row.get("peak_r_mean"), ".2f"),
                _num_cell(row.get("peak_lag_s_median"), "+.2f"), _num_cell(row.get("mismatch_s"), ".1f"),
                _num_cell(row.get("n_ruptures"), "d"), _num_cell(row.get("n_repaired"), "d")]) + "</tr>")
    if body:
        out.append("<h3>Synchrony per episode</h3>" + _table(
            "episode-summary", ["pair", "episode", "windows", "mean peak r", "median peak lag (s)",
                                "time in mismatch (s)", "ruptures", "repaired"], body))
    return "".join(out)


def _entrainment_table(rows) -> str:
    body = ["<tr>" + "".join([f"<td>{_e(_text(r.get('feature')))}</td>", f"<td>{_e(_text(r.get('measure')))}</td>",
                              f"<td>{_e(_text(r.get('direction')))}</td>", _num_cell(r.get("value"), ".3f"),
                              _num_cell(r.get("surrogate_mean"), ".3f"), _num_cell(r.get("p_value"), ".3g"),
                              _num_cell(r.get("n_pairs"), "d")]) + "</tr>" for r in rows]
    note = ('<p class="note">Levitan &amp; Hirschberg (2011) proximity, convergence and synchrony of adjacent '
            "turns' prosody, against shuffled turn pairs.</p>")
    return _table("entrainment", ["feature", "measure", "direction", "value", "surrogate mean", "p", "turn pairs"],
                  body) + note


# --- figures ------------------------------------------------------------------------

def _png_bytes(fig, name, func) -> bytes:
    if hasattr(fig, "savefig"):
        buffer = io.BytesIO()
        # No Software/date chunks: the same figure gives the same bytes.
        fig.savefig(buffer, format="png", metadata={"Software": None})
        return buffer.getvalue()
    if isinstance(fig, (bytes, bytearray)):
        if not bytes(fig[:8]) == _PNG_SIGNATURE:
            raise ParameterError.expected("figures", func, "PNG bytes for each bytes value",
                                          f"{name!r}: bytes without the PNG signature")
        return bytes(fig)
    if isinstance(fig, (str, os.PathLike)):
        try:
            data = Path(fig).read_bytes()
        except FileNotFoundError:
            raise InputFileError(fig, "file not found") from None
        except OSError as exc:
            raise InputFileError(fig, f"cannot be read ({exc.strerror or exc})") from None
        if data[:8] != _PNG_SIGNATURE:
            raise InputFileError(fig, "is not a PNG image")
        return data
    raise ParameterError.expected("figures", func, "a dict of name to Figure, PNG bytes or PNG path",
                                  f"{name!r}: {type(fig).__name__}")


def _stem(name) -> str:
    name = str(name)
    return name[:-4] if name.lower().endswith(".png") else name


def _group_figures(images: dict, pairs: list):
    stems = {pair: pair.replace("~", "_vs_") for pair in pairs}
    overview, rest = [], []
    by_pair = {pair: [] for pair in pairs}
    for name, png in images.items():
        if name.startswith("overview"):
            overview.append((name, png, None))
            continue
        # Longest match wins: "heatmap_x_a_vs_b" belongs to x_a~b, not to a~b.
        matches = [p for p, s in stems.items() if name == s or name.endswith("_" + s)]
        if matches:
            pair = max(matches, key=lambda p: len(stems[p]))
            by_pair[pair].append((name, png, pair))
        else:
            rest.append((name, png, None))
    return overview, by_pair, rest


def _figures_block(items) -> str:
    out = []
    for name, png, pair in items:
        width, height = _png_size(png)
        kind = name.split("_", 1)[0]
        caption = _CAPTIONS.get(kind, name)
        alt = f"{caption} ({pair})" if pair else caption
        uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        wide = ' style="flex-basis:100%"' if kind in ("overview", "signals", "thumbnails") else ""
        out.append(f'<figure id="fig-{_e(name)}"{wide}><img src="{uri}" width="{width}" height="{height}" '
                   f'alt="{_e(alt)}"><figcaption>{_e(caption)}</figcaption></figure>')
    return '<div class="figs">' + "".join(out) + "</div>"


def _png_size(png: bytes):
    # IHDR is always the first chunk: width and height are big-endian at bytes 16-23.
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


# --- small helpers ------------------------------------------------------------------

def _page(title: str, body: str) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n<main>\n{body}\n</main>\n"
            "</body>\n</html>\n")


def _section(heading: str, content: str, *, level: int) -> str:
    return f"<section><h{level}>{_e(heading)}</h{level}>{content}</section>"


def _table(table_id: str, head, body_rows) -> str:
    head_html = "".join(f"<th>{_e(h)}</th>" for h in head)
    return (f'<div class="scroll"><table id="{table_id}"><thead><tr>{head_html}</tr></thead><tbody>'
            + "".join(body_rows) + "</tbody></table></div>")


def _kv_table(table_id: str, items) -> str:
    body = "".join(f"<tr><th>{_e(k)}</th><td>{_e(_text(v))}</td></tr>" for k, v in items)
    return f'<table id="{table_id}"><tbody>{body}</tbody></table>'


def _cell(value) -> str:
    if _is_number(value):
        return _num_cell(value, None)
    return f"<td>{_e(_text(value))}</td>"


def _num_cell(value, spec) -> str:
    return f'<td class="num">{_e(_fmt(value, spec))}</td>'


def _td(text) -> str:
    return f'<td class="num">{_e(text)}</td>'


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _missing(value) -> bool:
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _fmt(value, spec, suffix: str = "") -> str:
    if _missing(value):
        return _DASH
    if spec is None:  # a number of unknown meaning: integers as such, else 3 significant digits
        if float(value).is_integer() and abs(value) < 1e15:
            return f"{int(value)}{suffix}"
        spec = ".2f" if abs(value) >= 1 else ".3g"
    if spec == "d":
        return f"{int(value)}{suffix}"
    return f"{format(float(value), spec)}{suffix}"


def _text(value) -> str:
    if _missing(value):
        return _DASH
    if isinstance(value, (bool, np.bool_)):
        return _yes(value)
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, sort_keys=True)
    if _is_number(value):
        return _fmt(value, None)
    return str(value)


def _yes(value) -> str:
    if _missing(value):
        return _DASH
    return "yes" if bool(value) else "no"


def _clock(t_s) -> str:
    """Seconds as mm:ss.s (minutes may exceed 59), rounded half up to a tenth."""
    if _missing(t_s):
        return _DASH
    # round() first so 65.05 (stored as 65.04999...) shows as 01:05.1, as written.
    tenths = math.floor(round(abs(float(t_s)) * 10, 6) + 0.5)
    minutes, rest = divmod(tenths, 600)
    return f"{'-' if t_s < 0 and tenths else ''}{minutes:02d}:{rest // 10:02d}.{rest % 10}"


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _relative_link(report, func):
    if _missing(report) or report == "":
        return None
    text = str(report)
    # A scheme (http:, file:, C:) or a leading slash would make the index depend on
    # where it is opened, or reach outside the batch folder.
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", text) or text.startswith(("/", "\\")):
        raise ParameterError.expected("rows", func, "relative paths in column 'report'", text)
    return quote(text.replace("\\", "/"), safe="/")


def _persons_of(signals) -> list:
    return [p for p in dict.fromkeys(signals.columns.get_level_values(0)) if p != "dyad"]


def _check_result(result, func):
    from synchrony.pipeline import Result

    if not isinstance(result, Result):
        raise ParameterError.expected("result", func, "a synchrony.pipeline.Result", type(result).__name__)


def _version() -> str:
    from synchrony import __version__

    return __version__


def _write_text(text: str, path) -> Path:
    from synchrony.formats import atomic_path

    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
    return Path(path)
