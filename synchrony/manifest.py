"""Study manifests: which sessions a batch analyses, with their files and attributes.

A manifest is a CSV (or TSV) file with one row per session, or a YAML file with a list of
sessions. Both give the same table (:func:`read_manifest`); a folder of recordings gives
one too (:func:`discover_sessions`). Columns:

``session_id`` (required)
    Unique name of the session: letters, digits, ``.``, ``_`` and ``-``.
``layout`` (required)
    A recording layout of :class:`synchrony.session.Session` (``split``, ``two-files``,
    ``shared-frame``, ``audio``) or a layout of series made by other tools (``rmea``,
    ``openface``, ``csv``; see :func:`synchrony.load_signals`).
``video``
    The recording(s), relative to the manifest's folder; several are separated by ``;``
    (``two-files``: one video per person; ``openface``: one CSV per person). For the
    series layouts it holds the series file(s). Empty for ``audio``.
``audio``, ``person_a``, ``person_b``, ``offset_s``, ``episodes``, ``rate_hz``
    Optional: separate audio file(s) (``;``-separated; the ``audio`` layout's files),
    person labels (default ``A`` and ``B``), the second video's offset in seconds for
    ``two-files`` (empty or ``auto``: estimated from the audio), an episodes file (CSV,
    ELAN, TextGrid), the series' sampling rate (``rmea``: default 25 Hz).
``subject``, ``session``
    Optional BIDS labels (letters and digits): results then go to
    ``sub-<subject>/ses-<session>/``.
any other column (``group``, ``condition``, ``age_months``, ...)
    A session attribute, carried into every study table. A column whose filled cells are
    all numbers is numeric, otherwise text.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from synchrony.errors import InputFileError, ParameterError

__all__ = ["SessionSpec", "read_manifest", "discover_sessions", "manifest_sessions",
           "MEDIA_LAYOUTS", "SERIES_LAYOUTS"]

#: Layouts read from recordings (:class:`synchrony.session.Session`) and how many videos each takes.
MEDIA_LAYOUTS = {"split": 1, "two-files": 2, "shared-frame": 1, "audio": 0}
#: Layouts of series made by other tools (:func:`synchrony.load_signals` formats), and files each takes.
SERIES_LAYOUTS = {"rmea": (1,), "csv": (1,), "openface": (2,)}

COLUMNS = ("session_id", "layout", "video", "audio", "person_a", "person_b", "offset_s",
           "episodes", "rate_hz", "subject", "session")
_PATH_COLUMNS = ("video", "audio", "episodes")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_BIDS_LABEL = re.compile(r"^[A-Za-z0-9]+$")
_AUDIO_SUFFIXES = {".wav", ".flac", ".mp3", ".m4a", ".ogg", ".aac"}


@dataclass(frozen=True)
class SessionSpec:
    """One validated manifest row: everything a worker needs to analyse the session.

    Paths are absolute. ``offset_s`` is the second video's offset for ``two-files``
    (None: estimate it from the audio). ``attributes`` keeps the other columns in
    manifest order.
    """

    session_id: str
    layout: str
    files: tuple = ()
    audio: tuple | None = None
    persons: tuple = ("A", "B")
    offset_s: float | None = None
    episodes: str | None = None
    rate_hz: float | None = None
    subject: str | None = None
    session: str | None = None
    attributes: dict = field(default_factory=dict)
    row: int = 0

    @property
    def is_series(self) -> bool:
        """True for series made by other tools (rMEA, OpenFace, CSV), False for recordings."""
        return self.layout in SERIES_LAYOUTS

    @property
    def folder(self) -> str:
        """The session's results folder, relative to the batch's output folder."""
        if self.subject is None:
            return self.session_id
        return f"sub-{self.subject}" + (f"/ses-{self.session}" if self.session else "")


def read_manifest(path) -> pd.DataFrame:
    """Read a CSV/TSV or YAML manifest into a table, one row per session.

    Parameters
    ----------
    path : path-like
        ``.csv``, ``.tsv``, ``.yaml`` or ``.yml``. Paths in it are relative to its folder.
        A YAML manifest is a list of sessions, or a mapping with ``sessions`` (the list)
        and ``defaults`` (values for every session), e.g.::

            defaults: {layout: split, person_a: infant, person_b: mother}
            sessions:
              - {session_id: s01, video: s01.mp4, group: control}
              - {session_id: s02, video: [s02_infant.mp4, s02_mother.mp4], layout: two-files}

    Returns
    -------
    pandas.DataFrame
        The columns of the module docstring that the manifest uses (``session_id`` and
        ``layout`` always), paths made absolute (several joined by ``;``), empty cells
        as ``""`` in the text columns; attribute columns follow in manifest order.

    Raises
    ------
    synchrony.InputFileError
        The file is missing or unreadable, or lacks a required column.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "study.csv").write_text("session_id,video,layout,group\\n"
    ...                                       "d1,d1.txt,rmea,control\\n")
    >>> table = read_manifest(folder / "study.csv")
    >>> table.loc[0, "video"] == str(folder / "d1.txt"), table.loc[0, "group"]
    (True, 'control')
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(path, "file not found" if not path.exists() else "is not a file")
    suffix = path.suffix.lower()
    rows = _yaml_rows(path) if suffix in (".yaml", ".yml") else _csv_rows(path, "\t" if suffix == ".tsv" else ",")
    if not rows:
        raise InputFileError(path, "has no sessions")
    for name in ("session_id", "layout"):
        if not any(name in row for row in rows):
            raise InputFileError(path, f"missing column {name!r} (a manifest needs session_id, video, layout)")
    return _table(rows, base=path.parent)


