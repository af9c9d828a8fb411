"""Benchmark ``synchrony.windowed_xcorr`` against the reference loop.

Measures, on a 10-minute 25 Hz pair with rMEA's settings (window 30 s, step 10 s,
max lag 5 s):

* median wall time of ``windowed_xcorr`` (the sliding-sum kernel) and of
  ``reference_xcorr`` (the plain loop in ``tests/xcorr_reference.py``) on the same input,
  and their ratio loop/kernel measured in the same run;
* the largest absolute difference in r between the two (and whether their NaN cells
  and valid-pair counts agree);
* peak memory of one kernel call (tracemalloc peak: Python and NumPy allocations made
  during the call, not the process RSS);
* scaling of the kernel time with window length (10 / 30 / 60 s) and with recording
  length (10 / 20 / 40 min).

Inputs: simulated AR(1)-ish data with ~5 % NaNs (seeded), and the real rMEA dyad
``/work/shared/reference/rmea/normal/200_01.txt`` (skipped, with a message, if absent).

BLAS and OpenMP thread pools are pinned to one thread (env vars set before NumPy is
imported, plus threadpoolctl when it is installed). ``OPENBLAS_CORETYPE`` is left as
found and only reported.

Run from the repository root::

    .venv/bin/python benchmarks/bench_xcorr.py            # print the tables
    .venv/bin/python benchmarks/bench_xcorr.py --write    # also update benchmarks/README.md
"""

from __future__ import annotations

import os

# Pin every thread pool to one thread *before* NumPy (and its BLAS) is loaded.
_THREAD_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "BLIS_NUM_THREADS",
)
# Imported first: it keeps the environment as found (for tools such as `nproc` that
# also read OMP_NUM_THREADS), before any thread pinning below.
from _common import load_average, machine_facts, write_section  # noqa: E402
for _var in _THREAD_VARS:
    os.environ[_var] = "1"
# Reported only; deliberately not changed (it selects OpenBLAS kernels, not threads).
OPENBLAS_CORETYPE = os.environ.get("OPENBLAS_CORETYPE")

import argparse  # noqa: E402
import gc  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# Benchmark this checkout, and import the reference loop from the tests folder.
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import synchrony  # noqa: E402
from synchrony import windowed_xcorr  # noqa: E402
from xcorr_reference import reference_xcorr  # noqa: E402

try:
    from threadpoolctl import threadpool_info, threadpool_limits
except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
    threadpool_info = threadpool_limits = None

RATE_HZ = 25.0
WINDOW_S = 30.0
STEP_S = 10.0
MAX_LAG_S = 5.0
MINUTES = 10
SEED = 20240501
NAN_SHARE = 0.05
RMEA_FILE = Path("/work/shared/reference/rmea/normal/200_01.txt")
README = HERE / "README.md"
START = "<!-- bench_xcorr results: start (written by bench_xcorr.py --write) -->"
END = "<!-- bench_xcorr results: end -->"


# --------------------------------------------------------------------------- inputs


def simulated_pair(n: int, seed: int = SEED, nan_share: float = NAN_SHARE):
    """Two AR(1)-ish series (b follows a by 1 s) with ~``nan_share`` NaNs each.

    a: AR(1), phi = 0.95, plus a slow random-walk drift (non-stationary level, as in
    real motion data). b: 0.6 * a one second later + its own AR(1). NaNs: half as
    single samples, half as dropout bursts of 5-50 samples, placed independently in
    each series. The same seed gives the same data; longer n extends the same recipe.
    """
    rng = np.random.default_rng(seed)
    lag = int(round(1.0 * RATE_HZ))

    def ar1(size, phi):
        e = rng.standard_normal(size)
        x = np.empty(size)
        x[0] = e[0]
        for i in range(1, size):  # plain recursion; n is at most a few 10^5
            x[i] = phi * x[i - 1] + e[i]
        return x

    drift = np.cumsum(rng.standard_normal(n + lag)) * 0.05
    a_full = ar1(n + lag, 0.95) + drift
    a = a_full[lag:]
    b = 0.6 * a_full[:n] + ar1(n, 0.9)
    a = a * 10 + 100  # an offset and scale like raw sensor values
    b = b * 4 + 50
    return _with_nans(a, rng, nan_share), _with_nans(b, rng, nan_share)


