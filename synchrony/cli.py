"""Command line: ``synchrony analyze``, ``xcorr``, ``pseudo-dyads``, ``batch`` and ``demo``.

The library is quiet; the CLI turns on progress bars and prints warnings. Errors the
user can fix are printed as one line (no traceback) and exit with status 1.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from synchrony.config import FACE_BACKENDS
from synchrony.errors import SynchronyError

SAMPLE_VIDEO = Path(__file__).resolve().parents[1] / "sample_media" / "dyad_split.mp4"


def main(argv=None):
    """Entry point of the ``synchrony`` command."""
    try:
        cli.main(args=argv, standalone_mode=False)
    except SynchronyError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)


@click.group()
@click.version_option(package_name="synchrony")
def cli():
    """Dyadic synchrony analysis of recorded two-person sessions."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    log = logging.getLogger("synchrony")
    log.addHandler(handler)
    log.setLevel(logging.WARNING)


def _analysis_options(func):
    """Options shared by analyze and xcorr: what to pair, how to test, preprocessing."""
    options = [
        click.option("--pairs", default=None,
                     help="Feature pairs, comma-separated: 'smile~smile,intensity_db~head_motion' "
                          "(A's feature ~ B's), or set names face, voice, cross-modal."),
        click.option("--surrogates", "surrogate_method", type=click.Choice(["circular", "segment"]),
                     default="circular", show_default=True,
                     help="Pseudo pairs: B circularly shifted, or B's segments shuffled."),
        click.option("--n-surrogates", type=int, default=200, show_default=True),
        click.option("--episodes", type=click.Path(path_type=Path), default=None,
                     help="Named time spans (CSV episode,start_s,end_s; ELAN .eaf; TextGrid): "
                          "windows and mismatch spans are summarised per episode."),
        click.option("--smooth-s", type=float, default=None, help="Moving-average smoothing (s)."),
        click.option("--detrend", is_flag=True, help="Remove each series' linear trend."),
        click.option("--zscore", is_flag=True, help="Z-score each series."),
        click.option("--outlier-sd", type=float, default=None,
                     help="Set samples more than this many SD from the mean missing (warns)."),
        click.option("--seed", type=int, default=0, show_default=True, help="Seed of the surrogates."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


# One face-backend option for analyze and batch.
_face_backend_option = click.option(
    "--face-backend", type=click.Choice(list(FACE_BACKENDS)), default=FACE_BACKENDS[0], show_default=True,
    help="Face model: facemesh (faster) or landmarker (adds 51 blendshape signals bs_<name> "
         "and the expr_smile/expr_distress/expr_eye_closure/expr_brow_raise composites).")


def _config_settings(pairs, surrogate_method, n_surrogates, smooth_s, detrend, zscore, outlier_sd, seed):
    settings = dict(surrogate_method=surrogate_method, n_surrogates=n_surrogates, smooth_s=smooth_s,
                    detrend=detrend, zscore=zscore, outlier_sd=outlier_sd, seed=seed)
    if pairs:
        settings["pairs"] = tuple(tuple(p.split("~")) if "~" in p else p.strip()
                                  for p in pairs.split(","))
    return settings


@cli.command()
@click.argument("videos", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--layout", type=click.Choice(["split", "two-files", "shared-frame", "audio"]),
              default=None,
              help="split (default for one video): A in the left half, B in the right; "
                   "two-files (default for two videos): one video per person; "
                   "shared-frame: both people in one picture; audio: no video, one audio "
                   "file with a channel per person or one file per person.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None,
              help="Output folder (default: <first video name>-synchrony next to it).")
@click.option("--persons", default="A,B", show_default=True,
              help="Labels of the two persons, e.g. infant,mother (left/first first).")
@click.option("--offset-s", "offset", default=None,
              help="two-files: session time (s) at which the second video starts, or 'auto' "
                   "to estimate it from the two audio tracks (default: auto).")
@click.option("--audio", "audio", multiple=True, type=click.Path(path_type=Path),
              help="Separate audio file(s): one shared, or one per person in person order.")
@click.option("--video-rate-hz", type=float, default=None,
              help="Analyse video frames at about this rate (e.g. 10) instead of every frame.")
@click.option("--thumbnails", is_flag=True,
              help="Also write thumbnails.png: a video frame at the start of each mismatch span "
                   "(off by default: no output holds a picture of anyone).")
@click.option("--annotated-video", is_flag=True,
              help="Also write annotated.mp4: the video with face landmarks, gaze arrows and a running "
                   "synchrony bar, red in mismatch spans (off by default: it shows the people recorded).")
@_face_backend_option
@_analysis_options
def analyze(videos, layout, out_dir, persons, offset, audio, video_rate_hz, face_backend, thumbnails,
            annotated_video, episodes, **options):
    """Analyse one recorded session (VIDEOS: one video, or one per person; with
    --layout audio, audio files) and write tables, figures and a summary."""
    from synchrony.session import Session

    labels = tuple(p.strip() for p in persons.split(","))
    layout = layout or ("two-files" if len(videos) == 2 else "split")
    offsets = ()
    if layout == "two-files":
        offsets = None if offset in (None, "auto") else (0.0, _seconds(offset))
    files = tuple(str(v) for v in videos)
    if layout == "audio":
        files, audio = (), files + tuple(str(a) for a in audio)
    session = Session(layout=layout, videos=files, persons=labels,
                      offsets_s=offsets, audio=tuple(str(a) for a in audio) or None)
    _run_analysis(session, out_dir=out_dir or videos[0].with_name(f"{videos[0].stem}-synchrony"),
                  video_rate_hz=video_rate_hz, episodes=episodes, thumbnails=thumbnails,
                  annotated_video=annotated_video, face_backend=face_backend, **_config_settings(**options))


def _seconds(text):
    try:
        return float(text)
    except ValueError:
        raise click.BadParameter(f"must be a number of seconds or 'auto'; got {text!r}",
                                 param_hint="--offset-s") from None


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["csv", "rmea", "openface"]), default=None,
              help="Input format (guessed when omitted: .txt = rMEA; OpenFace's columns = openface).")
