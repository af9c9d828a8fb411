"""Every per-frame geometric feature of one face, in one pass: the face path's fast kernel.

The features are defined by the public functions of the modules that document them:
:func:`synchrony.extract.face.face_features_from_landmarks` (face size, centre,
position), :func:`synchrony.extract.head.head_pose` (yaw, pitch, roll),
:func:`synchrony.extract.head.frontalise` with
:func:`synchrony.extract.expression.expression_features` (expression) and
:func:`synchrony.extract.gaze.gaze_angles` and
:func:`synchrony.extract.gaze.direction_to_camera` (gaze). Called one after the other,
they validate their input again, turn all 478 landmarks into the head frame and take
each mean and norm in a NumPy call of its own: about 0.2 ms a face, twice per analysed
frame, all of it Python holding the GIL that the decoder and the other person's lane
also need. The kernel here
works on the 60 landmarks those definitions use, with one index, one product per linear
combination and one norm call for all lengths: about 3x faster. The values agree with
the public functions to rounding (``tests/test_geometry.py`` checks it on real faces).
"""

from __future__ import annotations

import math

import numpy as np

from synchrony.extract import expression as _ex
from synchrony.extract.gaze import _EYES
from synchrony.extract.head import (
    _MODEL_CENTRED,
    RIGID_LANDMARKS,
    _solve_pose,
    pose_angles,
)

# Face centre of face_features_from_landmarks: rigid points that expressions and the
# jaw hardly move (listed in synchrony.extract.face's docstring). Not RIGID_LANDMARKS:
# those fit the canonical model, whose vertices differ a little.
CENTRE_LANDMARKS = (
    33, 263, 133, 362,  # outer and inner eye corners
    168, 6, 197, 195, 5, 4, 1,  # nose ridge, bridge to tip (midline)
    10, 109, 338, 67, 297, 103, 332, 54, 284, 21, 251, 162, 389, 127, 356, 234, 454,
)
EYE_OUTER = (33, 263)  # face size: the outer eye corners
_CAMERA_EYES = (33, 133, 362, 263)  # direction_to_camera's eye midpoint

_USED = sorted(set(CENTRE_LANDMARKS) | set(RIGID_LANDMARKS) | set(_CAMERA_EYES)
               | {i for eye in _EYES for i in eye}
               | set(_ex._MOUTH_CORNERS) | set(_ex._LIPS_INNER) | set(_ex._LIDS_RIGHT)
               | set(_ex._LIDS_LEFT) | set(_ex._BROW_RIGHT) | set(_ex._BROW_LEFT)
               | set(_ex._EYE_CORNERS_RIGHT) | set(_ex._EYE_CORNERS_LEFT))
_AT = {landmark: k for k, landmark in enumerate(_USED)}


def _rows(landmarks):
    return np.array([_AT[i] for i in landmarks])


def _mean_weights(*terms):
    """Weights over ``_USED`` of ``sum(sign * mean(landmarks))`` for (sign, landmarks)."""
    w = np.zeros(len(_USED))
    for sign, landmarks in terms:
        np.add.at(w, _rows(landmarks), sign / len(landmarks))
    return w


_RIGID = _rows(RIGID_LANDMARKS)
_CENTRE_MEAN = _mean_weights((1.0, CENTRE_LANDMARKS))
_CAMERA_MEAN = _mean_weights((1.0, _CAMERA_EYES))
# along the frontal face's y (towards the chin): the corners' lift above the inner lips'
# middle, and the brows' mean height above their eyes' corner midpoints
_LIFT_BROW = np.stack([
    _mean_weights((1.0, _ex._LIPS_INNER), (-1.0, _ex._MOUTH_CORNERS)),
    _mean_weights((0.5, _ex._EYE_CORNERS_RIGHT), (-0.5, _ex._BROW_RIGHT),
                  (0.5, _ex._EYE_CORNERS_LEFT), (-0.5, _ex._BROW_LEFT))])
# lengths in the frontal face: face size, mouth corners, lips, lids, then both eyes'
# corner to corner widths (eye order of gaze._EYES)
_FRONTAL_PAIRS = [EYE_OUTER, _ex._MOUTH_CORNERS, _ex._LIPS_INNER, _ex._LIDS_LEFT,
                  _ex._LIDS_RIGHT] + [(right, left) for _, left, right in _EYES]
_FRONTAL_A = _rows([a for a, _ in _FRONTAL_PAIRS])
_FRONTAL_B = _rows([b for _, b in _FRONTAL_PAIRS])
_IRIS = _rows([iris for iris, _, _ in _EYES])
_EYE_LEFT_CORNER = _rows([left for _, left, _ in _EYES])
_EYE_RIGHT_CORNER = _rows([right for _, _, right in _EYES])
_NAN_POSE = (math.nan,) * 3
_FLIP_LAST = np.array([[1.0], [1.0], [-1.0]])  # u @ diag(1, 1, -1) @ vt = u @ (vt * this)


