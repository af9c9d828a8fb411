"""run_batch(): many sessions into one folder of results, resumable and failure-isolated.

Every session of a manifest (:mod:`synchrony.manifest`) is one task on an executor: by
default loky's reusable process pool (one worker per core, each held to one thread for
BLAS/OpenMP/OpenCV so that workers do not fight over cores), or a Dask cluster through
``client.get_executor()``. A task writes into the session's own folder the tables,
figures and summary of :func:`synchrony.pipeline.analyze` (recordings) or of
:func:`synchrony.pipeline.analyze_signals` (series made by other tools, exactly as
``synchrony xcorr`` does), its log ``synchrony.log``, and last ``provenance.json``:
input hashes, sizes and durations, settings, package versions, seed, times, host, the
status and its one-line reason. A task never raises: it returns that record.

Resuming: a session is skipped when its ``provenance.json`` says done under the same key,
the SHA-256 of its input files' contents, its settings and the package version. Files
whose size and modification time are those recorded are not hashed again. Every file is
written to a temporary name and renamed, and ``provenance.json`` comes last, so a
killed batch leaves no file a re-run would trust half-written.

Failure isolation: an input error is recorded as ``failed`` with the error's one line;
any other exception as ``failed`` with ``internal error: <type>: <message>`` and the
traceback in the session's log. A worker that dies (out of memory, a crash in a decoder)
breaks loky's pool: the sessions it was running are run again one at a time in a fresh
pool, and the one whose worker dies alone is ``crashed``.

When the sessions are done, the study tables are written to the output folder, in CSV
and Parquet: ``sessions`` (one row per session: status, reason, warnings, durations,
face-detection shares), ``synchrony`` (one row per session and feature pair: the
summary numbers and the surrogate test), ``mismatch`` (every span), ``episodes`` (with
episodes) and the pseudo-dyad test across sessions (``pseudo_dyads``,
``pseudo_dyads_by_session``), each row with the session's manifest attributes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import hashlib
import json
import logging
import math
import os
import re
import threading
import time
import traceback
import warnings
from collections import deque
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, CancelledError, Executor, wait
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from synchrony import __version__
from synchrony.config import DEFAULT_PAIRS, AnalysisConfig
from synchrony.errors import InputFileError, ParameterError, SynchronyError
from synchrony.manifest import SessionSpec, manifest_sessions, read_manifest

__all__ = ["BatchResult", "run_batch", "STATUSES", "THREAD_ENV", "STUDY_TABLES"]

log = logging.getLogger("synchrony")

#: What a session's record says: analysed in this run, reused from an earlier one
#: (same inputs, settings and version), failed with a one-line reason, or its worker died.
STATUSES = ("done", "skipped", "failed", "crashed")

#: Environment of the default pool's workers: one thread for every BLAS/OpenMP/OpenCV
#: pool, so that N workers use N cores and do not oversubscribe them.
THREAD_ENV = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                     "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "BLIS_NUM_THREADS",
                                     "OPENCV_FOR_THREADS_NUM")}

#: Study tables written to the output folder (``.csv`` and ``.parquet`` each).
STUDY_TABLES = ("sessions", "synchrony", "mismatch", "episodes", "pseudo_dyads", "pseudo_dyads_by_session")

PROVENANCE = "provenance.json"
LOG_NAME = "synchrony.log"
_DONE = ("done", "skipped")
# Headline numbers first in synchrony.csv; the rest (agg_*, lf_*) follow.
_PAIR_ORDER = ("n_windows", "n_windows_defined", "mean_peak_r", "mean_r_lag0", "median_peak_lag_s", "leader",
               "chance_peak_r", "chance_share", "n_mismatch_spans", "mismatch_share", "n_ruptures",
               "share_repaired", "median_repair_time_s", "surrogate_method", "observed", "surrogate_mean",
               "surrogate_sd", "cohens_d", "p_value", "n_surrogates", "q_value")
_IDLE_S = 60  # loky workers idle this long exit
_MAX_PSEUDO_PAIRS = 2000
_PACKAGES = ("synchrony", "numpy", "pandas", "scipy", "av", "mediapipe", "opencv-contrib-python",
             "praat-parselmouth", "librosa", "matplotlib", "joblib", "pyarrow", "dask", "distributed")


@dataclass
class BatchResult:
    """The study tables of a batch (also written to ``out_dir`` as CSV and Parquet).

    Attributes
    ----------
    sessions : pandas.DataFrame
        One row per manifest session: ``session_id`` (``subject``, ``session``), the
        manifest attributes, ``layout``, ``status`` (one of :data:`STATUSES`),
        ``reason``, ``warnings``, ``person_a``, ``person_b``, ``duration_s`` (of the
        recording), ``audio``, ``face_share_a``/``face_share_b`` (share of analysed
        frames with that person's face), ``n_pairs``, ``run_s`` (analysis wall time),
        ``cpu_s`` (its CPU time, all threads; empty where sessions share a process),
        ``finished_utc`` and ``folder`` (relative to ``out_dir``).
    synchrony : pandas.DataFrame
        One row per analysed session and feature pair: the session columns, ``pair``,
        the summary's headline numbers (``mean_peak_r``, ``median_peak_lag_s``,
        ``leader``, ``mismatch_share``, ``n_ruptures``, ``share_repaired``, ...), the
        surrogate test (``observed``, ``surrogate_mean``, ``surrogate_sd``,
        ``cohens_d``, ``p_value``, ``n_surrogates``, ``q_value``), rMEA's aggregates
        (``agg_*``) and the leader/follower bootstrap (``lf_*``). Lags in seconds,
        positive = person B follows person A.
    mismatch : pandas.DataFrame
        Every mismatch span of every analysed session, with the session columns.
    episodes : pandas.DataFrame
        With episodes: per session, pair and episode, the episode summary.
    pseudo_dyads : pandas.DataFrame
        Per feature pair (and clock rate): real dyads against pseudo-dyads made of
        partners from different sessions (:func:`synchrony.analysis.stats.pseudo_dyad_test`).
    pseudo_dyads_by_session : pandas.DataFrame
        Per session and pair: its statistic against all pseudo-dyads of that pair.
    out_dir : pathlib.Path
    """

    sessions: pd.DataFrame
    synchrony: pd.DataFrame
    mismatch: pd.DataFrame
    episodes: pd.DataFrame
    pseudo_dyads: pd.DataFrame
    pseudo_dyads_by_session: pd.DataFrame
    out_dir: Path

    @property
    def ok(self) -> bool:
        """True when every session is done or skipped (nothing failed or crashed)."""
        return bool(self.sessions["status"].isin(_DONE).all())


def run_batch(manifest, *, out_dir, config: AnalysisConfig | None = None, episodes=None,
              workers: int | None = None, executor=None, client=None, force: bool = False,
              pseudo_dyads: bool = True, n_pseudo_pairs: int | None = None,
              progress: bool = False) -> BatchResult:
    """Analyse every session of a study; skip those already done; never stop on one.

    Parameters
    ----------
    manifest : path-like or pandas.DataFrame
        A CSV/TSV/YAML manifest (:func:`synchrony.manifest.read_manifest`), or a table
        of the same shape (:func:`synchrony.manifest.discover_sessions` makes one from
        a folder of recordings).
    out_dir : path-like
        Results: one folder per session (``sub-<subject>/ses-<session>/`` when the
        manifest has BIDS labels, else ``<session_id>/``) and the study tables.
    config : AnalysisConfig, optional
        Settings of every session. Person labels come from the manifest. Series layouts
        (rmea, openface, csv) use their files' own rate and, as ``synchrony xcorr``
        does, pair every feature both persons have, unless ``config.pairs`` was
        changed from its default and names features the series have.
    episodes : path-like, optional
        Episodes file for sessions whose manifest row names none.
    workers : int, optional
        Worker processes of the default pool (default: the cores available), or the
        number of sessions in flight on ``executor``.
    executor : concurrent.futures.Executor or callable, optional
        Run the sessions here instead; a callable returning an executor is called again
        for a fresh one when a worker died and broke it.
    client : dask.distributed.Client, optional
        Run the sessions on this Dask cluster (``client.get_executor()``).
    force : bool
        Redo every session, even unchanged ones.
    pseudo_dyads : bool, default True
        Run the study-level pseudo-dyad test (per feature pair, over the analysed
        sessions; needs 3 or more).
    n_pseudo_pairs : int, optional
        Pseudo-dyads drawn per pair; default all ``k * (k - 1)`` up to 2000.
    progress : bool
        Show one progress bar for the batch (tqdm: terminal or Jupyter).

    Returns
    -------
    BatchResult
        The study tables; ``result.ok`` says whether every session succeeded.

    Raises
    ------
    synchrony.InputFileError, synchrony.ParameterError
        The manifest is unreadable or names an invalid session (nothing is run). A
        missing or corrupt recording is not raised: it is a failed session.

    Examples
    --------
    Two dyads of series made elsewhere (CSV, 10 Hz), B following A by 0.5 s:

    >>> import pathlib, tempfile
    >>> import numpy as np, pandas as pd
    >>> from synchrony.batch import run_batch
    >>> from synchrony.config import AnalysisConfig
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> rng = np.random.default_rng(0)
    >>> for k in range(2):
    ...     a = rng.standard_normal(600)
    ...     b = np.roll(a, 5) + 0.5 * rng.standard_normal(600)
    ...     pd.DataFrame({"A.x": a, "B.x": b}).to_csv(folder / f"d{k}.csv", index=False)
    >>> manifest = pd.DataFrame({"session_id": ["d0", "d1"], "layout": "csv", "rate_hz": 10,
    ...                          "video": [str(folder / "d0.csv"), str(folder / "d1.csv")]})
    >>> config = AnalysisConfig(window_s=5, step_s=1, max_lag_s=1, n_surrogates=19)
    >>> out = run_batch(manifest, out_dir=folder / "out", config=config, workers=1, pseudo_dyads=False)
    >>> out.sessions["status"].tolist(), out.synchrony["median_peak_lag_s"].tolist()
    (['done', 'done'], [0.5, 0.5])
    >>> run_batch(manifest, out_dir=folder / "out", config=config).sessions["status"].tolist()
    ['skipped', 'skipped']
    """
    func = "run_batch"
    config = AnalysisConfig() if config is None else config
    if not isinstance(config, AnalysisConfig):
        raise ParameterError.expected("config", func, "an AnalysisConfig", type(config).__name__)
    if workers is not None and (not isinstance(workers, int) or isinstance(workers, bool) or workers < 1):
        raise ParameterError.expected("workers", func, "an int >= 1 or None", workers)
    if executor is not None and client is not None:
        raise ParameterError.expected("client", func, "None when an executor is given", client)
    if executor is not None and not (isinstance(executor, Executor) or callable(executor)):
        raise ParameterError.expected("executor", func, "a concurrent.futures.Executor or a callable "
                                      "returning one", type(executor).__name__)
    if n_pseudo_pairs is not None and (not isinstance(n_pseudo_pairs, int) or n_pseudo_pairs < 1):
        raise ParameterError.expected("n_pseudo_pairs", func, "an int >= 1 or None", n_pseudo_pairs)
    if episodes is not None and not isinstance(episodes, (str, os.PathLike)):
        raise ParameterError.expected("episodes", func, "a path to an episodes file", type(episodes).__name__)
    if isinstance(manifest, pd.DataFrame):
        specs = manifest_sessions(manifest)
    elif isinstance(manifest, (str, os.PathLike)):
        specs = manifest_sessions(read_manifest(manifest), source=manifest)
    else:
        raise ParameterError.expected("manifest", func, "a manifest file or a table", type(manifest).__name__)

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with _exclusive(out):
        _remove_temp(out, recursive=False)
        started = _utc()
        tasks = [_task(spec, out, config, episodes, force) for spec in specs]
        records = _execute(tasks, workers=workers, executor=executor, client=client, progress=progress)
        tables = _study_tables(specs, records, out)
        if pseudo_dyads:
            tables["pseudo_dyads"], tables["pseudo_dyads_by_session"] = _pseudo_dyad_tables(
                specs, records, out, n_pseudo_pairs)
        else:
            tables["pseudo_dyads"] = tables["pseudo_dyads_by_session"] = pd.DataFrame()
        _write_study(out, tables, specs, config, started, records)
    counts = tables["sessions"]["status"].value_counts().to_dict()
    log.info("batch of %d sessions: %s", len(specs), ", ".join(f"{n} {s}" for s, n in counts.items()))
    return BatchResult(out_dir=out, **tables)


# --- scheduling ---------------------------------------------------------------------

def _task(spec: SessionSpec, out: Path, config: AnalysisConfig, episodes, force: bool) -> dict:
    """Everything a worker needs, picklable; the settings part of the resumption key."""
    episodes_file = spec.episodes or (os.path.abspath(episodes) if episodes is not None else None)
    role = "series" if spec.is_series else "video"
    inputs = [(role, f) for f in spec.files] + [("audio", a) for a in spec.audio or ()]
    if episodes_file:
        inputs.append(("episodes", episodes_file))
    settings = {"layout": spec.layout, "persons": list(spec.persons), "offset_s": spec.offset_s,
                "rate_hz": spec.rate_hz, "roles": [r for r, _ in inputs], "config": config.to_dict()}
    return {"spec": spec, "folder": os.fspath(out / spec.folder), "config": config,
            "episodes": episodes_file, "inputs": inputs, "settings": settings,
            "settings_digest": _digest({"settings": settings, "version": __version__}), "force": force}


def _execute(tasks, *, workers, executor, client, progress) -> dict:
    """Run the tasks that are not already done; one record per session id."""
    from tqdm.auto import tqdm

    records, todo = {}, []
    bar = tqdm(total=len(tasks), unit="session", desc="batch", disable=not progress)
    for task in tasks:
        previous = _previous(task["folder"])
        if not task["force"] and _unchanged(task, previous):
            records[task["spec"].session_id] = {**previous, "status": "skipped"}
            bar.update()
        else:
            todo.append(task)
    # Longest first (by input size) keeps every worker busy until the end.
    todo.sort(key=lambda t: -sum(_size(p) for _, p in t["inputs"]))
    pool = _Pool(workers, executor, client)
    queue, alone, running = deque(todo), deque(), {}

    def finish(task, record):
        records[task["spec"].session_id] = record
        bar.update()
        failed = sum(r["status"] in ("failed", "crashed") for r in records.values())
        if failed:
            bar.set_postfix(failed=failed)

    try:
        while queue or alone or running:
            if alone:  # after a worker died, the sessions it may have killed run one at a time
                batch = [alone.popleft()] if not running else []
            else:
                batch = [queue.popleft() for _ in range(min(len(queue), pool.free(len(running))))]
            for task in batch:
                try:
                    running[pool.submit(_run_session, task)] = task
                except (BrokenExecutor, RuntimeError) as exc:  # broken or shut down before it ran
                    retries = task.get("resubmitted", 0)
                    if retries >= 2 or not pool.renew():
                        finish(task, _crashed(task, exc, ran=False))
                    else:
                        (alone if task.get("alone") else queue).appendleft({**task, "resubmitted": retries + 1})
            if not running:
                continue
            sole = len(running) == 1  # a pool that breaks with one session in it: that one did it
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in done:
                task = running.pop(future)
                try:
                    finish(task, future.result())
                except BrokenExecutor as exc:
                    if sole or task.get("alone"):
                        pool.renew()
                        finish(task, _crashed(task, exc, alone=True))
                    elif pool.renew():
                        alone.append({**task, "alone": True})
                    else:
                        finish(task, _crashed(task, exc))
                except CancelledError as exc:
                    finish(task, _crashed(task, exc))
                except Exception as exc:  # noqa: BLE001 - the batch goes on, whatever happened
                    if type(exc).__name__ == "KilledWorker":  # Dask gave up after its retries
                        finish(task, _crashed(task, exc))
                    else:
                        finish(task, _failed_outside(task, exc))
    except BaseException:
        for future in running:
            future.cancel()
        pool.abort()
        raise
    finally:
        bar.close()
    return records


class _Pool:
    """The executor sessions run on, and how to get a fresh one after a worker died."""

    def __init__(self, workers, executor, client):
        self.workers, self._factory, self._current = workers, None, None
        if client is not None:
            # pure=False: a session sent again after a failure is a new task, not a cached one.
            self.kind, self._current, self.limit = "dask", client.get_executor(pure=False), None
        elif executor is not None:
            self.kind = "given"
            if isinstance(executor, Executor):
                self._current = executor
            else:
                self._factory = executor
            self.limit = workers or os.cpu_count() or 1
        else:
            from joblib.externals.loky import cpu_count

            self.kind = "loky"
            self.limit = self.workers = workers or cpu_count()

    def free(self, running):
        return (1 << 30) if self.limit is None else max(0, self.limit - running)

    def executor(self):
        if self.kind == "loky":
            from joblib.externals.loky import get_reusable_executor

            # The same pool while it lives; a new one once a dead worker broke it.
            return get_reusable_executor(max_workers=self.workers, env=THREAD_ENV, timeout=_IDLE_S)
        if self._current is None:
            self._current = self._factory()
        return self._current

    def submit(self, fn, task):
        return self.executor().submit(fn, task)

    def renew(self) -> bool:
        """Prepare a fresh executor; False when that is impossible (a given instance)."""
        if self.kind == "loky":
            return True
        if self._factory is not None:
            old, self._current = self._current, None
            if old is not None:
                with contextlib.suppress(Exception):
                    old.shutdown(wait=False)
            return True
        return False

    def abort(self):
        """Stop at once (Ctrl-C): kill the default pool's workers."""
        if self.kind == "loky":
            from joblib.externals.loky import get_reusable_executor

            with contextlib.suppress(Exception):
                get_reusable_executor(max_workers=self.workers, env=THREAD_ENV).shutdown(
                    wait=False, kill_workers=True)