def discover_sessions(folder, *, pattern: str = "*.mp4", layout: str | None = None,
                      persons=("A", "B")) -> pd.DataFrame:
    """A manifest table of every file under ``folder`` matching ``pattern``.

    Parameters
    ----------
    folder : path-like
    pattern : str, default "*.mp4"
        A glob pattern matched in every sub-folder (``"*.txt"``, ``"*_split.mp4"``).
    layout : str, optional
        Layout of every file; by default ``rmea`` for ``.txt``, ``audio`` for audio
        files (``.wav``, ``.flac``, ...) and ``split`` for anything else. Two-files
        sessions need a manifest.
    persons : pair of str, default ("A", "B")

    Returns
    -------
    pandas.DataFrame
        One row per file, sorted by path: ``session_id`` is the file name without its
        suffix (the path below ``folder`` with ``/`` as ``_`` when names repeat);
        ``subject`` and ``session`` are filled from ``sub-<label>`` and ``ses-<label>``
        folders or name parts (BIDS) when every file has its own.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "sub-01").mkdir(), (folder / "sub-01" / "sub-01_play.txt").write_text("a b\\n1 2\\n")
    >>> table = discover_sessions(folder, pattern="*.txt")
    >>> table[["session_id", "layout", "subject"]].values.tolist()
    [['sub-01_play', 'rmea', '01']]
    """
    func = "discover_sessions"
    root = Path(folder)
    if not root.is_dir():
        raise InputFileError(root, "not a folder" if root.exists() else "folder not found")
    if not isinstance(pattern, str) or not pattern:
        raise ParameterError.expected("pattern", func, "a glob pattern such as '*.mp4'", pattern)
    if len(persons) != 2:
        raise ParameterError.expected("persons", func, "two labels", persons)
    files = sorted(p for p in root.rglob(pattern) if p.is_file() and not p.name.startswith("."))
    if not files:
        raise InputFileError(root, f"no file matches {pattern!r}")
    rows = []
    unique_stems = len({p.stem for p in files}) == len(files)
    for path in files:
        rel = path.relative_to(root)
        kind = layout or ("rmea" if path.suffix.lower() == ".txt"
                          else "audio" if path.suffix.lower() in _AUDIO_SUFFIXES else "split")
        name = path.stem if unique_stems else "_".join(rel.with_suffix("").parts)
        row = {"session_id": re.sub(r"[^A-Za-z0-9._-]", "_", name),
               "layout": kind, "video": "" if kind == "audio" else str(path),
               "audio": str(path) if kind == "audio" else "",
               "person_a": persons[0], "person_b": persons[1]}
        for entity, column in (("sub", "subject"), ("ses", "session")):
            found = re.findall(rf"(?:^|[/_]){entity}-([A-Za-z0-9]+)", rel.as_posix())
            if found:
                row[column] = found[0]
        rows.append(row)
    labels = {(r.get("subject"), r.get("session")) for r in rows}
    if not all("subject" in r for r in rows) or len(labels) < len(rows):
        for r in rows:  # not every file has its own BIDS labels: folders by session_id
            r.pop("subject", None), r.pop("session", None)
    return _table(rows, base=root)


