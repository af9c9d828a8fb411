"""Stage results kept beside the outputs, reused while inputs and settings are unchanged.

An extraction stage (faces, voice) stores its per-person tracks in a folder with a
manifest naming a key: the SHA-256 of the input files' contents, the stage's settings
and the package version. A later run with the same key reads the tracks instead of
decoding the recording again, so re-running the correlation with other windows is quick.
Files are written atomically and the manifest last, so a killed run leaves either no
manifest or one whose tracks are complete.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd

from synchrony import __version__
from synchrony.formats import atomic_path, write_json

__all__ = ["file_digest", "stage_key", "load_tracks", "save_tracks"]

log = logging.getLogger("synchrony")
_CHUNK = 1 << 20


def file_digest(path) -> str:
    """SHA-256 of a file's contents (hex), read in 1 MiB chunks so memory stays flat."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def stage_key(stage: str, inputs, settings: dict) -> str:
    """Key of one stage run: its name, its input files' contents, settings and version.

    Parameters
    ----------
    stage : str
        Stage name, e.g. ``"faces"``.
    inputs : iterable of path-like
        The files the stage reads; their contents (not names or times) enter the key.
    settings : dict
        JSON-serialisable settings that change the stage's result.
    """
    blob = json.dumps({"stage": stage, "inputs": [file_digest(p) for p in inputs],
                       "settings": settings, "version": __version__}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def load_tracks(folder, key: str):
    """The tracks saved under ``key`` in ``folder``, or None when absent or stale."""
    folder = Path(folder)
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    if manifest.get("key") != key:
        log.info("%s: cached tracks are for other inputs or settings; recomputing", folder)
        return None
    tracks = {}
    try:
        for person, name in manifest["files"].items():
            with np.load(folder / name, allow_pickle=False) as data:
                columns = manifest["columns"][person]
                tracks[person] = pd.DataFrame({c: data[f"c{i}"] for i, c in enumerate(columns)},
                                              index=pd.Index(data["time_s"], name="time_s"))
    except (OSError, KeyError, ValueError) as exc:
        log.warning("%s: cached tracks unreadable (%s); recomputing", folder, exc)
        return None
    log.info("%s: reusing cached tracks", folder)
    return tracks


def save_tracks(folder, key: str, tracks: dict) -> None:
    """Save per-person tracks (DataFrames indexed by ``time_s``) under ``key``."""
    folder = Path(folder)
    # Invalidate first: from here until the new manifest lands, nothing is trusted.
    try:
        os.unlink(folder / "manifest.json")
    except FileNotFoundError:
        pass
    files, columns = {}, {}
    for i, (person, table) in enumerate(tracks.items()):
        name = f"track_{i}.npz"
        # Binary arrays keep every float bit and dtype; a CSV round trip need not.
        arrays = {f"c{j}": table[c].to_numpy() for j, c in enumerate(table.columns)}
        with atomic_path(folder / name) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, time_s=np.asarray(table.index, dtype=float), **arrays)
        files[person] = name
        columns[person] = [str(c) for c in table.columns]
    write_json({"key": key, "files": files, "columns": columns, "version": __version__},
               folder / "manifest.json")
