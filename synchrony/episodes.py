"""Episodes: the named phases of a session (play, still-face, reunion) and summaries split by them.

An episode table has one row per episode, columns ``episode`` (name), ``start_s`` and
``end_s`` (seconds on the session clock), sorted by start. Each episode is the half-open
interval ``[start_s, end_s)``, so a sample at a shared boundary belongs to the later
episode. Episodes may leave gaps but never overlap; two episodes may share a name (a
repeated play phase), and then summaries pool them.

Sources (:func:`episodes_table`): a DataFrame, a list of ``(name, start_s, end_s)``, a
dict ``name -> (start_s, end_s)``, or a file: CSV/TSV text, an ELAN ``.eaf`` or a Praat
``.TextGrid``. In annotation files (ELAN, TextGrid) an interval with an empty label is not
an episode (Praat fills an interval tier with them); in tables an empty name is an error.
"""

from __future__ import annotations

import csv
import io
import numbers
import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from synchrony.errors import InputFileError, ParameterError
from synchrony.textgrid import read_textgrid

__all__ = ["episodes_table", "episode_of", "split_by_episode", "summarise_by_episode",
           "EPISODE_COLUMNS", "OUTSIDE"]

EPISODE_COLUMNS = ["episode", "start_s", "end_s"]

#: The label of times, windows and span parts that fall in no episode.
OUTSIDE = ""

# Accepted headers (case-insensitive) in CSV files and DataFrames, canonical name first.
_ALIASES = {"episode": ("episode", "name", "label"),
            "start_s": ("start_s", "start", "onset", "onset_s"),
            "end_s": ("end_s", "end", "offset", "offset_s")}
_TIER_NAMES = ("episode", "episodes")
_TEXT_SUFFIXES = (".csv", ".tsv", ".txt")
_HOWS = ("centre", "within", "majority", "split")
_STATS = ("mean", "median", "count", "sum", "std", "min", "max")


class _Bad(Exception):
    """A rule broken by the episodes themselves; the boundary turns it into the right error."""

    def __init__(self, must: str, got: str):
        super().__init__(got)
        self.must, self.got = must, got


def episodes_table(spec, *, tier=None) -> pd.DataFrame:
    """Episodes from code or a file, as a validated table sorted by start.

    Parameters
    ----------
    spec : DataFrame, list, dict, str or path-like
        - DataFrame with an episode-name column and start and end columns in seconds.
          Headers are matched case-insensitively: name ``episode``, ``name`` or ``label``;
          start ``start_s``, ``start``, ``onset`` or ``onset_s``; end ``end_s``, ``end``,
          ``offset`` or ``offset_s`` (exactly one of each; other columns are ignored).
        - list of ``(name, start_s, end_s)`` tuples.
        - dict mapping name to ``(start_s, end_s)``.
        - path to a ``.csv``, ``.tsv`` or ``.txt`` table (UTF-8, a header row with the
          columns above, times in seconds with a decimal point; the delimiter is a tab if
          the header holds one, else ``;`` if it holds one, else ``,``); an ELAN ``.eaf``
          file (times in ms, converted to s); or a Praat ``.TextGrid`` (long or short text
          format) interval tier.
    tier : str, optional
        ELAN or TextGrid only: the tier holding the episodes. Default: the tier named
        ``episode`` or ``episodes`` (any case), else the only tier with labelled
        intervals. ELAN annotations on a reference tier take their parent's times.

    Returns
    -------
    pandas.DataFrame, shape (n_episodes, 3)
        Columns ``episode`` (str), ``start_s``, ``end_s`` (float, seconds), sorted by
        ``start_s``, with a fresh RangeIndex. Names are stripped of surrounding blanks.

    Raises
    ------
    ParameterError
        If an episode given in code has an empty name, a non-finite or non-numeric time,
        ``start_s >= end_s``, or overlaps another (the message names both).
    InputFileError
        One line naming the file: missing, unknown type, missing column, a non-numeric
        time (with its line), malformed XML, an unknown or ambiguous tier (listing the
        tiers present), no episodes, or the rule violations above.

    Examples
    --------
    >>> episodes_table({"still-face": (120, 240), "play": (0, 120)})
          episode  start_s  end_s
    0        play      0.0  120.0
    1  still-face    120.0  240.0
    """
    func = "episodes_table"
    if isinstance(spec, (str, os.PathLike)):
        return _from_file(Path(spec), tier, func)
    if tier is not None:
        raise ParameterError.expected("tier", func, "None unless spec is an .eaf or .TextGrid "
                                      "file", tier)
    try:
        rows = _rows_from_code(spec)
        return _table(rows)
    except _Bad as bad:
        raise ParameterError.expected("spec", func, bad.must, bad.got) from None