def manifest_sessions(table: pd.DataFrame, *, source=None) -> list[SessionSpec]:
    """Validate a manifest table and return its sessions.

    Parameters
    ----------
    table : pandas.DataFrame
        As :func:`read_manifest` returns, or built by hand (relative paths are then
        taken from the current folder).
    source : path-like, optional
        The manifest file, named in errors.

    Returns
    -------
    list of SessionSpec
        In manifest order.

    Raises
    ------
    synchrony.InputFileError
        (with ``source``) or :class:`synchrony.ParameterError`: a row names no valid
        session (unknown layout, wrong number of files, repeated ``session_id``, ...);
        the message names the row. Missing recordings are not errors here: the batch
        records them as failed sessions.
    """
    if not isinstance(table, pd.DataFrame) or table.empty:
        raise ParameterError.expected("manifest", "run_batch", "a manifest file or a non-empty table",
                                      type(table).__name__)
    for name in ("session_id", "layout"):
        if name not in table.columns:
            _fail(source, None, f"missing column {name!r}")
    rows = _table([{k: v for k, v in r.items()} for r in table.to_dict(orient="records")],
                  base=Path.cwd()).to_dict(orient="records")
    attributes = [c for c in table.columns if c not in COLUMNS]
    specs, seen, bids = [], set(), set()
    for k, row in enumerate(rows, start=1):
        spec = _spec(row, k, source, attributes)
        if spec.session_id in seen:
            _fail(source, k, f"session_id {spec.session_id!r} appears twice")
        seen.add(spec.session_id)
        if spec.folder in bids:
            _fail(source, k, f"subject {spec.subject!r} session {spec.session!r} appears twice")
        bids.add(spec.folder)
        specs.append(spec)
    if len({s.subject is None for s in specs}) > 1:
        row = next(s.row for s in specs if s.subject is None)
        _fail(source, row, "no subject (give every session one, or none)")
    return specs


def _spec(row, k, source, attributes) -> SessionSpec:
    sid = _text(row.get("session_id"))
    if not _ID.match(sid):
        _fail(source, k, f"session_id must be letters, digits, '.', '_' or '-'; got {sid!r}")
    layout = _text(row.get("layout"))
    where = f"{sid}: " if sid else ""
    if layout not in MEDIA_LAYOUTS and layout not in SERIES_LAYOUTS:
        _fail(source, k, f"{where}unknown layout {layout!r} (one of "
                         f"{', '.join(list(MEDIA_LAYOUTS) + list(SERIES_LAYOUTS))})")
    files = _paths(row.get("video"))
    audio = _paths(row.get("audio")) or None
    wanted = (MEDIA_LAYOUTS[layout],) if layout in MEDIA_LAYOUTS else SERIES_LAYOUTS[layout]
    if len(files) not in wanted:
        need = " or ".join(map(str, wanted))
        _fail(source, k, f"{where}layout {layout!r} takes {need} file(s) in 'video' (';'-separated); "
                         f"got {len(files)}")
    if layout == "audio" and not audio:
        _fail(source, k, f"{where}layout 'audio' needs its file(s) in 'audio'")
    if audio and (layout in SERIES_LAYOUTS or len(audio) > 2):
        _fail(source, k, f"{where}'audio' takes 1 or 2 files, and none for layout {layout!r}")
    persons = (_text(row.get("person_a")) or "A", _text(row.get("person_b")) or "B")
    if persons[0] == persons[1]:
        _fail(source, k, f"{where}person_a and person_b must differ; both are {persons[0]!r}")
    offset = _text(row.get("offset_s"))
    offset_s = None
    if offset and offset != "auto":
        if layout != "two-files":
            _fail(source, k, f"{where}offset_s applies to layout 'two-files' only")
        offset_s = _number(offset, source, k, f"{where}offset_s", positive=False)
    rate = _text(row.get("rate_hz"))
    rate_hz = None
    if rate:
        if layout not in SERIES_LAYOUTS:
            _fail(source, k, f"{where}rate_hz applies to the series layouts (rmea, openface, csv) only")
        rate_hz = _number(rate, source, k, f"{where}rate_hz", positive=True)
    subject = _label(row.get("subject"), "sub", source, k, where)
    session = _label(row.get("session"), "ses", source, k, where)
    if session and not subject:
        _fail(source, k, f"{where}a session label needs a subject label")
    episodes = _paths(row.get("episodes"))
    return SessionSpec(session_id=sid, layout=layout, files=files, audio=audio, persons=persons,
                       offset_s=offset_s, episodes=episodes[0] if episodes else None, rate_hz=rate_hz,
                       subject=subject, session=session,
                       attributes={a: _plain(row.get(a)) for a in attributes}, row=k)


