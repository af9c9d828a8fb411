"""Per-person series made by other tools, read into Signals.

Three formats: a generic CSV/TSV (a time column or a sampling rate; columns mapped to
person and feature), rMEA/MEA motion-energy text files (two whitespace-separated
columns after a header line, 25 Hz by default) and OpenFace 2.x CSVs (one per person).
Every problem with a file is a one-line :class:`~synchrony.errors.InputFileError` that
names the file: a missing column, a non-numeric cell, a time column that goes
backwards, files of unequal length. A column with no value at all is kept as missing
data (NaN) and logged as a warning naming the file and column.
"""

from __future__ import annotations

import csv
import logging
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from synchrony._validate import check_positive
from synchrony.errors import InputFileError, ParameterError
from synchrony.signals import build_signals

__all__ = ["load_signals", "read_rmea", "read_table", "read_openface", "OPENFACE_FEATURES"]

log = logging.getLogger(__name__)

#: OpenFace 2.x columns kept by :func:`read_openface`, with their feature names here.
OPENFACE_FEATURES = {
    "pose_Rx": "head_pitch_deg",
    "pose_Ry": "head_yaw_deg",
    "pose_Rz": "head_roll_deg",
    "AU06_r": "au06_cheek_raiser",
    "AU12_r": "au12_lip_corner_puller",
    "AU01_r": "au01_inner_brow_raiser",
    "AU04_r": "au04_brow_lowerer",
    "AU25_r": "au25_lips_part",
    "AU26_r": "au26_jaw_drop",
    "AU45_r": "au45_blink",
}


def load_signals(paths, *, format: str | None = None, persons=("A", "B"),
                 rate_hz: float | None = None, time_column: str | None = None,
                 columns: Mapping[str, tuple[str, str]] | None = None,
                 min_confidence: float = 0.75) -> pd.DataFrame:
    """Read series made by other tools into Signals (index ``time_s``, columns
    ``(person, feature)``).

    Parameters
    ----------
    paths : path-like or sequence of path-like
        One file holding both persons (``"csv"``, ``"rmea"``) or, for ``"openface"``,
        one file per person in the order of ``persons``.
    format : {"csv", "rmea", "openface"}, optional
        Guessed when omitted: ``.txt`` -> rmea; a CSV whose header has OpenFace's
        ``timestamp``, ``confidence`` and ``success`` -> openface; else csv.
    persons : pair of str, default ("A", "B")
        Person labels: the two rMEA columns in order, or the OpenFace files in order.
    rate_hz : float, optional
        Sampling rate in Hz: required for a csv without ``time_column``; for rmea the
        default is 25 Hz; for openface it is the rate of the common clock the two
        persons' frame times are put on (default 10 Hz, see
        :func:`synchrony.signals.build_signals`).
    time_column : str, optional
        csv: the column with each row's time in seconds.
    columns : mapping of str to (person, feature), optional
        csv: which columns to read and what they are. By default every column named
        ``<person>.<feature>`` (the form of synchrony's own ``signals.csv``) is read.
    min_confidence : float, default 0.75
        openface: frames with ``success == 0`` or a lower ``confidence`` become NaN.

    Returns
    -------
    pandas.DataFrame
        Signals.

    Examples
    --------
    >>> from synchrony import load_signals  # doctest: +SKIP
    >>> sig = load_signals("200_01.txt", persons=("patient", "therapist"))  # doctest: +SKIP
    """
    func = "load_signals"
    paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    if not paths:
        raise ParameterError.expected("paths", func, "one or more files", paths)
    fmt = format or _guess_format(paths[0])
    if fmt == "rmea":
        _one_file(paths, fmt, func)
        return read_rmea(paths[0], persons=persons, rate_hz=rate_hz or 25.0)
    if fmt == "csv":
        _one_file(paths, fmt, func)
        return read_table(paths[0], rate_hz=rate_hz, time_column=time_column, columns=columns)
    if fmt == "openface":
        if len(paths) != len(persons):
            raise ParameterError.expected("paths", func, f"one OpenFace file per person ({len(persons)})",
                                          [os.fspath(p) for p in paths])
        tracks = {person: read_openface(p, min_confidence=min_confidence)
                  for person, p in zip(persons, paths)}
        return build_signals(tracks, rate_hz=rate_hz or 10.0)
    raise ParameterError.expected("format", func, "one of 'csv', 'rmea', 'openface' or None", format)


