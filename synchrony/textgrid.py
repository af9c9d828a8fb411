"""Praat TextGrid files: write turns and voice activity for checking in Praat, read back.

Files are written in Praat's long text format, UTF-8, atomically (a killed run leaves the
old file or none, never half of one). The reader takes both the long and the short text
format, in UTF-8 or in the UTF-16 Praat itself writes for non-ASCII labels.

An interval tier must tile its whole time range, so the writer fills the stretches
between the given intervals with empty intervals; the reader drops empty intervals
unless asked to keep them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from synchrony.errors import InputFileError, ParameterError
from synchrony.formats import atomic_path

__all__ = ["TextGrid", "write_textgrid", "read_textgrid", "intervals_from_activity",
           "turn_tiers"]

_TOKEN = re.compile(r'"((?:[^"]|"")*)"|(<exists>|<absent>)|\[[^\]]*\]'
                    r'|([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)|[^\s"\[<]+|<[^>]*>')


@dataclass(frozen=True)
class TextGrid:
    """A TextGrid: a time range (s) and named tiers.

    ``tiers`` maps a tier name to a DataFrame: an interval tier has columns ``start_s``,
    ``end_s``, ``text``; a point tier has ``time_s``, ``text``.
    """

    xmin_s: float
    xmax_s: float
    tiers: dict = field(default_factory=dict)


def write_textgrid(path, tiers, *, xmin_s=0.0, xmax_s=None) -> Path:
    """Write tiers to a Praat TextGrid (long text format), atomically.

    Parameters
    ----------
    path : path-like
        Destination, e.g. ``session.TextGrid``.
    tiers : mapping of str to pandas.DataFrame
        Tier name -> its rows, in the order the tiers should appear. A frame with
        ``start_s`` and ``end_s`` makes an interval tier (intervals within a tier must
        not overlap); one with ``time_s`` makes a point tier. An optional ``text``
        column gives the labels (default empty).
    xmin_s : float, default 0.0
        Start of the grid in seconds.
    xmax_s : float, optional
        End of the grid in seconds; default the latest time in any tier.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ParameterError
        If a tier is malformed, its intervals overlap, or a time lies outside
        ``[xmin_s, xmax_s]``.

    Examples
    --------
    >>> import pandas as pd, tempfile, os
    >>> turns = pd.DataFrame({"start_s": [0.5, 2.0], "end_s": [1.5, 3.0],
    ...                       "text": ["turn", "turn"]})
    >>> path = os.path.join(tempfile.mkdtemp(), "s.TextGrid")
    >>> _ = write_textgrid(path, {"A": turns}, xmax_s=4.0)
    >>> read_textgrid(path).tiers["A"].values.tolist()
    [[0.5, 1.5, 'turn'], [2.0, 3.0, 'turn']]
    """
    func = "write_textgrid"
    if not isinstance(tiers, Mapping) or not tiers:
        raise ParameterError.expected("tiers", func, "a non-empty mapping of tier name to "
                                      "DataFrame", type(tiers).__name__)
    checked = [(str(name), *_tier_rows(name, frame, func)) for name, frame in tiers.items()]
    xmin_s = _number(xmin_s, "xmin_s", func)
    latest = max((float(np.max(times)) for _, _, times, _ in checked if len(times)),
                 default=xmin_s)
    if xmax_s is None and latest <= xmin_s:
        raise ParameterError.expected("xmax_s", func, "given when no tier has a time after "
                                      "xmin_s", xmax_s)
    xmax_s = latest if xmax_s is None else _number(xmax_s, "xmax_s", func)
    if xmax_s <= xmin_s:
        raise ParameterError.expected("xmax_s", func, f"after xmin_s={xmin_s:g}", xmax_s)

    lines = ['File type = "ooTextFile"', 'Object class = "TextGrid"', "",
             f"xmin = {_fmt(xmin_s)} ", f"xmax = {_fmt(xmax_s)} ", "tiers? <exists> ",
             f"size = {len(checked)} ", "item []: "]
    for k, (name, kind, times, texts) in enumerate(checked, start=1):
        if len(times) and (np.min(times) < xmin_s - 1e-9 or np.max(times) > xmax_s + 1e-9):
            raise ParameterError.expected("tiers", func, f"times inside [{xmin_s:g}, "
                                          f"{xmax_s:g}] s", f"tier {name!r} outside it")
        lines += [f"    item [{k}]:",
                  f'        class = "{"IntervalTier" if kind == "interval" else "TextTier"}" ',
                  f"        name = {_quote(name)} ",
                  f"        xmin = {_fmt(xmin_s)} ", f"        xmax = {_fmt(xmax_s)} "]
        if kind == "interval":
            cells = _tile(times, texts, xmin_s, xmax_s)
            lines.append(f"        intervals: size = {len(cells)} ")
            for i, (lo, hi, text) in enumerate(cells, start=1):
                lines += [f"        intervals [{i}]:", f"            xmin = {_fmt(lo)} ",
                          f"            xmax = {_fmt(hi)} ", f"            text = {_quote(text)} "]
        else:
            lines.append(f"        points: size = {len(times)} ")
            for i, (when, text) in enumerate(zip(times, texts), start=1):
                lines += [f"        points [{i}]:", f"            number = {_fmt(when)} ",
                          f"            mark = {_quote(text)} "]
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Path(path)


def read_textgrid(path, *, keep_empty=False) -> TextGrid:
    """Read a Praat TextGrid (long or short text format).

    Parameters
    ----------
    path : path-like
    keep_empty : bool, default False
        Keep intervals whose text is empty (Praat's filler between labelled ones).

    Returns
    -------
    TextGrid
        Interval tiers as DataFrames ``start_s``, ``end_s``, ``text``; point tiers as
        ``time_s``, ``text``.

    Raises
    ------
    InputFileError
        If the file is missing or is not a text TextGrid.
    """
    p = Path(path)
    if not p.is_file():
        raise InputFileError(p, "file not found")
    raw = p.read_bytes()
    if raw.startswith((b"\xfe\xff", b"\xff\xfe")):
        text = raw.decode("utf-16")
    else:
        text = raw.decode("utf-8-sig", errors="replace")
    tokens = list(_tokens(text))
    try:
        return _parse(tokens, keep_empty)
    except StopIteration:
        raise InputFileError(p, "not a readable text TextGrid (it ends early)") from None
    except (ValueError, TypeError) as err:
        raise InputFileError(p, f"not a readable text TextGrid ({err})") from None


def intervals_from_activity(active, *, text="speech") -> pd.DataFrame:
    """Runs of a bool activity series as intervals ``start_s``, ``end_s``, ``text``.

    A run of frames ``i..j`` becomes ``[t_i - dt / 2, t_j + dt / 2]``, ``dt`` being the
    clock's step (as :func:`synchrony.analysis.turns.find_turns` counts it).

    Examples
    --------
    >>> import pandas as pd
    >>> active = pd.Series([False, True, True, False], index=[0.0, 0.1, 0.2, 0.3])
    >>> intervals_from_activity(active).round(3).values.tolist()
    [[0.05, 0.25, 'speech']]
    """
    t = np.asarray(active.index, dtype=float)
    a = np.asarray(active, dtype=bool)
    dt = float(np.median(np.diff(t))) if t.size > 1 else 0.0
    edges = np.flatnonzero(np.diff(np.concatenate(([0], a.astype(np.int8), [0]))))
    starts, ends = edges[0::2], edges[1::2]
    return pd.DataFrame({"start_s": t[starts] - dt / 2, "end_s": t[ends - 1] + dt / 2,
                         "text": [text] * len(starts)})


def turn_tiers(turns, activity=None) -> dict:
    """Tiers for :func:`write_textgrid`: one ``turns <person>`` tier per person, and a
    ``voice <person>`` tier per person from ``activity`` if given.

    Parameters
    ----------
    turns : pandas.DataFrame
        From :func:`synchrony.analysis.turns.find_turns` (``person``, ``start_s``,
        ``end_s``); each interval is labelled with its person.
    activity : mapping of str to pandas.Series of bool, optional
        Person -> voice activity.

    Returns
    -------
    dict of str to pandas.DataFrame
    """
    tiers = {}
    for person, rows in turns.groupby("person", sort=False):
        tiers[f"turns {person}"] = pd.DataFrame({"start_s": rows["start_s"].to_numpy(),
                                                 "end_s": rows["end_s"].to_numpy(),
                                                 "text": str(person)})
    for person, active in (activity or {}).items():
        tiers[f"voice {person}"] = intervals_from_activity(active)
    return tiers


# ---------------------------------------------------------------------------- helpers


def _tier_rows(name, frame, func):
    if not isinstance(frame, pd.DataFrame):
        raise ParameterError.expected("tiers", func, "DataFrames", f"{type(frame).__name__} "
                                      f"for tier {name!r}")
    texts = (frame["text"].fillna("").astype(str).tolist() if "text" in frame.columns
             else [""] * len(frame))
    if {"start_s", "end_s"} <= set(frame.columns):
        lo = frame["start_s"].to_numpy(dtype=float)
        hi = frame["end_s"].to_numpy(dtype=float)
        if not (np.isfinite(lo).all() and np.isfinite(hi).all() and (hi > lo).all()):
            raise ParameterError.expected("tiers", func, "intervals with finite start_s < "
                                          "end_s", f"tier {name!r}")
        order = np.argsort(lo, kind="stable")
        lo, hi = lo[order], hi[order]
        if (lo[1:] < hi[:-1] - 1e-9).any():
            raise ParameterError.expected("tiers", func, "non-overlapping intervals within "
                                          "a tier", f"overlaps in tier {name!r}")
        return "interval", np.column_stack([lo, hi]), [texts[i] for i in order]
    if "time_s" in frame.columns:
        times = frame["time_s"].to_numpy(dtype=float)
        if not np.isfinite(times).all():
            raise ParameterError.expected("tiers", func, "finite point times",
                                          f"tier {name!r}")
        order = np.argsort(times, kind="stable")
        return "point", times[order], [texts[i] for i in order]
    raise ParameterError.expected("tiers", func, "DataFrames with start_s/end_s or time_s "
                                  "columns", f"columns {list(frame.columns)} for tier {name!r}")


def _tile(bounds, texts, xmin_s, xmax_s):
    """Labelled intervals plus the empty ones that make the tier cover xmin..xmax."""
    cells, at = [], xmin_s
    for (lo, hi), text in zip(bounds, texts):
        lo = max(lo, at)  # touching within float noise: no sliver interval between
        if lo > at:
            cells.append((at, lo, ""))
        cells.append((lo, hi, text))
        at = hi
    if at < xmax_s:
        cells.append((at, xmax_s, ""))
    return cells


def _fmt(x: float) -> str:
    # repr is the shortest string that reads back to the same float; Praat reads it.
    x = float(x)
    return "0" if x == 0 else repr(x)


def _quote(text: str) -> str:
    return '"' + str(text).replace('"', '""') + '"'


def _number(value, name, func):
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ParameterError.expected(name, func, "a time in seconds", value) from None
    if not math.isfinite(x):
        raise ParameterError.expected(name, func, "a finite time in seconds", value)
    return x


def _tokens(text):
    """Strings, numbers and flags in file order; labels, '=' and '[n]' are skipped."""
    for m in _TOKEN.finditer(text):
        string, flag, number = m.group(1), m.group(2), m.group(3)
        if string is not None:
            yield ("s", string.replace('""', '"'))
        elif flag is not None:
            yield ("f", flag)
        elif number is not None:
            yield ("n", float(number))


def _parse(tokens, keep_empty):
    it = iter(tokens)

    def take(kind):
        k, v = next(it)
        if k != kind:
            raise ValueError(f"expected {'a number' if kind == 'n' else 'a string'}, got {v!r}")
        return v

    if take("s") != "ooTextFile" or take("s") != "TextGrid":
        raise ValueError("header is not 'ooTextFile' / 'TextGrid'")
    xmin, xmax = take("n"), take("n")
    k, v = next(it)
    if (k, v) == ("f", "<absent>"):
        return TextGrid(xmin, xmax, {})
    n_tiers = int(take("n")) if k == "f" else int(v)
    tiers = {}
    for _ in range(n_tiers):
        cls, name = take("s"), take("s")
        take("n"), take("n")
        size = int(take("n"))
        if cls == "IntervalTier":
            rows = [(take("n"), take("n"), take("s")) for _ in range(size)]
            frame = pd.DataFrame(rows, columns=["start_s", "end_s", "text"])
            if not keep_empty:
                frame = frame[frame["text"] != ""].reset_index(drop=True)
        elif cls == "TextTier":
            rows = [(take("n"), take("s")) for _ in range(size)]
            frame = pd.DataFrame(rows, columns=["time_s", "text"])
        else:
            raise ValueError(f"unknown tier class {cls!r}")
        tiers[name] = frame.astype({"text": object})
    return TextGrid(float(xmin), float(xmax), tiers)
