"""Benchmark the two face backends on a split-screen clip: FaceMesh against Face Landmarker.

For issue 9: frames per second of each backend with two faces on a split-screen clip, on
the machine's cores. Measures the whole face path,
``synchrony.extract.face.extract_face_split(path, rate_hz=..., backend=...)``, for

* each backend: ``"facemesh"`` (mediapipe's legacy FaceMesh with iris) and
  ``"landmarker"`` (the Tasks API Face Landmarker, which adds 52 blendshape scores);
* each input of bench_face.py (``split 1280x360`` and ``split 1280x720``, built from the
  real reference clip, ``--minutes`` long, default 2, cached in ``--cache-dir``);
* each rate: 10 Hz and every frame;

as wall time, frames per second (analysed frames / wall), real-time factor (video seconds
/ wall seconds), CPU seconds, peak RSS and the share of analysed frames with a face, per
person. The inputs and the measuring are bench_face.py's own (``build_input``,
``run_child`` with ``--case face``): every run is a fresh Python subprocess, imports done
before the clock starts, model start-up inside the timing, peak RSS = the child's
``VmHWM``.

``--repeats`` rounds (default 3); each round runs every input and rate with both
backends, one straight after the other, the backend that goes first alternating from
round to round, so both see the same load. Reported: medians with min-max over the
rounds, and the ratio landmarker / facemesh of wall and CPU time per input and rate,
taken within each round and then the median over rounds (the load of a shared machine
changes between rounds more than between two neighbouring runs).

Run from the repository root::

    .venv/bin/python benchmarks/bench_backends.py            # print the tables
    .venv/bin/python benchmarks/bench_backends.py --write    # also update benchmarks/README.md
"""

from __future__ import annotations

# bench_face first: it imports _common before anything else (so the environment is
# recorded as found) and puts this checkout first on sys.path.
import bench_face  # noqa: I001
from _common import load_average, write_section
from bench_face import (
    FPS, LAYOUTS, RATE_HZ, SOURCE, _median, _mib, _rate_label, _secs, build_input, machine,
    run_child,
)

import argparse
import sys
import tempfile
from pathlib import Path

README = bench_face.README
START = "<!-- bench_backends results: start (written by bench_backends.py --write) -->"
END = "<!-- bench_backends results: end -->"
# The order of the ratio: landmarker / facemesh.
BACKENDS = ("facemesh", "landmarker")
RATES = (RATE_HZ, None)  # None: every frame


def _range(xs, fmt):
    """``median (min–max)`` of ``xs`` with ``fmt`` for each number (one run: its value)."""
    if len(xs) == 1:
        return fmt(xs[0])
    return f"{fmt(_median(xs))} ({fmt(min(xs))}–{fmt(max(xs))})"


def _fps(x):
    return f"{x:,.0f}"


def _ratio(x):
    return f"{x:.2f}×"


def _faces(rs):
    """Share of analysed frames with a face, per person (a range if the runs differ)."""
    out = []
    for person in rs[0]["detected"]:
        shares = [100 * r["detected"][person] for r in rs]
        lo, hi = min(shares), max(shares)
        out.append(f"{lo:.0f} %" if round(lo) == round(hi) else f"{lo:.0f}–{hi:.0f} %")
    return " / ".join(out)


