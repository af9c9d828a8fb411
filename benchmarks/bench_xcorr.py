"""Benchmark ``synchrony.windowed_xcorr`` against the reference loop.

Issue #5's acceptance run: rMEA's windowing (lag 5 s, window 30 s, increment 10 s,
Fisher z, 25 Hz) on

* all twenty real rMEA dyads (``/work/shared/reference/rmea/{normal,dropout}/*.txt``,
  read with ``synchrony.readers.read_rmea``): median wall time of one pass over the
  twenty, against the target of 0.05 s on one core;
* 200 pseudo-dyads: (A of dyad i, B of dyad j), i != j, drawn with a fixed seed from
  all 380 cross-session pairings, each pair cut to the shorter length;
* the reference loop (``reference_xcorr`` in ``tests/xcorr_reference.py``) on a subset
  of each, timed in the same run, interleaved, for the ratio loop / kernel; and the
  largest difference in r between the two (all twenty dyads, the pseudo-dyad subset).

Then, on a 10-minute 25 Hz pair with the same settings:

* median wall time of ``windowed_xcorr`` (the block-sum kernel) and of
  ``reference_xcorr`` on the same input, and their ratio loop/kernel measured in the
  same run;
* the largest absolute difference in r between the two (and whether their NaN cells
  and valid-pair counts agree);
* peak memory of one kernel call (tracemalloc peak: Python and NumPy allocations made
  during the call, not the process RSS);
* scaling of the kernel time with window length (10 / 30 / 60 s) and with recording
  length (10 / 20 / 40 min).

Inputs there: simulated AR(1)-ish data with ~5 % NaNs (seeded), and the real rMEA dyad
``/work/shared/reference/rmea/normal/200_01.txt`` (skipped, with a message, if absent).

One core: BLAS and OpenMP thread pools are pinned to one thread (env vars set before
NumPy is imported, plus threadpoolctl when it is installed), so everything runs in one
thread; ``--cpu N`` also pins the process to CPU N (``os.sched_setaffinity``).
``OPENBLAS_CORETYPE`` is left as found and only reported. The load average is recorded
at start and end: the machine may be shared.

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
from synchrony.readers import read_rmea  # noqa: E402
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
RMEA_DIR = Path("/work/shared/reference/rmea")
PSEUDO_DYADS = 200
PSEUDO_SEED = 20240505
TARGET_S = 0.05  # issue #5: the twenty dyads in under 0.05 s on one core
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


def rmea_dyads(rmea_dir: Path):
    """The real dyads (file name, Signals) in file-name order within each folder."""
    return [(path, read_rmea(path)) for path in sorted(rmea_dir.glob("*/*.txt"))]


def pseudo_pairs(signals, n_pairs=PSEUDO_DYADS, seed=PSEUDO_SEED):
    """(label, a, b): A of dyad i with B of dyad j, i != j, drawn without replacement
    from all cross-session pairings with a fixed seed, both cut to the shorter length."""
    pairings = [(i, j) for i in range(len(signals)) for j in range(len(signals)) if i != j]
    chosen = np.random.default_rng(seed).choice(len(pairings), size=n_pairs, replace=False)
    pairs = []
    for k in chosen:
        i, j = pairings[k]
        a, b = signals[i]["A", "motion_energy"], signals[j]["B", "motion_energy"]
        n = min(len(a), len(b))
        pairs.append((f"A{i}~B{j}", a.iloc[:n], b.iloc[:n]))
    return pairs, len(pairings)


def _rmea_xcorr(a, b, fisher_z=True):
    """rMEA's windowing, as a user calls it (Series from read_rmea, Fisher z)."""
    return windowed_xcorr(a, b, RATE_HZ, window_s=WINDOW_S, step_s=STEP_S,
                          max_lag_s=MAX_LAG_S, fisher_z=fisher_z)


def _loop(a, b):
    n_win, n_step, n_lag = (int(round(x * RATE_HZ)) for x in (WINDOW_S, STEP_S, MAX_LAG_S))
    return reference_xcorr(np.asarray(a, float), np.asarray(b, float), n_win, n_step, n_lag)