def _crashed(task, exc, *, alone=False, ran=True) -> dict:
    """Record (written here, in the main process) of a session whose worker died."""
    text = " ".join(str(exc).split())
    codes = re.search(r"exit codes of the workers are (\{[^}]*\})", text)
    if type(exc).__name__ == "KilledWorker":
        reason = ("worker died while analysing it (Dask gave up after its retries): out of memory or a "
                  "crash in native code")
    elif not ran:
        reason = f"not run: the executor broke before it ({type(exc).__name__}: {text})"
    elif codes or isinstance(exc, BrokenExecutor):
        reason = (f"worker process died{f' (exit code {codes.group(1)})' if codes else ''}"
                  f"{' running this session alone' if alone else ''}: "
                  "out of memory or a crash in native code (a decoder, mediapipe)")
    else:
        reason = f"not run: {type(exc).__name__}: {text}" if text else f"not run: {type(exc).__name__}"
    return _write_outside(task, "crashed", reason)


def _failed_outside(task, exc) -> dict:
    """The executor itself raised for this session (e.g. the task could not be sent)."""
    text = " ".join(str(exc).split())
    return _write_outside(task, "failed", f"internal error: {type(exc).__name__}: {text}")


def _write_outside(task, status, reason) -> dict:
    from synchrony.formats import write_json

    folder = Path(task["folder"])
    spec = task["spec"]
    record = _base_record(task, status=status, reason=reason)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # Keep what the dead worker logged, then say what happened.
        partial = sorted(folder.glob(f".{LOG_NAME}.*.tmp"), key=lambda p: p.stat().st_mtime)
        text = partial[-1].read_text(encoding="utf-8", errors="replace") if partial else ""
        from synchrony.formats import atomic_path

        with atomic_path(folder / LOG_NAME) as tmp:
            tmp.write_text(text + f"{_utc()} ERROR {spec.session_id}: {status}: {reason}\n", encoding="utf-8")
        _remove_temp(folder, recursive=True)
        write_json(_json_ready(record), folder / PROVENANCE)
    except OSError as exc:
        log.warning("%s: could not write the %s record (%s)", folder, status, exc)
    return record