def read_rmea(path, *, persons=("A", "B"), rate_hz: float = 25.0,
              feature: str = "motion_energy") -> pd.DataFrame:
    """Read an rMEA/MEA text file: a header line, then two whitespace-separated columns.

    Sample ``k`` is at ``k / rate_hz`` seconds. Returns Signals with columns
    ``(persons[0], feature)`` and ``(persons[1], feature)``.
    """
    check_positive(rate_hz, "rate_hz", "read_rmea")
    table = _read(path, sep=r"\s+", engine="python")
    if table.shape[1] != 2:
        raise InputFileError(path, f"expected two whitespace-separated columns, found {table.shape[1]}")
    values = _numeric(table, path)
    short = values.isna().any(axis=1).to_numpy()
    if short.any():
        raise InputFileError(path, f"data row {int(np.flatnonzero(short)[0]) + 1} has fewer than two values")
    times = np.round(np.arange(len(values)) / rate_hz, 9)
    out = pd.DataFrame(values.to_numpy(), index=pd.Index(times, name="time_s"),
                       columns=pd.MultiIndex.from_tuples([(persons[0], feature), (persons[1], feature)],
                                                         names=["person", "feature"]))
    return out


def read_table(path, *, rate_hz: float | None = None, time_column: str | None = None,
               columns: Mapping[str, tuple[str, str]] | None = None) -> pd.DataFrame:
    """Read a generic CSV or TSV (the delimiter is sniffed) into Signals.

    Either ``time_column`` gives each row's time in seconds (it must increase; the
    rows are then put on a uniform clock at ``rate_hz``, default the median row rate)
    or ``rate_hz`` says row ``k`` is at ``k / rate_hz`` seconds.
    """
    func = "read_table"
    if time_column is None and rate_hz is None and not _has_column(path, "time_s"):
        raise ParameterError.expected("rate_hz", func, "given when the file has no time column", None)
    table = _read(path, sep=None, engine="python")
    time_column = time_column or ("time_s" if rate_hz is None else None)
    if columns is None:
        columns = {c: tuple(c.split(".", 1)) for c in table.columns if "." in str(c) and c != time_column}
        if not columns:
            raise InputFileError(path, "no column named <person>.<feature>; pass columns={...}")
    missing = [c for c in list(columns) + ([time_column] if time_column else []) if c not in table.columns]
    if missing:
        raise InputFileError(path, f"missing column {missing[0]!r} (columns: {', '.join(map(str, table.columns[:8]))})")
    data = _numeric(table[list(columns)], path)
    for col in data.columns[data.isna().all().to_numpy()]:
        # Kept (missing data is NaN, never dropped), but its pairs will be skipped.
        log.warning("%s: column %r has no values (every cell is empty or NaN)", path, col)
    if time_column is None:
        index = pd.Index(np.round(np.arange(len(data)) / check_positive(rate_hz, "rate_hz", func), 9),
                         name="time_s")
        data.index = index
        data.columns = pd.MultiIndex.from_tuples([columns[c] for c in data.columns],
                                                 names=["person", "feature"])
        return data
    times = _times(_numeric(table[[time_column]], path)[time_column], path)
    step = float(np.median(np.diff(times))) if len(times) > 1 else 1.0
    tracks = {}
    for col, (person, feature) in columns.items():
        tracks.setdefault(person, pd.DataFrame(index=pd.Index(times, name="time_s")))[feature] = data[col].to_numpy()
    return build_signals(tracks, rate_hz=rate_hz or 1.0 / step)


