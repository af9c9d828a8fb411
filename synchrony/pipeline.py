"""analyze(): a recorded session in, synchrony tables, figures and a summary out.

The stages run in one direction: media -> extractors -> Signals -> analysis -> files.
:func:`analyze_signals` is the analysis half on its own, for any per-person series.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from synchrony import __version__
from synchrony.analysis.mismatch import MISMATCH_COLUMNS
from synchrony.config import DEFAULT_PAIRS, AnalysisConfig
from synchrony.errors import InputFileError, MediaError, SynchronyError
from synchrony.formats import json_ready
from synchrony.signals import build_signals, to_flat

__all__ = ["Result", "analyze", "analyze_signals", "write_result"]

log = logging.getLogger("synchrony")

SIGN_CONVENTION = "positive lag = B follows A (A leads); negative lag = A follows B"

STATS_COLUMNS = ["pair", "statistic", "method", "observed", "surrogate_mean", "surrogate_sd",
                 "cohens_d", "p_value", "n_surrogates"]
WINDOW_COLUMNS = ["pair", "window_start_s", "window_end_s", "peak_r", "peak_lag_s", "trough_r", "r_lag0",
                  "threshold_r", "mean_all_lags_z", "mean_a_leads_z", "mean_b_leads_z"]


@dataclass
class Result:
    """Everything one analysis produced, as plain tables.

    Attributes
    ----------
    signals : pandas.DataFrame
        Signals on the common clock: index ``time_s``, columns ``(person, feature)``.
    xcorr : pandas.DataFrame
        Long form: ``pair, window_start_s, window_end_s, lag_s, r``.
    windows : pandas.DataFrame
        Per pair and window: ``pair, window_start_s, window_end_s, peak_r, peak_lag_s,
        trough_r`` (lowest r over the lags), ``r_lag0``, ``threshold_r`` (the window's
        chance level), rMEA's window aggregates of Fisher z ``mean_all_lags_z``,
        ``mean_a_leads_z`` (lags > 0) and ``mean_b_leads_z`` (lags < 0), and
        ``active_<person>`` (see
        :func:`synchrony.analysis.mismatch.window_activity`); plus ``episode`` when
        episodes were given.
    mismatch : pandas.DataFrame
        One row per mismatch span (see
        :func:`synchrony.analysis.mismatch.mismatch_spans`).
    summary : dict
        JSON-ready: session facts, settings and per-pair headline numbers.
    stats : pandas.DataFrame
        Per pair: the surrogate test of the mean peak synchrony (observed Fisher z,
        surrogate mean and SD, Cohen's d, p-value) and ``q_value``, the
        Benjamini-Hochberg FDR across the session's pairs.
    xcorr_wide : dict of str to pandas.DataFrame
        Per pair, the windows x lags table of :func:`synchrony.windowed_xcorr` (r).
    surrogate_statistics : dict of str to numpy.ndarray
        Per pair, the mean peak Fisher z of each surrogate pair (the test's null).
    episodes : pandas.DataFrame or None
        The session's episodes (``episode, start_s, end_s``), if any.
    media : tuple of (path, offset_s)
        The recordings and where each starts on the session clock (linked from the
        ELAN export; the first video gives the thumbnails).
    turns, turn_taking : pandas.DataFrame or None
        With per-person voice: each turn with its prosody
        (:func:`synchrony.analysis.turns.turn_features`) and the turn-taking events
        (:func:`synchrony.analysis.turns.turn_taking`; ``gap_s`` < 0 for overlap).
    """

    signals: pd.DataFrame
    xcorr: pd.DataFrame
    windows: pd.DataFrame
    mismatch: pd.DataFrame
    summary: dict
    stats: pd.DataFrame | None = None
    xcorr_wide: dict = field(default_factory=dict)
    surrogate_statistics: dict = field(default_factory=dict)
    episodes: pd.DataFrame | None = None
    media: tuple = ()
    turns: pd.DataFrame | None = None
    turn_taking: pd.DataFrame | None = None


def analyze(source, *, layout: str | None = None, config: AnalysisConfig | None = None,
            out_dir=None, episodes=None, thumbnails: bool = False, annotated_video: bool = False,
            progress: bool = False) -> Result:
    """Analyse one recorded session: extract signals, correlate, find mismatch spans.

    Parameters
    ----------
    source : path-like or synchrony.session.Session
        A video (read with ``layout``, person labels from ``config.persons``) or a
        Session naming the recordings, their layout, person labels and offsets.
    layout : {"split", "shared-frame"}, optional
        For a path: ``"split"`` (default; person A in the left half, B in the right) or
        ``"shared-frame"`` (both in one picture). Two-files and audio-only sessions
        need a Session.
    config : AnalysisConfig, optional
        Settings; defaults documented in :class:`synchrony.config.AnalysisConfig`.
        Its ``persons`` are replaced by the Session's.
    out_dir : path-like, optional
        If given, every table, ``summary.json``, the figures and a TextGrid are written
        there, and the extracted tracks are kept in ``out_dir/.synchrony-cache``: a
        re-run with the same recordings and extraction settings reuses them.
    episodes : optional
        Named time spans of the session (e.g. play, still-face, reunion) on the
        session clock; see :func:`analyze_signals`.
    thumbnails : bool, default False
        Also write ``thumbnails.png``, a frame of the video at the start of each mismatch
        span. Off by default: without it no output holds a picture of anyone.
    annotated_video : bool, default False
        Also write ``annotated.mp4`` (one per video, ``annotated_<person>.mp4``, for
        two-files): the video with each person's face landmarks, gaze arrows and the
        first pair's running synchrony (red in mismatch spans); same frames, timestamps
        and audio as the source (:func:`synchrony.report.video.write_annotated_video`).
        Off by default, like ``thumbnails``.
    progress : bool
        Show progress bars (the CLI turns them on).

    Returns
    -------
    Result

    Raises
    ------
    synchrony.InputFileError, synchrony.MediaError, synchrony.NoFaceError
        One-line errors naming the file and the problem.
    """
    from synchrony.extract.face import FACE_EXTRACTOR_VERSION
    from synchrony.extract.layouts import face_tracks, voice_tracks_for
    from synchrony.media import probe
    from synchrony.session import Session

    config = config or AnalysisConfig()
    if isinstance(source, Session):
        session = source
    else:
        session = Session.from_video(source, layout=layout or "split", persons=config.persons)
    config = dataclasses.replace(config, persons=session.persons)
    first_file = (session.videos or session.audio)[0]
    info = probe(first_file)
    offsets, offset_facts = _offsets(session)
    cache = Path(out_dir) / ".synchrony-cache" if out_dir is not None else None
    face_settings = {"layout": session.layout, "persons": list(session.persons), "split": session.split,
                     "regions_px": session.regions_px and [list(r) for r in session.regions_px],
                     "offsets_s": offsets, "face_extractor": FACE_EXTRACTOR_VERSION,
                     "video_rate_hz": config.video_rate_hz, "face_backend": config.face_backend}
    faces = {}
    if session.videos:
        faces = _stage("faces", session.videos, face_settings, cache,
                       lambda: face_tracks(session, offsets_s=offsets, rate_hz=config.video_rate_hz,
                                           backend=config.face_backend, progress=progress))
    # The voice key holds the face settings too: a mixed track is attributed to
    # speakers from the face tracks' mouth movement.
    voices = _stage("voice", session.audio or session.videos, {**face_settings, "audio": bool(session.audio)},
                    cache, lambda: voice_tracks_for(session, offsets_s=offsets, faces=faces))

    if not faces and not voices:
        raise MediaError(first_file, "no audio to analyse in an audio-only session")
    end_s = max(float(t.index.max()) for t in (faces or voices).values() if len(t))
    clock = dict(rate_hz=config.rate_hz, max_gap_s=config.max_gap_s, start_s=0.0, end_s=end_s)
    signals = pd.concat([build_signals(tracks, **clock) for tracks in (faces, voices) if tracks], axis=1)
    a, b = session.persons
    if (a, "looking_at_partner") in signals and (b, "looking_at_partner") in signals:
        from synchrony.extract.gaze import mutual_gaze

        signals["dyad", "mutual_gaze"] = mutual_gaze(signals[a, "looking_at_partner"],
                                                     signals[b, "looking_at_partner"])
    # Circular-shift surrogates must move B further than one window plus both lags in
    # either direction, so a session must be longer than twice that.
    needed_s = 2 * (config.window_s + 2 * config.max_lag_s)
    if len(signals) / config.rate_hz <= needed_s:
        raise MediaError(first_file, f"too short to analyse: {len(signals) / config.rate_hz:.1f} s "
                                            f"of signal, the window and lag settings need more than {needed_s:g} s")

    per_person_voice = [p for p in session.persons if p in voices]
    facts = {
        "file": Path(first_file).name,
        "files": [Path(v).name for v in session.videos + (session.audio or ())],
        "layout": session.layout,
        "persons": list(session.persons),
        "duration_s": info.duration_s,
        "video_fps_average": info.video.average_fps if info.video else None,
        "offsets_s": offsets,
        **offset_facts,
        "audio": ("mixed (speaker attributed by mouth movement)" if "mixed" in voices and faces
                  else "mixed (no speaker attribution without video)" if "mixed" in voices
                  else "per-person channels" if per_person_voice else "none"),
        "face_detected_share": {p: float(t["face_detected"].mean()) for p, t in faces.items()},
    }
    result = analyze_signals(signals, config=config, session=facts, episodes=episodes)
    result.media = tuple(zip(session.videos, offsets)) + tuple((path, 0.0) for path in session.audio or ())
    if len(per_person_voice) == 2:
        result.turns, result.turn_taking, entrain = _turn_analysis(voices, session.persons, config)
        result.summary["entrainment"] = json_ready(entrain.to_dict(orient="records"))
    if out_dir is not None:
        write_result(result, out_dir, thumbnails=thumbnails, annotated_video=annotated_video, session=session,
                     progress=progress)
    return result


def _offsets(session):
    """Offsets of the session's videos, estimated from their audio when asked for."""
    if not session.estimate_offsets:
        offsets = list(session.offsets_s or ()) + [0.0] * (len(session.videos) - len(session.offsets_s or ()))
        return [float(o) for o in offsets], {}
    from synchrony.extract.align import estimate_offset_s
    from synchrony.media import read_audio

    a, b = (read_audio(v, sr_hz=16000, mono=True) for v in session.videos)
    estimate = estimate_offset_s(a, b)
    if not estimate.reliable:
        log.warning("%s: the audio offset estimate (%.3f s) has low confidence (%.1f); check it "
                    "or give the offset", session.videos[1], estimate.offset_s, estimate.confidence)
    return [0.0, float(estimate.offset_s)], {"offset_estimate": {
        "offset_s": estimate.offset_s, "confidence": estimate.confidence, "reliable": estimate.reliable}}


def _stage(name, inputs, settings, cache, compute):
    """Run a stage, or reuse its tracks from ``cache`` when inputs and settings match."""
    if cache is None:
        return compute()
    from synchrony.cache import load_tracks, save_tracks, stage_key

    key = stage_key(name, inputs, settings)
    tracks = load_tracks(cache / name, key)
    if tracks is None:
        tracks = compute()
        save_tracks(cache / name, key, tracks)
    return tracks


def _turn_analysis(voices, persons, config):
    """Turns, turn-taking and turn-level entrainment from per-person voice tracks."""
    from synchrony.analysis.turns import entrainment, find_turns, turn_features, turn_taking

    # One 100 Hz clock for both persons (their tracks may come from files that started
    # at different times); nothing interpolated.
    # Speakers attributed in one mixed track have no level of their own: their turns
    # are measured on the mixed track's, which within a person's own turn is theirs.
    level = {p: voices["mixed"]["intensity_db"] if "mixed" in voices else voices[p]["intensity_db"]
             for p in persons}
    grid = build_signals({p: voices[p][["voice_active", "f0_hz"]].assign(intensity_db=level[p])
                          for p in persons}, rate_hz=100.0, max_gap_s=0.0)
    turns = find_turns({p: grid[p, "voice_active"] >= 0.5 for p in persons})
    taking = turn_taking(turns)
    features = turn_features(turns, {p: grid[p, "f0_hz"] for p in persons},
                             {p: grid[p, "intensity_db"] for p in persons})
    entrain = entrainment(features, taking=taking, n_surrogates=config.n_surrogates, seed=config.seed)
    return features, taking, entrain


def analyze_signals(signals: pd.DataFrame, *, config: AnalysisConfig | None = None,
                    session: dict | None = None, episodes=None) -> Result:
    """Windowed lagged cross-correlation, surrogate tests and mismatch spans of Signals.

    Parameters
    ----------
    signals : pandas.DataFrame
        Index ``time_s`` (uniform at ``config.rate_hz``), columns ``(person, feature)``.
    config : AnalysisConfig, optional
    session : dict, optional
        Facts about the session copied into the summary.
    episodes : optional
        Named time spans (anything :func:`synchrony.episodes.episodes_table` reads:
        a table, ``[(name, start_s, end_s), ...]``, a CSV, an ELAN or TextGrid file);
        windows and mismatch spans are then labelled and summarised by episode.

    Returns
    -------
    Result
    """
    from synchrony.analysis.pair import analyze_pair
    from synchrony.analysis.preprocess import preprocess
    from synchrony.analysis.stats import fdr_bh

    config = config or AnalysisConfig()
    person_a, person_b = config.persons
    episodes = _episodes(episodes)
    pairs = [(fa, fb) for fa, fb in config.pairs if (person_a, fa) in signals and (person_b, fb) in signals]
    skipped = []  # why each pair asked for was not analysed, for the error if none was
    for fa, fb in config.pairs:
        if (fa, fb) not in pairs:
            missing = [f"{p}.{f}" for p, f in ((person_a, fa), (person_b, fb)) if (p, f) not in signals]
            skipped.append(f"{fa}~{fb}: {' and '.join(missing)} missing")
            # Default pairs are skipped quietly when a session lacks a modality; pairs the
            # user chose are not.
            log.log(logging.INFO if config.pairs == DEFAULT_PAIRS else logging.WARNING,
                    "pair %s skipped: %s", *skipped[-1].split(": ", 1))
    used = sorted({(person_a, fa) for fa, _ in pairs} | {(person_b, fb) for _, fb in pairs})
    if config.smooth_s or config.detrend or config.zscore or config.outlier_sd:
        signals = preprocess(signals, rate_hz=config.rate_hz, smooth_s=config.smooth_s, detrend=config.detrend,
                             zscore=config.zscore, outlier_sd=config.outlier_sd, columns=used)
    done = {}
    for feat_a, feat_b in pairs:
        label = f"{feat_a}~{feat_b}"
        out = analyze_pair(signals[person_a, feat_a], signals[person_b, feat_b], config=config, label=label,
                           matching=(feat_a, feat_b) in config.matching_pairs)
        if out is None:
            why = [f"column '{p}.{f}' " + ("has no values" if x.isna().all() else "is constant")
                   for p, f in ((person_a, feat_a), (person_b, feat_b))
                   for x in [signals[p, f]] if x.isna().all() or x.nunique() == 1]
            skipped.append(f"{label}: " + (", ".join(why) or "no window with enough data"))
            log.warning("pair %s skipped: %s", *skipped[-1].split(": ", 1))
        else:
            done[label] = out
    if not done:
        problem = "no feature pair could be analysed (" + "; ".join(skipped or ["no pairs asked for"]) + ")"
        files = (session or {}).get("files") or []
        raise InputFileError(files[0], problem) if files else SynchronyError(problem)

    xcorr = _concat([d["long"] for d in done.values()], ["pair", "window_start_s", "window_end_s", "lag_s", "r"])
    windows = _concat([d["windows"] for d in done.values()], WINDOW_COLUMNS)
    mismatch = _concat([d["mismatch"] for d in done.values()], MISMATCH_COLUMNS)
    stats = pd.DataFrame([{"pair": label, "statistic": "mean_peak_z", "method": config.surrogate_method,
                           **d["test"]} for label, d in done.items()], columns=STATS_COLUMNS)
    stats["q_value"] = fdr_bh(stats["p_value"].to_numpy(dtype=float))
    pair_summary = {label: d["summary"] for label, d in done.items()}
    for row in stats.itertuples():
        pair_summary[row.pair]["test"]["q_value"] = row.q_value
    summary = {
        "synchrony_version": __version__,
        "session": session or {},
        "config": config.to_dict(),
        "lag_sign_convention": SIGN_CONVENTION,
        "pairs": pair_summary,
    }
    if episodes is not None:
        windows, mismatch, summary["episodes"] = _by_episode(windows, mismatch, episodes, config)
    return Result(signals=signals, xcorr=xcorr, windows=windows, mismatch=mismatch, stats=stats,
                  summary=json_ready(summary), xcorr_wide={label: d["xcorr"] for label, d in done.items()},
                  surrogate_statistics={label: d["null_statistic"] for label, d in done.items()},
                  episodes=episodes)


def _episodes(spec):
    if spec is None:
        return None
    from synchrony.episodes import episodes_table

    return episodes_table(spec)


def _by_episode(windows, mismatch, episodes, config):
    """Label windows (by centre) and spans (cut at boundaries) with their episode.

    Per pair and episode: window synchrony, seconds in mismatch, and the ruptures that
    began in the episode (a rupture crossing a boundary counts once, where it began).
    """
    from synchrony.episodes import episode_of, split_by_episode, summarise_by_episode

    began = episode_of(mismatch["start_s"].to_numpy(dtype=float), episodes)
    windows = split_by_episode(windows, episodes, how="centre")
    pieces = split_by_episode(mismatch, episodes, how="split")
    per_episode = {}
    for pair, group in windows.groupby("pair", sort=False):
        table = summarise_by_episode(group.drop(columns="episode"), episodes,
                                     columns=["peak_r", "peak_lag_s"], stats=("mean", "median", "count"))
        of_pair = (mismatch["features"] == pair).to_numpy()
        ruptures = of_pair & mismatch["rupture"].to_numpy(dtype=bool)
        repaired = ruptures & mismatch["repaired"].to_numpy(dtype=bool)
        spans = pieces[pieces["features"] == pair]
        whole = table.index == "all"
        table["mismatch_s"] = np.where(whole, spans["duration_s"].sum(),
                                       [spans.loc[spans["episode"] == e, "duration_s"].sum() for e in table.index])
        table["n_ruptures"] = np.where(whole, ruptures.sum(), [(ruptures & (began == e)).sum() for e in table.index])
        table["n_repaired"] = np.where(whole, repaired.sum(), [(repaired & (began == e)).sum() for e in table.index])
        per_episode[pair] = table.reset_index().to_dict(orient="records")
    return windows, pieces, {"table": episodes.to_dict(orient="records"), "pairs": per_episode}


def write_result(result: Result, out_dir, *, thumbnails: bool = False, annotated_video: bool = False,
                 session=None, progress: bool = False) -> list[Path]:
    """Write a Result's tables, summary, figures and annotation exports into ``out_dir``.

    Every file is written atomically. Tables: ``signals.csv``, ``xcorr.csv``,
    ``windows.csv``, ``mismatch.csv``, ``stats.csv``, ``summary.json`` (and the turn
    tables with per-person voice). Figures per pair: window x lag heatmap, synchrony by
    lag, the test's surrogate distribution, both signals with mismatch spans and
    episodes; and ``overview.png``. Exports: ``annotations.eaf`` (ELAN, linked to the
    recordings), ``annotations.TextGrid`` and ``events.tsv`` (BIDS). With
    ``thumbnails=True`` and a video, ``thumbnails.png``. With ``annotated_video=True``
    and a video, ``annotated.mp4`` (two-files: ``annotated_<person>.mp4`` per video; see
    :func:`synchrony.report.video.write_annotated_video`), whose person regions come from
    ``session`` (the :class:`synchrony.session.Session` analysed; default the layout in
    the summary, split at the middle); ``progress`` shows its progress bar.

    Returns the paths written, in order.
    """
    from synchrony.export import export_annotations
    from synchrony.formats import write_csv, write_json
    from synchrony.report.html import write_report
    from synchrony.report.figures import (lag_plot, mismatch_thumbnails, save_figure, session_overview,
                                          signals_with_mismatch, surrogate_distribution, xcorr_heatmap)

    out = Path(out_dir)
    written = [
        write_csv(to_flat(result.signals), out / "signals.csv"),
        write_csv(result.xcorr, out / "xcorr.csv"),
        write_csv(result.windows, out / "windows.csv"),
        write_csv(result.mismatch, out / "mismatch.csv"),
        write_csv(result.stats, out / "stats.csv"),
        write_json(result.summary, out / "summary.json"),
    ]
    persons = result.summary["config"]["persons"]
    end_s = float(result.signals.index[-1])
    if result.turns is not None:
        from synchrony.textgrid import turn_tiers, write_textgrid

        written.append(write_csv(result.turns, out / "turns.csv"))
        written.append(write_csv(result.turn_taking, out / "turn_taking.csv"))
        activity = {p: result.signals[p, "voice_active"] >= 0.5 for p in persons}
        # Turns live on a finer clock and may end half a sample after the last signal.
        turns_end = float(result.turns["end_s"].max()) if len(result.turns) else end_s
        written.append(write_textgrid(out / "voice.TextGrid", turn_tiers(result.turns, activity),
                                      xmax_s=max(end_s, turns_end)))

    def figure(fig, name):
        save_figure(fig, out / name)
        written.append(out / name)

    for pair, xc in result.xcorr_wide.items():
        feat_a, feat_b = pair.split("~")
        stem = pair.replace("~", "_vs_")
        figure(xcorr_heatmap(xc, title=f"{pair}: windowed cross-correlation"), f"heatmap_{stem}.png")
        figure(lag_plot(xc, labels=persons, title=f"{pair}: synchrony by lag"), f"lag_{stem}.png")
        test = result.summary["pairs"][pair]["test"]
        figure(surrogate_distribution(test["observed"], result.surrogate_statistics[pair],
                                      p_value=test["p_value"], title=f"{pair}: observed vs surrogates"),
               f"surrogates_{stem}.png")
        spans = result.mismatch[result.mismatch["features"] == pair]
        figure(signals_with_mismatch(result.signals[persons[0], feat_a], result.signals[persons[1], feat_b],
                                     spans, episodes=result.episodes, labels=persons,
                                     title=f"{pair} with mismatch spans",
                                     ylabel=feat_a if feat_a == feat_b else ""),
               f"signals_{stem}.png")
    figure(session_overview(result.signals, persons=persons, mismatch=result.mismatch, episodes=result.episodes,
                            title="Session overview"), "overview.png")
    media = [path for path, _ in result.media]
    written += export_annotations(out, mismatch=result.mismatch, turns=result.turns, episodes=result.episodes,
                                  pairs=list(result.xcorr_wide), persons=persons, media=media or None,
                                  duration_s=end_s)
    videos = [(path, offset) for path, offset in result.media if Path(path).suffix.lower() not in _AUDIO_SUFFIXES]
    if thumbnails and videos and len(result.mismatch):
        path, offset = videos[0]
        figure(mismatch_thumbnails(path, result.mismatch, offset_s=offset), "thumbnails.png")
    if annotated_video and videos:
        from synchrony.report.video import annotated_video_names, write_annotated_video

        layout = session.layout if session is not None else result.summary.get("session", {}).get("layout")
        for i, name in enumerate(annotated_video_names(layout, persons)[:len(videos)]):
            written.append(write_annotated_video(result, out / name, session=session, video=i, progress=progress))
    elif annotated_video:
        log.warning("no video to annotate: the annotated video needs a session with video")
    # Last: the one offline page embeds the PNGs already written, nothing drawn twice.
    written.append(write_report(result, out / "report.html",
                                figures={p.stem: p for p in written if p.suffix == ".png"}))
    return written


_AUDIO_SUFFIXES = (".wav", ".flac", ".mp3", ".m4a", ".aac", ".ogg", ".opus")


def _concat(frames, columns):
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