def _with_nans(x, rng, share):
    x = x.copy()
    n = x.size
    x[rng.random(n) < share / 2] = np.nan
    target = share * n
    while np.isnan(x).sum() < target:
        start = int(rng.integers(0, n))
        x[start : start + int(rng.integers(5, 51))] = np.nan
    return x


def rmea_pair(path: Path):
    data = np.loadtxt(path, skiprows=1, dtype=float)
    return data[:, 0], data[:, 1]


# --------------------------------------------------------------------------- timing


def _interleaved_times(fns, repeats):
    """Time each of ``fns`` ``repeats[i]`` times, spreading the runs of all of them
    evenly through one sequence, so a burst of load from other processes hits every
    function alike instead of only the one measured at that moment.

    Returns per function the wall times and the CPU times of this process (the latter
    is less sensitive to other processes competing for the cores).
    """
    slots = sorted(
        ((k + 0.5) / reps, i) for i, reps in enumerate(repeats) for k in range(reps)
    )
    wall = [[] for _ in fns]
    cpu = [[] for _ in fns]
    for _, i in slots:
        gc.collect()
        c0, t0 = time.process_time(), time.perf_counter()
        fns[i]()
        t1, c1 = time.perf_counter(), time.process_time()
        wall[i].append(t1 - t0)
        cpu[i].append(c1 - c0)
    return wall, cpu


def _kernel(a, b, window_s=WINDOW_S):
    # fisher_z=False and return_counts=True: the same outputs as the reference loop.
    return windowed_xcorr(
        a,
        b,
        RATE_HZ,
        window_s=window_s,
        step_s=STEP_S,
        max_lag_s=MAX_LAG_S,
        fisher_z=False,
        return_counts=True,
    )


def _tracemalloc_peak(fn):
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    base, _ = tracemalloc.get_traced_memory()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak - base


def compare(name, a, b, kernel_repeats, loop_repeats):
    n_win = int(round(WINDOW_S * RATE_HZ))
    n_step = int(round(STEP_S * RATE_HZ))
    n_lag = int(round(MAX_LAG_S * RATE_HZ))

    xc, counts = _kernel(a, b)  # warm-up, and the values compared below
    ref_out = {}

    def loop():
        ref_out["r"], ref_out["counts"] = reference_xcorr(a, b, n_win, n_step, n_lag)

    (kernel_t, loop_t), _ = _interleaved_times(
        [lambda: _kernel(a, b), loop], [kernel_repeats, loop_repeats]
    )
    kernel_med, loop_med = float(np.median(kernel_t)), float(np.median(loop_t))
    peak = _tracemalloc_peak(lambda: _kernel(a, b))

    r = xc.to_numpy()
    ref = ref_out["r"]
    assert r.shape == ref.shape, (r.shape, ref.shape)
    both = np.isfinite(r) & np.isfinite(ref)
    return {
        "name": name,
        "samples": a.size,
        "nan_pct": 100 * (np.isnan(a).mean() + np.isnan(b).mean()) / 2,
        "shape": r.shape,
        "kernel_s": kernel_med,
        "loop_s": loop_med,
        "ratio": loop_med / kernel_med,
        "max_diff": float(np.max(np.abs(r[both] - ref[both]))) if both.any() else float("nan"),
        "nan_match": bool(np.array_equal(np.isnan(r), np.isnan(ref))),
        "nan_cells": int(np.isnan(ref).sum()),
        "counts_match": bool(np.array_equal(counts.to_numpy(), ref_out["counts"])),
        "peak_bytes": peak,
        "kernel_range": (min(kernel_t), max(kernel_t)),
        "loop_range": (min(loop_t), max(loop_t)),
    }


def scaling(kernel_repeats):
    """Kernel time for window 10 / 30 / 60 s (10 min) and length 10 / 20 / 40 min (30 s).

    The 30 s / 10 min case is shared by both groups and measured once; all five cases
    are timed round-robin (see ``_interleaved_times``).
    """
    cases = [("window", w, MINUTES) for w in (10.0, 30.0, 60.0)]
    cases += [("length", WINDOW_S, m) for m in (20, 40)]
    data = {m: simulated_pair(int(m * 60 * RATE_HZ)) for m in {c[2] for c in cases}}
    fns, shapes, peaks = [], [], []
    for _, window_s, minutes in cases:
        a, b = data[minutes]
        fn = (lambda a, b, w: lambda: _kernel(a, b, w))(a, b, window_s)
        shapes.append(fn()[0].shape)  # warm-up
        peaks.append(_tracemalloc_peak(fn))
        fns.append(fn)
    wall, cpu = _interleaved_times(fns, [kernel_repeats] * len(fns))
    rows = []
    for (varied, window_s, minutes), shape, peak, t, c in zip(cases, shapes, peaks, wall, cpu):
        n = data[minutes][0].size
        rows.append((varied, window_s, minutes, n, shape, t, c, peak))
    # The 30 s / 10 min case heads the length group too.
    return rows[:3] + [("length",) + rows[1][1:]] + rows[3:]


