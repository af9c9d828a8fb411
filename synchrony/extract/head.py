"""Head pose and head motion from FaceMesh landmarks: pure geometry, no mediapipe.

Frames and sign conventions
---------------------------
Image pixels: ``x`` grows to the image's right, ``y`` downwards. The camera frame is
OpenCV's: ``X`` right, ``Y`` down, ``Z`` forwards from the camera into the scene. The
**head frame** is fixed to the face, with the axes the camera frame has when the face
looks straight into a camera in front of it: ``x`` towards the subject's left ear
(the image's right for a frontal face), ``y`` from brow to chin, ``z`` from the face
towards the back of the head. The rotation ``R`` of :func:`head_pose` maps head-frame
directions to camera-frame directions; the face points along ``R @ (0, 0, -1)``.

Angles, all in degrees, are defined by ``R = Rz(roll) @ Ry(-yaw) @ Rx(-pitch)``
(standard right-handed axis rotations), i.e. from vectors fixed to the head:

``head_yaw_deg``
    > 0 when the face turns towards the image's right (the subject's left, when the
    camera is not mirrored); the turn about the head's own vertical axis.
``head_pitch_deg``
    > 0 when the face tilts up (chin up), < 0 looking down.
``head_roll_deg``
    > 0 when the head is tilted clockwise in the image: the eye line, from the image-left
    eye to the image-right one, points downwards. Roll is the last rotation, about the
    camera's optical axis, so turning the picture about the principal point by ``a``
    degrees clockwise adds exactly ``a`` to roll and leaves yaw and pitch unchanged.

Mirroring the picture (``x -> width - x``) negates yaw and roll and keeps pitch.

Canonical face
--------------
The 3-D model is a rigid subset of mediapipe's canonical face mesh
(``mediapipe/modules/face_geometry/data/canonical_face_model.obj``, Apache-2.0, The
MediaPipe Authors; vertex ``i + 1`` of the OBJ is FaceMesh landmark ``i``; centimetres;
here with ``y`` and ``z`` negated into the head frame above). The wheel does not ship the
OBJ, so the vertices used are copied below (19 on the midline and the subject's right;
the 9 on the left are their exact mirror twins in the OBJ). Only points that expressions and the jaw
hardly move are used: the eye corners, the nose ridge from nasion to tip, the forehead
and the temple arc of the face oval. The often used six-point model (nose tip, chin, eye
corners, mouth corners) lets smiles and mouth opening leak into pitch: on the reference
clip its pitch spanned -29 to +15 deg while this set's spans -12 to +10 deg; it also
jittered more (median frame-to-frame change of pitch 0.48 against 0.31 deg) and
agreed worse with the mirrored clip (median ``|yaw + yaw_mirrored|`` 3.0 against 1.6 deg).

Camera
------
Unknown, so approximated as a pinhole with focal length = region width in pixels
(a horizontal field of view of 53 deg: webcams and phones are wider, about 60-80 deg, a
zoomed camcorder narrower) and the principal point at the region's centre, without lens
distortion. A wrong focal length mostly
changes the pose of faces far from the image centre, by a fraction of their viewing
angle (``atan(offset / f)``). ``cv2.solvePnP`` with ``SOLVEPNP_SQPNP``: a global solver,
so no initial guess and no state between frames; ``SOLVEPNP_ITERATIVE`` from its default
guess returned flipped poses (roll near 180 deg) for some frames of the reference clip
with smaller point sets, and took 4x as long.
"""

from __future__ import annotations

import math

import numpy as np

from synchrony.errors import ParameterError

__all__ = [
    "RIGID_LANDMARKS",
    "canonical_face_cm",
    "frontalise",
    "head_motion",
    "head_pose",
    "pose_angles",
    "rotation_matrix",
]

# Left-side and midline vertices of the canonical mesh (landmark: x, y, z in cm, the
# OBJ's axes: x to the subject's left, y up, z out of the face). Right-side twins are
# mirror images (x negated), see _MIRROR.
_CANONICAL_OBJ = {
    1: (0.0, -1.126865, 7.475604), 4: (0.0, -0.463170, 7.586580),
    5: (0.0, 0.365669, 7.242870), 6: (0.0, 2.473255, 5.788627),
    9: (0.0, 4.885979, 5.385258), 10: (0.0, 8.261778, 4.481535),
    151: (0.0, 6.545390, 5.027311), 168: (0.0, 3.271027, 5.236015),
    195: (0.0, 1.059413, 6.774605), 197: (0.0, 1.728369, 6.316750),
    33: (-4.445859, 2.663991, 3.173422), 133: (-1.856432, 2.585245, 3.757904),
    54: (-6.279331, 6.615427, 1.425850), 67: (-3.523964, 8.005976, 3.729163),
    103: (-5.133204, 7.485602, 2.660442), 109: (-1.891399, 8.236377, 4.274997),
    127: (-7.743095, 2.364999, -2.005167), 162: (-7.555811, 4.106811, -0.991917),
    234: (-7.664182, 0.673132, -2.435867),
}
# Subject's right (image left) -> subject's left twin, FaceMesh indices.
_MIRROR = {33: 263, 133: 362, 54: 284, 67: 297, 103: 332, 109: 338, 127: 356,
           162: 389, 234: 454}

