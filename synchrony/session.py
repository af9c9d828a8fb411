"""Session: which recordings make up one dyadic session, and how the two people appear in them.

A session has one clock (seconds). Every recording is placed on it by its offset: the
session time of the file's own time 0 (the time 0 of :mod:`synchrony.media`'s clock for
that file). Layouts:

``"split"``
    One video, the two people side by side: ``persons[0]`` in the left part, ``persons[1]``
    in the right part, cut at ``split`` (a fraction of the width) or given as two
    rectangles ``regions_px``.
``"two-files"``
    One video per person, in person order, each with its own offset; ``offsets_s=None``
    asks for the offset to be estimated from the two audio tracks
    (:func:`synchrony.extract.align.estimate_offset_s`).
``"shared-frame"``
    Both people in one frame (a side view of a table, say); faces are assigned to people
    by position continuity (:func:`synchrony.extract.tracking.assign_identities`).
``"audio"``
    No video: ``audio`` holds one file with one channel per person (the first channel is
    ``persons[0]``) or one file per person, all starting at session time 0.

Constructing a :class:`Session` checks everything that can be checked without decoding:
a bad value raises :class:`~synchrony.errors.ConfigError` naming the parameter, a missing
file raises :class:`~synchrony.errors.InputFileError` naming the file. Whether the
rectangles of ``regions_px`` fit in the picture is checked when the video is opened.
"""

from __future__ import annotations

import math
import numbers
import os
from dataclasses import dataclass

from synchrony.errors import ConfigError, InputFileError

__all__ = ["LAYOUTS", "Session"]

#: Layouts a Session accepts, and the number of video files each takes.
LAYOUTS = {"split": 1, "two-files": 2, "shared-frame": 1, "audio": 0}

_NAME = "Session"


