"""Benchmark the visual (face) extraction of a split-screen session: decode and FaceMesh.

For issue 3. Measures, on two split-screen inputs of ``--minutes`` minutes (default 10)
built from the real reference clip ``WolfgangLanger_Pexels.mp4`` (640x360, 23.976 fps,
19.7 s, one face):

* decode alone: ``synchrony.media.iter_frames(path)`` over every frame, and with
  ``rate_hz=10`` (which converts only the kept frames to RGB and lets the H.264 decoder
  skip the non-reference frames the 10 Hz grid leaves out);
* the whole face path: ``synchrony.extract.face.extract_face_split(path, rate_hz=None)``
  and ``(path, rate_hz=10)`` (the call ``face_tracks`` makes for a split-screen session:
  two FaceMesh graphs, one per person, in two threads, decoding ahead in a third, plus
  every feature);

each as wall time, frames per second, real-time factor (video seconds / wall seconds),
process CPU time and peak RSS. Every case runs in its own fresh Python subprocess, so each
peak is that case's alone: peak RSS is the child's ``VmHWM`` from ``/proc/self/status``
read when the case ends (the high-water mark of its own memory map over its whole life,
interpreter and imports included: the number ``/usr/bin/time -v`` prints as "Maximum
resident set size"). Not ``ru_maxrss`` from ``getrusage(RUSAGE_CHILDREN)`` or
``os.wait4``: Linux folds the memory map that a child replaces at ``exec`` into it, and
with ``vfork`` that is this parent's, so every child would report at least the parent's
own peak (about 600 MiB here, once it has built the inputs). Timings cover the measured
call only (imports are done before the clock starts; FaceMesh graph start-up is inside
``extract_face_split`` and so inside the timing).
Memory against length: peak RSS of the 10 Hz face path on the 1280x360 input of 2, 5 and
10 minutes. Where the time goes: a cProfile of a 1-minute run at 10 Hz, both persons
analysed one after the other in one thread, decoding in the same thread (cProfile sees
only its own thread).

Inputs (built once and cached in ``--cache-dir``, default ``$TMPDIR/synchrony-bench-face``):

* ``split 1280x360``: left = the clip, right = the clip mirrored and delayed 5 frames,
  looped ping-pong (forward, then backward, ...) to the target length;
* ``split 1280x720``: the same two people, each face scaled up 2x (the 640x360 frame to
  1280x720, bilinear) and cut to a 640x720 tile around the face (columns 570-1209, where
  the face stays in the whole clip), the right tile mirrored, side by side;

both H.264 through PyAV (libx264, yuv420p, preset veryfast, crf 23), 23.976 fps
(time base 1001/24000, pts = frame index), no audio.

With ``--baseline DIR`` (another checkout, e.g. ``git archive HEAD synchrony benchmarks |
tar -x -C DIR``), the 10 Hz cases also run with DIR's own ``benchmarks/bench_face.py`` and
library, each baseline run right after the same run of this checkout: a comparison on
the same machine at the same load, which numbers from another day cannot give.

Run from the repository root::

    .venv/bin/python benchmarks/bench_face.py            # print the tables
    .venv/bin/python benchmarks/bench_face.py --write    # also update benchmarks/README.md
"""

from __future__ import annotations

import os

# Imported first: it keeps the environment as found (for tools such as `nproc` that
# also read OMP_NUM_THREADS), before any thread pinning below.
from _common import load_average, machine_facts, write_section  # noqa: E402

import argparse  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from fractions import Fraction  # noqa: E402
from pathlib import Path  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))  # benchmark this checkout

README = HERE / "README.md"
START = "<!-- bench_face results: start (written by bench_face.py --write) -->"
END = "<!-- bench_face results: end -->"
SOURCE = Path("/work/shared/reference/media/WolfgangLanger_Pexels.mp4")
RECIPE = "v1"  # part of the cached file names: change it when the recipe changes
FPS = Fraction(24000, 1001)
DELAY_FRAMES = 5  # the right person follows the left by 5 frames (0.21 s)
TILE_X0 = 570  # 720p tile: columns 570..1209 of the 2x-scaled frame hold the face
RATE_HZ = 10.0
LAYOUTS = ("1280x360", "1280x720")