RIGID_LANDMARKS = (
    33, 133, 362, 263,  # eye corners
    168, 6, 197, 195, 5, 4, 1,  # nose ridge, nasion to tip
    10, 151, 9, 109, 338, 67, 297, 103, 332, 54, 284,  # forehead
    162, 389, 127, 356, 234, 454,  # temple arc of the face oval
)


def canonical_face_cm(indices=RIGID_LANDMARKS):
    """Canonical 3-D positions of rigid landmarks in the head frame, centimetres.

    Parameters
    ----------
    indices : sequence of int, default RIGID_LANDMARKS
        FaceMesh landmark indices, each one of :data:`RIGID_LANDMARKS`.

    Returns
    -------
    numpy.ndarray, shape (len(indices), 3)
        ``x`` towards the subject's left, ``y`` towards the chin, ``z`` towards the back
        of the head (see the module docstring).
    """
    twin = {v: k for k, v in _MIRROR.items()}
    rows = []
    for i in indices:
        if i in _CANONICAL_OBJ:
            x, y, z = _CANONICAL_OBJ[i]
        elif i in twin:
            x, y, z = _CANONICAL_OBJ[twin[i]]
            x = -x
        else:
            raise ParameterError.expected(
                "indices", "canonical_face_cm", "indices from RIGID_LANDMARKS", i)
        rows.append((x, -y, -z))
    return np.array(rows, dtype=float)


_MODEL = canonical_face_cm()
_MODEL_CENTRED = _MODEL - _MODEL.mean(axis=0)
_RIGID = list(RIGID_LANDMARKS)


def _check_landmarks(landmarks_px, func, *, dims=(2, 3)):
    lm = np.asarray(landmarks_px, dtype=float)
    if lm.ndim != 2 or lm.shape[0] not in (468, 478) or lm.shape[1] not in dims:
        shape = "(468 or 478, " + " or ".join(map(str, dims)) + ")"
        raise ParameterError.expected("landmarks_px", func, f"an array of shape {shape}", lm.shape)
    return lm


def rotation_matrix(yaw_deg, pitch_deg, roll_deg):
    """Head-to-camera rotation from yaw, pitch and roll (degrees).

    ``R = Rz(roll) @ Ry(-yaw) @ Rx(-pitch)``; the conventions are in the module
    docstring. Inverse of :func:`pose_angles` for ``|yaw|, |pitch| < 90``.

    Returns
    -------
    numpy.ndarray, shape (3, 3)
    """
    y, p, r = (math.radians(float(a)) for a in (yaw_deg, pitch_deg, roll_deg))
    cz, sz = math.cos(r), math.sin(r)
    cy, sy = math.cos(-y), math.sin(-y)
    cx, sx = math.cos(-p), math.sin(-p)
    rz = np.array([[cz, -sz, 0.0], [sz, cz, 0.0], [0.0, 0.0, 1.0]])
    ry = np.array([[cy, 0.0, sy], [0.0, 1.0, 0.0], [-sy, 0.0, cy]])
    rx = np.array([[1.0, 0.0, 0.0], [0.0, cx, -sx], [0.0, sx, cx]])
    return rz @ ry @ rx


def pose_angles(rotation):
    """Yaw, pitch and roll (degrees) of a head-to-camera rotation matrix.

    Roll is the angle of the head's ``x`` axis in the image plane; yaw and pitch are
    the direction of the face after the roll is undone (module docstring).

    Returns
    -------
    tuple of float
        ``(yaw_deg, pitch_deg, roll_deg)``.
    """
    rot = np.asarray(rotation, dtype=float)
    roll = math.atan2(rot[1, 0], rot[0, 0])
    c, s = math.cos(roll), math.sin(roll)
    # facing direction -R[:, 2], with the roll about the optical axis undone
    dx = -(c * rot[0, 2] + s * rot[1, 2])
    dy = -(-s * rot[0, 2] + c * rot[1, 2])
    dz = -rot[2, 2]
    yaw = math.atan2(dx, -dz)
    pitch = math.atan2(-dy, math.hypot(dx, dz))
    return math.degrees(yaw), math.degrees(pitch), math.degrees(roll)


