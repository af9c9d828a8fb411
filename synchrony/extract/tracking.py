"""Who is who when both people share one frame: face identities by position continuity.

A face detector returns the faces of a frame in no meaningful order, and it loses a face
now and then (a turned head, a hand, an infant leaning out of view). This module gives
each detected face to a person, or to nobody, frame by frame, from positions alone.

Rules of :func:`assign_identities`
    1. Start. Identities are set at the first frame with two or more valid faces: of the
       two largest, the leftmost (smaller ``centre_x_px``; then smaller ``centre_y_px``)
       is ``persons[0]``. Frames before it are then tracked backwards from it, by the
       rules below, so a person seen alone at the start is not lost. With ``hints``
       (a position per person) tracking starts at once from those positions instead.
    2. Memory. Each person keeps their last known position and the time it was seen;
       it is kept, unchanged, while the person is missing.
    3. Distance. From a person's last known position to a face, in pixels, divided by
       that face's size (``face_size_px``); a face may be given to a person only within
       the gate ``gate_faces + speed_faces_per_s * (time since the person was last
       seen)``, which grows while the person is missing, so a face that comes back
       where it left (or where it plausibly moved meanwhile) is taken up again. A
       person known only from a hint has no gate.
    4. Matching. The faces and the two persons are matched jointly (Hungarian algorithm,
       :func:`scipy.optimize.linear_sum_assignment`, on the distances, gated pairs
       excluded): each person gets at most one face; with more than two faces, the two
       that best continue the tracks are kept and the rest are counted in
       ``n_ignored``.
    5. No swap. A face matched to one person while the other person gets no face is
       dropped (given to nobody, counted in ``n_ignored``) if it is nearer, in pixels, to
       the other person's last known position. So a lone face goes to the nearer last
       known position if within that person's gate, else to nobody; never to the
       person who was farther away because the nearer one's gate is too tight.
       Consequence: when person A's face reappears *alone* nearer to where B was last
       seen than to where A was, it is given to B (or to nobody, outside B's gate):
       position is the only evidence, and it points to B. When B's face is in the same
       frame, both are matched jointly (rule 4) and A gets the reappearing face.
    6. The detector's face order is never used: faces are put in a canonical order
       (by x, y, size) before matching, so a shuffled list gives the same assignment.
       The result depends only on the inputs: no randomness.

Any per-face detector output fits, as long as it gives a face centre and a size in
pixels of one frame; a missing face becomes a NaN row and a quality flag downstream.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from synchrony.errors import ParameterError

__all__ = ["Assignment", "Face", "assign_identities"]

_FUNC = "assign_identities"
# Stands for "not allowed" in the assignment cost matrix: larger than any gated cost,
# finite because linear_sum_assignment rejects a matrix with no finite solution.
_FORBIDDEN = 1e12


class Face(NamedTuple):
    """One detected face in one frame: centre and size in pixels of that frame.

    ``face_size_px`` is any stable size measure (e.g. the distance between the outer eye
    corners, landmarks 33 and 263 of FaceMesh). The keys match those of
    :func:`synchrony.extract.face.face_features_from_landmarks`, so its dicts can be
    passed as they are.
    """

    centre_x_px: float
    centre_y_px: float
    face_size_px: float


@dataclass(frozen=True)
class Assignment:
    """Which detected face each person got in one frame.

    Attributes
    ----------
    index : dict of str to int or None
        For each person label, the index of their face in that frame's detection list
        (as given, not reordered), or None when no face is theirs.
    n_faces : int
        Detections in the frame.
    n_ignored : int
        Detections given to nobody: beyond the two persons, implausible by the rules,
        or invalid (a non-finite centre or a size that is not > 0).
    """

    index: dict
    n_faces: int
    n_ignored: int


def assign_identities(detections, *, times_s, persons=("A", "B"), hints=None,
                      gate_faces=1.0, speed_faces_per_s=3.0) -> list[Assignment]:
    """Give each frame's detected faces to the two persons, keeping identities stable.

    Parameters
    ----------
    detections : iterable of sequences of faces
        Per analysed frame, the detected faces in any order; each a :class:`Face`, an
        ``(centre_x_px, centre_y_px, face_size_px)`` triple, or a mapping with those
        keys; or per frame an array of shape (n_faces, 3). An empty frame has no faces.
    times_s : sequence of float
        Time of each frame in seconds, non-decreasing (e.g. PTS from
        :func:`synchrony.media.iter_frames`).
    persons : tuple of two str, default ("A", "B")
        Person labels; ``persons[0]`` is the leftmost face at the start (rule 1).
    hints : mapping of str to (x, y), optional
        Expected starting position in pixels of each person's face centre, e.g.
        ``{"infant": (200, 180), "mother": (760, 160)}``. Tracking then starts at the
        first frame from these positions instead of from left-to-right order.
    gate_faces : float, default 1.0
        Largest jump, in face sizes, from a person's position in the previous frame.
    speed_faces_per_s : float, default 3.0
        How fast, in face sizes per second, the gate widens while a person is missing
        (a fast head turn moves the face centre by about that much).

    Returns
    -------
    list of Assignment
        One per frame, in order.

    Raises
    ------
    ParameterError
        An argument is malformed (message names it).

    Examples
    --------
    The right face is lost in the second frame, and the detector lists faces in any
    order; identities hold:

    >>> frames = [[(700, 200, 60), (200, 210, 50)], [(205, 212, 50)],
    ...           [(210, 212, 50), (702, 199, 60)]]
    >>> out = assign_identities(frames, times_s=[0.0, 0.04, 0.08], persons=("infant", "mother"))
    >>> [a.index for a in out]
    [{'infant': 1, 'mother': 0}, {'infant': 0, 'mother': None}, {'infant': 0, 'mother': 1}]
    """
    persons = _check_persons(persons)
    frames = _faces_per_frame(detections)
    times = _check_times(times_s, len(frames))
    gate = _check_number(gate_faces, "gate_faces")
    speed = _check_number(speed_faces_per_s, "speed_faces_per_s")
    out: list[Assignment | None] = [None] * len(frames)
    if hints is not None:
        state = _hint_state(hints, persons)
        first = 0
    else:
        first = next((i for i, f in enumerate(frames) if len(_valid_indices(f)) >= 2), None)
        if first is None:  # never two faces: nobody can be told apart
            return [_assignment(persons, f, {}) for f in frames]
        state, matched = _start(frames[first], times[first])
        out[first] = _assignment(persons, frames[first], matched)
        start_state = dict(state)
        # Frames before the start: track backwards in time from it.
        for i in range(first - 1, -1, -1):
            state, matched = _step(state, frames[i], times[i], gate, speed)
            out[i] = _assignment(persons, frames[i], matched)
        state, first = start_state, first + 1
    for i in range(first, len(frames)):
        state, matched = _step(state, frames[i], times[i], gate, speed)
        out[i] = _assignment(persons, frames[i], matched)
    return out


# --------------------------------------------------------------------------- the rules
# A state maps person position 0/1 to (x, y, time_last_seen_s or None); None = hint only.


def _start(faces, time_s):
    valid = _valid_indices(faces)
    # The two largest faces (nearest the camera), then left to right (rule 1).
    two = sorted(valid, key=lambda i: (-faces[i, 2], faces[i, 0], faces[i, 1]))[:2]
    left, right = sorted(two, key=lambda i: (faces[i, 0], faces[i, 1], -faces[i, 2]))
    state = {0: (faces[left, 0], faces[left, 1], time_s),
             1: (faces[right, 0], faces[right, 1], time_s)}
    return state, {0: left, 1: right}


def _step(state, faces, time_s, gate_faces, speed):
    valid = _valid_indices(faces)
    # Canonical order, so the detector's order cannot matter (rule 6).
    valid = sorted(valid, key=lambda i: (faces[i, 0], faces[i, 1], faces[i, 2]))
    if not valid:
        return state, {}
    from scipy.optimize import linear_sum_assignment

    xy = faces[valid, :2]
    size = faces[valid, 2]
    dist_px = np.empty((2, len(valid)))
    cost = np.empty_like(dist_px)
    for p in (0, 1):
        x, y, seen_s = state[p]
        dist_px[p] = np.hypot(xy[:, 0] - x, xy[:, 1] - y)
        limit = math.inf if seen_s is None else gate_faces + speed * abs(time_s - seen_s)
        cost[p] = np.where(dist_px[p] / size <= limit, dist_px[p] / size, _FORBIDDEN)
    rows, cols = linear_sum_assignment(cost)
    matched = {int(p): int(c) for p, c in zip(rows, cols) if cost[p, c] < _FORBIDDEN}
    if len(matched) == 1:  # rule 5: a face never goes to the farther person
        (p, c), = matched.items()
        if dist_px[1 - p, c] < dist_px[p, c]:
            matched = {}
    state = dict(state)
    for p, c in matched.items():
        state[p] = (xy[c, 0], xy[c, 1], time_s)
    return state, {p: valid[c] for p, c in matched.items()}


def _assignment(persons, faces, matched):
    index = {label: (int(matched[p]) if p in matched else None)
             for p, label in enumerate(persons)}
    return Assignment(index=index, n_faces=len(faces), n_ignored=len(faces) - len(matched))


def _valid_indices(faces):
    ok = np.isfinite(faces).all(axis=1) & (faces[:, 2] > 0)
    return [int(i) for i in np.flatnonzero(ok)]


# ------------------------------------------------------------------------- validation


def _check_persons(persons):
    if (not isinstance(persons, (tuple, list)) or len(persons) != 2
            or not all(isinstance(p, str) and p for p in persons) or persons[0] == persons[1]):
        raise ParameterError.expected("persons", _FUNC, "two different non-empty labels",
                                      persons)
    return tuple(persons)


def _faces_per_frame(detections):
    if isinstance(detections, (str, bytes, Mapping)) or not isinstance(detections, Iterable):
        raise ParameterError.expected("detections", _FUNC, "a sequence (one entry per frame) "
                                      "of sequences of faces", type(detections).__name__)
    frames = []
    for i, frame in enumerate(detections):
        try:
            rows = [_face_row(face) for face in frame]
            arr = np.array(rows, dtype=float).reshape(len(rows), 3)
        except (TypeError, ValueError, KeyError):
            raise ParameterError.expected(
                "detections", _FUNC, "per frame a list of (centre_x_px, centre_y_px, "
                "face_size_px) faces", _Shown(f"frame {i}: {_short(frame)}")) from None
        frames.append(arr)
    return frames


def _face_row(face):
    if isinstance(face, Mapping):
        return tuple(float(face[k]) for k in Face._fields)
    row = tuple(float(v) for v in face)
    if len(row) != 3:
        raise ValueError(row)
    return row


def _check_times(times_s, n):
    try:
        times = np.asarray(times_s, dtype=float)
    except (TypeError, ValueError):
        times = None
    if (times is None or times.shape != (n,) or not np.isfinite(times).all()
            or (np.diff(times) < 0).any()):
        raise ParameterError.expected("times_s", _FUNC, f"{n} finite, non-decreasing times "
                                      "in seconds (one per frame)", _Shown(_short(times_s)))
    return times


def _check_number(value, name):
    if not (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and math.isfinite(value) and value >= 0):
        raise ParameterError.expected(name, _FUNC, "a finite number >= 0", value)
    return float(value)


def _hint_state(hints, persons):
    try:
        xy = [tuple(float(v) for v in hints[p]) for p in persons]
    except (TypeError, KeyError, ValueError):
        xy = None
    if xy is None or any(len(v) != 2 or not all(map(math.isfinite, v)) for v in xy):
        raise ParameterError.expected("hints", _FUNC, f"None or a mapping of each of "
                                      f"{persons} to an (x, y) position in pixels", hints)
    return {p: (xy[p][0], xy[p][1], None) for p in (0, 1)}


def _short(value):
    text = " ".join(repr(value).split())
    return text if len(text) <= 80 else text[:77] + "..."


class _Shown:
    """A value for an error message, shown as the given text (not quoted again)."""

    def __init__(self, text):
        self.text = text

    def __repr__(self):
        return self.text