def render(info, minutes, runs, ratios, load_end, repeats):
    n_frames = int(round(minutes * 60 * FPS))
    out = [
        f"- Date: {info['date']}",
        f"- Machine: {info['nproc']} CPU(s) (`nproc`), {info['cpu']}, {info['mem']} RAM",
        f"- Python {info['python']}; {info['versions']}",
        "- Threads: as the library runs them (no pinning): `extract_face_split` runs the "
        "two persons' models (two FaceMesh graphs or two Face Landmarkers) in two Python "
        "threads and decodes ahead in a third (FFmpeg frame threads), and each model has "
        "its own worker threads",
        f"- synchrony: commit {info['commit']}",
        f"- Load average (1/5/15 min): {info['load']} at start, {load_end} at end "
        "(above 0 means other processes shared the machine)",
        "",
        f"**Face path by backend** — `extract_face_split(path, rate_hz=..., backend=...)` "
        f"on the {minutes:g}-minute split-screen inputs of bench_face.py (23.976 fps, "
        f"{n_frames:,} frames, two faces per frame). {repeats} round"
        f"{'s' if repeats != 1 else ''}; in each, every input and rate ran with both "
        "backends one straight after the other (which goes first alternates by round), "
        "each run a fresh subprocess, wall time of the call alone (imports done first, "
        "model start-up included). Medians (min–max) over the rounds. Frames/s = analysed "
        "frames / wall; real-time factor = video seconds / median wall. CPU = the child's "
        "user + system time during the call. Peak RSS = the child's `VmHWM`, whole process "
        "including Python and imports, largest over its runs. Faces found = share of "
        "analysed frames with `face_detected`, left / right person.",
        "",
        "| input | rate | backend | runs | frames | frames/s median (min–max) "
        "| wall median (min–max) | real-time factor | CPU median (min–max) | peak RSS "
        "| faces found |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for (layout, rate, backend), rs in runs.items():
        walls = [r["wall_s"] for r in rs]
        frames = rs[0]["frames"]
        out.append(
            f"| {layout} | {_rate_label(rate)} | `{backend}` | {len(rs)} | {frames:,} "
            f"| **{_range([r['frames'] / r['wall_s'] for r in rs], _fps)}** "
            f"| {_range(walls, _secs)} | {rs[0]['video_s'] / _median(walls):,.1f}× "
            f"| {_range([r['cpu_s'] for r in rs], _secs)} "
            f"| {_mib(max(r['peak_rss_kib'] for r in rs))} | {_faces(rs)} |")
    out += [
        "",
        "**Landmarker / FaceMesh** — per input and rate, the ratio of the two backends' "
        "wall and CPU time within each round (the two runs neighbours in time), median "
        "(min–max) over the rounds; above 1: the Landmarker costs more.",
        "",
        "| input | rate | rounds | wall ratio | CPU ratio |",
        "|---|---|---:|---:|---:|",
    ]
    for (layout, rate), rs in ratios.items():
        out.append(f"| {layout} | {_rate_label(rate)} | {len(rs)} "
                   f"| {_range([w for w, _ in rs], _ratio)} "
                   f"| {_range([c for _, c in rs], _ratio)} |")
    every = [r for rs in runs.values() for r in rs]
    out += [
        "",
        f"Fresh process after the imports (NumPy, PyAV, OpenCV, mediapipe, synchrony): "
        f"about {_mib(max(r['rss_after_imports_kib'] for r in every))} RSS, "
        f"{_median([r['import_s'] for r in every]):.1f} s of import time (not in the "
        "timings).",
    ]
    return "\n".join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=2.0,
                        help="length of the inputs in minutes (default 2)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="rounds; each runs every case with both backends (default 3)")
    parser.add_argument("--cache-dir", type=Path,
                        default=Path(tempfile.gettempdir()) / "synchrony-bench-face",
                        help="where the built inputs are kept between runs (shared with "
                             "bench_face.py)")
    parser.add_argument("--source", type=Path, default=SOURCE, help="the one-face clip")
    parser.add_argument("--write", action="store_true",
                        help=f"also update the bench_backends results in {README}")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    if not args.minutes > 0:
        parser.error("--minutes must be above 0")
    if not args.source.exists():
        parser.error(f"{args.source} not found")

    info = machine()
    print(f"load average at start: {info['load']}", file=sys.stderr)
    inputs = {layout: build_input(layout, args.minutes, args.cache_dir, args.source)
              for layout in LAYOUTS}
    runs = {(layout, rate, backend): [] for layout in LAYOUTS for rate in RATES
            for backend in BACKENDS}
    ratios = {(layout, rate): [] for layout in LAYOUTS for rate in RATES}
    for k in range(args.repeats):
        order = BACKENDS if k % 2 == 0 else BACKENDS[::-1]
        for layout in LAYOUTS:
            for rate in RATES:
                child = ["--case", "face", "--input", str(inputs[layout])]
                if rate is not None:
                    child += ["--rate", str(rate)]
                pair = {}
                for backend in order:
                    r = run_child(child + ["--backend", backend])
                    pair[backend] = r
                    runs[layout, rate, backend].append(r)
                    print(f"  round {k + 1}: {layout} {_rate_label(rate)} {backend}: "
                          f"{r['wall_s']:.1f} s, {r['cpu_s']:.1f} s CPU, "
                          f"{r['frames'] / r['wall_s']:.0f} frames/s, peak RSS "
                          f"{_mib(r['peak_rss_kib'])}", file=sys.stderr)
                lm, fm = pair["landmarker"], pair["facemesh"]
                if lm["frames"] != fm["frames"]:  # same file, same grid: a broken run
                    raise RuntimeError(f"{layout} {_rate_label(rate)}: the backends analysed "
                                       f"{fm['frames']} and {lm['frames']} frames")
                ratios[layout, rate].append((lm["wall_s"] / fm["wall_s"],
                                             lm["cpu_s"] / fm["cpu_s"]))
        print(f"  load average after round {k + 1}: {load_average()}", file=sys.stderr)

    section = render(info, args.minutes, runs, ratios, load_average(), args.repeats)
    print(section)
    if args.write:
        write_section(README, START, END, section)
        print(f"\nwrote results to {README}", file=sys.stderr)


if __name__ == "__main__":
    main()