# --- one session (runs in a worker) ---------------------------------------------------

def _run_session(task: dict) -> dict:
    """Analyse one session into its folder; return its record. Never raises."""
    from synchrony.formats import write_json

    t0, cpu0 = time.perf_counter(), time.process_time()
    # CPU time is the process's: the session's own where it owns the process (a pool
    # worker), not where sessions share one (threads).
    own_process = threading.current_thread() is threading.main_thread()
    started = _utc()
    folder = Path(task["folder"])
    record = _base_record(task, status="failed", reason=None)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _remove_temp(folder, recursive=True)
    except OSError as exc:
        return {**record, "reason": f"{folder}: cannot write results here ({exc.strerror or exc})"}
    previous = _previous(folder)
    facts, before = {}, _snapshot(folder)
    with _SessionLog(folder) as session_log:
        try:
            inputs = _input_facts(task)
            record["inputs"] = inputs
            record["key"] = _digest({"settings_digest": task["settings_digest"],
                                     "inputs": [[i["role"], i["sha256"]] for i in inputs]})
            if (not task["force"] and previous and previous.get("status") == "done"
                    and previous.get("key") == record["key"] and _outputs_intact(folder, previous)):
                # Same contents under new timestamps: reuse, and remember the new times.
                refreshed = {**previous, "inputs": inputs}
                write_json(_json_ready(refreshed), folder / PROVENANCE)
                session_log.discard()
                return {**refreshed, "status": "skipped"}
            _invalidate(folder, previous, task)
            before.update(_snapshot(folder))
            log.info("%s: analysing (%s layout)", task["spec"].session_id, task["spec"].layout)
            facts = _analyse(task, folder)
            record.update(status="done", reason=None)
        except SynchronyError as exc:
            record["reason"] = " ".join(str(exc).split())
            log.error("%s: %s", task["spec"].session_id, record["reason"])
        except Exception as exc:  # noqa: BLE001 - recorded, never raised
            record["reason"] = " ".join(f"internal error: {type(exc).__name__}: {exc}".split())
            log.error("%s: %s\n%s", task["spec"].session_id, record["reason"], traceback.format_exc())
    record["warnings"] = session_log.warnings
    try:
        session_log.keep(folder / LOG_NAME)
    except OSError as exc:
        record["warnings"].append(f"log not written ({exc})")
    record.update(facts)
    record["outputs"] = _outputs(folder, task, before)
    record.update(started_utc=started, finished_utc=_utc(), run_s=round(time.perf_counter() - t0, 3),
                  cpu_s=round(time.process_time() - cpu0, 3) if own_process else None)
    record = _json_ready(record)
    try:
        write_json(record, folder / PROVENANCE)
    except (OSError, ValueError) as exc:
        record.update(status="failed", reason=f"{folder / PROVENANCE}: cannot be written ({exc})")
    return record