def face_geometry(landmarks_px, width, height, eye_radius_per_width):
    """FaceMesh landmarks of one face -> its geometric per-frame features.

    Parameters
    ----------
    landmarks_px : numpy.ndarray, shape (478, 3), float64
        Landmarks in pixels of the person's region, ``z`` scaled like ``x`` (not
        validated: the face path makes them).
    width, height : float
        The region's size, pixels (the camera model of :mod:`synchrony.extract.head`).
    eye_radius_per_width : float
        The eyeball model of :mod:`synchrony.extract.gaze`.

    Returns
    -------
    tuple of float
        ``centre_x_px``, ``centre_y_px``, ``face_size_px``, ``head_x``, ``head_y``,
        ``head_yaw_deg``, ``head_pitch_deg``, ``head_roll_deg``, ``smile``,
        ``mouth_open``, ``brow_raise``, ``eye_open_left``, ``eye_open_right``,
        ``eye_open``, ``gaze_yaw_deg``, ``gaze_pitch_deg``, ``camera_yaw_deg`` and
        ``camera_pitch_deg``, as the public functions define them.
    """
    lm = landmarks_px[_USED]
    cx, cy = (_CENTRE_MEAN @ lm[:, :2]).tolist()
    size = math.dist(landmarks_px[EYE_OUTER[0]].tolist(), landmarks_px[EYE_OUTER[1]].tolist())
    if not size > 0:  # degenerate mesh: no scale to normalise by
        size = math.nan
    rotation, (yaw, pitch, roll) = _pose(lm, width, height)

    face = _frontal(lm)
    lengths = np.sqrt(np.square(face[_FRONTAL_A] - face[_FRONTAL_B]).sum(axis=1)).tolist()
    size_f, spread, lips, lids_left, lids_right = lengths[:5]
    if size_f > 0:
        lift, brow = (_LIFT_BROW @ face[:, 1]).tolist()
        expression = ((spread / 2 + lift) / size_f, lips / size_f, brow / size_f,
                      lids_left / size_f, lids_right / size_f,
                      (lids_left + lids_right) / 2 / size_f)
    else:
        expression = (math.nan,) * 6

    gaze = _gaze(face, lm, lengths[5:], rotation, eye_radius_per_width)
    eyes_x, eyes_y = (_CAMERA_MEAN @ lm[:, :2]).tolist()
    camera = _angles(-(eyes_x - width / 2) / width, -(eyes_y - height / 2) / width, -1.0)
    return (cx, cy, size, (cx - width / 2) / size, (cy - height / 2) / size,
            yaw, pitch, roll, *expression, *gaze, *camera)


def _pose(lm, width, height):
    """:func:`synchrony.extract.head.head_pose` -> (rotation or None, angles)."""
    solved = _solve_pose(lm[_RIGID, :2], width, height)
    if solved is None:
        return None, _NAN_POSE
    return solved[0], pose_angles(solved[0])


def _frontal(lm):
    """:func:`synchrony.extract.head.frontalise` of the rows ``lm``: the Kabsch rotation
    taking the rigid points onto the canonical face, applied to all."""
    import cv2

    rigid = lm[_RIGID]
    centroid = rigid.mean(axis=0)
    _, u, vt = cv2.SVDecomp((rigid - centroid).T @ _MODEL_CENTRED)
    rot = u @ vt
    if _det3(rot.tolist()) < 0:  # a reflection: turn it into the nearest rotation
        rot = u @ (vt * _FLIP_LAST)
    return (lm - centroid) @ rot


def _gaze(face, lm, widths, rotation, eye_radius_per_width):
    """``gaze._eye_in_head`` then ``gaze._line_of_sight``: (gaze_yaw_deg, gaze_pitch_deg)."""
    seen = (lm[_EYE_RIGHT_CORNER, :2] - lm[_EYE_LEFT_CORNER, :2]).tolist()
    mids = (face[_EYE_LEFT_CORNER, :2] + face[_EYE_RIGHT_CORNER, :2]) / 2
    offsets = (face[_IRIS, :2] - mids).tolist()
    h = v = total = 0.0
    for width, (sx, sy), (dh, dv) in zip(widths, seen, offsets):
        weight = math.hypot(sx, sy)  # the eye's width as seen: its weight
        if width > 0 and weight > 0:
            h += weight * dh / width
            v += weight * dv / width
            total += weight
    if rotation is None or total == 0:
        return math.nan, math.nan
    sin_h = min(max(h / total / eye_radius_per_width, -1.0), 1.0)
    sin_v = min(max(v / total / eye_radius_per_width, -1.0), 1.0)
    # eye-in-head angles: yaw asin(sin_h), pitch -asin(sin_v) (head-frame y to the chin);
    # their unit vector (gaze._unit_from_angles) then turned by the head rotation
    cos_h, cos_v = math.sqrt(1.0 - sin_h * sin_h), math.sqrt(1.0 - sin_v * sin_v)
    eye = (sin_h * cos_v, sin_v, -cos_h * cos_v)
    return _angles(*(sum(r * e for r, e in zip(row, eye)) for row in rotation.tolist()))


def _det3(m):
    """Determinant of a 3 x 3 matrix given as nested lists."""
    (a, b, c), (d, e, f), (g, h, i) = m
    return a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)


def _angles(x, y, z):
    """``gaze._angles_from_unit`` of one direction: (yaw_deg, pitch_deg)."""
    return math.degrees(math.atan2(x, -z)), math.degrees(math.atan2(-y, math.hypot(x, z)))
