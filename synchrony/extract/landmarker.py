"""Blendshapes and head pose from MediaPipe's Face Landmarker (Tasks API), offline.

The Face Landmarker gives, per face and frame, the 478 landmarks of FaceMesh with iris,
52 blendshape scores (calibrated expression coefficients in [0, 1], ARKit-style names:
``mouthSmileLeft``, ``browInnerUp``, ``eyeBlinkLeft``, ``jawOpen``, ...) and a 4 x 4
facial transformation matrix (head pose). No mediapipe wheel ships its model bundle, so
synchrony ships it (``synchrony/models/face_landmarker.task``, Apache-2.0, provenance in
the README beside it) and checks its sha256 before use: nothing is downloaded.

Blendshape signals
------------------
``bs_<name>`` for each name of :data:`BLENDSHAPE_NAMES` but ``_neutral``, spelled as the
model spells it (``bs_mouthSmileLeft``, ``bs_jawOpen``): the names researchers find in
the ARKit and MediaPipe documentation, with no translation table between. Scores are in
[0, 1]. The model's first category ``_neutral`` is a placeholder that stays at zero (at
most 6.6e-6 over 200 frames of an expressive face), so it is no signal: a constant has
no correlation with anything. ``Left`` and ``Right`` are the subject's own sides, as in
ARKit and in :mod:`synchrony.extract.expression` (covering the subject's right eye, on
the image's left, raises ``eyeBlinkRight``: tests/test_landmarker.py); mirroring the
picture swaps them.

The network that turns landmarks into scores is not exactly mirror-symmetric: on the
mirrored reference clip (WolfgangLanger_Pexels.mp4, every frame, VIDEO mode) the
composites below correlate with the unmirrored ones at r 0.93 (smile, distress), 0.94
(brow raise) and 0.99 (eye closure), and ``jawOpen`` at 0.77 (its range there is only
0-0.12), while the landmarks themselves mirror closely (geometric ``smile`` of
:mod:`synchrony.extract.expression`: r 0.99). A slight, lopsided smile can score 0.5 one
way round and 0.1 the other.

Composite expression signals
----------------------------
Means of blendshape scores, so each stays in [0, 1]; they are symmetric in left and
right, so a mirrored face gives the same values. Prefixed ``expr_`` because
:mod:`synchrony.extract.expression` already has geometric ``smile`` and ``brow_raise``
columns (lengths on the face, in face sizes) that these do not replace.

``expr_smile``
    mean(mouthSmileLeft, mouthSmileRight): the lip-corner puller (FACS AU 12).
``expr_distress``
    mean(browInnerUp, mouthFrownLeft, mouthFrownRight): inner brow raised and lip corners
    pulled down (AU 1 + AU 15), the oblique brow and down-turned mouth of sadness and
    distress.
``expr_eye_closure``
    mean(eyeBlinkLeft, eyeBlinkRight): lids closed (AU 43/45).
``expr_brow_raise``
    mean(browInnerUp, browOuterUpLeft, browOuterUpRight): brows raised (AU 1 + 2), as
    in interest and surprise.

Head pose
---------
:func:`pose_from_matrix` reads yaw, pitch and roll from the transformation matrix with
the conventions of :mod:`synchrony.extract.head` (yaw > 0: face turned to the image's
right; pitch > 0: chin up; roll > 0: clockwise in the image), so they can be compared
with :func:`synchrony.extract.head.head_pose` from the same landmarks. The two differ in
their camera: the Landmarker's geometry pipeline uses its own perspective camera, head.py
a pinhole with focal length = region width. On the reference clip (yaw -16 to 8, pitch
-11 to 14, roll -25 to 22 deg) they correlate at r 0.99 (yaw), 0.93 (pitch) and 0.99
(roll), with mean absolute differences of 3.7, 3.4 and 1.7 deg, mostly constant offsets.

Timestamps
----------
A Landmarker in VIDEO mode tracks the face from frame to frame and needs strictly
increasing integer millisecond timestamps. :func:`timestamp_ms` derives them from the
frames' true times (PTS): ``round(time_s * 1000)``, bumped by 1 ms when two frames
round to the same millisecond (frames less than 1 ms apart), so a timestamp stays
within a few ms of its frame's time.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import numbers
import os
from pathlib import Path

import numpy as np

from synchrony.errors import ModelError, ParameterError

__all__ = [
    "BLENDSHAPE_COLUMNS",
    "BLENDSHAPE_NAMES",
    "EXPRESSION_COMPOSITES",
    "LANDMARKER_FEATURES",
    "MODEL_SHA256",
    "blendshape_features",
    "detect",
    "detect_faces",
    "face_landmarkers",
    "model_path",
    "pose_from_matrix",
    "timestamp_ms",
    "verify_model",
]

MODEL_SHA256 = "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"
_MODEL_FILE = Path(__file__).resolve().parent.parent / "models" / "face_landmarker.task"

# The model's 52 output categories, in its output order (index i = score i).
BLENDSHAPE_NAMES = (
    "_neutral",
    "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight",
    "eyeBlinkLeft", "eyeBlinkRight", "eyeLookDownLeft", "eyeLookDownRight",
    "eyeLookInLeft", "eyeLookInRight", "eyeLookOutLeft", "eyeLookOutRight",
    "eyeLookUpLeft", "eyeLookUpRight", "eyeSquintLeft", "eyeSquintRight",
    "eyeWideLeft", "eyeWideRight",
    "jawForward", "jawLeft", "jawOpen", "jawRight",
    "mouthClose", "mouthDimpleLeft", "mouthDimpleRight", "mouthFrownLeft", "mouthFrownRight",
    "mouthFunnel", "mouthLeft", "mouthLowerDownLeft", "mouthLowerDownRight",
    "mouthPressLeft", "mouthPressRight", "mouthPucker", "mouthRight",
    "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper",
    "mouthSmileLeft", "mouthSmileRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthUpperUpLeft", "mouthUpperUpRight", "noseSneerLeft", "noseSneerRight",
)
# Signals: every category but the `_neutral` placeholder (module docstring).
BLENDSHAPE_COLUMNS = tuple("bs_" + name for name in BLENDSHAPE_NAMES if name != "_neutral")
EXPRESSION_COMPOSITES = {
    "expr_smile": ("mouthSmileLeft", "mouthSmileRight"),
    "expr_distress": ("browInnerUp", "mouthFrownLeft", "mouthFrownRight"),
    "expr_eye_closure": ("eyeBlinkLeft", "eyeBlinkRight"),
    "expr_brow_raise": ("browInnerUp", "browOuterUpLeft", "browOuterUpRight"),
}
# Columns of blendshape_features, in this order.
LANDMARKER_FEATURES = BLENDSHAPE_COLUMNS + tuple(EXPRESSION_COMPOSITES)

_INDEX = {name: i for i, name in enumerate(BLENDSHAPE_NAMES)}
_SIGNAL_INDEX = [_INDEX[c[3:]] for c in BLENDSHAPE_COLUMNS]
_COMPOSITE_INDEX = {k: [_INDEX[n] for n in names] for k, names in EXPRESSION_COMPOSITES.items()}

# Files whose sha256 matched, by (path, size, mtime): hashed once per process, and again
# if the file changes.
_VERIFIED: set = set()


def verify_model(path):
    """Check that ``path`` is the face landmarker model synchrony ships.

    Parameters
    ----------
    path : str or os.PathLike
        A ``face_landmarker.task`` file.

    Returns
    -------
    pathlib.Path
        ``path``, once its sha256 equals :data:`MODEL_SHA256` (checked once per process
        while the file's size and modification time stay the same).

    Raises
    ------
    ModelError
        If the file is missing or unreadable, or its sha256 differs.

    Examples
    --------
    >>> verify_model(model_path()) == model_path()
    True
    """
    path = Path(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise ModelError(path, "missing (the face landmarker model ships inside the "
                               "synchrony package: reinstall synchrony)") from None
    except OSError as err:
        raise ModelError(path, f"unreadable ({err.strerror})") from None
    key = (os.fspath(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _VERIFIED:
        _read_verified(path)
        _VERIFIED.add(key)
    return path


def model_path():
    """The face landmarker model that ships inside synchrony, sha256 checked.

    Returns
    -------
    pathlib.Path
        ``synchrony/models/face_landmarker.task`` of the installed package.

    Raises
    ------
    ModelError
        If it is missing or altered (see :func:`verify_model`).

    Examples
    --------
    >>> model_path().name
    'face_landmarker.task'
    """
    return verify_model(_MODEL_FILE)


def _read_verified(path):
    """The bytes of ``path`` after checking their sha256: the bytes checked are the
    bytes the Landmarker is built from."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise ModelError(path, "missing") from None
    except OSError as err:
        raise ModelError(path, f"unreadable ({err.strerror})") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != MODEL_SHA256:
        raise ModelError(path, f"sha256 mismatch: expected {MODEL_SHA256}, got {digest} "
                               "(the file is altered or corrupt)")
    return data


def blendshape_features(scores):
    """Blendshape signals and composite expression signals from the model's scores.

    Parameters
    ----------
    scores : array_like, shape (52,) or (n_frames, 52)
        Scores in the order of :data:`BLENDSHAPE_NAMES`, in [0, 1]; NaN where no face
        was found.

    Returns
    -------
    dict of str to float or numpy.ndarray
        The columns of :data:`LANDMARKER_FEATURES`: ``bs_<name>`` (each score but
        ``_neutral``) and the composites of :data:`EXPRESSION_COMPOSITES` (means of
        scores, module docstring); floats for one frame, arrays of shape (n_frames,)
        for several. NaN wherever a score they use is NaN.

    Raises
    ------
    ParameterError
        If ``scores`` has the wrong shape or an infinite value.

    Examples
    --------
    >>> s = np.zeros(52)
    >>> s[BLENDSHAPE_NAMES.index("mouthSmileLeft")] = 0.8
    >>> s[BLENDSHAPE_NAMES.index("mouthSmileRight")] = 0.6
    >>> f = blendshape_features(s)
    >>> round(f["expr_smile"], 3), f["bs_mouthSmileLeft"], f["expr_distress"]
    (0.7, 0.8, 0.0)
    """
    func = "blendshape_features"
    try:
        s = np.asarray(scores, dtype=float)
    except (TypeError, ValueError):
        raise ParameterError.expected("scores", func, "a numeric array",
                                      type(scores).__name__) from None
    n = len(BLENDSHAPE_NAMES)
    if s.ndim not in (1, 2) or s.shape[-1] != n:
        raise ParameterError.expected("scores", func, f"an array of shape ({n},) or (n, {n})",
                                      s.shape)
    if np.isinf(s).any():
        raise ParameterError.expected("scores", func, "finite or NaN values", "an infinite value")
    out = {col: s[..., i] for col, i in zip(BLENDSHAPE_COLUMNS, _SIGNAL_INDEX)}
    for name, idx in _COMPOSITE_INDEX.items():
        out[name] = s[..., idx].mean(axis=-1)
    if s.ndim == 1:
        return {k: float(v) for k, v in out.items()}
    return out


def timestamp_ms(time_s, *, previous_ms=None):
    """The VIDEO-mode timestamp of a frame: its time in whole ms, strictly increasing.

    Parameters
    ----------
    time_s : float
        The frame's presentation time, seconds.
    previous_ms : int or None, keyword-only
        The timestamp given to the same Landmarker's previous frame (None for its first).

    Returns
    -------
    int
        ``round(time_s * 1000)``, or ``previous_ms + 1`` if that is not later than
        ``previous_ms``.

    Examples
    --------
    >>> timestamp_ms(0.0417), timestamp_ms(0.0419, previous_ms=42)
    (42, 43)
    """
    func = "timestamp_ms"
    if not (isinstance(time_s, numbers.Real) and math.isfinite(time_s)):
        raise ParameterError.expected("time_s", func, "a finite time in seconds", time_s)
    ms = int(round(float(time_s) * 1000.0))
    if previous_ms is not None:
        ms = max(ms, int(previous_ms) + 1)
    return ms


def pose_from_matrix(matrix):
    """Head yaw, pitch and roll (degrees) from the Landmarker's transformation matrix.

    Parameters
    ----------
    matrix : array_like, shape (4, 4) or (3, 3)
        The facial transformation matrix (or its rotation part): it maps the canonical
        face model (``x`` to the subject's left, ``y`` up, ``z`` out of the face) into
        the Landmarker's camera space (``x`` right, ``y`` up, ``z`` towards the viewer).

    Returns
    -------
    tuple of float
        ``(yaw_deg, pitch_deg, roll_deg)`` with the conventions of
        :mod:`synchrony.extract.head`: yaw > 0 turned to the image's right, pitch > 0
        chin up, roll > 0 clockwise in the image. Mirroring the picture negates yaw and
        roll. NaN if the matrix is not finite.

    Examples
    --------
    >>> from synchrony.extract.head import rotation_matrix
    >>> flip = np.diag([1.0, -1.0, -1.0])  # head.py's frames <-> the Landmarker's
    >>> m = flip @ rotation_matrix(20, -10, 5) @ flip
    >>> [round(a, 6) for a in pose_from_matrix(m)]
    [20.0, -10.0, 5.0]
    """
    from synchrony.extract.head import pose_angles

    m = np.asarray(matrix, dtype=float)
    if m.shape not in ((4, 4), (3, 3)):
        raise ParameterError.expected("matrix", "pose_from_matrix",
                                      "an array of shape (4, 4) or (3, 3)", m.shape)
    if not np.isfinite(m[:3, :3]).all():
        return (math.nan, math.nan, math.nan)
    # Both the model and the camera frames differ from head.py's by flipping y and z.
    rot = _FLIP @ m[:3, :3] @ _FLIP
    # nearest rotation: drops any scale the geometry pipeline leaves in the matrix
    u, _, vt = np.linalg.svd(rot)
    rot = u @ np.diag([1.0, 1.0, np.sign(np.linalg.det(u @ vt)) or 1.0]) @ vt
    return pose_angles(rot)


_FLIP = np.diag([1.0, -1.0, -1.0])


@contextlib.contextmanager
def face_landmarkers(n, *, max_num_faces=1, min_detection_confidence=0.5):
    """``n`` Face Landmarkers in VIDEO mode, built quietly from the shipped model, closed
    afterwards.

    Each finds at most ``max_num_faces`` faces and outputs blendshapes and the
    transformation matrix. Give each video stream (each person's region) its own
    Landmarker: it tracks the face between that stream's frames.

    Parameters
    ----------
    n : int
        How many, >= 1.
    max_num_faces : int, keyword-only, default 1
        Faces each looks for (``num_faces``), >= 1.
    min_detection_confidence : float, keyword-only, default 0.5
        The face detector's threshold (``min_face_detection_confidence``), in [0, 1].

    Yields
    ------
    list of mediapipe.tasks.python.vision.FaceLandmarker

    Raises
    ------
    ModelError
        If the shipped model is missing or altered.

    Examples
    --------
    >>> with face_landmarkers(2) as (left, right):
    ...     detect(left, np.zeros((64, 64, 3), np.uint8), 0) is None
    True
    """
    func = "face_landmarkers"
    if not (isinstance(n, numbers.Integral) and not isinstance(n, bool) and n >= 1):
        raise ParameterError.expected("n", func, "an integer >= 1", n)
    if not (isinstance(max_num_faces, numbers.Integral) and not isinstance(max_num_faces, bool)
            and max_num_faces >= 1):
        raise ParameterError.expected("max_num_faces", func, "an integer >= 1", max_num_faces)
    if not (isinstance(min_detection_confidence, numbers.Real)
            and 0 <= min_detection_confidence <= 1):
        raise ParameterError.expected("min_detection_confidence", func, "a probability in [0, 1]",
                                      min_detection_confidence)
    data = _read_verified(model_path())
    from mediapipe.tasks.python import BaseOptions, vision

    from synchrony.extract.face import quiet_models

    options = vision.FaceLandmarkerOptions(
        base_options=BaseOptions(model_asset_buffer=data),
        running_mode=vision.RunningMode.VIDEO, num_faces=int(max_num_faces),
        min_face_detection_confidence=float(min_detection_confidence),
        output_face_blendshapes=True, output_facial_transformation_matrixes=True)
    # the native banners (TF-Lite delegate, feedback manager) all print while building
    with quiet_models(lambda: vision.FaceLandmarker.create_from_options(options), n) as landmarkers:
        yield landmarkers


def detect(landmarker, rgb, timestamp_ms):
    """One frame through a VIDEO-mode Face Landmarker.

    Parameters
    ----------
    landmarker : mediapipe.tasks.python.vision.FaceLandmarker
        From :func:`face_landmarkers`.
    rgb : numpy.ndarray, shape (height, width, 3), uint8
        The person's region of the frame.
    timestamp_ms : int
        Strictly greater than the previous frame's on this Landmarker
        (:func:`timestamp_ms` gives it from the frame's time).

    Returns
    -------
    None or tuple
        None when no face is found; else, for the first face found,
        ``(landmarks_px, scores, matrix)`` (:func:`detect_faces` gives all of them):
        ``landmarks_px`` float array (478, 3) in pixels of ``rgb``, ``x`` right and
        ``y`` down, ``z`` the model's depth scaled like ``x`` (as
        :mod:`synchrony.extract.face` gives FaceMesh's, so the same geometry applies);
        ``scores`` float array (52,) in the order of :data:`BLENDSHAPE_NAMES`;
        ``matrix`` float array (4, 4), the facial transformation matrix
        (:func:`pose_from_matrix`).

    Raises
    ------
    ParameterError
        If ``rgb`` is not an RGB uint8 image or ``timestamp_ms`` is not later than the
        previous one.

    Examples
    --------
    >>> frames = [(0.0, np.zeros((360, 640, 3), np.uint8))]  # (time_s, rgb) pairs
    >>> with face_landmarkers(1) as (landmarker,):
    ...     previous = None
    ...     for time_s, rgb in frames:
    ...         previous = timestamp_ms(time_s, previous_ms=previous)
    ...         found = detect(landmarker, rgb, previous)
    >>> found is None  # a black frame has no face
    True
    """
    found = _detect(landmarker, rgb, timestamp_ms, "detect")
    return found[0] if found else None


def detect_faces(landmarker, rgb, timestamp_ms):
    """Every face one frame holds, through a VIDEO-mode Face Landmarker.

    As :func:`detect`, but returns a list with one ``(landmarks_px, scores, matrix)``
    per face found (up to the Landmarker's ``max_num_faces``; empty when none), in the
    model's order, which says nothing about who is who.
    """
    return _detect(landmarker, rgb, timestamp_ms, "detect_faces")


def _detect(landmarker, rgb, timestamp_ms, func):
    if not (isinstance(rgb, np.ndarray) and rgb.dtype == np.uint8 and rgb.ndim == 3
            and rgb.shape[2] == 3 and rgb.shape[0] > 0 and rgb.shape[1] > 0):
        got = (rgb.dtype, rgb.shape) if isinstance(rgb, np.ndarray) else type(rgb).__name__
        raise ParameterError.expected("rgb", func, "a uint8 array of shape (height, width, 3)",
                                      got)
    if not (isinstance(timestamp_ms, numbers.Integral) and not isinstance(timestamp_ms, bool)):
        raise ParameterError.expected("timestamp_ms", func, "an integer (milliseconds)",
                                      timestamp_ms)
    image = np.ascontiguousarray(rgb)
    height, width = image.shape[:2]
    try:
        found = _run(landmarker, image, int(timestamp_ms))
    except ValueError as err:
        if "monotonically increasing" not in str(err):
            raise
        raise ParameterError.expected(
            "timestamp_ms", func, "later than the previous frame's on this landmarker",
            timestamp_ms) from None
    from synchrony.extract.face import _landmarks_px_from_bytes

    return [(_landmarks_px_from_bytes(raw, width, height), scores, matrix)
            for raw, scores, matrix in found]


def _run(landmarker, image, ms):
    """The Landmarker on one image -> a list of (serialized landmarks, scores, matrix).

    The graph call of ``detect_for_video`` without building its result objects (478
    landmark dataclasses parsed from protobuf, ~1 ms of the ~10 ms a frame costs here),
    through internals of mediapipe's Tasks API unchanged across the 0.10.x line pinned
    in pyproject; without them it falls back to ``detect_for_video``.
    """
    import mediapipe as mp

    try:
        from mediapipe.framework.formats import classification_pb2, matrix_data_pb2
        from mediapipe.python import packet_creator
        from mediapipe.python._framework_bindings import _packet_getter
        from mediapipe.tasks.cc.vision.face_geometry.proto import face_geometry_pb2
        from mediapipe.tasks.python.vision import face_landmarker as task
        names = (task._IMAGE_IN_STREAM_NAME, task._NORM_RECT_STREAM_NAME,
                 task._NORM_LANDMARKS_STREAM_NAME, task._BLENDSHAPES_STREAM_NAME,
                 task._FACE_GEOMETRY_STREAM_NAME)
        process = landmarker._process_video_data
    except (AttributeError, ImportError):
        return _run_public(landmarker, image, ms)
    image_in, rect_in, landmarks_out, blendshapes_out, geometry_out = names
    mp_image = mp.Image(image_format=mp.ImageFormat.SRGB, data=image)
    rect = landmarker.convert_to_normalized_rect(None, mp_image, roi_allowed=False)
    at = ms * 1000  # microseconds
    out = process({
        image_in: packet_creator.create_image(mp_image).at(at),
        rect_in: packet_creator.create_proto(rect.to_pb2()).at(at),
    })
    if out[landmarks_out].is_empty():
        return []
    raw = _packet_getter._get_serialized_proto_list(out[landmarks_out])
    shapes = _packet_getter._get_serialized_proto_list(out[blendshapes_out])
    geometries = _packet_getter._get_serialized_proto_list(out[geometry_out])
    faces = []
    for landmarks, shape, geometry in zip(raw, shapes, geometries):
        scores = np.full(len(BLENDSHAPE_NAMES), np.nan)
        for c in classification_pb2.ClassificationList.FromString(shape).classification:
            scores[c.index] = c.score
        data = face_geometry_pb2.FaceGeometry.FromString(geometry).pose_transform_matrix
        packed = np.array(data.packed_data, dtype=float)
        if data.layout == matrix_data_pb2.MatrixData.Layout.ROW_MAJOR:
            matrix = packed.reshape(data.rows, data.cols)
        else:  # packed column by column
            matrix = packed.reshape(data.cols, data.rows).T
        faces.append((landmarks, scores, matrix))
    return faces


def _run_public(landmarker, image, ms):
    """:func:`_run` through the public ``detect_for_video`` (slower, same values)."""
    import mediapipe as mp
    from mediapipe.framework.formats import landmark_pb2

    result = landmarker.detect_for_video(
        mp.Image(image_format=mp.ImageFormat.SRGB, data=image), ms)
    faces = []
    for landmarks, shapes, matrix in zip(result.face_landmarks, result.face_blendshapes,
                                         result.facial_transformation_matrixes):
        raw = landmark_pb2.NormalizedLandmarkList(landmark=[
            landmark_pb2.NormalizedLandmark(x=p.x, y=p.y, z=p.z)
            for p in landmarks]).SerializeToString()
        scores = np.full(len(BLENDSHAPE_NAMES), np.nan)
        for c in shapes:
            scores[c.index] = c.score
        faces.append((raw, scores, np.asarray(matrix, dtype=float)))
    return faces
