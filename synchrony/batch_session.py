"""One session of a batch, as a worker runs it (part of :mod:`synchrony.batch`).

:func:`make_task` gathers, in the main process, everything a worker needs (picklable).
:func:`run_session` is the function sent to the workers: it stays at module level, as
loky and Dask pickle it by name. It analyses the session into its folder (recordings
through :func:`synchrony.pipeline.analyze`, series through
:func:`synchrony.pipeline.analyze_signals` as ``synchrony xcorr`` does), keeps the
library's log and warnings of that session, and writes ``provenance.json`` last; it
returns the record and never raises. :func:`write_outside_record` writes the record of a
session whose worker died.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import threading
import time
import traceback
import warnings
from pathlib import Path

from synchrony import __version__
from synchrony.formats import json_ready
from synchrony.batch_provenance import (LOG_NAME, PROVENANCE, digest, finished, input_facts, invalidate,
                                        one_line, outputs, outputs_intact, package_versions, previous,
                                        remove_temp, snapshot, utc_now, write_provenance)
from synchrony.config import DEFAULT_PAIRS, AnalysisConfig
from synchrony.errors import InputFileError, SynchronyError
from synchrony.manifest import SessionSpec

__all__ = ["THREAD_ENV", "make_task", "run_session", "internal_error", "write_outside_record"]

log = logging.getLogger("synchrony")

#: Environment of the default pool's workers: one thread for every BLAS/OpenMP/OpenCV
#: pool, so that N workers use N cores and do not oversubscribe them.
THREAD_ENV = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                     "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "BLIS_NUM_THREADS",
                                     "OPENCV_FOR_THREADS_NUM")}


def make_task(spec: SessionSpec, out: Path, config: AnalysisConfig, episodes, force: bool) -> dict:
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
            "settings_digest": digest({"settings": settings, "version": __version__}), "force": force}


def run_session(task: dict) -> dict:
    """Analyse one session into its folder; return its record. Never raises."""
    t0, cpu0 = time.perf_counter(), time.process_time()
    # CPU time is the process's: the session's own where it owns the process (a pool
    # worker), not where sessions share one (threads).
    own_process = threading.current_thread() is threading.main_thread()
    started = utc_now()
    folder = Path(task["folder"])
    record = _base_record(task, status="failed", reason=None)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        remove_temp(folder, recursive=True)
    except OSError as exc:
        return {**record, "reason": f"{folder}: cannot write results here ({exc.strerror or exc})"}
    earlier = previous(folder)
    facts, before = {}, snapshot(folder)
    with _SessionLog(folder) as session_log:
        try:
            inputs = input_facts(task)
            record["inputs"] = inputs
            record["key"] = digest({"settings_digest": task["settings_digest"],
                                    "inputs": [[i["role"], i["sha256"]] for i in inputs]})
            if not task["force"] and finished(earlier, key=record["key"]) and outputs_intact(folder, earlier):
                # Same contents under new timestamps: reuse, and remember the new times.
                refreshed = write_provenance(folder, {**earlier, "inputs": inputs})
                session_log.discard()
                return {**refreshed, "status": "skipped"}
            invalidate(folder, earlier, task)
            before.update(snapshot(folder))
            log.info("%s: analysing (%s layout)", task["spec"].session_id, task["spec"].layout)
            facts = _analyse(task, folder)
            record.update(status="done", reason=None)
        except SynchronyError as exc:
            record["reason"] = one_line(exc)
            log.error("%s: %s", task["spec"].session_id, record["reason"])
        except Exception as exc:  # noqa: BLE001 - recorded, never raised
            record["reason"] = internal_error(exc)
            log.error("%s: %s\n%s", task["spec"].session_id, record["reason"], traceback.format_exc())
    record["warnings"] = session_log.warnings
    try:
        session_log.keep(folder / LOG_NAME)
    except OSError as exc:
        record["warnings"].append(f"log not written ({exc})")
    record.update(facts)
    record["outputs"] = outputs(folder, task, before)
    record.update(started_utc=started, finished_utc=utc_now(), run_s=round(time.perf_counter() - t0, 3),
                  cpu_s=round(time.process_time() - cpu0, 3) if own_process else None)
    record = json_ready(record)
    try:
        write_provenance(folder, record)
    except (OSError, ValueError) as exc:
        record.update(status="failed", reason=f"{folder / PROVENANCE}: cannot be written ({exc})")
    return record


def internal_error(exc: BaseException) -> str:
    """The one-line reason of an exception that is not an input error (a bug).

    >>> internal_error(RuntimeError("planted\\nbug"))
    'internal error: RuntimeError: planted bug'
    """
    return one_line(f"internal error: {type(exc).__name__}: {exc}")


def write_outside_record(task, status, reason) -> dict:
    """Write, in the main process, the log and record of a session that did not finish in
    its worker (it died, or the executor raised); return the record."""
    from synchrony.formats import atomic_path

    folder = Path(task["folder"])
    record = _base_record(task, status=status, reason=reason)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # Keep what the dead worker logged, then say what happened.
        partial = sorted(folder.glob(f".{LOG_NAME}.*.tmp"), key=lambda p: p.stat().st_mtime)
        text = partial[-1].read_text(encoding="utf-8", errors="replace") if partial else ""
        with atomic_path(folder / LOG_NAME) as tmp:
            tmp.write_text(text + f"{utc_now()} ERROR {task['spec'].session_id}: {status}: {reason}\n",
                           encoding="utf-8")
        remove_temp(folder, recursive=True)
        write_provenance(folder, record)
    except OSError as exc:
        log.warning("%s: could not write the %s record (%s)", folder, status, exc)
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
        "synchrony_version": __version__, "packages": package_versions(),
        "python": sys.version.split()[0], "platform": platform.platform(),
        "host": socket.gethostname(), "pid": os.getpid(),
        "thread_env": {name: os.environ.get(name) for name in THREAD_ENV},
    }


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
        # write_outside_record finds a dead worker's log by this name.
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
                    notes.append(one_line(record.getMessage()))

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
