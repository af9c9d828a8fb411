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

This module checks the arguments and runs the stages in order; each stage is a module,
and data flows one way (each imports only those after it):
:mod:`synchrony.batch_schedule` (the executor, dead workers, progress),
:mod:`synchrony.batch_tables` (the study tables and their files),
:mod:`synchrony.batch_session` (one session in a worker: analysis, log, record) and
:mod:`synchrony.batch_provenance` (``provenance.json``, resume keys, invalidation).
"""

from __future__ import annotations

import contextlib
import logging
import os
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from synchrony.batch_provenance import DONE, STATUSES, remove_temp, utc_now
from synchrony.batch_schedule import execute
from synchrony.batch_session import THREAD_ENV, make_task
from synchrony.batch_tables import STUDY_TABLES, pseudo_dyad_tables, study_tables, write_study
from synchrony.config import AnalysisConfig
from synchrony.errors import InputFileError, ParameterError
from synchrony.manifest import manifest_sessions, read_manifest

__all__ = ["BatchResult", "run_batch", "STATUSES", "THREAD_ENV", "STUDY_TABLES"]

log = logging.getLogger("synchrony")


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
        return bool(self.sessions["status"].isin(DONE).all())


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
        remove_temp(out, recursive=False)
        started = utc_now()
        tasks = [make_task(spec, out, config, episodes, force) for spec in specs]
        records = execute(tasks, workers=workers, executor=executor, client=client, progress=progress)
        tables = study_tables(specs, records, out)
        if pseudo_dyads:
            tables["pseudo_dyads"], tables["pseudo_dyads_by_session"] = pseudo_dyad_tables(
                specs, records, out, n_pseudo_pairs)
        else:
            tables["pseudo_dyads"] = tables["pseudo_dyads_by_session"] = pd.DataFrame()
        write_study(out, tables, specs, config, started, records)
    counts = tables["sessions"]["status"].value_counts().to_dict()
    log.info("batch of %d sessions: %s", len(specs), ", ".join(f"{n} {s}" for s, n in counts.items()))
    return BatchResult(out_dir=out, **tables)


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
