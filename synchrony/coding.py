"""Hand-coded events from ELAN, Praat and BORIS, and their agreement with detected spans.

Researchers code sessions by hand; a detected span is worth trusting where it agrees with
their codes. This module reads codes as **coded events**, one table for every source:

========  ==============================================================
column    meaning
========  ==============================================================
tier      ELAN/TextGrid tier, or the BORIS subject (``""`` when none)
label     annotation text, or the BORIS behaviour code
start_s   start in seconds on the recording's clock
end_s     end in seconds (equal to ``start_s`` for point events)
========  ==============================================================

sorted by ``start_s``, then ``tier`` (BORIS adds ``modifiers``). Intervals with an empty
label are dropped (Praat fills interval tiers with them). Then :func:`overlap_agreement`
gives precision, recall and F1 of detected spans against coded events by time overlap,
and :func:`grid_kappa` Cohen's kappa of the two on a time grid. :func:`as_episodes` makes
episodes of coded intervals.

Readers: :func:`read_eaf_tiers` (every tier of an ELAN file; the episode reader in
:mod:`synchrony.episodes` picks one tier and keeps its own parser),
:func:`synchrony.textgrid.read_textgrid`, and :func:`read_boris` (BORIS's tabular event
export, with START/STOP rows, and its aggregated export, with start and stop columns).
"""

from __future__ import annotations

import csv
import io
import math
import numbers
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd

from synchrony.errors import InputFileError, ParameterError

__all__ = ["read_coded_events", "read_eaf_tiers", "read_boris", "as_episodes",
           "overlap_agreement", "grid_kappa", "CODED_COLUMNS"]

CODED_COLUMNS = ["tier", "label", "start_s", "end_s"]
_NA = {"", "na", "n/a", "nan", "none"}


def read_coded_events(path, *, tiers=None, observation=None) -> pd.DataFrame:
    """Hand-coded events from an ELAN ``.eaf``, a Praat ``.TextGrid`` or a BORIS export.

    Parameters
    ----------
    path : path-like
        ``.eaf``, ``.TextGrid``, or a BORIS tabular or aggregated event export saved as
        ``.csv``, ``.tsv`` or ``.txt``.
    tiers : str or sequence of str, optional
        Keep only these tiers (BORIS: subjects). Default: all.
    observation : str, optional
        BORIS only: the observation id to keep, when the file holds several.

    Returns
    -------
    pandas.DataFrame
        Coded events (:data:`CODED_COLUMNS`), see the module docstring.

    Raises
    ------
    InputFileError
        One line naming the file: missing, unknown type, unreadable, a tier asked for
        that it does not have (listing those it has), an unpaired BORIS START or STOP.

    Examples
    --------
    >>> import tempfile, os, pandas as pd
    >>> from synchrony.textgrid import write_textgrid
    >>> path = os.path.join(tempfile.mkdtemp(), "codes.TextGrid")
    >>> _ = write_textgrid(path, {"infant": pd.DataFrame(
    ...     {"start_s": [1.0, 4.0], "end_s": [2.5, 6.0], "text": ["smile", "fuss"]})},
    ...     xmax_s=10.0)
    >>> read_coded_events(path).values.tolist()
    [['infant', 'smile', 1.0, 2.5], ['infant', 'fuss', 4.0, 6.0]]
    """
    func = "read_coded_events"
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "file not found" if not path.exists() else
                             "is a directory, not a coded-events file")
    if observation is not None and not isinstance(observation, str):
        raise ParameterError.expected("observation", func, "an observation id (str) or None",
                                      observation)
    wanted = _names(tiers, "tiers", func)
    suffix = path.suffix.lower()
    if suffix == ".eaf":
        found = read_eaf_tiers(path)
        table = _from_tiers(found, path, wanted)
    elif suffix == ".textgrid":
        from synchrony.textgrid import read_textgrid

        grid = read_textgrid(path).tiers
        found = {name: (frame if "start_s" in frame else
                        pd.DataFrame({"start_s": frame["time_s"], "end_s": frame["time_s"],
                                      "text": frame["text"]}))
                 for name, frame in grid.items()}
        table = _from_tiers(found, path, wanted)
    elif suffix in (".csv", ".tsv", ".txt"):
        table = read_boris(path, observation=observation)
        if wanted is not None:
            _check_present(path, wanted, list(dict.fromkeys(table["tier"])), "subject")
            table = table[table["tier"].isin(wanted)].reset_index(drop=True)
    else:
        raise InputFileError(path, f"unknown coded-events file type {path.suffix!r} "
                             "(expected .eaf, .TextGrid, .csv, .tsv or .txt)")
    return table