def _analyse(task: dict, folder: Path) -> dict:
    """Run the analysis of one session into ``folder``; the facts for the study tables."""
    spec, config = task["spec"], task["config"]
    if spec.is_series:
        return _analyse_series(task, folder)
    from synchrony.pipeline import analyze
    from synchrony.session import Session

    offsets = () if spec.layout != "two-files" else (None if spec.offset_s is None else (0.0, spec.offset_s))
    session = Session(layout=spec.layout, videos=tuple(spec.files), audio=spec.audio, persons=spec.persons,
                      offsets_s=offsets)
    config = dataclasses.replace(config, persons=spec.persons)
    result = analyze(session, config=config, out_dir=folder, episodes=task["episodes"], progress=False)
    facts = result.summary.get("session", {})
    shares = facts.get("face_detected_share") or {}
    return {"duration_s": facts.get("duration_s"), "audio": facts.get("audio"),
            "face_share": [shares.get(p) for p in spec.persons], "pairs": list(result.summary["pairs"])}


def _analyse_series(task: dict, folder: Path) -> dict:
    """Series made by other tools, analysed exactly as ``synchrony xcorr`` analyses them."""
    from synchrony.pipeline import analyze_signals, write_result
    from synchrony.readers import load_signals
    from synchrony.signals import rate_of, shared_features

    spec, config = task["spec"], task["config"]
    a, b = spec.persons
    signals = load_signals(list(spec.files), format=spec.layout, persons=spec.persons, rate_hz=spec.rate_hz)
    features = shared_features(signals, spec.persons)
    rate_hz = rate_of(signals)
    # As `synchrony xcorr`: every feature both persons have, unless pairs were chosen
    # and the series have some of them.
    chosen = tuple(p for p in config.pairs if (a, p[0]) in signals and (b, p[1]) in signals)
    pairs = chosen if config.pairs != DEFAULT_PAIRS and chosen else tuple((f, f) for f in features)
    if not pairs:
        raise InputFileError(spec.files[0], f"no feature that both {a} and {b} have")
    config = dataclasses.replace(config, rate_hz=rate_hz, persons=spec.persons, pairs=pairs, video_rate_hz=None)
    result = analyze_signals(signals, config=config, session={"files": [Path(f).name for f in spec.files]},
                             episodes=task["episodes"])
    write_result(result, folder)
    share = [float(signals[p, "face_detected"].mean()) if (p, "face_detected") in signals else None
             for p in spec.persons]
    return {"duration_s": round(len(signals) / rate_hz, 9), "audio": None, "face_share": share,
            "pairs": list(result.summary["pairs"])}