@click.option("--rate-hz", type=float, default=None,
              help="Sampling rate: rMEA default 25 Hz; a CSV without a time column needs it; "
                   "OpenFace: rate of the common clock (default 10 Hz).")
@click.option("--persons", default="A,B", show_default=True, help="Labels of the two persons.")
@click.option("--window-s", type=float, default=30.0, show_default=True)
@click.option("--step-s", type=float, default=10.0, show_default=True)
@click.option("--max-lag-s", type=float, default=5.0, show_default=True)
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None,
              help="Output folder (default: <first file name>-synchrony next to it).")
@_analysis_options
def xcorr(files, fmt, rate_hz, persons, window_s, step_s, max_lag_s, out_dir, episodes, **options):
    """Windowed lagged cross-correlation and mismatch spans of series made by other tools
    (FILES: an rMEA/MEA text file, a CSV/TSV, or one OpenFace CSV per person). Defaults are
    rMEA's windowing (30 s windows, 10 s steps, lags up to 5 s)."""
    from synchrony.config import AnalysisConfig
    from synchrony.pipeline import analyze_signals, write_result
    from synchrony.readers import load_signals
    from synchrony.signals import rate_of, shared_features

    labels = tuple(p.strip() for p in persons.split(","))
    signals = load_signals(list(files), format=fmt, persons=labels, rate_hz=rate_hz)
    features = shared_features(signals, labels)
    rate = rate_of(signals)
    settings = {"pairs": tuple((f, f) for f in features), **_config_settings(**options)}
    config = AnalysisConfig(rate_hz=rate, window_s=window_s, step_s=step_s, max_lag_s=max_lag_s,
                            persons=labels, **settings)
    result = analyze_signals(signals, config=config, session={"files": [f.name for f in files]},
                             episodes=episodes)
    out_dir = out_dir or files[0].with_name(f"{files[0].stem}-synchrony")
    write_result(result, out_dir)
    _report(result, out_dir, labels)


@cli.command("pseudo-dyads")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["csv", "rmea"]), default=None,
              help="Input format (guessed when omitted: .txt = rMEA).")
@click.option("--rate-hz", type=float, default=None, help="Sampling rate (rMEA default 25 Hz).")
@click.option("--feature", default=None, help="Feature to pair (default: the first both persons have).")
@click.option("--window-s", type=float, default=30.0, show_default=True)
@click.option("--step-s", type=float, default=10.0, show_default=True)
@click.option("--max-lag-s", type=float, default=5.0, show_default=True)
@click.option("--n-pairs", type=int, default=None, help="Random pseudo-dyads (default: all pairings).")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("pseudo-dyads"),
              show_default=True, help="Output folder.")