def read_eaf_tiers(path) -> dict:
    """Every tier of an ELAN ``.eaf`` file, as intervals.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    dict of str to pandas.DataFrame
        Tier id -> ``start_s``, ``end_s`` (float, s; ELAN's milliseconds / 1000) and
        ``text`` (str), in document order, rows sorted by ``start_s``. Annotations on a
        reference tier (ELAN's symbolic subdivision and association) take the times of
        the aligned annotation they refer to. Empty annotations are kept.

    Raises
    ------
    InputFileError
        If the file is missing, not well-formed XML, not an ELAN document, or an
        annotation refers to a missing time slot or annotation, or to a time slot
        without a time (an unaligned slot: align it in ELAN first).
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "file not found")
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as err:
        raise InputFileError(path, f"is not well-formed XML ({err})") from None
    if root.tag != "ANNOTATION_DOCUMENT":
        raise InputFileError(path, f"is not an ELAN file (root element <{root.tag}>)")
    scale = 1000.0
    header = root.find("HEADER")
    if header is not None and header.get("TIME_UNITS", "milliseconds") != "milliseconds":
        raise InputFileError(path, f"has TIME_UNITS {header.get('TIME_UNITS')!r}; only "
                             "milliseconds are supported")
    slots = {}
    for slot in root.iter("TIME_SLOT"):
        value = slot.get("TIME_VALUE")
        try:
            slots[slot.get("TIME_SLOT_ID")] = None if value is None else float(value) / scale
        except ValueError:
            raise InputFileError(path, f"time slot {slot.get('TIME_SLOT_ID')!r} has a "
                                 f"non-numeric TIME_VALUE {value!r}") from None
    aligned = {a.get("ANNOTATION_ID"): a for a in root.iter("ALIGNABLE_ANNOTATION")}
    refs = {a.get("ANNOTATION_ID"): a for a in root.iter("REF_ANNOTATION")}

    def times(ann, tier_id):
        seen = set()
        while ann.tag == "REF_ANNOTATION":
            ann_id, parent = ann.get("ANNOTATION_ID"), ann.get("ANNOTATION_REF")
            seen.add(ann_id)
            ann = aligned.get(parent) or refs.get(parent)
            if ann is None or parent in seen:
                raise InputFileError(path, f"annotation {ann_id!r} refers to a missing or "
                                     f"circular annotation {parent!r}")
        out = []
        for key in ("TIME_SLOT_REF1", "TIME_SLOT_REF2"):
            slot = ann.get(key)
            if slot not in slots:
                raise InputFileError(path, f"annotation {ann.get('ANNOTATION_ID')!r} uses an "
                                     f"unknown time slot {slot!r}")
            if slots[slot] is None:
                raise InputFileError(path, f"tier {tier_id!r}: annotation "
                                     f"{ann.get('ANNOTATION_ID')!r} uses the unaligned time "
                                     f"slot {slot!r}; align it in ELAN")
            out.append(slots[slot])
        return out

    tiers = {}
    for element in root.findall("TIER"):
        tier_id = element.get("TIER_ID", "")
        rows = []
        for ann in element.iter():
            if ann.tag in ("ALIGNABLE_ANNOTATION", "REF_ANNOTATION"):
                text = ann.findtext("ANNOTATION_VALUE") or ""
                rows.append((*times(ann, tier_id), text))
        frame = pd.DataFrame(rows, columns=["start_s", "end_s", "text"]).astype(
            {"start_s": float, "end_s": float, "text": object})
        tiers[tier_id] = frame.sort_values("start_s", kind="stable").reset_index(drop=True)
    return tiers


def read_boris(path, *, observation=None) -> pd.DataFrame:
    """Coded events from a BORIS export (tabular events or aggregated events).

    Two BORIS exports are read, as CSV or TSV (the delimiter is a tab if the header row
    holds one, else a comma):

    - **tabular events** (Observations > Export events > Tabular events): one row per
      event with a ``Time`` column (s) and a status column, ``Behavior type`` (BORIS 8)
      or ``Status`` (BORIS 7, whose export starts with a block of observation facts,
      skipped here): ``START`` and ``STOP`` rows of one subject's behaviour are paired
      in order into an interval, ``POINT`` rows are point events.
    - **aggregated events**: one row per event with ``Start (s)`` and ``Stop (s)``
      (``Behavior type`` ``STATE`` or ``POINT``).

    Columns are found by their header names (case-insensitive): ``Behavior``,
    ``Subject`` (optional), ``Observation id`` (optional), ``Modifiers`` or
    ``Modifier #1``, ``Modifier #2``, ... (optional). Times are taken as written, on
    the coded media's clock.

    Parameters
    ----------
    path : path-like
    observation : str, optional
        The observation id to keep when the file holds several.

    Returns
    -------
    pandas.DataFrame
        Coded events: ``tier`` (the subject, ``""`` for none), ``label`` (the behaviour
        code), ``start_s``, ``end_s`` and ``modifiers`` (joined by ``|``, ``""`` for
        none).

    Raises
    ------
    InputFileError
        If no BORIS header row is found, a time is not a number, a START has no STOP
        (or a STOP no START), or the file holds several observations and
        ``observation`` does not choose one. The message names the line.
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "file not found")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputFileError(path, "is not UTF-8 text") from None
    rows, header_at, kind = _boris_rows(text)
    if header_at is None:
        raise InputFileError(path, "is not a BORIS event export (no header row with "
                             "'Behavior' and 'Time' or 'Start (s)' columns)")
    header = [h.strip().casefold() for h in rows[header_at][1]]
    col = {name: header.index(name) for name in header}
    mods = ([col["modifiers"]] if "modifiers" in col else
            [i for i, h in enumerate(header) if h.startswith("modifier #")])
    records = []
    for line, row in rows[header_at + 1:]:
        if not any(cell.strip() for cell in row):
            continue
        cell = (lambda name: row[col[name]].strip() if name in col and col[name] < len(row)
                else "")
        records.append({"line": line, "obs": cell("observation id"), "tier": cell("subject"),
                        "label": cell("behavior"),
                        "modifiers": "|".join(m for m in (row[i].strip() for i in mods
                                                          if i < len(row))
                                              if m.casefold() not in _NA),
                        "status": (cell("behavior type") or cell("status")).upper(),
                        "time": cell("time"), "start": cell("start (s)"),
                        "stop": cell("stop (s)")})
    for rec in records:
        if rec["tier"].casefold() in ("no focal subject",) or rec["tier"].casefold() in _NA:
            rec["tier"] = ""
    observations = list(dict.fromkeys(r["obs"] for r in records if r["obs"]))
    if observation is not None:
        if observation not in observations:
            raise InputFileError(path, f"has no observation {observation!r} (observations: "
                                 + (", ".join(map(repr, observations)) or "none") + ")")
        records = [r for r in records if r["obs"] == observation]
    elif len(observations) > 1:
        raise InputFileError(path, "holds several observations (" + ", ".join(
            map(repr, observations)) + "); choose one with observation=")
    events = (_aggregated(records, path) if kind == "aggregated" else _paired(records, path))
    table = pd.DataFrame(events, columns=[*CODED_COLUMNS, "modifiers"]).astype(
        {"tier": object, "label": object, "start_s": float, "end_s": float,
         "modifiers": object})
    return table.sort_values(["start_s", "tier"], kind="stable").reset_index(drop=True)