def _input_facts(task) -> list[dict]:
    """Role, path, SHA-256, size, modification time and (media) duration of each input."""
    from synchrony.cache import file_digest

    facts = []
    for role, path in task["inputs"]:
        try:
            stat = os.stat(path)
            if os.path.isdir(path):
                raise InputFileError(path, "is a directory, not a file")
            digest = file_digest(path)
        except FileNotFoundError:
            raise InputFileError(path, "file not found") from None
        except PermissionError:
            raise InputFileError(path, "cannot be read (permission denied)") from None
        facts.append({"role": role, "path": path, "sha256": digest, "size_bytes": stat.st_size,
                      "mtime_ns": stat.st_mtime_ns,
                      "duration_s": _media_duration(path) if role in ("video", "audio") else None})
    return facts


def _media_duration(path):
    from synchrony.media import probe

    try:
        return probe(path).duration_s
    except Exception:  # noqa: BLE001 - a corrupt file fails in the analysis, with its reason
        return None


def _base_record(task, *, status, reason) -> dict:
    import platform
    import socket
    import sys

    spec = task["spec"]
    return {
        "session_id": spec.session_id, "status": status, "reason": reason, "warnings": [],
        "layout": spec.layout, "persons": list(spec.persons), "folder": spec.folder,
        "key": None, "settings_digest": task["settings_digest"],
        "inputs": [{"role": r, "path": p} for r, p in task["inputs"]],
        "settings": task["settings"], "seed": task["config"].seed,
        "synchrony_version": __version__, "packages": _package_versions(),
        "python": sys.version.split()[0], "platform": platform.platform(),
        "host": socket.gethostname(), "pid": os.getpid(),
        "thread_env": {name: os.environ.get(name) for name in THREAD_ENV},
    }


