"""Sending a batch's sessions to an executor and surviving its dead workers (part of :mod:`synchrony.batch`).

:func:`execute` sends only the sessions not already done, longest first, as many at a
time as the pool has workers (on Dask all at once: its scheduler queues them). The
executor is loky's reusable pool (its workers run under
:data:`synchrony.batch_session.THREAD_ENV`), a given one, or a Dask client's; when a dead
worker breaks it, the sessions that were running go again one at a time in a fresh
one, and a session whose worker dies alone is recorded here as ``crashed``.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections import deque
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, CancelledError, Executor, wait

from synchrony.batch_provenance import one_line, previous, unchanged
from synchrony.batch_session import THREAD_ENV, internal_error, run_session, write_outside_record

__all__ = ["execute"]

_IDLE_S = 60  # loky workers idle this long exit


def execute(tasks, *, workers, executor, client, progress) -> dict:
    """Run the tasks (:func:`synchrony.batch_session.make_task`) that are not already
    done; one record per session id. Only an interrupt (Ctrl-C) raises."""
    from tqdm.auto import tqdm

    records, todo = {}, []
    bar = tqdm(total=len(tasks), unit="session", desc="batch", disable=not progress)
    for task in tasks:
        earlier = previous(task["folder"])
        if not task["force"] and unchanged(task, earlier):
            records[task["spec"].session_id] = {**earlier, "status": "skipped"}
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
                    running[pool.submit(run_session, task)] = task
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
                    else:  # the executor itself raised for this session (e.g. it could not be sent)
                        finish(task, write_outside_record(task, "failed", internal_error(exc)))
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
    """Record of a session whose worker died, or that never ran because the executor broke."""
    text = one_line(exc)
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
    return write_outside_record(task, "crashed", reason)


def _size(path) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0