def acceptance(dyads, pseudo, repeats, loop_pairs, loop_repeats):
    """Issue #5: the twenty dyads and the pseudo-dyads with rMEA's settings, and the
    reference loop on the first ``loop_pairs`` of each, all timed in one interleaved
    sequence. Agreement with the loop: all dyads, the timed pseudo-dyad subset."""
    real = [(path.stem, sig["A", "motion_energy"], sig["B", "motion_energy"])
            for path, sig in dyads]
    loop_out = {}

    def run_kernel(pairs):
        return lambda: [_rmea_xcorr(a, b) for _, a, b in pairs]

    def run_loop(pairs):
        def run():
            for label, a, b in pairs:
                loop_out[label] = _loop(a, b)[0]
        return run

    workloads = [("real", real), ("pseudo", pseudo)]
    fns, reps = [], []
    for _, pairs in workloads:
        fns += [run_kernel(pairs), run_kernel(pairs[:loop_pairs]), run_loop(pairs[:loop_pairs])]
        reps += [repeats, repeats, loop_repeats]
    for fn in fns[::3]:
        fn()  # warm-up (imports, BLAS start-up, first allocations)
    wall, cpu = _interleaved_times(fns, reps)

    rows = []
    for k, (name, pairs) in enumerate(workloads):
        all_w, sub_w, loop_w = wall[3 * k : 3 * k + 3]
        all_c = cpu[3 * k]
        # Agreement in r (no Fisher z): every real dyad, the timed pseudo-dyad subset.
        checked = pairs if name == "real" else pairs[:loop_pairs]
        diffs, nan_agree = [], True
        for label, a, b in checked:
            ref = loop_out[label] if label in loop_out else _loop(a, b)[0]
            r = _rmea_xcorr(a, b, fisher_z=False).to_numpy()
            nan_agree &= bool(np.array_equal(np.isnan(r), np.isnan(ref)))
            both = np.isfinite(r) & np.isfinite(ref)
            diffs.append(float(np.max(np.abs(r[both] - ref[both]))) if both.any() else 0.0)
        shape = _rmea_xcorr(pairs[0][1], pairs[0][2]).shape
        sub_per = float(np.median(sub_w)) / loop_pairs
        loop_per = float(np.median(loop_w)) / loop_pairs
        rows.append({
            "name": name, "pairs": len(pairs), "samples": {len(a) for _, a, _ in pairs},
            "shape": shape, "wall": all_w, "cpu": all_c, "sub_per": sub_per,
            "loop_per": loop_per, "ratio": loop_per / sub_per, "checked": len(checked),
            "max_diff": max(diffs), "nan_agree": nan_agree,
        })
    return rows


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


def render_acceptance(rows, n_pairings, args):
    out = []
    real = next(row for row in rows if row["name"] == "real")
    med = float(np.median(real["wall"]))
    verdict = "**met**" if med < TARGET_S else "**not met**"
    out.append(
        f"**Issue #5 acceptance** — rMEA's windowing (lag {MAX_LAG_S:g} s, window "
        f"{WINDOW_S:g} s, increment {STEP_S:g} s, Fisher z, {RATE_HZ:g} Hz) through the "
        f"public call, `windowed_xcorr(a, b, 25, window_s=30, step_s=10, max_lag_s=5)` on "
        f"the Series that `synchrony.readers.read_rmea` gives (validation, Fisher z and the "
        f"pandas output included). One run = one pass over all pairs of the workload; "
        f"median of {args.repeats} runs after one untimed warm-up. Pseudo-dyads: A of "
        f"dyad i with B of dyad j, i != j, {args.pseudo_dyads} drawn without replacement "
        f"from all {n_pairings} cross-session pairings (seed {args.pseudo_seed}), each cut "
        f"to the shorter length. Loop = `reference_xcorr` (`tests/xcorr_reference.py`, "
        f"r and counts, no Fisher z) on the first {args.loop_pairs} pairs of each "
        f"workload, median of {args.loop_repeats} runs; the kernel is timed on the same "
        f"pairs, and all runs of the six timings are interleaved in one sequence, so the "
        f"ratio compares medians from the same run. Max abs diff: r from "
        f"`windowed_xcorr(..., fisher_z=False)` against the loop, over cells where both "
        f"are finite (every real dyad; the pseudo-dyads the loop ran on)."
    )
    out.append("")
    out.append(
        "| workload | pairs | samples per pair | windows × lags | kernel wall, median "
        "(min–max) | per pair | kernel CPU median | loop per pair | loop / kernel "
        "(same pairs) | max abs diff r (pairs checked) | NaN cells agree |"
    )
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    names = {"real": "rMEA dyads (real)", "pseudo": "pseudo-dyads"}
    for row in rows:
        wall = float(np.median(row["wall"]))
        samples = ", ".join(f"{n:,}" for n in sorted(row["samples"]))
        out.append(
            f"| {names[row['name']]} | {row['pairs']} | {samples} "
            f"| {row['shape'][0]} × {row['shape'][1]} "
            f"| **{_ms(wall)}** ({_span((min(row['wall']), max(row['wall'])))}) "
            f"| {wall / row['pairs'] * 1e3:.2f} ms | {_ms(float(np.median(row['cpu'])))} "
            f"| {_ms(row['loop_per'])} | {row['ratio']:,.0f}× "
            f"| {row['max_diff']:.1e} ({row['checked']}) "
            f"| {'yes' if row['nan_agree'] else 'NO'} |"
        )
    out.append("")
    out.append(
        f"Target (issue #5): the twenty dyads in under {TARGET_S * 1e3:.0f} ms on one core: "
        f"{verdict} ({_ms(med)} median wall, {_ms(float(np.median(real['cpu'])))} CPU)."
    )
    return out