@dataclass(frozen=True)
class Session:
    """The recordings of one two-person session and how to read the two people from them.

    Parameters
    ----------
    layout : {"split", "two-files", "shared-frame"}
        How the two people appear in the videos (see the module docstring).
    videos : path or tuple of paths
        One video for "split" and "shared-frame"; two for "two-files", in person order
        (``videos[i]`` films ``persons[i]``). Stored as a tuple of str.
    audio : tuple of paths, optional
        Separate audio recordings (one shared, or one per person in person order), each
        starting at session time 0. Default None: the videos' own audio tracks.
    persons : tuple of two str, default ("A", "B")
        Person labels, e.g. ``("infant", "mother")``. In "split", ``persons[0]`` is the
        left part; in "shared-frame", the leftmost face when both are first seen.
    offsets_s : tuple of float or None, default ()
        Per video, the session-clock time in seconds of the file's time 0: a file that
        starts 2 s after the session has offset 2.0, so its frame at file time ``t`` is at
        session time ``t + offset``. Empty (the default) means all zeros. None (only for
        "two-files") means: estimate from the two audio tracks, keeping ``videos[0]`` at 0.
    split : float, default 0.5
        "split" only: where the two parts meet, as a fraction of the frame width; columns
        ``x < round(split * width)`` belong to ``persons[0]``.
    regions_px : tuple of two (x, y, w, h), optional
        "split" only, instead of ``split``: each person's rectangle in pixels of the
        upright frame (x, y = top-left corner), in person order. They may leave parts of
        the frame out, but must not overlap.

    Raises
    ------
    ConfigError
        A value is out of its domain or does not fit the layout.
    InputFileError
        A video or audio file does not exist or is a directory.

    Examples
    --------
    >>> s = Session.from_video("play.mp4", persons=("infant", "mother"))  # doctest: +SKIP
    >>> s.layout, s.offsets_s, s.split                                     # doctest: +SKIP
    ('split', (0.0,), 0.5)
    >>> Session("two-files", ("infant.mp4", "mother.mp4"), offsets_s=None)  # doctest: +SKIP
    """

    layout: str
    videos: tuple
    audio: tuple | None = None
    persons: tuple = ("A", "B")
    offsets_s: tuple | None = ()
    split: float = 0.5
    regions_px: tuple | None = None

    def __post_init__(self):
        if self.layout not in LAYOUTS:
            _fail("layout", f"one of {', '.join(map(repr, LAYOUTS))}", self.layout)
        n_videos = LAYOUTS[self.layout]
        videos = _paths("videos", self.videos)
        if len(videos) != n_videos:
            _fail("videos", f"{n_videos} video path{'s' * (n_videos > 1)} for the "
                  f"{self.layout!r} layout", self.videos)
        audio = None if self.audio is None else _paths("audio", self.audio)
        if audio is not None and len(audio) not in (1, 2):
            _fail("audio", "None or a tuple of 1 or 2 audio paths", self.audio)
        if self.layout == "audio" and audio is None:
            _fail("audio", "1 or 2 audio paths for the 'audio' layout (one file with a "
                  "channel per person, or one file per person)", self.audio)
        persons = self.persons
        if (not isinstance(persons, (tuple, list)) or len(persons) != 2
                or not all(isinstance(p, str) and p for p in persons)
                or persons[0] == persons[1]):
            _fail("persons", "two different non-empty labels", persons)
        set_ = object.__setattr__  # frozen: normalise once, here
        set_(self, "videos", videos)
        set_(self, "audio", audio)
        set_(self, "persons", tuple(persons))
        set_(self, "offsets_s", self._checked_offsets(n_videos))
        self._check_split()
        for path in videos + (audio or ()):
            _check_file(path)

    def _checked_offsets(self, n_videos):
        offsets = self.offsets_s
        if offsets is None:
            if self.layout != "two-files":
                _fail("offsets_s", "a tuple of offsets in seconds (None, estimate from "
                      "audio, needs the 'two-files' layout)", offsets)
            return None
        if isinstance(offsets, (str, bytes)) or not hasattr(offsets, "__len__"):
            _fail("offsets_s", _offsets_must(n_videos), offsets)
        if len(offsets) == 0:
            return (0.0,) * n_videos
        if len(offsets) != n_videos or not all(_finite(v) for v in offsets):
            _fail("offsets_s", _offsets_must(n_videos), offsets)
        return tuple(float(v) for v in offsets)

    def _check_split(self):
        split, regions = self.split, self.regions_px
        if not (_finite(split) and 0 < split < 1):
            _fail("split", "a fraction of the frame width in (0, 1)", split)
        if self.layout != "split":
            if regions is not None or split != 0.5:
                name = "regions_px" if regions is not None else "split"
                _fail(name, f"left at its default for the {self.layout!r} layout (it "
                      "applies to 'split' only)", regions if regions is not None else split)
            return
        if regions is None:
            return
        if split != 0.5:
            _fail("split", "left at its default when 'regions_px' is given", split)
        try:
            rects = tuple(tuple(r) for r in regions)
        except TypeError:
            rects = ()  # reported below, with the value as given
        if (len(rects) != 2 or any(len(r) != 4 for r in rects)
                or not all(_whole(v) for r in rects for v in r)
                or any(x < 0 or y < 0 or w < 1 or h < 1 for x, y, w, h in rects)):
            _fail("regions_px", "two (x, y, w, h) rectangles in whole pixels, x, y >= 0 "
                  "and w, h >= 1", regions)
        (x0, y0, w0, h0), (x1, y1, w1, h1) = rects
        if x0 < x1 + w1 and x1 < x0 + w0 and y0 < y1 + h1 and y1 < y0 + h0:
            _fail("regions_px", "two rectangles that do not overlap", regions)
        object.__setattr__(self, "regions_px", tuple(tuple(int(v) for v in r) for r in rects))

    @property
    def estimate_offsets(self) -> bool:
        """True when the offsets are to be estimated from audio (``offsets_s`` is None)."""
        return self.offsets_s is None

    @classmethod
    def from_video(cls, path, *, layout="split", persons=("A", "B"), **options) -> Session:
        """Session of one recording holding both people.

        Parameters
        ----------
        path : path-like
            The video.
        layout : {"split", "shared-frame"}, default "split"
        persons : tuple of two str, default ("A", "B")
        **options
            Other :class:`Session` fields (``audio``, ``offsets_s``, ``split``,
            ``regions_px``).

        Examples
        --------
        >>> Session.from_video("table.mp4", layout="shared-frame",
        ...                    persons=("infant", "mother"))  # doctest: +SKIP
        """
        if layout not in LAYOUTS or LAYOUTS[layout] != 1:
            _fail("layout", "'split' or 'shared-frame' (a 'two-files' session needs "
                  "Session(layout='two-files', videos=(a, b)))", layout, "Session.from_video")
        return cls(layout=layout, videos=(path,), persons=persons, **options)


def _fail(name, must, got, func=_NAME):
    raise ConfigError(f"The {name!r} parameter of {func} must be {must}; got {got!r}.")


def _offsets_must(n_videos):
    return (f"a tuple of {n_videos} finite offset{'s' * (n_videos > 1)} in seconds (one per "
            "video), () for zeros, or None")


def _paths(name, value):
    if isinstance(value, (str, os.PathLike)):
        value = (value,)
    try:
        paths = tuple(os.fspath(p) for p in value)
    except TypeError:
        paths = None
    if paths is None:
        _fail(name, "a path or a tuple of paths", value)
    if not all(paths):
        _fail(name, "non-empty paths", value)
    return paths


def _check_file(path):
    if not os.path.exists(path):
        raise InputFileError(path, "file not found")
    if os.path.isdir(path):
        raise InputFileError(path, "is a directory, not a recording")


def _finite(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool) and math.isfinite(x)


def _whole(x) -> bool:
    return _finite(x) and float(x).is_integer()