@click.option("--seed", type=int, default=0, show_default=True)
def pseudo_dyads(files, fmt, rate_hz, feature, window_s, step_s, max_lag_s, n_pairs, out_dir, seed):
    """Real dyads against pseudo-dyads made of partners from different sessions (FILES: one
    two-person file per dyad, e.g. rMEA text files): rMEA's shuffle test."""
    from synchrony.analysis.stats import pseudo_dyad_test
    from synchrony.errors import InputFileError
    from synchrony.formats import write_csv, write_json
    from synchrony.readers import load_signals
    from synchrony.signals import rate_of, shared_features

    dyads, rates = [], set()
    for path in files:
        signals = load_signals([path], format=fmt, rate_hz=rate_hz)
        a, b = signals.columns.get_level_values(0).unique()[:2]
        name = feature or next(iter(shared_features(signals, (a, b))), None)
        if name is None or name not in signals[a] or name not in signals[b]:
            raise InputFileError(path, f"no feature {name!r} for both persons")
        rates.add(rate_of(signals))
        dyads.append((signals[a, name].to_numpy(), signals[b, name].to_numpy()))
    if len(rates) > 1:
        raise SynchronyError(f"the files have different sampling rates: {sorted(rates)} Hz")
    out = pseudo_dyad_test(dyads, rates.pop(), window_s=window_s, step_s=step_s, max_lag_s=max_lag_s,
                           n_pairs=n_pairs, seed=seed)
    out["dyads"].insert(1, "file", [Path(f).name for f in files])
    write_csv(out["dyads"], Path(out_dir) / "dyads.csv")
    write_csv(out["pseudo"], Path(out_dir) / "pseudo.csv")
    write_json(out["group"], Path(out_dir) / "group.json")
    g = out["group"]
    click.echo(f"{g['n_real']} real dyads: mean peak z {g['mean_real']:.3f}; {g['n_pseudo']} pseudo-dyads: "
               f"{g['mean_pseudo']:.3f}; Cohen's d {g['cohens_d']:.2f}, p {g['p_value']:.4f}")
    click.echo(f"Wrote {Path(out_dir).resolve()}/: dyads.csv, pseudo.csv, group.json")


@cli.command()
@click.argument("manifest", required=False, type=click.Path(path_type=Path))
@click.option("--out", "out_dir", type=click.Path(path_type=Path), required=True,
              help="Output folder: one folder per session and the study tables.")
@click.option("--discover", type=click.Path(path_type=Path), default=None,
              help="Instead of a manifest: every file under this folder matching --pattern.")
@click.option("--pattern", default="*.mp4", show_default=True, help="With --discover: the files' glob pattern.")
@click.option("--layout", type=click.Choice(["split", "shared-frame", "audio", "rmea", "openface", "csv"]),
              default=None, help="With --discover: layout of every file (default from the suffix: "
                                 ".txt rmea, audio files audio, else split).")
@click.option("--persons", default="A,B", show_default=True, help="With --discover: the two labels.")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Worker processes (default: one per core).")
@click.option("--scheduler", default=None,
              help="Run on this Dask scheduler (e.g. tcp://10.0.0.5:8786); needs synchrony[dask].")
@click.option("--force", is_flag=True, help="Redo every session, even unchanged ones.")
@click.option("--no-pseudo-dyads", "no_pseudo", is_flag=True, help="Skip the study-level pseudo-dyad test.")
@click.option("--n-pseudo-pairs", type=click.IntRange(min=1), default=None,
              help="Pseudo-dyads per pair (default all pairings, at most 2000).")
@click.option("--window-s", type=float, default=4.0, show_default=True)
@click.option("--step-s", type=float, default=0.5, show_default=True)
@click.option("--max-lag-s", type=float, default=2.0, show_default=True)
@click.option("--video-rate-hz", type=float, default=None,
              help="Analyse video frames at about this rate (e.g. 10) instead of every frame.")