# --------------------------------------------------------------------------- inputs


def _pingpong(m: int, n: int) -> int:
    """Source frame of output frame ``m`` when ``n`` frames play forward, backward, ...
    (negative ``m`` reflects, so a delayed copy starts by playing backward)."""
    period = 2 * (n - 1)
    m = abs(m) % period
    return m if m < n else period - m


def build_input(layout: str, minutes: float, cache_dir: Path, source: Path = SOURCE) -> Path:
    """The split-screen input ``layout`` of ``minutes`` minutes (built once, then cached)."""
    import av
    import cv2
    import numpy as np

    from synchrony.media import iter_frames

    out = cache_dir / f"split_{layout}_{minutes:g}min_{RECIPE}.mp4"
    if out.exists():
        return out
    cache_dir.mkdir(parents=True, exist_ok=True)
    src = [rgb for _, rgb in iter_frames(source)]
    n_src = len(src)
    if layout == "1280x720":
        def tile(k):  # each face 2x: the frame scaled to 1280x720, a 640-wide column
            big = cv2.resize(src[k], (1280, 720), interpolation=cv2.INTER_LINEAR)
            return big[:, TILE_X0:TILE_X0 + 640]
    elif layout == "1280x360":
        def tile(k):
            return src[k]
    else:
        raise ValueError(f"unknown layout {layout!r}")
    width, height = (int(v) for v in layout.split("x"))
    n_out = int(round(minutes * 60 * FPS))
    print(f"building {out.name}: {n_out} frames ...", file=sys.stderr)
    started = time.perf_counter()
    partial = out.with_suffix(".part.mp4")
    container = av.open(str(partial), "w")
    try:
        stream = container.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = 1 / FPS
        stream.options = {"preset": "veryfast", "crf": "23"}
        canvas = np.empty((height, width, 3), np.uint8)
        for k in range(n_out):
            canvas[:, :width // 2] = tile(_pingpong(k, n_src))
            canvas[:, width // 2:] = tile(_pingpong(k - DELAY_FRAMES, n_src))[:, ::-1]
            frame = av.VideoFrame.from_ndarray(canvas, format="rgb24")
            frame.pts = k
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    finally:
        container.close()
    partial.rename(out)
    print(f"  built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return out


# --------------------------------------------------------------------------- one case
# Runs in a fresh child process (``--case``); prints one JSON line.


def _vm_kib(field: str) -> int:
    """``VmHWM`` (peak RSS) or ``VmRSS`` of this process's memory map, in KiB."""
    m = re.search(rf"^{field}:\s*(\d+) kB", Path("/proc/self/status").read_text(), re.M)
    return int(m.group(1))


def _cpu_s():
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def run_case(kind: str, path: str, rate_hz: float | None, backend: str | None = None) -> dict:
    started = time.perf_counter()
    import mediapipe  # noqa: F401  (imported before the clock starts, like the others)

    from synchrony.extract.face import extract_face_split
    from synchrony.media import iter_frames, probe

    import_s = time.perf_counter() - started
    rss_imports_kib = _vm_kib("VmHWM")
    duration_s = probe(path).duration_s
    result = {"import_s": import_s, "rss_after_imports_kib": rss_imports_kib,
              "video_s": duration_s}
    cpu0, t0 = _cpu_s(), time.perf_counter()
    if kind == "decode":
        n = 0
        for _ in iter_frames(path, rate_hz=rate_hz):
            n += 1
    elif kind == "face":
        # backend only when asked for: a --baseline checkout may predate the option
        options = {} if backend is None else {"backend": backend}
        tracks = extract_face_split(path, rate_hz=rate_hz, **options)
        n = len(next(iter(tracks.values())))
        result["detected"] = {p: float(t["face_detected"].mean()) for p, t in tracks.items()}
    else:
        raise ValueError(kind)
    result.update(wall_s=time.perf_counter() - t0, cpu_s=_cpu_s() - cpu0, frames=n,
                  peak_rss_kib=_vm_kib("VmHWM"))
    return result


def run_profile(path: str, rate_hz: float | None, top: int) -> dict:
    """cProfile of the face path with both persons in this one thread."""
    import cProfile
    import pstats

    import numpy as np  # noqa: F401

    import synchrony.extract.face as face
    from synchrony.media import iter_frames

    def sequential():
        frames = iter_frames(path, rate_hz=rate_hz, decoder_threads=1)  # as the library
        n = 0
        with face.mediapipe_meshes(2) as meshes:
            people = [face._Person(face._mesh_finder(mesh)) for mesh in meshes]
            regions = None
            for t, rgb in frames:
                if regions is None:
                    regions = face._regions(path, rgb.shape, 0.5, None)
                for person, region in zip(people, regions):
                    person.analyse(rgb[region], t)
                n += 1
        return n

    t0 = time.perf_counter()
    n_plain = sequential()  # unprofiled, for cProfile's overhead
    plain_s = time.perf_counter() - t0
    profiler = cProfile.Profile()
    t0 = time.perf_counter()
    n = profiler.runcall(sequential)
    profiled_s = time.perf_counter() - t0
    stats = pstats.Stats(profiler)
    # cumulative seconds of named functions (summed over same-named functions in the file)
    wanted = {
        "decode: iter_frames (demux + decode + to RGB)": [("media.py", "_frames")],
        "  of which YUV -> RGB (media._rgb_converter)": [("media.py", "convert")],
        "FaceMesh: _find_faces (graph + landmark bytes)": [("face.py", "_find_faces")],
        "landmarks to pixels (_landmarks_px_from_bytes)": [("face.py",
                                                            "_landmarks_px_from_bytes")],
        "features (_Person.measure)": [("face.py", "measure")],
        "  geometry, all columns (geometry.face_geometry)": [("geometry.py", "face_geometry")],
        "    of which head pose (solvePnP)": [("geometry.py", "_pose")],
        "    of which frontalise (Kabsch)": [("geometry.py", "_frontal")],
        "    of which gaze": [("geometry.py", "_gaze")],
        "  face crops (_face_crops)": [("face.py", "_face_crops")],
        "  sharpness": [("face.py", "sharpness")],
        "FaceMesh start-up (mediapipe_meshes enter)": [("face.py", "_face_mesh")],
    }
    parts = {}
    for label, keys in wanted.items():
        total = 0.0
        for (filename, _, funcname), (_, _, _, ct, _) in stats.stats.items():
            if any(filename.endswith(f) and (funcname == fn or f == "~" and fn in funcname)
                   for f, fn in keys):
                total += ct
        parts[label] = total
    rows = sorted(stats.stats.items(), key=lambda kv: -kv[1][2])[:top]
    top_rows = [(f"{Path(f).name}:{line}({fn})", tt, ct, nc)
                for (f, line, fn), (_, nc, tt, ct, _) in rows]
    return {"frames": n, "frames_plain": n_plain, "plain_s": plain_s,
            "profiled_s": profiled_s, "total_s": stats.total_tt, "parts": parts,
            "top": top_rows}


# --------------------------------------------------------------------------- parent


def run_child(args: list[str], root: Path = ROOT) -> dict:
    """Run ``root``'s copy of this script with ``args`` in a fresh process (it imports
    ``root``'s library) and return its JSON result."""
    script = root / "benchmarks" / Path(__file__).name
    proc = subprocess.run([sys.executable, str(script), *args], cwd=root,
                          stdout=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"child {args} failed with exit code {proc.returncode}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def machine():
    import av
    import cv2
    import mediapipe
    import numpy as np

    return {
        **machine_facts(["synchrony/extract", "synchrony/media.py"]),
        "versions": f"NumPy {np.__version__}, mediapipe {mediapipe.__version__}, PyAV "
                    f"{av.__version__} (FFmpeg {_ffmpeg_version(av)}), OpenCV {cv2.__version__}",
    }


def _ffmpeg_version(av):
    try:
        v = av.library_versions["libavcodec"]
        return "libavcodec " + ".".join(str(x) for x in v)
    except Exception:  # pragma: no cover - older PyAV
        return "unknown"


def _median(xs):
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def _mib(kib):
    return f"{kib / 1024:,.0f} MiB"


def _secs(s):
    return f"{s:,.1f} s" if s < 100 else f"{s:,.0f} s"


def _rate_label(rate):
    return "all frames" if rate is None else f"{rate:g} Hz"


def render_baseline(cases, runs, base_runs, label):
    """The table comparing the 10 Hz cases with the baseline checkout's."""
    out = [
        "",
        f"**Against the baseline** ({label}): the 10 Hz cases above, each run followed at "
        "once by the same case with the baseline's own script and library (so both see "
        "the same load); medians over the runs. CPU change = this checkout's CPU median "
        "over the baseline's, minus 1.",
        "",
        "| input | case | this checkout: wall / CPU | baseline: wall / CPU | wall change "
        "| CPU change |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for i, bs in base_runs.items():
        layout, kind, rate = cases[i]
        rs = runs[i]
        wall, cpu = (_median([r[k] for r in rs]) for k in ("wall_s", "cpu_s"))
        bwall, bcpu = (_median([r[k] for r in bs]) for k in ("wall_s", "cpu_s"))
        what = "decode" if kind == "decode" else "face path"
        out.append(f"| {layout} | {what} {_rate_label(rate)} | {_secs(wall)} / {_secs(cpu)} "
                   f"| {_secs(bwall)} / {_secs(bcpu)} | {100 * (wall / bwall - 1):+.0f} % "
                   f"| {100 * (cpu / bcpu - 1):+.0f} % |")
    return out


def render(info, minutes, cases, runs, scaling, profiles, load_end, repeats, full_repeats,
           prof_minutes, base_runs=None, base_label=None):
    out = [
        f"- Date: {info['date']}",
        f"- Machine: {info['nproc']} CPU(s) (`nproc`), {info['cpu']}, {info['mem']} RAM",
        f"- Python {info['python']}; {info['versions']}",
        "- Threads: as the library runs them (no pinning): `iter_frames` decodes with "
        "FFmpeg's frame threads (`thread_type='AUTO'`), `extract_face_split` runs the two "
        "FaceMesh graphs in two Python threads and decodes ahead in a third (one decoder "
        "thread, `decoder_threads=1`), and each graph has its own worker threads",
        f"- synchrony: commit {info['commit']}",
        f"- Load average (1/5/15 min): {info['load']} at start, {load_end} at end "
        "(above 0 means other processes shared the machine)",
        "",
        f"**Decode and face path** on {minutes:g}-minute split-screen inputs (23.976 fps, "
        f"{int(round(minutes * 60 * FPS)):,} frames). Each run is a fresh subprocess; wall "
        f"time of the call alone (imports done first), median of {repeats} runs (full-rate "
        f"face path: {full_repeats} run{'s' if full_repeats != 1 else ''}), runs of all cases "
        "interleaved. Frames/s = frames yielded or analysed / wall; real-time factor = "
        "video seconds / wall seconds. CPU = the child's user + system time during the "
        "call (above wall: several cores busy). Peak RSS = the child's `VmHWM` "
        "(`/proc/self/status`, equal to what `/usr/bin/time -v` reports), whole process "
        "including Python and imports, largest over its runs. Faces found = share of analysed frames with "
        "`face_detected`, left / right person.",
        "",
        "| input | case | rate | runs | frames | wall median (min–max) | frames/s "
        "| real-time factor | CPU median | peak RSS | faces found |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for (layout, kind, rate), rs in zip(cases, runs):
        walls = [r["wall_s"] for r in rs]
        wall = _median(walls)
        frames = rs[0]["frames"]
        video_s = rs[0]["video_s"]
        rtf = video_s / wall
        found = ""
        if "detected" in rs[0]:
            found = " / ".join(f"{100 * v:.0f} %" for v in rs[0]["detected"].values())
        what = "decode (`iter_frames`)" if kind == "decode" else "face path (`extract_face_split`)"
        bold = "**" if kind == "face" and rate == RATE_HZ else ""
        out.append(
            f"| {layout} | {what} | {_rate_label(rate)} | {len(rs)} | {frames:,} "
            f"| {_secs(wall)} ({_secs(min(walls))}–{_secs(max(walls))}) "
            f"| {frames / wall:,.0f} | {bold}{rtf:,.1f}×{bold} "
            f"| {_secs(_median([r['cpu_s'] for r in rs]))} "
            f"| {_mib(max(r['peak_rss_kib'] for r in rs))} | {found} |")
    if base_runs:
        out += render_baseline(cases, runs, base_runs, base_label)
    rss_imp = max(r["rss_after_imports_kib"] for rs in runs for r in rs)
    imp_s = _median([r["import_s"] for rs in runs for r in rs])
    out += [
        "",
        f"Fresh process after the imports (NumPy, PyAV, OpenCV, mediapipe, synchrony): "
        f"about {_mib(rss_imp)} RSS, {imp_s:.1f} s of import time (not in the timings).",
        "",
        f"**Peak memory against length** — face path at {RATE_HZ:g} Hz on the 1280x360 "
        "input of each length (one fresh subprocess each; peak RSS as above).",
        "",
        "| length | frames analysed | wall | real-time factor | peak RSS |",
        "|---:|---:|---:|---:|---:|",
    ]
    for m, r in scaling:
        out.append(f"| {m:g} min | {r['frames']:,} | {_secs(r['wall_s'])} "
                   f"| {r['video_s'] / r['wall_s']:,.1f}× | {_mib(r['peak_rss_kib'])} |")
    for layout, p in profiles:
        out += [
            "",
            f"**Where the time goes** — {layout}, {prof_minutes:g} min at {RATE_HZ:g} Hz "
            f"({p['frames']:,} frames), both persons analysed one after the other in one "
            "thread (the library uses two) under cProfile; cumulative seconds per stage. "
            f"The same loop took {p['plain_s']:.1f} s without the profiler (run first) and "
            f"{p['profiled_s']:.1f} s with it; shares are of the profiled run.",
            "",
            "| stage | seconds | share of the profiled run |",
            "|---|---:|---:|",
        ]
        for label, s in p["parts"].items():
            out.append(f"| {label} | {s:.2f} | {100 * s / p['profiled_s']:.0f} % |")
    return "\n".join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0,
                        help="length of the inputs in minutes (default 10)")
    parser.add_argument("--scaling-minutes", type=float, nargs="*", default=[2.0, 5.0],
                        help="shorter 1280x360 inputs for peak RSS against length "
                             "(default 2 5; --minutes is added)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="timed runs per case (default 3)")
    parser.add_argument("--full-repeats", type=int, default=1,
                        help="timed runs of the full-rate face path (default 1: minutes each)")
    parser.add_argument("--profile-minutes", type=float, default=1.0,
                        help="length of the cProfile run (default 1; 0 to skip)")
    parser.add_argument("--cache-dir", type=Path,
                        default=Path(tempfile.gettempdir()) / "synchrony-bench-face",
                        help="where the built inputs are kept between runs")
    parser.add_argument("--source", type=Path, default=SOURCE, help="the one-face clip")
    parser.add_argument("--baseline", type=Path,
                        help="another checkout whose 10 Hz cases run interleaved with these")
    parser.add_argument("--baseline-label", help="how to name it (default: its path)")
    parser.add_argument("--write", action="store_true",
                        help=f"also update the bench_face results in {README}")
    # internal: one measurement in a child process
    parser.add_argument("--case", choices=("decode", "face", "profile"), help=argparse.SUPPRESS)
    parser.add_argument("--input", help=argparse.SUPPRESS)
    parser.add_argument("--rate", type=float, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--backend", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.case:
        if args.case == "profile":
            result = run_profile(args.input, args.rate, top=25)
        else:
            result = run_case(args.case, args.input, args.rate, args.backend)
        print(json.dumps(result))
        return

    if args.repeats < 1 or args.full_repeats < 1:
        parser.error("--repeats and --full-repeats must be at least 1")
    if args.baseline is not None:
        args.baseline = args.baseline.resolve()
        if not (args.baseline / "benchmarks" / Path(__file__).name).exists():
            parser.error(f"{args.baseline} has no benchmarks/{Path(__file__).name}")
    if not args.source.exists():
        parser.error(f"{args.source} not found")
    info = machine()
    print(f"load average at start: {info['load']}", file=sys.stderr)
    inputs = {layout: build_input(layout, args.minutes, args.cache_dir, args.source)
              for layout in LAYOUTS}
    short = sorted(m for m in set(args.scaling_minutes) if 0 < m < args.minutes)
    short_inputs = {m: build_input("1280x360", m, args.cache_dir, args.source) for m in short}
    prof_inputs = {}
    if args.profile_minutes > 0:
        prof_inputs = {layout: build_input(layout, args.profile_minutes, args.cache_dir,
                                           args.source) for layout in LAYOUTS}

    cases = [(layout, kind, rate) for layout in LAYOUTS for kind in ("decode", "face")
             for rate in (None, RATE_HZ)]
    runs = [[] for _ in cases]
    base_runs = {i: [] for i, case in enumerate(cases) if case[2] == RATE_HZ} \
        if args.baseline else {}
    for k in range(args.repeats):
        for i, (layout, kind, rate) in enumerate(cases):
            if kind == "face" and rate is None and k >= args.full_repeats:
                continue
            child = ["--case", kind, "--input", str(inputs[layout])]
            if rate is not None:
                child += ["--rate", str(rate)]
            r = run_child(child)
            runs[i].append(r)
            print(f"  run {k + 1}: {layout} {kind} {_rate_label(rate)}: {r['wall_s']:.1f} s, "
                  f"{r['cpu_s']:.1f} s CPU, {r['frames'] / r['wall_s']:.0f} frames/s, peak "
                  f"RSS {_mib(r['peak_rss_kib'])}", file=sys.stderr)
            if i in base_runs:
                b = run_child(child, root=args.baseline)
                base_runs[i].append(b)
                print(f"  run {k + 1}: {layout} {kind} {_rate_label(rate)} (baseline): "
                      f"{b['wall_s']:.1f} s, {b['cpu_s']:.1f} s CPU", file=sys.stderr)

    i10 = cases.index(("1280x360", "face", RATE_HZ))
    scaling = []
    for m in short:
        r = run_child(["--case", "face", "--input", str(short_inputs[m]), "--rate", str(RATE_HZ)])
        print(f"  {m:g} min face {RATE_HZ:g} Hz: peak RSS {_mib(r['peak_rss_kib'])}",
              file=sys.stderr)
        scaling.append((m, r))
    scaling.append((args.minutes, max(runs[i10], key=lambda r: r["peak_rss_kib"])))

    profiles = []
    for layout, path in prof_inputs.items():
        p = run_child(["--case", "profile", "--input", str(path), "--rate", str(RATE_HZ)])
        profiles.append((layout, p))
        print(f"profile {layout}: {p['profiled_s']:.1f} s profiled, {p['plain_s']:.1f} s plain; "
              "top functions by own time:", file=sys.stderr)
        for name, tt, ct, nc in p["top"]:
            print(f"    {tt:7.2f} s own {ct:7.2f} s cum {nc:8d} calls  {name}", file=sys.stderr)

    section = render(info, args.minutes, cases, runs, scaling, profiles, load_average(),
                     args.repeats, args.full_repeats, args.profile_minutes, base_runs,
                     args.baseline_label or str(args.baseline))
    print(section)
    if args.write:
        write_section(README, START, END, section)
        print(f"\nwrote results to {README}", file=sys.stderr)


if __name__ == "__main__":
    main()
