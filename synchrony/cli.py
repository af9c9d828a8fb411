"""Command line: ``synchrony analyze VIDEO`` and ``synchrony demo``.

The library is quiet; the CLI turns on progress bars and prints warnings. Errors the
user can fix are printed as one line (no traceback) and exit with status 1.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

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


@cli.command()
@click.argument("video", type=click.Path(path_type=Path))
@click.option("--layout", type=click.Choice(["split"]), default="split", show_default=True,
              help="split: person A in the left half, person B in the right half.")
@click.option("--out", "out_dir", type=click.Path(path_type=Path), default=None,
              help="Output folder (default: <video name>-synchrony next to the video).")
@click.option("--persons", default="A,B", show_default=True, help="Labels of the two persons.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the surrogates.")
def analyze(video, layout, out_dir, persons, seed):
    """Analyse one recorded session VIDEO and write tables, figures and a summary."""
    _run_analysis(video, layout=layout, out_dir=out_dir or video.with_name(f"{video.stem}-synchrony"),
                  persons=persons, seed=seed)


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
    _run_analysis(SAMPLE_VIDEO, layout="split", out_dir=out_dir, persons="A,B", seed=0)


def _run_analysis(video, *, layout, out_dir, persons, seed):
    from synchrony.config import AnalysisConfig
    from synchrony.pipeline import analyze as run

    labels = tuple(p.strip() for p in persons.split(","))
    result = run(video, layout=layout, config=AnalysisConfig(persons=labels, seed=seed),
                 out_dir=out_dir, progress=True)
    click.echo(f"\nWrote {Path(out_dir).resolve()}/:")
    for path in sorted(Path(out_dir).iterdir()):
        if not path.name.startswith("."):
            click.echo(f"  {path.name}")
    for pair, s in result.summary["pairs"].items():
        click.echo(f"{pair:28s} mean peak r {_fmt(s['mean_peak_r'], '.2f')}  "
                   f"median peak lag {_fmt(s['median_peak_lag_s'], '+.2f', ' s')} "
                   f"(leader: {s['leader']})  mismatch {_fmt(s['mismatch_share'], '.0%')} of the time")
    click.echo("Lag sign: positive = B follows A.")


def _fmt(value, spec, unit=""):
    return "n/a" if value is None else f"{value:{spec}}{unit}"


if __name__ == "__main__":
    main()