def as_episodes(events, *, tier=None) -> pd.DataFrame:
    """Episodes (``episode``, ``start_s``, ``end_s``) from coded intervals.

    Parameters
    ----------
    events : pandas.DataFrame
        Coded events (:func:`read_coded_events`).
    tier : str, optional
        The tier holding the episodes; needed when the events have several tiers.

    Returns
    -------
    pandas.DataFrame
        As :func:`synchrony.episodes.episodes_table` returns it (validated: no
        overlaps); point events are left out.

    Examples
    --------
    >>> import pandas as pd
    >>> codes = pd.DataFrame({"tier": ["phase", "phase"], "label": ["play", "still-face"],
    ...                       "start_s": [0.0, 120.0], "end_s": [120.0, 240.0]})
    >>> as_episodes(codes).values.tolist()
    [['play', 0.0, 120.0], ['still-face', 120.0, 240.0]]
    """
    from synchrony.episodes import episodes_table

    func = "as_episodes"
    _check_events(events, "events", func)
    names = list(dict.fromkeys(events["tier"])) if "tier" in events.columns else []
    if tier is not None:
        if tier not in names:
            raise ParameterError.expected("tier", func, "one of the events' tiers "
                                          f"({', '.join(map(repr, names))})", tier)
        events = events[events["tier"] == tier]
    elif len(names) > 1:
        raise ParameterError.expected("tier", func, "given when the events have several "
                                      f"tiers ({', '.join(map(repr, names))})", tier)
    events = events[events["end_s"] > events["start_s"]]
    return episodes_table(pd.DataFrame({"episode": events["label"].astype(str).to_numpy(),
                                        "start_s": events["start_s"].to_numpy(float),
                                        "end_s": events["end_s"].to_numpy(float)}))


def overlap_agreement(coded, detected, *, min_overlap_s=0.0) -> dict:
    """Precision, recall and F1 of detected spans against coded events, by time overlap.

    A detected span is a **hit** when it overlaps some coded event by more than
    ``min_overlap_s`` seconds; a coded event is **found** when some detected span
    overlaps it so. A coded point event (``start_s == end_s``) is found when a detected
    span holds its time (``start_s <= t <= end_s``). Matching is many-to-many: one long
    span can find two coded events. The time-based scores compare the union of the
    coded events with the union of the detected spans.

    Parameters
    ----------
    coded, detected : pandas.DataFrame
        Rows with ``start_s`` and ``end_s`` in seconds (coded events, mismatch spans).
        Filter them first to compare one label or one feature pair.
    min_overlap_s : float, default 0.0
        Overlap needed beyond touching, in seconds.

    Returns
    -------
    dict
        ``n_coded``, ``n_detected``, ``n_found`` (coded events found), ``n_hits``
        (detected spans that are hits); ``precision = n_hits / n_detected``,
        ``recall = n_found / n_coded``, ``f1`` (their harmonic mean); ``overlap_s``,
        ``coded_s``, ``detected_s`` (seconds covered by both, by the coded union, by the
        detected union) and ``precision_time = overlap_s / detected_s``,
        ``recall_time = overlap_s / coded_s``, ``f1_time``. A ratio with a zero
        denominator is NaN.

    Examples
    --------
    >>> import pandas as pd
    >>> coded = pd.DataFrame({"start_s": [10.0, 40.0, 70.0], "end_s": [20.0, 50.0, 75.0]})
    >>> found = pd.DataFrame({"start_s": [12.0, 55.0], "end_s": [22.0, 60.0]})
    >>> out = overlap_agreement(coded, found)
    >>> out["precision"], round(out["recall"], 4), round(out["f1"], 4), out["overlap_s"]
    (0.5, 0.3333, 0.4, 8.0)
    """
    func = "overlap_agreement"
    c_lo, c_hi = _bounds(coded, "coded", func)
    d_lo, d_hi = _bounds(detected, "detected", func)
    if not (isinstance(min_overlap_s, numbers.Real) and not isinstance(min_overlap_s, bool)
            and math.isfinite(min_overlap_s) and min_overlap_s >= 0):
        raise ParameterError.expected("min_overlap_s", func, "a finite number >= 0",
                                      min_overlap_s)
    # overlap[i, j]: seconds coded event i and detected span j share (n x m is small).
    overlap = (np.minimum(c_hi[:, None], d_hi[None, :])
               - np.maximum(c_lo[:, None], d_lo[None, :]))
    match = overlap > min_overlap_s
    point = (c_hi == c_lo)[:, None]
    holds = (d_lo[None, :] <= c_lo[:, None]) & (c_lo[:, None] <= d_hi[None, :])
    match = np.where(point, holds, match)
    n_found, n_hits = int(match.any(axis=1).sum()), int(match.any(axis=0).sum())
    precision, recall = _ratio(n_hits, d_lo.size), _ratio(n_found, c_lo.size)
    coded_u, detected_u = _union(c_lo, c_hi), _union(d_lo, d_hi)
    both = _intersection_s(coded_u, detected_u)
    coded_s, detected_s = _length(coded_u), _length(detected_u)
    p_time, r_time = _ratio(both, detected_s), _ratio(both, coded_s)
    return {"n_coded": int(c_lo.size), "n_detected": int(d_lo.size), "n_found": n_found,
            "n_hits": n_hits, "precision": precision, "recall": recall,
            "f1": _f1(precision, recall), "overlap_s": both, "coded_s": coded_s,
            "detected_s": detected_s, "precision_time": p_time, "recall_time": r_time,
            "f1_time": _f1(p_time, r_time)}


def grid_kappa(coded, detected, *, step_s=0.1, start_s=0.0, end_s=None) -> dict:
    """Cohen's kappa of coded events and detected spans on a time grid.

    The stretch ``[start_s, end_s)`` is cut into bins of ``step_s``; a bin is *coded*
    when its centre ``start_s + (k + 1/2) step_s`` lies in a coded interval
    ``[start, end)``, and *detected* likewise. Kappa (Cohen 1960) is
    ``(p_o - p_e) / (1 - p_e)`` of the two binary sequences: ``p_o`` the share of bins
    where they agree, ``p_e`` the agreement expected by chance from each one's share of
    positive bins. Point events cover no bin.

    Parameters
    ----------
    coded, detected : pandas.DataFrame
        Rows with ``start_s`` and ``end_s`` in seconds.
    step_s : float, default 0.1
        Bin width in seconds.
    start_s : float, default 0.0
        Start of the stretch compared, in seconds.
    end_s : float, optional
        Its end, in seconds: pass the session's duration, since kappa depends on the
        time that neither marks. Default: the latest end in either table. A trailing
        part shorter than ``step_s`` is left out.

    Returns
    -------
    dict
        ``kappa`` (NaN when ``p_e == 1``: both constant), ``p_observed``, ``p_chance``,
        ``n_bins``, ``coded_share`` and ``detected_share`` (share of positive bins),
        ``step_s``.

    Examples
    --------
    >>> import pandas as pd
    >>> coded = pd.DataFrame({"start_s": [0.0], "end_s": [5.0]})
    >>> found = pd.DataFrame({"start_s": [0.0], "end_s": [4.0]})
    >>> grid_kappa(coded, found, step_s=1.0, end_s=10.0)["kappa"]
    0.8
    """
    func = "grid_kappa"
    c_lo, c_hi = _bounds(coded, "coded", func)
    d_lo, d_hi = _bounds(detected, "detected", func)
    step_s = _positive(step_s, "step_s", func)
    if not (isinstance(start_s, numbers.Real) and math.isfinite(start_s)):
        raise ParameterError.expected("start_s", func, "a finite time in seconds", start_s)
    if end_s is None:
        end_s = float(max(np.max(c_hi, initial=start_s), np.max(d_hi, initial=start_s)))
    elif not (isinstance(end_s, numbers.Real) and math.isfinite(end_s)):
        raise ParameterError.expected("end_s", func, "a finite time in seconds or None", end_s)
    n = int(math.floor((end_s - start_s) / step_s + 1e-9))
    if n < 1:
        raise ParameterError.expected("end_s", func, f"at least one step ({step_s:g} s) after "
                                      f"start_s={start_s:g}", end_s)
    a = _on_grid(c_lo, c_hi, start_s, step_s, n)
    b = _on_grid(d_lo, d_hi, start_s, step_s, n)
    p_o = float(np.mean(a == b))
    pa, pb = float(a.mean()), float(b.mean())
    p_e = pa * pb + (1 - pa) * (1 - pb)
    kappa = (p_o - p_e) / (1 - p_e) if p_e < 1 else math.nan
    return {"kappa": float(kappa), "p_observed": p_o, "p_chance": p_e, "n_bins": n,
            "coded_share": pa, "detected_share": pb, "step_s": step_s}


# ---------------------------------------------------------------------------- helpers


def _names(value, name, func):
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    try:
        items = list(value)
    except TypeError:
        items = None
    if not items or not all(isinstance(v, str) for v in items):
        raise ParameterError.expected(name, func, "a name or a list of names", value)
    return items


def _check_present(path, wanted, present, what):
    missing = [w for w in wanted if w not in present]
    if missing:
        raise InputFileError(path, f"has no {what} {missing[0]!r} ({what}s: "
                             + (", ".join(map(repr, present)) or "none") + ")")


def _from_tiers(found: dict, path, wanted) -> pd.DataFrame:
    if wanted is not None:
        _check_present(path, wanted, list(found), "tier")
        found = {name: found[name] for name in wanted}
    parts = []
    for name, frame in found.items():
        labels = frame["text"].fillna("").astype(str).str.strip()
        keep = labels != ""
        parts.append(pd.DataFrame({"tier": name, "label": labels[keep].to_numpy(),
                                   "start_s": frame["start_s"][keep].to_numpy(float),
                                   "end_s": frame["end_s"][keep].to_numpy(float)}))
    table = (pd.concat(parts, ignore_index=True) if parts
             else pd.DataFrame(columns=CODED_COLUMNS))
    table = table.astype({"tier": object, "label": object, "start_s": float, "end_s": float})
    return table.sort_values(["start_s", "tier"], kind="stable").reset_index(drop=True)


def _boris_rows(text):
    """(line number, cells) of every row, the index of the header row, and its kind."""
    lines = text.splitlines()
    header_at, kind, delimiter = None, None, ","
    for i, line in enumerate(lines):
        delimiter = "\t" if "\t" in line else ","
        cells = [c.strip().casefold() for c in next(csv.reader([line], delimiter=delimiter), [])]
        if "behavior" not in cells:
            continue
        if "start (s)" in cells and "stop (s)" in cells:
            header_at, kind = i, "aggregated"
            break
        if "time" in cells and ("behavior type" in cells or "status" in cells):
            header_at, kind = i, "tabular"
            break
    if header_at is None:
        return [], None, None
    reader = csv.reader(io.StringIO("\n".join(lines[header_at:])), delimiter=delimiter)
    rows = [(header_at + 1 + k, row) for k, row in enumerate(reader)]
    return rows, 0, kind


def _number(text, what, rec, path):
    try:
        value = float(text)
    except ValueError:
        raise InputFileError(path, f"line {rec['line']}: {what} {text!r} is not a number "
                             "of seconds") from None
    if not math.isfinite(value):
        raise InputFileError(path, f"line {rec['line']}: {what} {text!r} is not finite")
    return value


def _aggregated(records, path):
    out = []
    for rec in records:
        lo = _number(rec["start"], "Start (s)", rec, path)
        hi = lo if rec["stop"].casefold() in _NA else _number(rec["stop"], "Stop (s)", rec, path)
        if hi < lo:
            raise InputFileError(path, f"line {rec['line']}: Stop (s) {hi:g} is before "
                                 f"Start (s) {lo:g}")
        out.append((rec["tier"], rec["label"], lo, hi, rec["modifiers"]))
    return out


def _paired(records, path):
    out, open_ = [], {}
    for rec in records:
        t = _number(rec["time"], "Time", rec, path)
        key = (rec["tier"], rec["label"])
        who = f"{rec['label']!r}" + (f" (subject {rec['tier']!r})" if rec["tier"] else "")
        if rec["status"] == "START":
            if key in open_:
                raise InputFileError(path, f"line {rec['line']}: START of {who} while the one "
                                     f"on line {open_[key]['line']} is not stopped")
            open_[key] = {**rec, "t": t, "who": who}
        elif rec["status"] == "STOP":
            start = open_.pop(key, None)
            if start is None:
                raise InputFileError(path, f"line {rec['line']}: STOP of {who} without a START")
            out.append((rec["tier"], rec["label"], start["t"], t, start["modifiers"]))
        elif rec["status"] == "POINT":
            out.append((rec["tier"], rec["label"], t, t, rec["modifiers"]))
        else:
            raise InputFileError(path, f"line {rec['line']}: status {rec['status']!r} is not "
                                 "START, STOP or POINT")
    if open_:
        rec = min(open_.values(), key=lambda r: r["line"])
        raise InputFileError(path, f"line {rec['line']}: START of {rec['who']} has no STOP")
    return out


def _check_events(table, name, func):
    if not isinstance(table, pd.DataFrame):
        raise ParameterError.expected(name, func, "a pandas DataFrame", type(table).__name__)
    for col in ("start_s", "end_s"):
        if col not in table.columns:
            raise ParameterError.expected(name, func, "a table with start_s and end_s columns",
                                          f"no column {col!r}")


def _bounds(table, name, func):
    _check_events(table, name, func)
    lo = pd.to_numeric(table["start_s"], errors="coerce").to_numpy(float)
    hi = pd.to_numeric(table["end_s"], errors="coerce").to_numpy(float)
    if not (np.isfinite(lo).all() and np.isfinite(hi).all()):
        raise ParameterError.expected(name, func, "finite start_s and end_s in seconds",
                                      "a missing or non-finite time")
    if (hi < lo).any():
        i = int(np.flatnonzero(hi < lo)[0])
        raise ParameterError.expected(name, func, "rows with end_s >= start_s",
                                      f"{lo[i]:g} to {hi[i]:g} s")
    return lo, hi


def _positive(value, name, func):
    if not (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and math.isfinite(value) and value > 0):
        raise ParameterError.expected(name, func, "a finite number > 0", value)
    return float(value)


def _union(lo, hi):
    """Sorted, disjoint intervals covering the same time as the given ones."""
    keep = hi > lo
    lo, hi = lo[keep], hi[keep]
    if not lo.size:
        return np.empty((0, 2))
    order = np.argsort(lo, kind="stable")
    merged = [[lo[order[0]], hi[order[0]]]]
    for a, b in zip(lo[order[1:]], hi[order[1:]]):
        if a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    return np.asarray(merged)


def _length(intervals) -> float:
    return float(np.sum(intervals[:, 1] - intervals[:, 0])) if len(intervals) else 0.0


def _intersection_s(a, b) -> float:
    if not len(a) or not len(b):
        return 0.0
    shared = (np.minimum(a[:, 1][:, None], b[:, 1][None, :])
              - np.maximum(a[:, 0][:, None], b[:, 0][None, :]))
    return float(np.clip(shared, 0, None).sum())  # disjoint within each: no double count


def _ratio(num, den) -> float:
    return float(num) / den if den else math.nan


def _f1(p, r) -> float:
    if not (math.isfinite(p) and math.isfinite(r)) or p + r == 0:
        return math.nan if not (math.isfinite(p) and math.isfinite(r)) else 0.0
    return 2 * p * r / (p + r)


def _on_grid(lo, hi, start_s, step_s, n) -> np.ndarray:
    # Bin k's centre c_k = start + (k + 1/2) step lies in [lo, hi) for k in [k0, k1).
    k0 = np.clip(np.ceil((lo - start_s) / step_s - 0.5), 0, n).astype(np.int64)
    k1 = np.clip(np.ceil((hi - start_s) / step_s - 0.5), 0, n).astype(np.int64)
    edges = np.zeros(n + 1, dtype=np.int64)
    np.add.at(edges, k0, 1)
    np.add.at(edges, k1, -1)
    return np.cumsum(edges[:-1]) > 0
