"""A session folder's ``provenance.json`` and when a re-run may trust it (part of :mod:`synchrony.batch`).

The record's ``key`` hashes the inputs' contents with the settings digest of
:func:`synchrony.batch_session.make_task`. Before anything is sent to a worker,
:func:`unchanged` compares sizes and modification times only (cheap: no hashing); a
worker hashes the inputs and reuses the results when the key is the same
(:func:`finished`). Before a session is redone, its old record goes first and then only
the files it listed (:func:`invalidate`); the new record lists the files this run wrote,
with sizes and hashes (:func:`outputs`).
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import os
from pathlib import Path

from synchrony.formats import json_ready

__all__ = ["STATUSES", "DONE", "PROVENANCE", "LOG_NAME", "digest", "utc_now", "one_line",
           "package_versions", "input_facts", "previous", "finished", "unchanged", "outputs_intact",
           "invalidate", "snapshot", "outputs", "remove_temp", "write_provenance"]

#: What a session's record says: analysed in this run, reused from an earlier one
#: (same inputs, settings and version), failed with a one-line reason, or its worker died.
STATUSES = ("done", "skipped", "failed", "crashed")
DONE = ("done", "skipped")

PROVENANCE = "provenance.json"
LOG_NAME = "synchrony.log"
_PACKAGES = ("synchrony", "numpy", "pandas", "scipy", "av", "mediapipe", "opencv-contrib-python",
             "praat-parselmouth", "librosa", "matplotlib", "joblib", "pyarrow", "dask", "distributed")
_VERSIONS = {}


def digest(obj) -> str:
    """SHA-256 (hex) of ``obj`` as key-sorted JSON: the same settings give the same key."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def utc_now() -> str:
    """The time now in UTC, ISO 8601 to the millisecond, e.g. ``2024-05-01T12:00:00.123Z``."""
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def one_line(text) -> str:
    """``text`` with every run of white space (newlines too) as one space: a record's reason.

    >>> one_line("a.mp4:\\n  not a readable media file ")
    'a.mp4: not a readable media file'
    """
    return " ".join(str(text).split())


def package_versions() -> dict:
    """Installed versions of synchrony and the packages its results depend on (read once)."""
    if not _VERSIONS:
        from importlib.metadata import PackageNotFoundError, version

        for name in _PACKAGES:
            try:
                _VERSIONS[name] = version(name)
            except PackageNotFoundError:
                pass
    return dict(_VERSIONS)


def input_facts(task) -> list[dict]:
    """Role, path, SHA-256, size, modification time and (media) duration of each input.

    Raises
    ------
    synchrony.InputFileError
        An input is missing, a directory or unreadable.
    """
    from synchrony.cache import file_digest
    from synchrony.errors import InputFileError

    facts = []
    for role, path in task["inputs"]:
        try:
            stat = os.stat(path)
            if os.path.isdir(path):
                raise InputFileError(path, "is a directory, not a file")
            sha256 = file_digest(path)
        except FileNotFoundError:
            raise InputFileError(path, "file not found") from None
        except PermissionError:
            raise InputFileError(path, "cannot be read (permission denied)") from None
        facts.append({"role": role, "path": path, "sha256": sha256, "size_bytes": stat.st_size,
                      "mtime_ns": stat.st_mtime_ns,
                      "duration_s": _media_duration(path) if role in ("video", "audio") else None})
    return facts


def _media_duration(path):
    from synchrony.media import probe

    try:
        return probe(path).duration_s
    except Exception:  # noqa: BLE001 - a corrupt file fails in the analysis, with its reason
        return None


def previous(folder):
    """The session's provenance record from an earlier run, or None."""
    try:
        record = json.loads((Path(folder) / PROVENANCE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def finished(previous, **fields) -> bool:
    """The earlier record says done, with these values of ``fields`` (e.g. ``key``)."""
    return bool(previous) and previous.get("status") == "done" and all(
        previous.get(name) == value for name, value in fields.items())


def unchanged(task, previous) -> bool:
    """Done earlier with these settings, and every input has its recorded size and time."""
    if not finished(previous, settings_digest=task["settings_digest"]):
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
    return outputs_intact(Path(task["folder"]), previous)


def outputs_intact(folder: Path, previous) -> bool:
    """Every output the earlier run listed is still there with its size."""
    for out in previous.get("outputs") or []:
        try:
            if (folder / out["path"]).stat().st_size != out["size_bytes"]:
                return False
        except (OSError, KeyError, TypeError):
            return False
    return bool(previous.get("outputs"))


def invalidate(folder: Path, previous, task):
    """Before redoing a session: its old record goes first, then the files it listed
    (only those: the folder may hold files that are not synchrony's)."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(folder / PROVENANCE)
    keep = {os.path.realpath(p) for _, p in task["inputs"]}
    for item in (previous or {}).get("outputs") or []:
        path = folder / str(item.get("path", ""))
        if path.parent == folder and path.is_file() and os.path.realpath(path) not in keep:
            path.unlink()


def snapshot(folder: Path) -> dict:
    """Name -> (inode, mtime) of the folder's files: what a run rewrote is what changed."""
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.iterdir() if p.is_file()}


def outputs(folder: Path, task, before: dict) -> list[dict]:
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


def remove_temp(folder: Path, *, recursive: bool):
    """Temporary files left by a killed run (``formats.atomic_path`` names them ``.*.tmp``)."""
    for path in (folder.rglob(".*.tmp") if recursive else folder.glob(".*.tmp")):
        with contextlib.suppress(OSError):
            path.unlink()


def write_provenance(folder: Path, record: dict) -> dict:
    """Write ``record`` (made JSON-ready) as the folder's ``provenance.json``; return it.

    Raises
    ------
    OSError, ValueError
        The file cannot be written.
    """
    from synchrony.formats import write_json

    record = json_ready(record)
    write_json(record, folder / PROVENANCE)
    return record
