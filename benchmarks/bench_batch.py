"""Benchmark ``synchrony.run_batch``: scaling with workers, and Dask's overhead per session.

A batch of the 20 real rMEA dyads in ``/work/shared/reference/rmea/{normal,dropout}``
(10-minute motion-energy series at 25 Hz) with rMEA's windowing (30 s windows, 10 s
steps, lags up to 5 s), ``--n-surrogates`` circular surrogates (default 200, the library's), every
session's tables, figures and exports written, runs:

1. on loky's pool with 1 worker, then with 2 workers (the default on 2 cores): the
   scaling ratio is the best 1-worker wall time over the best 2-worker one;
2. on a Dask ``LocalCluster`` of 2 single-threaded worker processes (TCP on 127.0.0.1):
   Dask's overhead per session is (Dask wall - loky 2-worker wall) / 20;
3. once more on loky with 2 workers, unchanged: every session skipped (the cost of
   resuming); and again with the pseudo-dyad step, whose time is the difference.

The runs are interleaved, ``--repeats`` rounds (default 3), and the best of each kind is
compared (the least disturbed by other users of the machine). Every timed run starts
cold (fresh output folder, the pool's workers shut down first, so each run pays worker
start-up and imports as a user's batch does) and leaves out the study-level pseudo-dyad
step, which runs in the main process and is timed on its own.
The machine is shared: the load average is recorded before and after each run, and the
parallel capacity left by other users is measured before and after (the 1-to-2-worker
speed-up of pure-Python CPU tasks), so that the scaling ratio can be read against it.

Run from the repository root::

    .venv/bin/python benchmarks/bench_batch.py            # print the table
    .venv/bin/python benchmarks/bench_batch.py --write    # also update benchmarks/README.md
"""

from __future__ import annotations

from _common import load_average, machine_facts, write_section  # noqa: I001  (keeps the environment as found)

import argparse
import sys
import tempfile
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

START = "<!-- bench_batch results: start (written by bench_batch.py --write) -->"
END = "<!-- bench_batch results: end -->"
RMEA = Path("/work/shared/reference/rmea")


def shut_pool():
    """Stop loky's reusable pool so that the next run starts cold."""
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor().shutdown(wait=True, kill_workers=True)


def _spin(n):
    """Pure-Python CPU work: no memory traffic, no I/O, no threads."""
    x = 0
    for i in range(n):
        x += i * i
    return x


def capacity(n_tasks=8, n=4_000_000):
    """How much faster 2 workers finish CPU-only tasks than 1, right now: the parallel
    capacity other users of the machine leave (2.0 on an idle 2-core machine)."""
    from joblib.externals.loky import get_reusable_executor

    walls = {}
    for workers in (1, 2):
        shut_pool()
        pool = get_reusable_executor(max_workers=workers)
        list(pool.map(_spin, [10] * workers))  # workers started
        t0 = time.perf_counter()
        list(pool.map(_spin, [n] * n_tasks))
        walls[workers] = time.perf_counter() - t0
    shut_pool()
    return walls[1] / walls[2]


def timed(label, run):
    load_before = load_average()
    t0 = time.perf_counter()
    result = run()
    wall = time.perf_counter() - t0
    statuses = result.sessions["status"].value_counts().to_dict()
    print(f"{label}: {wall:.1f} s {statuses} (load {load_before} -> {load_average()})", file=sys.stderr)
    return {"label": label, "wall_s": wall, "statuses": statuses, "load_before": load_before,
            "load_after": load_average(), "run_s": result.sessions["run_s"].dropna().tolist(),
            "cpu_s": result.sessions["cpu_s"].dropna().tolist()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n-surrogates", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3, help="interleaved rounds of the timed runs")
    parser.add_argument("--write", action="store_true", help="update benchmarks/README.md")
    args = parser.parse_args()

    from synchrony.batch import run_batch
    from synchrony.config import AnalysisConfig
    from synchrony.manifest import discover_sessions

    files = sorted(RMEA.glob("*/*.txt"))
    if len(files) != 20:
        sys.exit(f"expected the 20 rMEA dyads under {RMEA}, found {len(files)}")
    import pandas as pd

    manifest = pd.concat([discover_sessions(RMEA / kind, pattern="*.txt") for kind in ("normal", "dropout")],
                         ignore_index=True)
    config = AnalysisConfig(window_s=30, step_s=10, max_lag_s=5, n_surrogates=args.n_surrogates)
    facts = machine_facts(["synchrony/batch.py", "synchrony/manifest.py", "benchmarks/bench_batch.py"])
    runs = {"loky1": [], "loky2": [], "dask": [], "resume": [], "pseudo_s": []}
    with tempfile.TemporaryDirectory(prefix="synchrony-bench-batch-") as tmp:
        tmp = Path(tmp)

        def loky(workers, out):
            shut_pool()
            return lambda: run_batch(manifest, out_dir=out, config=config, workers=workers, pseudo_dyads=False)

        runs["capacity_before"] = capacity()
        for k in range(args.repeats):
            runs["loky1"].append(timed("loky, 1 worker", loky(1, tmp / f"w1-{k}")))
            runs["loky2"].append(timed("loky, 2 workers", loky(2, tmp / f"w2-{k}")))
            runs["dask"].append(timed("Dask LocalCluster, 2 workers",
                                      lambda: dask_run(manifest, config, tmp / f"dask-{k}")))
            resume = timed("loky, 2 workers, unchanged (all skipped)", loky(2, tmp / f"w2-{k}"))
            runs["resume"].append(resume)
            # The pseudo-dyad step alone: an unchanged re-run with it, minus one without.
            with_pseudo = timed("loky, unchanged, with the pseudo-dyad step",
                                lambda: run_batch(manifest, out_dir=tmp / f"w2-{k}", config=config, workers=2))
            runs["pseudo_s"].append(with_pseudo["wall_s"] - resume["wall_s"])
        runs["capacity_after"] = capacity()
    section = report(facts, runs, config, args)
    print(section)
    if args.write:
        write_section(HERE / "README.md", START, END, section)


def dask_run(manifest, config, out):
    from dask.distributed import Client, LocalCluster

    from synchrony.batch import run_batch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                          dashboard_address="127.0.0.1:0") as cluster, Client(cluster) as client:
            return run_batch(manifest, out_dir=out, config=config, client=client, pseudo_dyads=False)