# --------------------------------------------------------------------------- report


def machine():
    blas = []
    if threadpool_info is not None:
        for pool in threadpool_info():
            blas.append(
                f"{pool.get('internal_api')} {pool.get('version')} "
                f"({pool.get('architecture')}, {pool.get('num_threads')} thread(s))"
            )
    return {
        **machine_facts(["synchrony/analysis/xcorr.py"]),
        "numpy": np.__version__,
        "pandas": __import__("pandas").__version__,
        "blas": "; ".join(blas) or "unknown (threadpoolctl not installed)",
        "coretype": OPENBLAS_CORETYPE if OPENBLAS_CORETYPE is not None else "not set",
    }


def _ms(seconds):
    return f"{seconds * 1e3:,.0f} ms" if seconds < 10 else f"{seconds:,.1f} s"


def _span(lo_hi):
    lo, hi = lo_hi
    return f"{lo * 1e3:,.0f}–{hi * 1e3:,.0f}"


def _mib(nbytes):
    return f"{nbytes / 1024**2:,.1f} MiB"


def render(info, results, skipped, scale_rows, kernel_repeats, loop_repeats, load_end):
    out = []
    pinned = (
        "`OMP_NUM_THREADS`, `OPENBLAS_NUM_THREADS`, `MKL_NUM_THREADS`, ... = 1 set before "
        "NumPy is imported"
    )
    if threadpool_limits:
        pinned += ", plus threadpoolctl `threadpool_limits(1)` around the measurements"
    out += [
        f"- Date: {info['date']}",
        f"- Machine: {info['nproc']} CPU(s) (`nproc`), {info['cpu']} "
        f"(`/proc/cpuinfo` model name), {info['mem']} RAM",
        f"- Python {info['python']}, NumPy {info['numpy']}, pandas {info['pandas']}",
        f"- BLAS: {info['blas']}",
        f"- Threads: one ({pinned})",
        f"- `OPENBLAS_CORETYPE`: {info['coretype']} (reported only, never changed)",
        f"- synchrony: commit {info['commit']}",
        f"- Load average (1/5/15 min): {info['load']} at start, {load_end} at end "
        f"(well above 0 means other processes shared the machine)",
        "",
    ]
    out.append(
        f"**Kernel vs reference loop** — {MINUTES} min at {RATE_HZ:g} Hz, window "
        f"{WINDOW_S:g} s, step {STEP_S:g} s, max lag {MAX_LAG_S:g} s. Kernel = "
        f"`windowed_xcorr(..., fisher_z=False, return_counts=True)` (public API, pandas "
        f"output included), median of {kernel_repeats} runs after one untimed warm-up; "
        f"loop = `reference_xcorr` from `tests/xcorr_reference.py`, median of "
        f"{loop_repeats} runs. The runs of the two are interleaved in one sequence and "
        f"the ratio is of the two medians from that same run. Max abs diff is over cells "
        f"where both give a finite r. Peak memory: tracemalloc peak during one kernel "
        f"call (Python + NumPy allocations above the baseline; not RSS)."
    )
    out.append("")
    out.append(
        "| input | samples | NaN % | windows × lags | kernel median (min–max ms) "
        "| loop median (min–max ms) | loop / kernel | max abs diff r | NaN cells agree "
        "| counts agree | kernel peak mem |"
    )
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---|---|---:|")
    for res in results:
        out.append(
            f"| {res['name']} | {res['samples']:,} | {res['nan_pct']:.1f} "
            f"| {res['shape'][0]} × {res['shape'][1]} "
            f"| {_ms(res['kernel_s'])} ({_span(res['kernel_range'])}) "
            f"| {_ms(res['loop_s'])} ({_span(res['loop_range'])}) "
            f"| {res['ratio']:,.1f}× | {res['max_diff']:.1e} "
            f"| {'yes' if res['nan_match'] else 'NO'} ({res['nan_cells']} NaN) "
            f"| {'yes' if res['counts_match'] else 'NO'} | {_mib(res['peak_bytes'])} |"
        )
    for name, why in skipped:
        out.append(f"| {name} | skipped: {why} | | | | | | | | | |")
    out.append("")
    out.append(
        f"**Kernel scaling** — simulated data (same recipe and seed), step {STEP_S:g} s, "
        f"max lag {MAX_LAG_S:g} s; median of {kernel_repeats} runs after one warm-up, all "
        f"five cases timed round-robin (the 30 s / 10 min case is measured once and "
        f"heads both groups). CPU time is this process's user + system time "
        f"(`time.process_time`), shown beside wall time because other processes on the "
        f"machine disturb it less. Expected: flat across window lengths, and linear in "
        f"recording length (the 'vs first row' columns would then read 1, 2, 4 for 10, "
        f"20, 40 min)."
    )
    out.append("")
    out.append(
        "| varied | window | length | samples | windows × lags | kernel median (min–max ms) "
        "| per minute of recording | vs first row of group | CPU time median "
        "| CPU vs first row | peak mem |"
    )
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    first = {}
    for varied, window_s, minutes, n, shape, t, c, peak in scale_rows:
        med, cmed = float(np.median(t)), float(np.median(c))
        first.setdefault(varied, (med, cmed))
        out.append(
            f"| {varied} | {window_s:g} s | {minutes} min | {n:,} | {shape[0]} × {shape[1]} "
            f"| {_ms(med)} ({_span((min(t), max(t)))}) | {_ms(med / minutes)} "
            f"| {med / first[varied][0]:.2f}× | {_ms(cmed)} | {cmed / first[varied][1]:.2f}× "
            f"| {_mib(peak)} |"
        )
    return "\n".join(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--repeats", type=int, default=7, help="timed runs of the kernel (default 7)"
    )
    parser.add_argument(
        "--loop-repeats", type=int, default=3, help="timed runs of the reference loop (default 3)"
    )
    parser.add_argument(
        "--rmea-file", type=Path, default=RMEA_FILE, help=f"real dyad (default {RMEA_FILE})"
    )
    parser.add_argument(
        "--write", action="store_true", help=f"also update the results section of {README}"
    )
    args = parser.parse_args(argv)
    if args.repeats < 1 or args.loop_repeats < 1:
        parser.error("--repeats and --loop-repeats must be at least 1")

    info = machine()  # before threadpool_limits, so it reports what the env vars gave
    limiter = threadpool_limits(limits=1) if threadpool_limits else None
    try:
        print(f"synchrony from {Path(synchrony.__file__).parent}", file=sys.stderr)
        results, skipped = [], []
        n = int(MINUTES * 60 * RATE_HZ)
        a, b = simulated_pair(n)
        print("benchmarking: simulated AR(1)-ish pair ...", file=sys.stderr)
        results.append(
            compare(
                f"simulated AR(1)-ish, ~{NAN_SHARE:.0%} NaN (seed {SEED})",
                a,
                b,
                args.repeats,
                args.loop_repeats,
            )
        )
        if args.rmea_file.exists():
            print(f"benchmarking: rMEA dyad {args.rmea_file} ...", file=sys.stderr)
            a, b = rmea_pair(args.rmea_file)
            results.append(
                compare(
                    f"rMEA dyad `{args.rmea_file.name}`", a, b, args.repeats, args.loop_repeats
                )
            )
        else:
            msg = f"{args.rmea_file} not found"
            print(f"skipping the rMEA dyad: {msg}", file=sys.stderr)
            skipped.append(("rMEA dyad", msg))
        print("benchmarking: kernel scaling ...", file=sys.stderr)
        scale_rows = scaling(args.repeats)
    finally:
        if limiter is not None:
            limiter.restore_original_limits()

    section = render(
        info, results, skipped, scale_rows, args.repeats, args.loop_repeats, load_average()
    )
    print(section)
    if args.write:
        write_section(README, START, END, section)
        print(f"\nwrote results to {README}", file=sys.stderr)


if __name__ == "__main__":
    main()