@_face_backend_option
@_analysis_options
def batch(manifest, out_dir, discover, pattern, layout, persons, workers, scheduler, force, no_pseudo,
          n_pseudo_pairs, window_s, step_s, max_lag_s, video_rate_hz, face_backend, episodes, **options):
    """Analyse every session of a study (MANIFEST: a CSV or YAML manifest, see
    synchrony.manifest), skipping sessions already done with the same inputs and settings.
    Exit status 0: all sessions done; 3: the batch finished but some failed or crashed
    (see OUT/sessions.csv)."""
    from synchrony.batch import run_batch
    from synchrony.config import AnalysisConfig
    from synchrony.manifest import discover_sessions

    if (manifest is None) == (discover is None):
        raise click.UsageError("give a MANIFEST or --discover FOLDER (one of them)")
    source = manifest
    if discover is not None:
        source = discover_sessions(discover, pattern=pattern, layout=layout,
                                   persons=tuple(p.strip() for p in persons.split(",")))
    config = AnalysisConfig(window_s=window_s, step_s=step_s, max_lag_s=max_lag_s,
                            video_rate_hz=video_rate_hz, face_backend=face_backend,
                            **_config_settings(**options))
    client = None
    if scheduler:
        try:
            from dask.distributed import Client
        except ImportError:
            raise SynchronyError("--scheduler needs Dask: pip install 'synchrony[dask]'") from None
        client = Client(scheduler)
    try:
        result = run_batch(source, out_dir=out_dir, config=config, episodes=episodes, workers=workers,
                           client=client, force=force, pseudo_dyads=not no_pseudo,
                           n_pseudo_pairs=n_pseudo_pairs, progress=True)
    finally:
        if client is not None:
            client.close()
    counts = result.sessions["status"].value_counts()
    click.echo(f"\n{len(result.sessions)} sessions: "
               + ", ".join(f"{counts.get(s, 0)} {s}" for s in ("done", "skipped", "failed", "crashed")))
    bad = result.sessions[~result.sessions["status"].isin(["done", "skipped"])]
    for row in bad.head(20).itertuples():
        click.echo(f"  {row.session_id}: {row.status}: {row.reason}")
    if len(bad) > 20:
        click.echo(f"  ... and {len(bad) - 20} more")
    click.echo(f"Wrote {Path(out_dir).resolve()}/: sessions, synchrony, mismatch"
               + (", pseudo_dyads" if not result.pseudo_dyads.empty else "") + " (.csv, .parquet)")
    if len(bad):
        sys.exit(3)


@cli.command()
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=Path("synchrony-demo"),
              show_default=True, help="Output folder.")
def demo(out_dir):
    """Analyse the bundled sample session into ./synchrony-demo/."""
    if not SAMPLE_VIDEO.exists():
        raise SynchronyError(f"{SAMPLE_VIDEO}: sample session not found (the demo runs from a "
                             "clone of the repository, which has sample_media/)")
    click.echo(f"Analysing the sample session {SAMPLE_VIDEO.name} "
               "(a split-screen dyad whose answer is known: B follows A by 0.5 s, and stops "
               "following for a while).")
    from synchrony.session import Session

    _run_analysis(Session(layout="split", videos=str(SAMPLE_VIDEO)), out_dir=out_dir)


def _run_analysis(session, *, out_dir, video_rate_hz=None, episodes=None, thumbnails=False, annotated_video=False,
                  **settings):
    from synchrony.config import AnalysisConfig
    from synchrony.pipeline import analyze as run

    config = AnalysisConfig(persons=session.persons, video_rate_hz=video_rate_hz, **settings)
    result = run(session, config=config, out_dir=out_dir, episodes=episodes, thumbnails=thumbnails,
                 annotated_video=annotated_video, progress=True)
    _report(result, out_dir, session.persons)


def _report(result, out_dir, persons):
    click.echo(f"\nWrote {Path(out_dir).resolve()}/:")
    for path in sorted(Path(out_dir).iterdir()):
        if not path.name.startswith("."):
            click.echo(f"  {path.name}")
    for pair, s in result.summary["pairs"].items():
        click.echo(f"{pair:28s} mean peak r {_fmt(s['mean_peak_r'], '.2f')}  "
                   f"median peak lag {_fmt(s['median_peak_lag_s'], '+.2f', ' s')} "
                   f"(leader: {s['leader'] or 'none clear'})  p {_fmt(s['test']['p_value'], '.3f')} "
                   f"(q {_fmt(s['test']['q_value'], '.3f')})  mismatch {_fmt(s['mismatch_share'], '.0%')} "
                   f"of the time, {s['n_ruptures']} rupture(s)")
    click.echo(f"Lag sign: positive = {persons[1]} follows {persons[0]}.")


def _fmt(value, spec, unit=""):
    return "n/a" if value is None else f"{value:{spec}}{unit}"


if __name__ == "__main__":
    main()