def episode_of(times_s, episodes) -> np.ndarray:
    """The episode each time falls in.

    Parameters
    ----------
    times_s : array-like of float, any shape
        Times in seconds on the session clock (sample times, window centres). NaN falls
        in no episode.
    episodes : anything :func:`episodes_table` accepts

    Returns
    -------
    numpy.ndarray of object, same shape as ``times_s``
        The episode name of each time, or ``OUTSIDE`` (``""``) when no episode holds it.
        Episodes are half-open, ``[start_s, end_s)``: a time equal to a boundary belongs
        to the episode that starts there, and an episode's ``end_s`` itself is outside
        it.

    Examples
    --------
    >>> episode_of([0.0, 119.9, 120.0, 240.0], [("play", 0, 120), ("still-face", 120, 240)])
    array(['play', 'play', 'still-face', ''], dtype=object)
    """
    table = episodes_table(episodes)
    try:
        t = np.asarray(times_s, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError.expected("times_s", "episode_of", "numeric times in seconds",
                                      type(times_s).__name__) from None
    return _label(t, table)


def split_by_episode(table, episodes, *, time_column=None, window_s=None, how=None) -> pd.DataFrame:
    """Add an ``episode`` column to a result table, so it can be grouped by episode.

    Each row covers a stretch of time ``[lo, hi)``:

    - a span table (columns ``start_s`` and ``end_s``, e.g. mismatch spans): the span;
    - a window table with ``window_start_s`` and ``window_end_s`` columns (``windows.csv``):
      the window;
    - otherwise ``lo`` is ``table[time_column]``, or the ``window_start_s`` column, or the
      index (e.g. :func:`synchrony.peak_lags` output, or a Signals frame indexed by
      ``time_s``), and ``hi = lo + window_s`` (``hi = lo``, a point, without
      ``window_s``). Window starts alone need ``window_s``, so that windows are not
      silently placed by their starts.

    Parameters
    ----------
    table : pandas.DataFrame
        Must not already have an ``episode`` column.
    episodes : anything :func:`episodes_table` accepts
    time_column : str, optional
        Column holding each row's (start) time in seconds; default as above.
    window_s : float, optional
        Length of each row's window in seconds, for tables without an end column. The
        data behind a :func:`synchrony.windowed_xcorr` window spans ``window_s +
        max_lag_s`` (the partner's lagged samples); pass that sum with ``how="within"``
        to keep every sample a window used inside its episode.
    how : {"centre", "within", "majority", "split"}, optional
        How a row is given to an episode (default ``"split"`` for span tables,
        ``"centre"`` otherwise):

        - ``"centre"``: the episode holding the row's midpoint ``(lo + hi) / 2``; for
          equal windows this is the episode holding most of the window.
        - ``"within"``: the episode holding the whole row (``start_s <= lo`` and
          ``hi <= end_s``); a row crossing a boundary is ``OUTSIDE``. Use it to keep
          windows that mix two phases out of both.
        - ``"majority"``: the episode overlapping the row longest (ties: the earlier
          episode); a row of zero length goes to the episode holding it.
        - ``"split"`` (span tables only): a span crossing boundaries becomes one row per
          piece, each clipped to its episode (pieces in no episode are kept, labelled
          ``OUTSIDE``, so total duration is unchanged). ``start_s`` and ``end_s`` (and
          ``duration_s``, if present) are the piece's; other columns are the whole
          span's. The index labels of the original rows are kept (repeated for pieces).

    Returns
    -------
    pandas.DataFrame
        A copy of ``table`` (one row per piece with ``"split"``) with an ``episode``
        column of str, ``OUTSIDE`` (``""``) for rows in no episode or with NaN times.

    Examples
    --------
    >>> import pandas as pd
    >>> spans = pd.DataFrame({"start_s": [100.0], "end_s": [130.0], "strength": [0.9]})
    >>> split_by_episode(spans, {"play": (0, 120), "still-face": (120, 240)})
       start_s  end_s  strength     episode
    0    100.0  120.0       0.9        play
    0    120.0  130.0       0.9  still-face
    """
    func = "split_by_episode"
    eps = episodes_table(episodes)
    lo, hi, is_span = _extent(table, time_column, window_s, func)
    if how is None:
        how = "split" if is_span else "centre"
    if how not in _HOWS:
        raise ParameterError.expected("how", func, "one of " + ", ".join(map(repr, _HOWS)), how)
    if how == "split" and not is_span:
        raise ParameterError.expected("how", func, "'centre', 'within' or 'majority' for a "
                                      "table without start_s and end_s columns", how)
    if how == "split":
        return _split_spans(table, eps, lo, hi)
    out = table.copy()
    out["episode"] = _assign(lo, hi, eps, how)
    return out


def summarise_by_episode(table, episodes, *, columns, stats=("mean", "median", "count"),
                         time_column=None, window_s=None, how=None,
                         all_label="all") -> pd.DataFrame:
    """Statistics of chosen columns per episode, plus a row for the whole table.

    Rows are given to episodes by :func:`split_by_episode` (same ``time_column``,
    ``window_s`` and ``how``). Episodes sharing a name are pooled.

    Parameters
    ----------
    table : pandas.DataFrame
        A result table: windows (``peak_r``, ``peak_lag_s``), mismatch spans, ...
    episodes : anything :func:`episodes_table` accepts
    columns : str or list of str
        Numeric columns to summarise.
    stats : sequence of str, default ("mean", "median", "count")
        Any of ``mean``, ``median``, ``count`` (non-NaN values), ``sum``, ``std``
        (sample, ddof=1), ``min``, ``max``; NaN values are skipped.
    time_column, window_s, how
        As in :func:`split_by_episode`.
    all_label : str, default "all"
        Name of the row over the whole table; must differ from every episode name.

    Returns
    -------
    pandas.DataFrame
        Index ``episode``: one row per episode name in order of first start (an episode
        with no rows has count 0 and NaN elsewhere), then ``all_label``. Columns
        ``n_rows`` (rows, or pieces with ``how="split"``, given to the episode) then
        ``<column>_<stat>`` for each column and stat. The ``all_label`` row is computed
        from the input rows as they are (unsplit, including rows in no episode), so it
        matches a summary of the whole session; rows in no episode appear only there.

    Examples
    --------
    >>> import pandas as pd
    >>> windows = pd.DataFrame({"window_start_s": [0.0, 10.0, 20.0],
    ...                         "window_end_s": [10.0, 20.0, 30.0],
    ...                         "peak_r": [0.8, 0.6, 0.1]})
    >>> episodes = [("play", 0, 20), ("still-face", 20, 30)]
    >>> summarise_by_episode(windows, episodes,  # doctest: +NORMALIZE_WHITESPACE
    ...                      columns="peak_r", stats=("mean", "count"))
                n_rows  peak_r_mean  peak_r_count
    episode
    play             2          0.7             2
    still-face       1          0.1             1
    all              3          0.5             3
    """
    func = "summarise_by_episode"
    eps = episodes_table(episodes)
    if not isinstance(table, pd.DataFrame):
        raise ParameterError.expected("table", func, "a pandas DataFrame", type(table).__name__)
    cols = [columns] if isinstance(columns, str) else list(columns) if _is_seq(columns) else None
    if not cols:
        raise ParameterError.expected("columns", func, "a column name or a non-empty list of "
                                      "them", columns)
    for col in cols:
        if col not in table.columns:
            raise ParameterError.expected("columns", func, "columns of the table", col)
        if not pd.api.types.is_numeric_dtype(table[col]) or pd.api.types.is_bool_dtype(table[col]):
            raise ParameterError.expected("columns", func, "numeric columns",
                                          f"{col!r} of dtype {table[col].dtype}")
    stats = [stats] if isinstance(stats, str) else list(stats) if _is_seq(stats) else None
    if not stats or any(s not in _STATS for s in stats):
        raise ParameterError.expected("stats", func, "a non-empty list from "
                                      + ", ".join(_STATS), stats)
    names = list(dict.fromkeys(eps["episode"]))
    if not isinstance(all_label, str) or all_label in names or all_label == OUTSIDE:
        raise ParameterError.expected("all_label", func, "a non-empty name that no episode "
                                      "has", all_label)

    cols, stats = list(dict.fromkeys(cols)), list(dict.fromkeys(stats))
    parts = split_by_episode(table, eps, time_column=time_column, window_s=window_s, how=how)
    inside = parts[parts["episode"] != OUTSIDE]
    grouped = inside.groupby("episode", sort=False)
    per = grouped[cols].agg(stats).reindex(names)
    per.columns = [f"{col}_{stat}" for col, stat in per.columns]
    per.insert(0, "n_rows", grouped.size().reindex(names))
    whole = table[cols].agg(stats)
    per.loc[all_label] = [len(table)] + [whole.loc[stat, col] for col in cols for stat in stats]
    counts = ["n_rows"] + [f"{col}_count" for col in cols if "count" in stats]
    per[counts] = per[counts].fillna(0).astype(np.int64)
    per.index.name = "episode"
    return per


# ---------------------------------------------------------------------------- sources


def _from_file(path: Path, tier, func) -> pd.DataFrame:
    if not path.exists():
        raise InputFileError(path, "file not found")
    if not path.is_file():
        raise InputFileError(path, "is a directory, not an episode file")
    suffix = path.suffix.lower()
    if suffix in _TEXT_SUFFIXES:
        if tier is not None:
            raise ParameterError.expected("tier", func, "None for a CSV/TSV episode file", tier)
        rows = _read_text(path)
    elif suffix == ".eaf":
        rows = _read_eaf(path, tier)
    elif suffix == ".textgrid":
        rows = _read_textgrid(path, tier)
    else:
        raise InputFileError(path, f"unknown episode file type {path.suffix!r} (expected "
                             ".csv, .tsv, .txt, .eaf or .TextGrid)")
    if not rows:
        raise InputFileError(path, "holds no episodes")
    try:
        return _table(rows)
    except _Bad as bad:
        raise InputFileError(path, f"{bad.got} (episodes must be {bad.must})") from None


def _read_text(path: Path):
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputFileError(path, "is not UTF-8 text") from None
    header_line = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = "\t" if "\t" in header_line else ";" if ";" in header_line else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = next((row for row in reader if any(cell.strip() for cell in row)), None)
    if header is None:
        raise InputFileError(path, "is empty")
    try:
        where = _resolve_columns([h.strip() for h in header])
    except _Bad as bad:
        raise InputFileError(path, bad.got) from None
    rows = []
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        line = reader.line_num
        cells = {}
        for key, pos in where.items():
            if pos >= len(row):
                raise InputFileError(path, f"line {line}: no {key} value")
            cells[key] = row[pos].strip()
        times = []
        for key in ("start_s", "end_s"):
            try:
                times.append(float(cells[key]))
            except ValueError:
                raise InputFileError(path, f"line {line}: {key} {cells[key]!r} is not a "
                                     "number") from None
        rows.append((cells["episode"], *times, f"line {line}"))
    return rows


def _read_eaf(path: Path, tier):
    # coding.py builds on this module (its events become episodes), so import it here.
    from synchrony.coding import read_eaf_tiers

    return _pick(path, read_eaf_tiers(path), tier, point_tiers=())


def _read_textgrid(path: Path, tier):
    grid = read_textgrid(path)  # raises InputFileError naming the file itself
    intervals = {name: frame for name, frame in grid.tiers.items() if "start_s" in frame}
    points = [name for name in grid.tiers if name not in intervals]
    return _pick(path, intervals, tier, point_tiers=points)


def _pick(path, frames: dict, tier, point_tiers):
    """The labelled intervals of the chosen tier: (label, start_s, end_s, where)."""
    labelled = {name: [(str(text).strip(), lo, hi, f"interval {lo:g}-{hi:g} s")
                       for lo, hi, text in frame[["start_s", "end_s", "text"]].itertuples(index=False)
                       if str(text).strip()]
                for name, frame in frames.items()}
    return labelled[_choose_tier(path, labelled, tier, point_tiers=point_tiers)]


def _choose_tier(path, tiers: dict, tier, point_tiers):
    present = ", ".join(repr(name) for name in [*tiers, *point_tiers]) or "none"
    if tier is not None:
        if tier in tiers:
            return tier
        if tier in point_tiers:
            raise InputFileError(path, f"tier {tier!r} is a point tier; episodes need an "
                                 "interval tier")
        raise InputFileError(path, f"has no tier {tier!r} (tiers: {present})")
    named = [name for name in tiers if name.strip().casefold() in _TIER_NAMES]
    if len(named) == 1:
        return named[0]
    candidates = named or [name for name, rows in tiers.items() if rows]
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise InputFileError(path, f"has no tier with labelled intervals (tiers: {present})")
    raise InputFileError(path, "has several tiers that could hold the episodes ("
                         + ", ".join(map(repr, candidates)) + "); choose one with tier=")


def _rows_from_code(spec):
    if isinstance(spec, pd.DataFrame):
        where = _resolve_columns([str(c).strip() for c in spec.columns])
        cols = [spec.columns[where[key]] for key in EPISODE_COLUMNS]
        return [(name, lo, hi, f"row {label}")
                for label, (name, lo, hi) in zip(spec.index, spec[cols].itertuples(index=False))]
    if isinstance(spec, Mapping):
        rows = []
        for name, span in spec.items():
            if not _is_seq(span) or len(span) != 2:
                raise _Bad("a dict of name -> (start_s, end_s)", f"{span!r} for {name!r}")
            rows.append((name, *span, None))
        return rows
    if _is_seq(spec):
        rows = []
        for i, item in enumerate(spec):
            if not _is_seq(item) or len(item) != 3:
                raise _Bad("a list of (name, start_s, end_s) tuples", f"item {i}: {item!r}")
            rows.append((*item, f"item {i}"))
        return rows
    raise _Bad("a DataFrame, list, dict or file path", type(spec).__name__)


def _resolve_columns(header):
    folded = [h.casefold() for h in header]
    where = {}
    for key, aliases in _ALIASES.items():
        hits = [i for i, h in enumerate(folded) if h in aliases]
        if not hits:
            raise _Bad("a table with episode, start_s and end_s columns",
                       f"missing column {key!r} (or {', '.join(aliases[1:])}); columns: "
                       + ", ".join(map(repr, header)))
        if len(hits) > 1:
            raise _Bad("a table with one column of each kind", f"several {key} columns: "
                       + ", ".join(repr(header[i]) for i in hits))
        where[key] = hits[0]
    return where


# ---------------------------------------------------------------------------- the table


def _table(rows) -> pd.DataFrame:
    names, starts, ends = [], [], []
    for name, lo, hi, where in rows:
        at = f" ({where})" if where else ""
        if not isinstance(name, str) or not name.strip():
            raise _Bad("non-empty names", f"an empty or non-text name {name!r}{at}")
        name = name.strip()
        for t in (lo, hi):
            if not isinstance(t, (numbers.Real, np.number)) or isinstance(t, (bool, np.bool_)) \
                    or not np.isfinite(t):
                raise _Bad("finite times in seconds", f"{name!r} from {lo!r} to {hi!r}{at}")
        if not lo < hi:
            raise _Bad("start_s < end_s", f"{name!r} from {float(lo):g} to {float(hi):g} s{at}")
        names.append(name)
        starts.append(float(lo))
        ends.append(float(hi))
    order = np.argsort(starts, kind="stable")
    table = pd.DataFrame({"episode": pd.Series([names[i] for i in order], dtype=object),
                          "start_s": np.asarray(starts, dtype=float)[order],
                          "end_s": np.asarray(ends, dtype=float)[order]})
    # Sorted by start, any overlap shows between neighbours.
    clash = np.flatnonzero(table["start_s"].to_numpy()[1:] < table["end_s"].to_numpy()[:-1])
    if clash.size:
        a, b = table.iloc[clash[0]], table.iloc[clash[0] + 1]
        raise _Bad("non-overlapping", f"{a.episode!r} [{a.start_s:g}, {a.end_s:g}) s overlaps "
                   f"{b.episode!r} [{b.start_s:g}, {b.end_s:g}) s")
    return table


def _is_seq(obj) -> bool:
    return isinstance(obj, (list, tuple, np.ndarray, pd.Series))


# ---------------------------------------------------------------------------- assignment


def _label(t: np.ndarray, eps: pd.DataFrame) -> np.ndarray:
    starts, ends = eps["start_s"].to_numpy(), eps["end_s"].to_numpy()
    names = eps["episode"].to_numpy(dtype=object)
    out = np.full(t.shape, OUTSIDE, dtype=object)
    if not len(eps):
        return out
    idx = np.searchsorted(starts, t, side="right") - 1  # last episode starting at or before t
    safe = idx.clip(0)
    inside = (idx >= 0) & (t < ends[safe])  # NaN compares False: outside
    out[inside] = names[safe[inside]]
    return out


def _extent(table, time_column, window_s, func):
    """Each row's [lo, hi) in seconds, and whether the table is a span table."""
    if not isinstance(table, pd.DataFrame):
        raise ParameterError.expected("table", func, "a pandas DataFrame", type(table).__name__)
    if "episode" in table.columns:
        raise ParameterError.expected("table", func, "a table without an 'episode' column",
                                      "one that has it")
    cols = set(table.columns)
    if time_column is None and {"start_s", "end_s"} <= cols:
        lo, hi, is_span, has_end, source = table["start_s"], table["end_s"], True, True, None
    else:
        is_span = False
        if time_column is not None:
            if time_column not in cols:
                raise ParameterError.expected("time_column", func, "a column of the table",
                                              time_column)
            lo, source = table[time_column], time_column
        elif "window_start_s" in cols:
            lo, source = table["window_start_s"], "window_start_s"
        else:
            lo, source = pd.Series(table.index, index=table.index), table.index.name
        has_end = source == "window_start_s" and "window_end_s" in cols
        hi = table["window_end_s"] if has_end else None
    if window_s is not None:
        if has_end:
            raise ParameterError.expected("window_s", func, "None when the table has end times",
                                          window_s)
        if not isinstance(window_s, numbers.Real) or isinstance(window_s, bool) \
                or not np.isfinite(window_s) or window_s < 0:
            raise ParameterError.expected("window_s", func, "a finite number >= 0", window_s)
    elif not has_end and source == "window_start_s":
        raise ParameterError.expected("window_s", func, "given for a table whose times are "
                                      "window starts without window_end_s", window_s)
    try:
        lo = np.asarray(lo, dtype=float)
        hi = lo + float(window_s or 0.0) if hi is None else np.asarray(hi, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError.expected("table", func, "numeric times in seconds",
                                      "non-numeric times") from None
    if (hi < lo).any():
        raise ParameterError.expected("table", func, "rows that end at or after they start",
                                      f"row {int(np.flatnonzero(hi < lo)[0])}")
    return lo, hi, is_span


def _assign(lo, hi, eps, how) -> np.ndarray:
    if how == "centre":
        return _label((lo + hi) / 2, eps)
    labels = _label(lo, eps)
    if how == "within":
        idx = np.searchsorted(eps["start_s"].to_numpy(), lo, side="right") - 1
        end = eps["end_s"].to_numpy()[idx.clip(0)]
        labels[~(hi <= end)] = OUTSIDE
        return labels
    # majority: overlap of every row with every episode; argmax takes the first (earlier) tie.
    starts, ends = eps["start_s"].to_numpy(), eps["end_s"].to_numpy()
    if not len(eps):
        return labels
    overlap = (np.minimum(hi[:, None], ends) - np.maximum(lo[:, None], starts)).clip(0)
    best = overlap.argmax(axis=1)
    has = np.nan_to_num(overlap[np.arange(len(lo)), best]) > 0
    # A row of zero length overlaps nothing: it keeps the episode holding lo.
    labels[has] = eps["episode"].to_numpy(dtype=object)[best[has]]
    return labels


def _split_spans(table, eps, lo, hi) -> pd.DataFrame:
    bounds = np.unique(np.concatenate([eps["start_s"].to_numpy(), eps["end_s"].to_numpy()]))
    rows, starts, ends = [], [], []
    for i, (a, b) in enumerate(zip(lo, hi)):
        cuts = bounds[(bounds > a) & (bounds < b)] if a < b else bounds[:0]
        edges = np.concatenate([[a], cuts, [b]])
        for p, q in zip(edges[:-1], edges[1:]):
            rows.append(i)
            starts.append(p)
            ends.append(q)
    starts, ends = np.asarray(starts, dtype=float), np.asarray(ends, dtype=float)
    out = table.iloc[rows].copy()
    out["start_s"], out["end_s"] = starts, ends
    if "duration_s" in out.columns:
        out["duration_s"] = np.round(ends - starts, 9)  # as mismatch spans are written
    # A piece lies inside one episode or gap, so its midpoint (its start, if empty) names it.
    out["episode"] = _label(np.where(ends > starts, (starts + ends) / 2, starts), eps)
    return out