def read_openface(path, *, min_confidence: float = 0.75) -> pd.DataFrame:
    """One person's OpenFace 2.x CSV as a track indexed by ``time_s``.

    Keeps head pose in degrees (OpenFace gives radians), gaze angles in degrees
    (``gaze_angle_x/y``, or computed from the two eyes' gaze vectors in files that lack
    them), the AU intensities of :data:`OPENFACE_FEATURES` and a ``face_detected``
    quality column; frames with ``success == 0`` or ``confidence < min_confidence`` are
    NaN (OpenFace still reports values for them).
    """
    table = _read(path, sep=",", skipinitialspace=True)
    needed = ["timestamp", "confidence", "success"]
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise InputFileError(path, f"not an OpenFace CSV: missing column {missing[0]!r}")
    times = _times(_numeric(table[["timestamp"]], path)["timestamp"], path)
    ok = (_numeric(table[["success"]], path)["success"].to_numpy() > 0) & (
        _numeric(table[["confidence"]], path)["confidence"].to_numpy() >= min_confidence)
    out = pd.DataFrame(index=pd.Index(times, name="time_s"))
    out["face_detected"] = ok
    for source, name in OPENFACE_FEATURES.items():
        if source in table.columns:
            values = _numeric(table[[source]], path)[source].to_numpy(dtype=float)
            out[name] = np.degrees(values) if source.startswith("pose_R") else values
    gaze = _gaze_angles_deg(table, path)
    for name, values in gaze.items():
        out[name] = values
    features = [c for c in out.columns if c != "face_detected"]
    out.loc[~ok, features] = np.nan
    return out


def _gaze_angles_deg(table, path):
    if {"gaze_angle_x", "gaze_angle_y"} <= set(table.columns):
        ang = _numeric(table[["gaze_angle_x", "gaze_angle_y"]], path).to_numpy(dtype=float)
        return {"gaze_yaw_deg": np.degrees(ang[:, 0]), "gaze_pitch_deg": np.degrees(ang[:, 1])}
    cols = [f"gaze_{e}_{a}" for e in (0, 1) for a in "xyz"]
    if not set(cols) <= set(table.columns):
        return {}
    g = _numeric(table[cols], path).to_numpy(dtype=float).reshape(-1, 2, 3).mean(axis=1)
    # OpenFace's own definition of gaze_angle_x/y from the mean gaze vector.
    return {"gaze_yaw_deg": np.degrees(np.arctan2(g[:, 0], -g[:, 2])),
            "gaze_pitch_deg": np.degrees(np.arctan2(g[:, 1], -g[:, 2]))}


def _guess_format(path) -> str:
    if Path(path).suffix.lower() == ".txt":
        return "rmea"
    return "openface" if all(_has_column(path, c) for c in ("timestamp", "confidence", "success")) else "csv"


def _has_column(path, name) -> bool:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            header = fh.readline()
    except OSError:
        return False
    return name in {c.strip() for c in header.replace("\t", ",").split(",")}


def _one_file(paths, fmt, func):
    if len(paths) != 1:
        raise ParameterError.expected("paths", func, f"one file for format {fmt!r}", [os.fspath(p) for p in paths])


def _read(path, **kwargs) -> pd.DataFrame:
    if not os.path.exists(path):
        raise InputFileError(path, "file not found")
    try:
        table = pd.read_csv(path, **kwargs)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError,
            csv.Error) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputFileError(path, f"cannot be read as a table ({reason})") from None
    table.columns = [str(c).strip() for c in table.columns]
    if table.empty:
        raise InputFileError(path, "has no data rows")
    return table


def _numeric(table: pd.DataFrame, path) -> pd.DataFrame:
    """Columns as float; a cell that is not a number is reported by row and column."""
    out = {}
    for col in table.columns:
        values = pd.to_numeric(table[col], errors="coerce")
        bad = values.isna() & table[col].notna() & (table[col].astype(str).str.strip().str.lower() != "nan")
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputFileError(path, f"non-numeric value {table[col].iloc[row]!r} in column "
                                       f"{col!r} at data row {row + 1}")
        out[col] = values.astype(float)
    return pd.DataFrame(out, index=table.index)


def _times(times: pd.Series, path) -> np.ndarray:
    t = times.to_numpy(dtype=float)
    if np.isnan(t).any():
        raise InputFileError(path, f"time column has an empty cell at data row {int(np.flatnonzero(np.isnan(t))[0]) + 1}")
    step = np.diff(t)
    if (step <= 0).any():
        row = int(np.flatnonzero(step <= 0)[0]) + 2
        what = "repeats a time" if step[row - 2] == 0 else "goes backwards"
        raise InputFileError(path, f"time column {what} at data row {row} ({t[row - 2]:g} -> {t[row - 1]:g} s)")
    return t
