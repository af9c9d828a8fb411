"""Gaze from the iris and head pose; looking at the partner; mutual gaze; trust.

Pure geometry on FaceMesh landmarks (with iris refinement: 478 points) and arrays of
per-frame values; no mediapipe.

Directions are given as two angles in degrees with the conventions of head pose
(:mod:`synchrony.extract.head`), in the camera frame (``X`` right, ``Y`` down, ``Z``
away from the camera): for a unit direction ``(dx, dy, dz)``,
``yaw = atan2(dx, -dz)`` (> 0 towards the image's right) and
``pitch = atan2(-dy, hypot(dx, dz))`` (> 0 upwards); ``(0, 0)`` points straight back at
the camera plane. Mirroring the picture negates yaw and keeps pitch.

Eye in head
-----------
Per eye, the iris centre (468 for the subject's right eye, 473 for the left) is
measured in the head frame (:func:`synchrony.extract.head.frontalise`, so head turns
do not foreshorten it) relative to the midpoint of the eye's corners (33/133,
362/263), as a fraction of the eye's width (corner to corner). Both eyes are averaged,
each weighted by its width in the image, so the eye nearer the camera counts more
when the head is turned. The corners, not the lids, are the reference for the vertical
too: the upper lid follows the eye down and up, which would shrink the vertical signal
to a fraction of it; the lids serve only to tell when the eye is closed.

The offset becomes an angle with an eyeball model: the iris centre turns on a circle
about the eye's centre of rotation, ``offset = r sin(angle)``, with
``r = 0.35`` eye widths (adults: rotation centre about 13.5 mm behind the cornea and the
iris plane about 3.5 mm behind it, r ~ 10 mm, eye width ~ 28-30 mm; newborns: r ~ 7 mm,
width ~ 18 mm, so the ratio hardly changes with age). Without a per-person calibration
expect absolute errors of several degrees (not measured here: there is no gaze ground
truth in the reference media): the gain is a population value, and the resting iris
position relative to the corners differs between people (canthal tilt).

Gaze = the eye-in-head direction turned by the head rotation ``R`` (the vectors are
composed, not the angles added, so a tilted head turns vertical eye movements into
partly horizontal gaze).

Perspective: the iris sits about 6 mm in front of the eye corners, so a camera at 50-60 cm
sees it shifted a little away from the optical axis (parallax). On synthetic faces
projected through the pinhole camera of :mod:`synchrony.extract.head` this biases the
eye-in-head angles by 1-3 deg; exact under weak perspective, which is how FaceMesh
reconstructs its 3-D mesh.

Looking at the partner
----------------------
A line of sight counts as looking at a target when the angle between them is within a
cone: ``cone_deg = 15`` by default. Face-to-face recordings with one camera per person
(or a split screen of two such views) put each camera near the partner's face, so the
target is the camera: :func:`direction_to_camera`. At 0.5-1 m a face spans about +/-5
deg, and cameras sit 10-20 cm from the partner's face (about 10 deg); a 15 deg cone
takes in the partner's face and the camera's offset from it, and still excludes the
hands and toys on the table (typically 30 deg or more below). Where both people share
one frame the target is the other face: :func:`direction_to_point`.

Trust
-----
:func:`gaze_trusted` is False when the iris cannot be measured well enough. Defaults,
checked on the reference clip (one adult face, 145 px between the outer eye corners;
"error" = change of the eye-in-head angles against the untouched clip):

* face smaller than ``min_face_px = 60`` between the outer eye corners. Shrunk to 58 px,
  the clip's eye-in-head angles stayed within a median 1.2 deg (90th percentile 3.3 deg);
  at 44 px FaceMesh lost the face in most frames of a 640-px-wide region. The eye is
  then ~18 px wide, so each pixel of iris error is ~9 deg.
* head turned more than ``max_yaw_deg = 40`` or pitched more than
  ``max_pitch_deg = 30``: from about 45 deg of yaw the nose ridge hides the far eye's
  inner corner (canonical face geometry); far up or down, the lids, brow or cheeks
  cover much of the iris. These two are judgement: the clip turns only to 25 deg.
* eyes (nearly) closed: mean lid gap ``eye_open`` below ``min_eye_open = 0.05`` face
  sizes (2/3 of the canonical neutral face's 0.075). Below it the horizontal angle of
  the clip and of its mirror image disagreed by a median 4.5-17 deg, above it by 1.6-3.4.
  Looking far down lowers the upper lid and can trip this check.
* face crop blurred: ``sharpness`` (:func:`synchrony.extract.face.sharpness`) below
  ``min_sharpness = 0.06``. The sharp clip gives 0.17-0.28 (5th-95th percentile; the
  same when shrunk to 80 % or 60 %); a Gaussian blur of 3 px (0.02 face sizes) gives 0.07
  and an error of median 1.4 deg (90th percentile 5 deg), 4 px gives 0.05 and 2.2 deg
  (7 deg), 6 px 0.02 and 4.7 deg (11 deg).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from synchrony.errors import ParameterError
from synchrony.extract.head import _check_landmarks, _region, frontalise, rotation_matrix

__all__ = [
    "CONE_DEG",
    "angle_between_deg",
    "direction_to_camera",
    "direction_to_point",
    "gaze_angles",
    "gaze_trusted",
    "looking_at",
    "mutual_gaze",
]

CONE_DEG = 15.0
EYE_RADIUS_PER_WIDTH = 0.35

MIN_FACE_PX = 60.0
MAX_YAW_DEG = 40.0
MAX_PITCH_DEG = 30.0
MIN_EYE_OPEN = 0.05
MIN_SHARPNESS = 0.06

# (iris centre, corner on the image's left, corner on the image's right) per eye, for
# an unmirrored frontal face: subject's right eye, then left eye.
_EYES = ((468, 33, 133), (473, 362, 263))


def _unit_from_angles(yaw_deg, pitch_deg):
    yaw, pitch = np.radians(yaw_deg), np.radians(pitch_deg)
    return np.stack([np.sin(yaw) * np.cos(pitch), -np.sin(pitch),
                     -np.cos(yaw) * np.cos(pitch)], axis=-1)


def _angles_from_unit(d):
    d = np.asarray(d, dtype=float)
    yaw = np.degrees(np.arctan2(d[..., 0], -d[..., 2]))
    pitch = np.degrees(np.arctan2(-d[..., 1], np.hypot(d[..., 0], d[..., 2])))
    return yaw, pitch


def gaze_angles(landmarks_px, head_pose, *, eye_radius_per_width=EYE_RADIUS_PER_WIDTH):
    """Eye-in-head and gaze angles of one face in one frame.

    Parameters
    ----------
    landmarks_px : array_like, shape (478, 3)
        FaceMesh landmarks with iris refinement, pixels of the person's region, ``z``
        scaled like ``x``.
    head_pose : mapping
        ``yaw_deg``, ``pitch_deg`` and ``roll_deg`` of the head, as returned by
        :func:`synchrony.extract.head.head_pose`.
    eye_radius_per_width : float, default 0.35
        Radius of the iris centre's circle about the eye's rotation centre, in eye
        widths (module docstring).

    Returns
    -------
    dict of str to float
        ``eye_yaw_deg``, ``eye_pitch_deg``: the eyes' direction relative to the head
        (head frame; > 0 towards the subject's left and upwards);
        ``gaze_yaw_deg``, ``gaze_pitch_deg``: the line of sight in the camera frame
        (module docstring). NaN when the head pose is NaN (eye angles stay).
    """
    func = "gaze_angles"
    lm = _check_landmarks(landmarks_px, func, dims=(3,))
    if lm.shape[0] != 478:
        raise ParameterError.expected(
            "landmarks_px", func, "478 landmarks (FaceMesh with refine_landmarks=True)",
            lm.shape)
    if not (isinstance(eye_radius_per_width, (int, float)) and eye_radius_per_width > 0):
        raise ParameterError.expected(
            "eye_radius_per_width", func, "a positive number", eye_radius_per_width)
    eye_yaw, eye_pitch = _eye_in_head(frontalise(lm), lm, eye_radius_per_width)
    angles = [float(head_pose[k]) for k in ("yaw_deg", "pitch_deg", "roll_deg")]
    rotation = rotation_matrix(*angles) if np.isfinite(angles).all() else None
    gaze_yaw, gaze_pitch = _line_of_sight(eye_yaw, eye_pitch, rotation)
    return {"eye_yaw_deg": eye_yaw, "eye_pitch_deg": eye_pitch,
            "gaze_yaw_deg": gaze_yaw, "gaze_pitch_deg": gaze_pitch}


def _eye_in_head(face, landmarks_px, eye_radius_per_width):
    """Eye-in-head ``(yaw_deg, pitch_deg)`` from frontalised and image landmarks."""
    offset = np.zeros(2)
    total = 0.0
    for iris, left, right in _EYES:
        width = np.linalg.norm(face[right] - face[left])
        weight = np.linalg.norm(landmarks_px[right, :2] - landmarks_px[left, :2])  # as seen
        if not (width > 0 and weight > 0):
            continue
        mid = (face[left, :2] + face[right, :2]) / 2
        offset += weight * (face[iris, :2] - mid) / width
        total += weight
    if total == 0:
        return float("nan"), float("nan")
    sin_h, sin_v = np.clip(offset / total / eye_radius_per_width, -1.0, 1.0)
    # head-frame y points to the chin, so an iris below the corners looks down
    return math.degrees(math.asin(sin_h)), -math.degrees(math.asin(sin_v))


def _line_of_sight(eye_yaw_deg, eye_pitch_deg, rotation):
    """Eye-in-head direction turned by the head-to-camera rotation (None: unknown):
    ``(gaze_yaw_deg, gaze_pitch_deg)``."""
    if rotation is None or not np.isfinite([eye_yaw_deg, eye_pitch_deg]).all():
        return float("nan"), float("nan")
    sight = rotation @ _unit_from_angles(eye_yaw_deg, eye_pitch_deg)
    yaw, pitch = _angles_from_unit(sight)
    return float(yaw), float(pitch)


def _eyes_px(landmarks_px):
    lm = np.asarray(landmarks_px, dtype=float)
    return lm[[33, 133, 362, 263], :2].mean(axis=0)


def direction_to_point(from_px, to_px, *, region_size_px, depth_ratio=1.0):
    """Direction from one image point to another in space, as yaw and pitch (degrees).

    Both points are placed on their camera rays (pinhole camera of
    :mod:`synchrony.extract.head`: focal length = region width, principal point at the
    centre), the target at ``depth_ratio`` times the source's depth. Use it for
    shared-frame layouts, from one person's eyes to the other's face: with two faces
    of similar size at a similar distance, ``depth_ratio = 1``; the ratio of their face
    sizes in pixels (source over target) places a smaller-looking face further away.

    Parameters
    ----------
    from_px, to_px : array_like, shape (2,)
        Image points ``(x, y)``, pixels of the region.
    region_size_px : tuple of float
        ``(width, height)``, pixels.
    depth_ratio : float, default 1.0
        Target depth over source depth.

    Returns
    -------
    tuple of float
        ``(yaw_deg, pitch_deg)`` with the module's conventions.
    """
    func = "direction_to_point"
    width, height = _region(region_size_px, func)
    if not (isinstance(depth_ratio, (int, float)) and depth_ratio > 0):
        raise ParameterError.expected("depth_ratio", func, "a positive number", depth_ratio)

    def ray(p):
        x, y = (float(v) for v in p)
        return np.array([(x - width / 2) / width, (y - height / 2) / width, 1.0])

    yaw, pitch = _angles_from_unit(ray(to_px) * depth_ratio - ray(from_px))
    return float(yaw), float(pitch)


def direction_to_camera(landmarks_px, *, region_size_px):
    """Direction from the face (midpoint of the four eye corners) to the camera.

    Uses the pinhole camera of :mod:`synchrony.extract.head`. A face at the image's
    centre sees the camera at ``(0, 0)``; a face right of centre sees it to its left
    (negative yaw).

    Parameters
    ----------
    landmarks_px : array_like, shape (468 or 478, 2 or 3)
    region_size_px : tuple of float
        ``(width, height)``, pixels.

    Returns
    -------
    tuple of float
        ``(yaw_deg, pitch_deg)``.
    """
    func = "direction_to_camera"
    lm = _check_landmarks(landmarks_px, func)
    width, height = _region(region_size_px, func)
    x, y = _eyes_px(lm)
    yaw, pitch = _angles_from_unit([-(x - width / 2) / width, -(y - height / 2) / width, -1.0])
    return float(yaw), float(pitch)


def angle_between_deg(yaw_a_deg, pitch_a_deg, yaw_b_deg, pitch_b_deg):
    """Angle between two directions given as yaw and pitch, degrees (arrays broadcast).

    Returns
    -------
    numpy.ndarray or float
        In [0, 180]; NaN where an input is NaN.
    """
    a = _unit_from_angles(np.asarray(yaw_a_deg, float), np.asarray(pitch_a_deg, float))
    b = _unit_from_angles(np.asarray(yaw_b_deg, float), np.asarray(pitch_b_deg, float))
    cos = np.clip(np.sum(a * b, axis=-1), -1.0, 1.0)
    out = np.degrees(np.arccos(cos))
    return float(out) if np.ndim(out) == 0 else out


def looking_at(gaze_yaw_deg, gaze_pitch_deg, target_yaw_deg, target_pitch_deg, *,
               cone_deg=CONE_DEG):
    """Whether lines of sight fall within a cone about the target direction.

    Parameters
    ----------
    gaze_yaw_deg, gaze_pitch_deg : array_like
        Lines of sight, degrees (:func:`gaze_angles`).
    target_yaw_deg, target_pitch_deg : array_like
        Direction of the target from the eyes, degrees (:func:`direction_to_camera`,
        :func:`direction_to_point`); broadcast against the gaze.
    cone_deg : float, default 15
        Half-angle of the cone, degrees (module docstring).

    Returns
    -------
    numpy.ndarray of float
        1.0 (looking), 0.0 (not), NaN where a direction is unknown. Floats, so that
        missing frames stay NaN and averaging over time gives the share of time.
    """
    if not (isinstance(cone_deg, (int, float)) and 0 < cone_deg < 180):
        raise ParameterError.expected("cone_deg", "looking_at", "an angle in (0, 180) degrees",
                                      cone_deg)
    offset = np.asarray(angle_between_deg(gaze_yaw_deg, gaze_pitch_deg,
                                          target_yaw_deg, target_pitch_deg))
    out = (offset <= cone_deg).astype(float)
    out[np.isnan(offset)] = np.nan
    return out


def gaze_trusted(face_size_px, head_yaw_deg, head_pitch_deg, eye_open, sharpness, *,
                 min_face_px=MIN_FACE_PX, max_yaw_deg=MAX_YAW_DEG,
                 max_pitch_deg=MAX_PITCH_DEG, min_eye_open=MIN_EYE_OPEN,
                 min_sharpness=MIN_SHARPNESS):
    """Per-frame flag: can the gaze of this frame be believed?

    Parameters
    ----------
    face_size_px : array_like
        Distance between the outer eye corners, pixels.
    head_yaw_deg, head_pitch_deg : array_like
        Head pose, degrees.
    eye_open : array_like
        Mean lid gap in face sizes (:func:`synchrony.extract.expression.expression_features`).
    sharpness : array_like
        Sharpness of the face crop (:func:`synchrony.extract.face.sharpness`).
    min_face_px, max_yaw_deg, max_pitch_deg, min_eye_open, min_sharpness : float
        Thresholds; defaults and their reasons in the module docstring.

    Returns
    -------
    numpy.ndarray of bool
        False wherever a check fails or a value is NaN (no face).
    """
    size, yaw, pitch, eyes, sharp = (np.asarray(a, dtype=float) for a in (
        face_size_px, head_yaw_deg, head_pitch_deg, eye_open, sharpness))
    with np.errstate(invalid="ignore"):
        return ((size >= min_face_px) & (np.abs(yaw) <= max_yaw_deg)
                & (np.abs(pitch) <= max_pitch_deg) & (eyes >= min_eye_open)
                & (sharp >= min_sharpness))


def mutual_gaze(a_looking, b_looking):
    """Mutual gaze of a dyad: both partners looking at each other.

    Parameters
    ----------
    a_looking, b_looking : pandas.Series
        Each person's ``looking_at_partner`` on one clock (same index: the frame times
        of a split screen, or a Signals clock), values in [0, 1] or bool, NaN where
        unknown.

    Returns
    -------
    pandas.Series
        ``a * b`` on the shared index, named ``mutual_gaze``: 1.0 when both look, 0.0
        when either does not, NaN when either is unknown. On values that are shares of
        a time bin (Signals) the product is the share of the bin in which both look if
        their looks within the bin are independent.

    Raises
    ------
    ParameterError
        If the two indexes differ.
    """
    func = "mutual_gaze"
    for name, s in (("a_looking", a_looking), ("b_looking", b_looking)):
        if not isinstance(s, pd.Series):
            raise ParameterError.expected(name, func, "a pandas Series", type(s).__name__)
    if not a_looking.index.equals(b_looking.index):
        raise ParameterError.expected(
            "b_looking", func, "a Series with the same index as a_looking", "a different index")
    a = a_looking.astype(float)
    b = b_looking.astype(float)
    return (a * b).rename("mutual_gaze")