_VERSIONS = {}


def _package_versions() -> dict:
    if not _VERSIONS:
        from importlib.metadata import PackageNotFoundError, version

        for name in _PACKAGES:
            try:
                _VERSIONS[name] = version(name)
            except PackageNotFoundError:
                pass
    return dict(_VERSIONS)


# --- the session folder ------------------------------------------------------------

def _previous(folder):
    """The session's provenance record from an earlier run, or None."""
    try:
        record = json.loads((Path(folder) / PROVENANCE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _unchanged(task, previous) -> bool:
    """Done earlier with these settings, and every input has its recorded size and time."""
    if (not previous or previous.get("status") != "done"
            or previous.get("settings_digest") != task["settings_digest"]):
        return False
    recorded = previous.get("inputs") or []
    if len(recorded) != len(task["inputs"]):
        return False
    for (role, path), rec in zip(task["inputs"], recorded):
        try:
            stat = os.stat(path)
        except OSError:
            return False
        if (rec.get("role"), rec.get("path"), rec.get("size_bytes"), rec.get("mtime_ns")) != \
                (role, path, stat.st_size, stat.st_mtime_ns):
            return False
    return _outputs_intact(Path(task["folder"]), previous)


def _outputs_intact(folder: Path, previous) -> bool:
    """Every output the earlier run listed is still there with its size."""
    for out in previous.get("outputs") or []:
        try:
            if (folder / out["path"]).stat().st_size != out["size_bytes"]:
                return False
        except (OSError, KeyError, TypeError):
            return False
    return bool(previous.get("outputs"))


def _invalidate(folder: Path, previous, task):
    """Before redoing a session: its old record goes first, then the files it listed
    (only those: the folder may hold files that are not synchrony's)."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(folder / PROVENANCE)
    keep = {os.path.realpath(p) for _, p in task["inputs"]}
    for item in (previous or {}).get("outputs") or []:
        path = folder / str(item.get("path", ""))
        if path.parent == folder and path.is_file() and os.path.realpath(path) not in keep:
            path.unlink()


def _snapshot(folder: Path) -> dict:
    """Name -> (inode, mtime) of the folder's files: what a run rewrote is what changed."""
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.iterdir() if p.is_file()}


def _outputs(folder: Path, task, before: dict) -> list[dict]:
    """Files this run wrote (new, or replaced: atomic writes give a new inode)."""
    from synchrony.cache import file_digest

    inputs = {os.path.realpath(p) for _, p in task["inputs"]}
    out = []
    for path in sorted(folder.iterdir()):
        if (not path.is_file() or path.name.startswith(".") or path.name == PROVENANCE
                or os.path.realpath(path) in inputs):
            continue
        stat = path.stat()
        if before.get(path.name) != (stat.st_ino, stat.st_mtime_ns):
            out.append({"path": path.name, "size_bytes": stat.st_size, "sha256": file_digest(path)})
    return out


def _remove_temp(folder: Path, *, recursive: bool):
    """Temporary files left by a killed run (``formats.atomic_path`` names them ``.*.tmp``)."""
    for path in (folder.rglob(".*.tmp") if recursive else folder.glob(".*.tmp")):
        with contextlib.suppress(OSError):
            path.unlink()


_LEVEL_LOCK = threading.Lock()
_LEVEL_USERS = [0, logging.NOTSET]


class _SessionLog:
    """The library's log records during one session into a temporary file, renamed into
    the session folder at the end; warnings kept as one-line notes.

    A pool worker runs one session at a time and every record of its process belongs to
    it (helper threads too: frame reading, per-person face meshes). Where sessions share
    a process (Dask's or a thread pool's threads), only the session's own thread counts.
    """

    def __init__(self, folder: Path):
        self.tmp = folder / f".{LOG_NAME}.{os.getpid()}-{threading.get_ident()}.tmp"
        self.warnings: list[str] = []

    def __enter__(self):
        own_process = threading.current_thread() is threading.main_thread()
        thread = threading.get_ident()

        def ours(record):
            return own_process or record.thread == thread

        self.handler = logging.FileHandler(self.tmp, mode="w", encoding="utf-8")
        self.handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        self.handler.addFilter(ours)
        notes = self.warnings

        class _Notes(logging.Handler):
            def emit(self, record):
                if ours(record) and record.levelno == logging.WARNING:
                    notes.append(" ".join(record.getMessage().split()))

        self.notes = _Notes()
        logger = logging.getLogger("synchrony")
        with _LEVEL_LOCK:
            if _LEVEL_USERS[0] == 0:
                _LEVEL_USERS[1] = logger.level
                logger.setLevel(logging.INFO)
            _LEVEL_USERS[0] += 1
        logger.addHandler(self.handler)
        logger.addHandler(self.notes)
        # warnings.catch_warnings is process-wide: only where the session owns the process.
        self.caught = None
        if own_process:
            self._catch = warnings.catch_warnings(record=True)
            self.caught = self._catch.__enter__()
            warnings.simplefilter("always")
        return self

    def __exit__(self, *exc):
        logger = logging.getLogger("synchrony")
        if self.caught is not None:
            self._catch.__exit__(None, None, None)
            for w in self.caught:
                logger.warning("%s (%s)", w.message, w.category.__name__)
        logger.removeHandler(self.handler)
        logger.removeHandler(self.notes)
        self.handler.close()
        with _LEVEL_LOCK:
            _LEVEL_USERS[0] -= 1
            if _LEVEL_USERS[0] == 0:
                logger.setLevel(_LEVEL_USERS[1])
        return False

    def keep(self, path: Path):
        os.replace(self.tmp, path)

    def discard(self):
        with contextlib.suppress(OSError):
            os.unlink(self.tmp)


@contextlib.contextmanager
def _exclusive(out: Path):
    """One batch at a time per output folder (the lock dies with its process)."""
    try:
        import fcntl
    except ImportError:  # not on Windows: no lock
        yield
        return
    fd = os.open(out / ".synchrony-batch.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise InputFileError(out, "another batch is writing to this folder") from None
        yield
    finally:
        os.close(fd)


# --- study tables ------------------------------------------------------------------

def _session_columns(spec: SessionSpec, bids: bool) -> dict:
    row = {"session_id": spec.session_id}
    if bids:
        row.update(subject=spec.subject, session=spec.session)
    row.update(spec.attributes)
    return row


def _study_tables(specs, records, out: Path) -> dict:
    bids = any(s.subject is not None for s in specs)
    sessions, pairs, spans, episodes = [], [], [], []
    for spec in specs:
        rec = records.get(spec.session_id) or {"status": "crashed", "reason": "no record"}
        cols = _session_columns(spec, bids)
        share = rec.get("face_share") or [None, None]
        sessions.append({
            **cols, "layout": spec.layout, "status": rec.get("status"), "reason": rec.get("reason"),
            "warnings": "; ".join(rec.get("warnings") or []), "person_a": spec.persons[0],
            "person_b": spec.persons[1], "duration_s": rec.get("duration_s"), "audio": rec.get("audio"),
            "face_share_a": share[0], "face_share_b": share[1], "n_pairs": len(rec.get("pairs") or []),
            "run_s": rec.get("run_s"), "cpu_s": rec.get("cpu_s"), "finished_utc": rec.get("finished_utc"),
            "folder": spec.folder,
        })
        if rec.get("status") not in _DONE:
            continue
        folder = out / spec.folder
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        who = {**cols, "person_a": spec.persons[0], "person_b": spec.persons[1]}
        for pair, numbers in summary["pairs"].items():
            feature_a, feature_b = pair.split("~")
            pairs.append({**who, "pair": pair, "feature_a": feature_a, "feature_b": feature_b,
                          "surrogate_method": summary["config"]["surrogate_method"], **_flat(numbers)})
        table = pd.read_csv(folder / "mismatch.csv")
        if len(table):
            spans.append(_prepend(table, who))
        for pair, rows in ((summary.get("episodes") or {}).get("pairs") or {}).items():
            episodes += [{**who, "pair": pair, **row} for row in rows]
    from synchrony.analysis.mismatch import MISMATCH_COLUMNS

    front = [*_session_columns(specs[0], bids), "person_a", "person_b"]
    first = [*front, "pair", "feature_a", "feature_b", *_PAIR_ORDER]
    synchrony = _frame(pairs) if pairs else pd.DataFrame(columns=first)
    synchrony = synchrony[[c for c in first if c in synchrony.columns]
                          + [c for c in synchrony.columns if c not in first]]
    mismatch = pd.concat(spans, ignore_index=True) if spans else pd.DataFrame(columns=[*front, *MISMATCH_COLUMNS])
    return {"sessions": _frame(sessions), "synchrony": synchrony, "mismatch": mismatch,
            "episodes": _frame(episodes)}


def _flat(numbers: dict) -> dict:
    """A pair's summary as one row: nested tests and aggregates flattened, intervals as lo/hi."""
    prefixes = {"test": "", "aggregates_fisher_z": "agg_", "leader_follower": "lf_"}
    row = {}

    def put(name, value):
        if isinstance(value, list) and len(value) == 2 and not any(isinstance(v, (list, dict)) for v in value):
            row[f"{name}_lo"], row[f"{name}_hi"] = value
        elif not isinstance(value, (list, dict)):
            row[name] = value

    for key, value in numbers.items():
        if isinstance(value, dict):
            for sub, item in value.items():
                put(prefixes.get(key, f"{key}_") + sub, item)
        else:
            put(key, value)
    return row


def _prepend(table: pd.DataFrame, cols: dict) -> pd.DataFrame:
    front = pd.DataFrame({k: [v] * len(table) for k, v in cols.items()}, index=table.index)
    return pd.concat([front, table], axis=1)


def _frame(rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows)
    for column in frame.columns:  # None in a numeric column is a missing number
        if frame[column].dtype == object and frame[column].map(lambda v: v is None or isinstance(v, (int, float))
                                                                and not isinstance(v, bool)).all():
            frame[column] = pd.to_numeric(frame[column])
    return frame


def _pseudo_dyad_tables(specs, records, out: Path, n_pairs):
    """Per feature pair (and clock rate), the batch's real dyads against pseudo-dyads."""
    from synchrony.analysis.stats import pseudo_dyad_test

    bids = any(s.subject is not None for s in specs)
    groups = {}
    for spec in specs:
        if (records.get(spec.session_id) or {}).get("status") not in _DONE:
            continue
        folder = out / spec.folder
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        cfg = summary["config"]
        person_a, person_b = cfg["persons"]
        wanted = {pair: (f"{person_a}.{pair.split('~')[0]}", f"{person_b}.{pair.split('~')[1]}")
                  for pair in summary["pairs"]}
        if not wanted:
            continue
        columns = sorted({c for pair in wanted.values() for c in pair})
        signals = pd.read_csv(folder / "signals.csv", usecols=columns)
        # The exact rate the sessions were analysed at: a rate read from a file's times
        # may be 25.0000000000005 Hz, and window steps in samples follow it.
        settings = (float(cfg["rate_hz"]), cfg["window_s"], cfg["step_s"], cfg["max_lag_s"], cfg["seed"])
        for pair, (col_a, col_b) in wanted.items():
            groups.setdefault((pair, settings), []).append(
                (spec, signals[col_a].to_numpy(dtype=float), signals[col_b].to_numpy(dtype=float)))
    group_rows, session_rows = [], []
    for (pair, (rate_hz, window_s, step_s, max_lag_s, seed)), members in groups.items():
        if len(members) < 3:
            log.info("pseudo-dyads of %s skipped: %d session(s), 3 or more needed", pair, len(members))
            continue
        k = len(members)
        n = n_pairs if n_pairs is not None else (None if k * (k - 1) <= _MAX_PSEUDO_PAIRS else _MAX_PSEUDO_PAIRS)
        test = pseudo_dyad_test([(a, b) for _, a, b in members], rate_hz, window_s=window_s, step_s=step_s,
                                max_lag_s=max_lag_s, n_pairs=n, seed=seed)
        group_rows.append({"pair": pair, "rate_hz": round(rate_hz, 9), "n_sessions": k, **test["group"]})
        for (spec, _, _), row in zip(members, test["dyads"].to_dict(orient="records")):
            row.pop("dyad", None)
            session_rows.append({**_session_columns(spec, bids), "pair": pair, **row})
    return _frame(group_rows), _frame(session_rows)


def _write_study(out: Path, tables: dict, specs, config, started, records):
    from synchrony.formats import write_csv, write_json, write_parquet
    from synchrony.report.html import study_index_rows, write_index

    for name in STUDY_TABLES:
        table = tables[name]
        if name in ("episodes", "pseudo_dyads", "pseudo_dyads_by_session") and table.empty:
            for suffix in (".csv", ".parquet"):  # not made this time: no stale copy either
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(out / f"{name}{suffix}")
            continue
        write_csv(table, out / f"{name}.csv")
        write_parquet(table, out / f"{name}.parquet")
    write_index(study_index_rows(tables["sessions"], tables["synchrony"]), out / "index.html",
                title="Synchrony study")
    counts = {s: int(sum(r.get("status") == s for r in records.values())) for s in STATUSES}
    write_json(_json_ready({"synchrony_version": __version__, "config": config.to_dict(),
                            "n_sessions": len(specs), "counts": counts, "started_utc": started,
                            "finished_utc": _utc(), "packages": _package_versions(),
                            "lag_sign_convention": "positive lag = B follows A (A leads)"}),
               out / "batch.json")
    if any(s.subject is not None for s in specs):
        write_json({"Name": "synchrony derivatives", "BIDSVersion": "1.9.0", "DatasetType": "derivative",
                    "GeneratedBy": [{"Name": "synchrony", "Version": __version__}]},
                   out / "dataset_description.json")


# --- small helpers -----------------------------------------------------------------

def _digest(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def _size(path) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def _utc() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _json_ready(obj):
    if isinstance(obj, dict):
        return {str(k): _json_ready(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_ready(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj
