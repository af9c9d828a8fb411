"""Exports of a session's spans for the tools researchers code in: ELAN, Praat and BIDS.

Three kinds of spans leave the analysis: mismatch spans (one tier per feature pair),
turns (one tier per person) and episodes (one tier). :func:`annotation_tiers` turns them
into general tiers, ``name -> DataFrame(start_s, end_s, text)``, which
:func:`write_eaf` writes as an ELAN 3.0 ``.eaf`` (linked to the session's media) and
:func:`synchrony.textgrid.write_textgrid` as a Praat TextGrid. :func:`bids_events` and
:func:`write_bids_events` give the same spans as a BIDS ``events.tsv``.
:func:`export_annotations` writes all three into an output folder.

All files are written atomically (a killed run leaves the old file or none) and are the
same bytes for the same input.
"""

from __future__ import annotations

import json
import math
import os
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path, PurePath

import numpy as np
import pandas as pd

from synchrony._validate import check_positive
from synchrony.errors import ParameterError
from synchrony.formats import atomic_path

__all__ = ["annotation_tiers", "mismatch_label", "write_eaf", "bids_events",
           "write_bids_events", "export_annotations", "join_split_spans",
           "EAF_LINGUISTIC_TYPE", "BIDS_COLUMNS"]

#: The linguistic type of every exported tier: time-alignable, no parent.
EAF_LINGUISTIC_TYPE = "default-lt"
#: Columns of :func:`bids_events`, in order: BIDS's own three, then ours.
BIDS_COLUMNS = ["onset", "duration", "trial_type", "features", "kind", "person", "active",
                "not_following", "strength", "p_value", "episode"]

# ELAN's own MIME labels for the media it plays; anything else is "video/*" or "audio/*".
_MIME = {".mp4": "video/mp4", ".m4v": "video/mp4", ".mov": "video/quicktime",
         ".mpg": "video/mpeg", ".mpeg": "video/mpeg", ".wav": "audio/x-wav",
         ".mp3": "audio/mpeg", ".m4a": "audio/mp4", ".ogg": "audio/ogg"}
_AUDIO = (".wav", ".mp3", ".m4a", ".ogg", ".flac", ".aac", ".aif", ".aiff")
# ELAN writes these four constraint stereotypes into every document.
_CONSTRAINTS = (
    ("Time_Subdivision", "Time subdivision of parent annotation's time interval, no time "
     "gaps allowed within this interval"),
    ("Symbolic_Subdivision", "Symbolic subdivision of a parent annotation. Annotations "
     "refering to the same parent are ordered"),
    ("Symbolic_Association", "1-1 association with a parent annotation"),
    ("Included_In", "Time alignable annotations within the parent annotation's time "
     "interval, gaps are allowed"),
)
# A fixed DATE keeps the file byte-for-byte reproducible; ELAN replaces it on save.
_DEFAULT_DATE = "1970-01-01T00:00:00+00:00"
_SPAN_KEYS = ("features", "kind", "active", "not_following", "strength", "p_value")


def mismatch_label(span) -> str:
    """The text a mismatch span carries in ELAN and Praat.

    ``kind``, then who made the bid (``active``), who did not follow, and the p-value,
    joined by ``"; "``; empty parts are left out.

    Examples
    --------
    >>> mismatch_label({"kind": "chance", "active": "A", "not_following": "B",
    ...                 "p_value": 0.0123})
    'chance; bid A; B not following; p=0.0123'
    """
    get = span.get if isinstance(span, Mapping) else (lambda key, default=None:
                                                       getattr(span, key, default))
    parts = [str(get("kind", "") or "mismatch")]
    if _present(get("active")):
        parts.append(f"bid {get('active')}")
    if _present(get("not_following")):
        parts.append(f"{get('not_following')} not following")
    p = get("p_value")
    if p is not None and isinstance(p, (int, float, np.number)) and math.isfinite(p):
        parts.append(f"p={float(p):.3g}")
    return "; ".join(parts)


def annotation_tiers(*, mismatch=None, turns=None, episodes=None, pairs=None,
                     persons=None) -> dict:
    """Mismatch spans, turns and episodes as named tiers of labelled intervals.

    Parameters
    ----------
    mismatch : pandas.DataFrame, optional
        Mismatch spans (``Result.mismatch``): ``start_s``, ``end_s`` (s), ``features``
        and optionally ``kind``, ``active``, ``not_following``, ``p_value``. Spans that
        :func:`synchrony.episodes.split_by_episode` cut at episode boundaries (the table
        has an ``episode`` column) are joined back into whole spans first: touching
        pieces of one pair with equal ``kind``, ``active``, ``not_following``,
        ``strength`` and ``p_value``.
    turns : pandas.DataFrame, optional
        Turns (``Result.turns``): ``person``, ``start_s``, ``end_s``.
    episodes : optional
        Anything :func:`synchrony.episodes.episodes_table` reads.
    pairs : sequence of str, optional
        Feature pairs (``"head_motion~head_motion"``) that get a mismatch tier even
        when they have no span, so a reader sees that they were checked.
    persons : sequence of str, optional
        Order of the turn tiers; default the order of first appearance.

    Returns
    -------
    dict of str to pandas.DataFrame
        In this order: ``"episodes"``, ``"turns <person>"`` per person, ``"mismatch
        <pair>"`` per feature pair (first appearance, then ``pairs``), followed by
        ``"mismatch <pair> negative"`` when the pair has negative-synchrony spans
        (they may overlap its chance spans, which one tier cannot hold). Each frame has
        ``start_s``, ``end_s`` (float, s, sorted) and ``text`` (the episode name, the
        person, or :func:`mismatch_label`).

    Raises
    ------
    ParameterError
        If a table lacks its columns or a span has ``end_s <= start_s``.

    Examples
    --------
    >>> import pandas as pd
    >>> spans = pd.DataFrame({"start_s": [12.0], "end_s": [20.5],
    ...                       "features": ["smile~smile"], "kind": ["chance"]})
    >>> tiers = annotation_tiers(mismatch=spans, episodes=[("play", 0, 60)])
    >>> list(tiers)
    ['episodes', 'mismatch smile~smile']
    >>> tiers["mismatch smile~smile"].values.tolist()
    [[12.0, 20.5, 'chance']]
    """
    func = "annotation_tiers"
    tiers = {}
    if episodes is not None:
        from synchrony.episodes import episodes_table

        eps = episodes_table(episodes)
        tiers["episodes"] = _tier(eps["start_s"], eps["end_s"], eps["episode"])
    if turns is not None:
        _need(turns, "turns", func, ("person", "start_s", "end_s"))
        order = list(dict.fromkeys([*(persons or []), *turns["person"].astype(str)]))
        for person in order:
            rows = turns[turns["person"].astype(str) == person]
            tiers[f"turns {person}"] = _tier(rows["start_s"], rows["end_s"],
                                             [person] * len(rows))
    if mismatch is not None or pairs:
        spans = _whole_spans(mismatch, func) if mismatch is not None else None
        found = [] if spans is None else list(dict.fromkeys(spans["features"].astype(str)))
        for pair in dict.fromkeys([*found, *(pairs or [])]):
            rows = (spans[spans["features"].astype(str) == pair] if spans is not None
                    else pd.DataFrame(columns=["start_s", "end_s"]))
            # A negative span may overlap a chance span of the same pair (a tier may not):
            # negative spans get a tier of their own.
            negative = (rows["kind"].astype(str) == "negative") if "kind" in rows else pd.Series(False, rows.index)
            for name, part in ((f"mismatch {pair}", rows[~negative]), (f"mismatch {pair} negative", rows[negative])):
                if len(part) or name == f"mismatch {pair}":
                    labels = [mismatch_label(row) for row in part.to_dict(orient="records")]
                    tiers[name] = _tier(part["start_s"], part["end_s"], labels)
    for name, frame in tiers.items():
        if (frame["end_s"] <= frame["start_s"]).any():
            raise ParameterError.expected("mismatch" if name.startswith("mismatch") else
                                          "turns", func, "spans with end_s > start_s",
                                          f"an empty or reversed span in tier {name!r}")
    return tiers


def write_eaf(path, tiers, *, media=None, participants=None, author="synchrony",
              date=None) -> Path:
    """Write tiers of labelled intervals as an ELAN annotation file (EAF 3.0), atomically.

    Each tier becomes an independent, time-alignable ELAN tier of linguistic type
    :data:`EAF_LINGUISTIC_TYPE`. Times are stored as ELAN stores them, in integer
    milliseconds (rounded to the nearest; an interval that rounds to nothing keeps 1 ms).

    Parameters
    ----------
    path : path-like
        Destination, e.g. ``annotations.eaf``.
    tiers : mapping of str to pandas.DataFrame
        Tier name -> ``start_s``, ``end_s`` (s) and optional ``text``, in the order
        the tiers should appear (e.g. from :func:`annotation_tiers`). Intervals within
        a tier must not overlap (ELAN does not allow it on a top-level tier).
    media : path-like or sequence of path-like, optional
        The recording(s) the annotations belong to. Each gets a ``MEDIA_DESCRIPTOR``
        with ``MEDIA_URL`` (``file://`` and the absolute path, as ELAN writes it),
        ``RELATIVE_MEDIA_URL`` (relative to the ``.eaf``'s folder, e.g. ``./play.mp4``)
        and ``MIME_TYPE`` (``video/mp4``, ``audio/x-wav``, ...), so ELAN opens the
        video with the file, also after both are moved together.
    participants : mapping of str to str, optional
        Tier name -> the person it describes (ELAN's ``PARTICIPANT``).
    author : str, default "synchrony"
    date : str, optional
        ISO 8601 date-time for the document's ``DATE``; default a fixed
        ``1970-01-01T00:00:00+00:00`` so the same input gives the same bytes (ELAN
        replaces it when it saves).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ParameterError
        If ``tiers`` is empty or malformed, a tier has overlapping or non-finite
        intervals, or a time is negative.

    Examples
    --------
    >>> import pandas as pd, tempfile, os
    >>> turns = pd.DataFrame({"start_s": [0.5, 2.0], "end_s": [1.5, 3.25], "text": "A"})
    >>> path = write_eaf(os.path.join(tempfile.mkdtemp(), "s.eaf"), {"turns A": turns},
    ...                  participants={"turns A": "A"})
    >>> from synchrony.coding import read_eaf_tiers
    >>> read_eaf_tiers(path)["turns A"].values.tolist()
    [[0.5, 1.5, 'A'], [2.0, 3.25, 'A']]
    """
    func = "write_eaf"
    if not isinstance(tiers, Mapping) or not tiers:
        raise ParameterError.expected("tiers", func, "a non-empty mapping of tier name to "
                                      "DataFrame", type(tiers).__name__)
    participants = dict(participants or {})
    checked = [(str(name), *_eaf_rows(name, frame, func)) for name, frame in tiers.items()]
    path = Path(path)

    root = ET.Element("ANNOTATION_DOCUMENT", {
        "AUTHOR": str(author), "DATE": _DEFAULT_DATE if date is None else str(date),
        "FORMAT": "3.0", "VERSION": "3.0",
        "xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
        "xsi:noNamespaceSchemaLocation": "http://www.mpi.nl/tools/elan/EAFv3.0.xsd"})
    header = ET.SubElement(root, "HEADER", {"MEDIA_FILE": "", "TIME_UNITS": "milliseconds"})
    for item in _media_list(media, func):
        ET.SubElement(header, "MEDIA_DESCRIPTOR", _media_descriptor(item, path.parent))
    n_annotations = sum(len(ms) for _, ms, _ in checked)
    ET.SubElement(header, "PROPERTY", {"NAME": "lastUsedAnnotationId"}).text = str(n_annotations)

    # One pair of slots per annotation, numbered in time order as ELAN keeps them.
    slots = [(ms, k, side) for k, (_, bounds, _) in enumerate(checked)
             for i, (lo, hi) in enumerate(bounds) for side, ms in ((2 * i, lo), (2 * i + 1, hi))]
    order = sorted(range(len(slots)), key=lambda j: (slots[j][0], slots[j][1], slots[j][2]))
    slot_id = {}
    time_order = ET.SubElement(root, "TIME_ORDER")
    for number, j in enumerate(order, start=1):
        ms, k, side = slots[j]
        slot_id[k, side] = f"ts{number}"
        ET.SubElement(time_order, "TIME_SLOT", {"TIME_SLOT_ID": f"ts{number}",
                                                "TIME_VALUE": str(ms)})
    annotation = 0
    for k, (name, bounds, texts) in enumerate(checked):
        attrs = {"LINGUISTIC_TYPE_REF": EAF_LINGUISTIC_TYPE}
        if name in participants:
            attrs["PARTICIPANT"] = str(participants[name])
        attrs.update({"ANNOTATOR": str(author), "TIER_ID": name})
        tier = ET.SubElement(root, "TIER", attrs)
        for i, text in enumerate(texts):
            annotation += 1
            holder = ET.SubElement(tier, "ANNOTATION")
            ann = ET.SubElement(holder, "ALIGNABLE_ANNOTATION", {
                "ANNOTATION_ID": f"a{annotation}", "TIME_SLOT_REF1": slot_id[k, 2 * i],
                "TIME_SLOT_REF2": slot_id[k, 2 * i + 1]})
            ET.SubElement(ann, "ANNOTATION_VALUE").text = text
    ET.SubElement(root, "LINGUISTIC_TYPE", {"GRAPHIC_REFERENCES": "false",
                                            "LINGUISTIC_TYPE_ID": EAF_LINGUISTIC_TYPE,
                                            "TIME_ALIGNABLE": "true"})
    for stereotype, description in _CONSTRAINTS:
        ET.SubElement(root, "CONSTRAINT", {"DESCRIPTION": description,
                                           "STEREOTYPE": stereotype})
    ET.indent(root, space="    ")
    text = '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")
    with atomic_path(path) as tmp:
        tmp.write_bytes((text + "\n").encode("utf-8"))
    return path


def bids_events(*, mismatch=None, turns=None, episodes=None) -> pd.DataFrame:
    """Mismatch spans, turns and episodes as one BIDS events table.

    Parameters
    ----------
    mismatch, turns, episodes
        As in :func:`annotation_tiers` (split mismatch spans are joined back).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`BIDS_COLUMNS`: ``onset`` and ``duration`` (s), ``trial_type``
        (``"mismatch"``, ``"turn"`` or ``"episode"``), then ``features``, ``kind``
        (mismatch spans), ``person`` (the turn's speaker), ``active`` (who made the
        bid), ``not_following``, ``strength``, ``p_value`` (mismatch spans) and
        ``episode`` (the episode's name). A value a row does not have is NaN (``n/a``
        in the file). Sorted by ``onset``, then by trial type in the order above.

    Examples
    --------
    >>> import pandas as pd
    >>> turns = pd.DataFrame({"person": ["A", "B"], "start_s": [1.0, 0.5],
    ...                       "end_s": [2.0, 0.9]})
    >>> bids_events(turns=turns)[["onset", "duration", "trial_type", "person"]].round(3)
       onset  duration trial_type person
    0    0.5       0.4       turn      B
    1    1.0       1.0       turn      A
    """
    func = "bids_events"
    parts = []
    if mismatch is not None:
        spans = _whole_spans(mismatch, func)
        part = pd.DataFrame({"onset": spans["start_s"].to_numpy(float),
                             "trial_type": "mismatch"})
        part["duration"] = spans["end_s"].to_numpy(float) - part["onset"]
        for col in ("features", "kind", "active", "not_following", "strength", "p_value"):
            if col in spans.columns:
                part[col] = spans[col].to_numpy()
        parts.append(part)
    if turns is not None:
        _need(turns, "turns", func, ("person", "start_s", "end_s"))
        part = pd.DataFrame({"onset": turns["start_s"].to_numpy(float), "trial_type": "turn",
                             "person": turns["person"].astype(str).to_numpy()})
        part["duration"] = turns["end_s"].to_numpy(float) - part["onset"]
        parts.append(part)
    if episodes is not None:
        from synchrony.episodes import episodes_table

        eps = episodes_table(episodes)
        part = pd.DataFrame({"onset": eps["start_s"].to_numpy(float), "trial_type": "episode",
                             "episode": eps["episode"].to_numpy()})
        part["duration"] = eps["end_s"].to_numpy(float) - part["onset"]
        parts.append(part)
    table = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(
        len(p) for p in parts) else pd.DataFrame(columns=BIDS_COLUMNS)
    table = table.reindex(columns=BIDS_COLUMNS)
    for col in ("onset", "duration", "strength", "p_value"):
        table[col] = pd.to_numeric(table[col], errors="coerce").astype(float)
    for col in set(BIDS_COLUMNS) - {"onset", "duration", "strength", "p_value"}:
        table[col] = table[col].astype(object).where(table[col].map(_present), np.nan)
    rank = table["trial_type"].map({"mismatch": 0, "turn": 1, "episode": 2})
    order = np.lexsort((rank.to_numpy(), table["onset"].to_numpy()))
    return table.iloc[order].reset_index(drop=True)


def write_bids_events(path, events, *, sidecar=True) -> Path:
    """Write a BIDS events table as tab-separated values, atomically.

    Parameters
    ----------
    path : path-like
        Destination, e.g. ``events.tsv`` or ``sub-01_task-play_events.tsv``.
    events : pandas.DataFrame
        From :func:`bids_events` (or any table with ``onset`` and ``duration`` in s).
    sidecar : bool, default True
        Also write the BIDS JSON sidecar beside it (same name, ``.json``), describing
        each column and its unit.

    Returns
    -------
    pathlib.Path
        The ``.tsv`` written. Missing values are ``n/a``, floats are written in full
        precision, lines end with ``\\n``, rows are sorted by ``onset``.

    Raises
    ------
    ParameterError
        If ``onset`` or ``duration`` is missing, an onset is not finite, or a duration
        is negative.

    Examples
    --------
    >>> import tempfile, os
    >>> events = bids_events(episodes=[("play", 0, 90), ("still-face", 90, 210)])
    >>> path = write_bids_events(os.path.join(tempfile.mkdtemp(), "events.tsv"), events)
    >>> path.read_text().splitlines()[1].split("\\t")
    ['0.0', '90.0', 'episode', 'n/a', 'n/a', 'n/a', 'n/a', 'n/a', 'n/a', 'n/a', 'play']
    """
    func = "write_bids_events"
    if not isinstance(events, pd.DataFrame) or not {"onset", "duration"} <= set(events.columns):
        raise ParameterError.expected("events", func, "a DataFrame with onset and duration "
                                      "columns", type(events).__name__ if not isinstance(
                                          events, pd.DataFrame) else list(events.columns))
    onset = pd.to_numeric(events["onset"], errors="coerce").to_numpy(float)
    duration = pd.to_numeric(events["duration"], errors="coerce").to_numpy(float)
    if not np.isfinite(onset).all():
        raise ParameterError.expected("events", func, "finite onsets in seconds",
                                      "a missing or non-finite onset")
    if (duration < 0).any():
        raise ParameterError.expected("events", func, "durations >= 0 (or n/a)",
                                      f"duration {duration[duration < 0][0]!r}")
    table = events.iloc[np.argsort(onset, kind="stable")]
    path = Path(path)
    with atomic_path(path) as tmp:
        table.to_csv(tmp, sep="\t", index=False, na_rep="n/a", lineterminator="\n")
    if sidecar:
        described = {col: _BIDS_DESCRIPTIONS[col] for col in table.columns
                     if col in _BIDS_DESCRIPTIONS}
        with atomic_path(path.with_suffix(".json")) as tmp:
            tmp.write_text(json.dumps(described, indent=2) + "\n", encoding="utf-8")
    return path


def export_annotations(out_dir, *, mismatch=None, turns=None, episodes=None, pairs=None,
                       persons=None, media=None, duration_s=None) -> list:
    """Write ``annotations.eaf``, ``annotations.TextGrid`` and ``events.tsv`` (+ ``.json``).

    Parameters
    ----------
    out_dir : path-like
        Folder to write into (created if missing).
    mismatch, turns, episodes, pairs, persons
        As in :func:`annotation_tiers`.
    media : path-like or sequence of path-like, optional
        The session's recording(s), linked from the ``.eaf`` (see :func:`write_eaf`).
    duration_s : float, optional
        Length of the session in seconds: the TextGrid's end (its tiers must cover the
        whole recording). Default: the latest span end; a span ending later than
        ``duration_s`` extends the grid to it.

    Returns
    -------
    list of pathlib.Path
        The files written, in the order above.

    Examples
    --------
    >>> import tempfile
    >>> paths = export_annotations(tempfile.mkdtemp(), episodes=[("play", 0, 90)],
    ...                            duration_s=120.0)
    >>> [p.name for p in paths]
    ['annotations.eaf', 'annotations.TextGrid', 'events.tsv', 'events.json']
    """
    from synchrony.textgrid import write_textgrid

    func = "export_annotations"
    out = Path(out_dir)
    tiers = annotation_tiers(mismatch=mismatch, turns=turns, episodes=episodes, pairs=pairs,
                             persons=persons)
    if not tiers:
        raise ParameterError.expected("mismatch", func, "given, or turns, episodes or pairs",
                                      None)
    participants = {name: name[len("turns "):] for name in tiers if name.startswith("turns ")}
    latest = max((float(f["end_s"].max()) for f in tiers.values() if len(f)), default=0.0)
    if duration_s is not None:
        latest = max(latest, check_positive(duration_s, "duration_s", func))
    if latest <= 0:
        raise ParameterError.expected("duration_s", func, "given when there are no spans",
                                      duration_s)
    eaf = write_eaf(out / "annotations.eaf", tiers, media=media, participants=participants)
    grid = write_textgrid(out / "annotations.TextGrid", tiers, xmax_s=latest)
    events = write_bids_events(out / "events.tsv", bids_events(mismatch=mismatch, turns=turns,
                                                               episodes=episodes))
    return [eaf, Path(grid), events, events.with_suffix(".json")]


def join_split_spans(mismatch) -> pd.DataFrame:
    """Mismatch spans with the pieces of spans cut at episode boundaries joined back.

    :func:`synchrony.episodes.split_by_episode` (``how="split"``, as
    :func:`synchrony.pipeline.analyze_signals` does with episodes) cuts a span that
    crosses an episode boundary into pieces that share every column but ``start_s``,
    ``end_s``, ``duration_s`` and ``episode``. When the table has an ``episode``
    column, touching pieces of one feature pair with equal ``kind``, ``active``,
    ``not_following``, ``strength`` and ``p_value`` are joined and the ``episode``
    column is dropped; otherwise the spans are only sorted.

    Parameters
    ----------
    mismatch : pandas.DataFrame
        Mismatch spans: ``start_s``, ``end_s`` (s), usually ``features``, ...

    Returns
    -------
    pandas.DataFrame
        Whole spans sorted by ``start_s`` then ``features``, ``duration_s`` updated,
        with a fresh index.

    Examples
    --------
    >>> import pandas as pd
    >>> pieces = pd.DataFrame({"start_s": [100.0, 120.0], "end_s": [120.0, 130.0],
    ...                        "features": "smile~smile", "p_value": 0.01,
    ...                        "episode": ["play", "still-face"]})
    >>> join_split_spans(pieces).values.tolist()
    [[100.0, 130.0, 'smile~smile', 0.01]]
    """
    return _whole_spans(mismatch, "join_split_spans", features=False)


# ---------------------------------------------------------------------------- helpers

_BIDS_DESCRIPTIONS = {
    "onset": {"Description": "Start of the span on the session clock", "Units": "s"},
    "duration": {"Description": "Length of the span", "Units": "s"},
    "trial_type": {"Description": "What the span is",
                   "Levels": {"mismatch": "A mismatch span detected by synchrony: the pair's "
                              "windowed synchrony at chance level or significantly negative",
                              "turn": "A speaking turn of one person",
                              "episode": "A named phase of the session"}},
    "features": {"Description": "Feature pair of a mismatch span: A's feature~B's feature"},
    "kind": {"Description": "Kind of mismatch span",
             "Levels": {"chance": "synchrony no higher than in surrogate pairs",
                        "negative": "significantly negative correlation"}},
    "person": {"Description": "The speaker of a turn"},
    "active": {"Description": "Who made the bid during a mismatch span (A, B, A+B)"},
    "not_following": {"Description": "The partner who did not answer the bid"},
    "strength": {"Description": "Mean distance of the span's windows below their chance "
                 "threshold (correlation units)"},
    "p_value": {"Description": "How unusual so low a stretch is in this session"},
    "episode": {"Description": "Name of an episode (phase) of the session"},
}


def _whole_spans(mismatch, func, *, features=True) -> pd.DataFrame:
    """Mismatch spans, with the pieces of spans cut at episode boundaries joined back."""
    _need(mismatch, "mismatch", func, ("start_s", "end_s", "features") if features
          else ("start_s", "end_s"))
    spans = mismatch.reset_index(drop=True)
    by = ["features"] if "features" in spans.columns else []
    if "episode" in spans.columns and len(spans):
        spans = spans.sort_values([*by, "start_s"], kind="stable").reset_index(drop=True)
        keys = [k for k in _SPAN_KEYS if k in spans.columns]
        keep = []
        for i, row in enumerate(spans.itertuples(index=False)):
            if keep:
                prev = spans.loc[keep[-1]]
                same = all(_same(getattr(row, k), prev[k]) for k in keys)
                if same and abs(row.start_s - prev["end_s"]) < 1e-9:
                    spans.loc[keep[-1], "end_s"] = row.end_s
                    continue
            keep.append(i)
        spans = spans.loc[keep]
        if "duration_s" in spans.columns:
            spans["duration_s"] = spans["end_s"] - spans["start_s"]
    spans = spans.drop(columns=["episode"], errors="ignore")
    return spans.sort_values(["start_s", *by], kind="stable").reset_index(drop=True)


def _present(value) -> bool:
    if value is None:
        return False
    if isinstance(value, (float, np.floating)) and math.isnan(value):
        return False
    return not (isinstance(value, str) and value == "")


def _need(table, name, func, columns):
    if not isinstance(table, pd.DataFrame):
        raise ParameterError.expected(name, func, "a pandas DataFrame", type(table).__name__)
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ParameterError.expected(name, func, "a table with columns " + ", ".join(columns),
                                      f"no column {missing[0]!r}")


def _tier(starts, ends, texts) -> pd.DataFrame:
    frame = pd.DataFrame({"start_s": np.asarray(starts, dtype=float),
                          "end_s": np.asarray(ends, dtype=float),
                          "text": pd.Series(list(texts), dtype=object)})
    return frame.sort_values(["start_s", "end_s"], kind="stable").reset_index(drop=True)


def _same(a, b) -> bool:
    if not _present(a) and not _present(b):
        return True
    return a == b


def _eaf_rows(name, frame, func):
    if not isinstance(frame, pd.DataFrame) or not {"start_s", "end_s"} <= set(frame.columns):
        raise ParameterError.expected("tiers", func, "DataFrames with start_s and end_s "
                                      "columns", f"tier {name!r}")
    lo = frame["start_s"].to_numpy(dtype=float)
    hi = frame["end_s"].to_numpy(dtype=float)
    finite = np.isfinite(lo).all() and np.isfinite(hi).all()
    if not (finite and (hi > lo).all() and (lo >= 0).all()):
        raise ParameterError.expected("tiers", func, "intervals with finite 0 <= start_s < end_s",
                                      f"tier {name!r}")
    texts = (frame["text"].map(lambda v: str(v) if _present(v) else "").tolist()
             if "text" in frame.columns else [""] * len(frame))
    order = np.argsort(lo, kind="stable")
    lo, hi, texts = lo[order], hi[order], [texts[i] for i in order]
    if (lo[1:] < hi[:-1] - 1e-9).any():
        raise ParameterError.expected("tiers", func, "non-overlapping intervals within a tier",
                                      f"overlaps in tier {name!r}")
    lo_ms = np.rint(lo * 1000).astype(np.int64)
    hi_ms = np.maximum(np.rint(hi * 1000).astype(np.int64), lo_ms + 1)
    return list(zip(lo_ms.tolist(), hi_ms.tolist())), texts


def _media_list(media, func):
    if media is None:
        return []
    items = [media] if isinstance(media, (str, os.PathLike)) else list(media)
    for item in items:
        if not isinstance(item, (str, os.PathLike)):
            raise ParameterError.expected("media", func, "a path or a list of paths", item)
    return [Path(item) for item in items]


def _media_descriptor(media: Path, eaf_dir: Path) -> dict:
    absolute = media.resolve()
    suffix = absolute.suffix.lower()
    mime = _MIME.get(suffix, "audio/*" if suffix in _AUDIO else "video/*")
    attrs = {"MEDIA_URL": "file://" + _uri_path(absolute), "MIME_TYPE": mime}
    try:
        relative = PurePath(os.path.relpath(absolute, eaf_dir.resolve())).as_posix()
    except ValueError:  # another drive on Windows: no relative path exists
        return attrs
    attrs["RELATIVE_MEDIA_URL"] = relative if relative.startswith("../") else "./" + relative
    return attrs


def _uri_path(absolute: Path) -> str:
    posix = absolute.as_posix()
    return posix if posix.startswith("/") else "/" + posix  # C:/x -> /C:/x