def report(facts, runs, config, args) -> str:
    import statistics

    n = 20
    best = {k: min(r["wall_s"] for r in runs[k]) for k in ("loky1", "loky2", "dask", "resume")}
    rows = [
        ("loky, 1 worker", runs["loky1"]),
        ("loky, 2 workers", runs["loky2"]),
        ("Dask LocalCluster, 2 worker processes", runs["dask"]),
        ("loky, 2 workers, re-run unchanged", runs["resume"]),
    ]
    lines = [
        f"- Date: {facts['date']}",
        f"- Machine: {facts['nproc']} CPU(s) (`nproc`), {facts['cpu']}, {facts['mem']} RAM; Python {facts['python']}",
        f"- synchrony: commit {facts['commit']}",
        f"- Batch: the 20 rMEA dyads (10 min at 25 Hz each), window {config.window_s:g} s, step "
        f"{config.step_s:g} s, lags up to {config.max_lag_s:g} s, {args.n_surrogates} circular surrogates, "
        "all tables, figures and exports written; workers single-threaded (`THREAD_ENV`)",
        f"- {args.repeats} interleaved rounds (loky 1 worker, loky 2 workers, Dask, re-run unchanged); each run "
        "cold (fresh folder, pool shut down first)",
        "",
        "| run | wall: best (median; all) | per session (best) | session in its worker: wall / CPU "
        "(mean of the best run) | cores busy in the best run (session CPU / wall) | load average before "
        "→ after, each run |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for label, rounds in rows:
        walls = [r["wall_s"] for r in rounds]
        run = min(rounds, key=lambda r: r["wall_s"])
        per = busy = "–"
        if run["run_s"] and "done" in run["statuses"]:
            per = f"{sum(run['run_s']) / len(run['run_s']):.2f} s / –"
        if run["cpu_s"] and "done" in run["statuses"]:  # Dask runs sessions in threads: no CPU time
            per = per.replace("–", f"{sum(run['cpu_s']) / len(run['cpu_s']):.2f} s")
            busy = f"{sum(run['cpu_s']) / run['wall_s']:.2f}"
        loads = "; ".join(f"{r['load_before'].split(' / ')[0]} → {r['load_after'].split(' / ')[0]}" for r in rounds)
        lines.append(f"| {label} | {min(walls):.1f} s ({statistics.median(walls):.1f} s; "
                     f"{', '.join(f'{w:.1f}' for w in walls)}) | {min(walls) / n:.2f} s | {per} | {busy} | {loads} |")
    lines += [
        "",
        f"- **Scaling, 2 workers vs 1 (best runs): {best['loky1'] / best['loky2']:.2f}×** (target ≥ 1.8×). "
        f"Parallel capacity the machine left (the same ratio for pure-Python CPU tasks on 1 and 2 loky "
        f"workers; 2.0 when idle): {runs['capacity_before']:.2f}× before the runs, "
        f"{runs['capacity_after']:.2f}× after",
        f"- **Dask overhead per session (best runs): {(best['dask'] - best['loky2']) / n:+.2f} s** "
        f"((Dask wall − loky 2-worker wall) / {n})",
        f"- Resuming an unchanged batch: {best['resume']:.2f} s for {n} sessions "
        f"({best['resume'] / n * 1000:.0f} ms per session)",
        f"- Study-level pseudo-dyad test (main process, {n} sessions, all {n * (n - 1)} pseudo-dyads): "
        f"{min(runs['pseudo_s']):.1f} s (best of {len(runs['pseudo_s'])})",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