def render(info, acc_rows, n_pairings, args, results, skipped, scale_rows, load_end):
    kernel_repeats, loop_repeats = args.repeats, args.loop_repeats
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
        f"- Threads: one ({pinned}); process {info['affinity']}",
        f"- `OPENBLAS_CORETYPE`: {info['coretype']} (reported only, never changed)",
        f"- synchrony: commit {info['commit']}",
        f"- Load average (1/5/15 min): {info['load']} at start, {load_end} at end "
        f"(well above 0 means other processes shared the machine)",
        "",
    ]
    if acc_rows:
        out += render_acceptance(acc_rows, n_pairings, args) + [""]
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
        "--repeats", type=int, default=9, help="timed runs of the kernel (default 9)"
    )
    parser.add_argument(
        "--loop-repeats", type=int, default=3, help="timed runs of the reference loop (default 3)"
    )
    parser.add_argument(
        "--rmea-file", type=Path, default=RMEA_FILE, help=f"real dyad (default {RMEA_FILE})"
    )
    parser.add_argument(
        "--rmea-dir", type=Path, default=RMEA_DIR,
        help=f"folder with the rMEA dyads in subfolders (default {RMEA_DIR})",
    )
    parser.add_argument(
        "--pseudo-dyads", type=int, default=PSEUDO_DYADS,
        help=f"pseudo-dyads drawn (default {PSEUDO_DYADS})",
    )
    parser.add_argument(
        "--pseudo-seed", type=int, default=PSEUDO_SEED,
        help=f"seed of the pseudo-dyad draw (default {PSEUDO_SEED})",
    )
    parser.add_argument(
        "--loop-pairs", type=int, default=4,
        help="pairs of each acceptance workload the reference loop runs on (default 4)",
    )
    parser.add_argument(
        "--cpu", type=int, default=None,
        help="pin the process to this CPU (default: not pinned; it is single-threaded "
        "either way, and unpinned the scheduler can move it off a busy core)",
    )
    parser.add_argument(
        "--write", action="store_true", help=f"also update the results section of {README}"
    )
    args = parser.parse_args(argv)
    if min(args.repeats, args.loop_repeats, args.loop_pairs, args.pseudo_dyads) < 1:
        parser.error("--repeats, --loop-repeats, --loop-pairs and --pseudo-dyads must be >= 1")

    allowed = sorted(os.sched_getaffinity(0))
    if args.cpu is not None and args.cpu not in allowed:
        parser.error(f"--cpu {args.cpu}: this process may use CPUs {allowed}")
    info = machine()  # before threadpool_limits, so it reports what the env vars gave
    if args.cpu is None:
        info["affinity"] = f"not pinned (its one thread runs on one of {len(allowed)} CPUs)"
    else:
        info["affinity"] = f"pinned to CPU {args.cpu} (`os.sched_setaffinity`, `--cpu`)"
        os.sched_setaffinity(0, {args.cpu})
    limiter = threadpool_limits(limits=1) if threadpool_limits else None
    acc_rows, n_pairings = [], 0
    try:
        print(f"synchrony from {Path(synchrony.__file__).parent}", file=sys.stderr)
        dyads = rmea_dyads(args.rmea_dir)
        if len(dyads) >= 2:
            signals = [sig for _, sig in dyads]
            pseudo, n_pairings = pseudo_pairs(signals, args.pseudo_dyads, args.pseudo_seed)
            print(f"benchmarking: {len(dyads)} rMEA dyads and {len(pseudo)} pseudo-dyads ...",
                  file=sys.stderr)
            acc_rows = acceptance(dyads, pseudo, args.repeats, args.loop_pairs,
                                  args.loop_repeats)
        else:
            print(f"skipping the rMEA acceptance run: no dyads in {args.rmea_dir}",
                  file=sys.stderr)
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
        os.sched_setaffinity(0, allowed)

    section = render(info, acc_rows, n_pairings, args, results, skipped, scale_rows,
                     load_average())
    print(section)
    if args.write:
        write_section(README, START, END, section)
        print(f"\nwrote results to {README}", file=sys.stderr)


if __name__ == "__main__":
    main()