def _csv_rows(path, sep):
    try:
        table = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputFileError(path, f"cannot be read as a manifest table ({reason})") from None
    table.columns = [str(c).strip() for c in table.columns]
    if len(set(table.columns)) < len(table.columns):
        raise InputFileError(path, "repeats a column name")
    rows = [{k: v.strip() for k, v in r.items()} for r in table.to_dict(orient="records")]
    # Attribute columns whose filled cells are all numbers become numbers.
    for column in table.columns:
        if column in COLUMNS:
            continue
        filled = [r[column] for r in rows if r[column] != ""]
        numbers = [_as_float(v) for v in filled]
        if filled and all(v is not None for v in numbers):
            whole = all(float(v).is_integer() and "." not in s and "e" not in s.lower()
                        for v, s in zip(numbers, filled))
            for r in rows:
                r[column] = (int(float(r[column])) if whole else float(r[column])) if r[column] != "" else math.nan
    return rows


def _yaml_rows(path):
    try:
        import yaml
    except ImportError:
        raise InputFileError(path, "reading a YAML manifest needs PyYAML (pip install pyyaml)") from None
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputFileError(path, f"cannot be read as YAML ({reason})") from None
    defaults = {}
    if isinstance(doc, dict):
        defaults = doc.get("defaults") or {}
        doc = doc.get("sessions")
    if not isinstance(doc, list) or not isinstance(defaults, dict):
        raise InputFileError(path, "must be a list of sessions, or a mapping with 'sessions' (a list) "
                                   "and optional 'defaults'")
    rows = []
    for k, item in enumerate(doc, start=1):
        if not isinstance(item, dict):
            raise InputFileError(path, f"session {k} is not a mapping of column: value")
        row = {**defaults, **item}
        for key, value in row.items():
            if isinstance(value, (list, tuple)):
                row[key] = ";".join(str(v) for v in value)
            elif isinstance(value, dict):
                raise InputFileError(path, f"session {k}: {key!r} is a mapping, not a value")
        rows.append({str(key): value for key, value in row.items()})
    return rows


def _table(rows, *, base: Path) -> pd.DataFrame:
    """Rows as a table: core columns first as text (paths absolute), attributes after."""
    names = []
    for row in rows:
        names += [k for k in row if k not in names]
    core = [c for c in COLUMNS if c in names]
    for c in ("session_id", "layout"):
        if c not in core:
            core.insert(0 if c == "session_id" else 1, c)
    out = {}
    for c in core:
        values = [_text(r.get(c)) for r in rows]
        if c in _PATH_COLUMNS:
            values = [";".join(_absolute(p, base) for p in v.split(";") if p.strip()) for v in values]
        out[c] = values
    for c in names:
        if c not in COLUMNS:
            values = [_plain(r.get(c)) for r in rows]
            if any(isinstance(v, str) for v in values):  # mixed: all text
                values = [v if isinstance(v, str) else "" if _missing(v) else _text(v) for v in values]
            out[c] = values
    return pd.DataFrame(out)


def _absolute(path, base):
    p = Path(os.path.expanduser(path.strip()))
    return str(p if p.is_absolute() else Path(base) / p)


def _paths(value):
    return tuple(p.strip() for p in _text(value).split(";") if p.strip())


def _text(value) -> str:
    if _missing(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _plain(value):
    """An attribute cell as a plain str, int or float (NaN when empty)."""
    if _missing(value) or (isinstance(value, str) and value.strip() == ""):
        return math.nan
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, bool):
        return str(value).lower()
    return value if isinstance(value, (int, float, str)) else str(value)


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _as_float(text):
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _number(text, source, k, name, *, positive):
    value = _as_float(text)
    if value is None or (positive and value <= 0):
        _fail(source, k, f"{name} must be a {'positive ' if positive else ''}number of "
                         f"{'Hz' if name.endswith('rate_hz') else 'seconds'}; got {text!r}")
    return value


def _label(value, entity, source, k, where):
    label = _text(value)
    if label.startswith(f"{entity}-"):
        label = label[len(entity) + 1:]
    if label and not _BIDS_LABEL.match(label):
        _fail(source, k, f"{where}a BIDS {entity} label must be letters and digits only; got {label!r}")
    return label or None


def _fail(source, row, problem):
    where = f"row {row}: " if row else ""
    if source is not None:
        raise InputFileError(source, f"{where}{problem}")
    raise ParameterError.expected("manifest", "run_batch", "a table of valid sessions", f"{where}{problem}")