def head_pose(landmarks_px, *, region_size_px):
    """Head orientation of one face in one frame, by solvePnP on the canonical face.

    Parameters
    ----------
    landmarks_px : array_like, shape (468 or 478, 2 or 3)
        FaceMesh landmarks in pixels of the person's region (only ``x`` and ``y`` are
        used).
    region_size_px : tuple of float
        ``(width, height)`` of the region, pixels: the camera model's focal length is
        the width and its principal point the centre (module docstring).

    Returns
    -------
    dict
        ``yaw_deg``, ``pitch_deg``, ``roll_deg`` (conventions in the module docstring),
        ``rotation`` (3 x 3 head-to-camera matrix) and ``translation_cm`` (3-vector,
        camera frame: position of the canonical model's origin, centimetres if the
        face had the canonical size and the focal length were right). All NaN if the
        solver fails.
    """
    func = "head_pose"
    lm = _check_landmarks(landmarks_px, func)
    width, height = _region(region_size_px, func)
    solved = _solve_pose(lm[_RIGID, :2], width, height)
    if solved is None:
        return {"yaw_deg": math.nan, "pitch_deg": math.nan, "roll_deg": math.nan,
                "rotation": np.full((3, 3), np.nan), "translation_cm": np.full(3, np.nan)}
    rotation, tvec = solved
    yaw, pitch, roll = pose_angles(rotation)
    return {"yaw_deg": yaw, "pitch_deg": pitch, "roll_deg": roll,
            "rotation": rotation, "translation_cm": tvec.ravel()}


def _solve_pose(rigid_px, width, height):
    """solvePnP of the image points of :data:`RIGID_LANDMARKS` (shape (n, 2)) on the
    canonical face -> ``(rotation, tvec)``, or None when there is no solution."""
    import cv2

    image = np.ascontiguousarray(rigid_px)
    if not np.isfinite(image).all():
        return None
    camera = np.array([[width, 0.0, width / 2], [0.0, width, height / 2], [0.0, 0.0, 1.0]])
    try:
        ok, rvec, tvec = cv2.solvePnP(_MODEL, image, camera, None, flags=cv2.SOLVEPNP_SQPNP)
    except cv2.error:  # degenerate input (all points equal, ...)
        return None
    if not ok:
        return None
    return cv2.Rodrigues(rvec)[0], tvec


def frontalise(landmarks_px):
    """Landmarks turned into the head frame, so that distances along the face's own axes
    can be measured whatever the head's orientation.

    The rotation is the least-squares one (Kabsch) that aligns FaceMesh's own 3-D
    positions of :data:`RIGID_LANDMARKS` (``z`` = FaceMesh depth scaled like ``x``) with
    the canonical face. It uses no camera model: FaceMesh's 3-D mesh is already an
    orthographic reconstruction of the face as seen. No scaling is applied.

    Parameters
    ----------
    landmarks_px : array_like, shape (468 or 478, 3)

    Returns
    -------
    numpy.ndarray, same shape
        Pixels, origin at the centroid of the rigid landmarks, axes of the head frame:
        ``x`` towards the subject's left, ``y`` towards the chin, ``z`` backwards.
    """
    lm = _check_landmarks(landmarks_px, "frontalise", dims=(3,))
    rigid = lm[_RIGID]
    centre = rigid.mean(axis=0)
    # Kabsch: rotation taking the observed rigid points onto the canonical ones
    u, _, vt = np.linalg.svd((rigid - centre).T @ _MODEL_CENTRED)
    flip = np.sign(np.linalg.det(u @ vt)) or 1.0
    rot = u @ np.diag([1.0, 1.0, flip]) @ vt  # observed -> head frame: p @ rot
    return (lm - centre) @ rot


def head_motion(time_s, centre_x_px, centre_y_px, face_size_px):
    """Speed of the face centre, in face sizes per second.

    Distance the face centre moved since the previous analysed frame, divided by the
    mean face size of both frames and by their true time difference (PTS).

    Parameters
    ----------
    time_s, centre_x_px, centre_y_px, face_size_px : array_like, shape (n,)
        Frame times (s), face centre (pixels) and face size (pixels); NaN where a frame
        has no face.

    Returns
    -------
    numpy.ndarray, shape (n,)
        NaN for the first frame and wherever either frame of a pair lacks a face.
    """
    time_s, cx, cy, size = (np.asarray(a, dtype=float)
                            for a in (time_s, centre_x_px, centre_y_px, face_size_px))
    speed = np.full(len(time_s), np.nan)
    if len(time_s) > 1:
        step_px = np.hypot(np.diff(cx), np.diff(cy))
        mean_size = (size[1:] + size[:-1]) / 2
        dt = np.diff(time_s)
        with np.errstate(invalid="ignore", divide="ignore"):
            speed[1:] = np.where(dt > 0, step_px / mean_size / dt, np.nan)
    return speed


def _region(region_size_px, func):
    try:
        width, height = (float(v) for v in region_size_px)
    except (TypeError, ValueError):
        width = height = math.nan
    if not (width > 0 and height > 0):
        raise ParameterError.expected(
            "region_size_px", func, "a (width, height) pair of positive sizes", region_size_px)
    return width, height
