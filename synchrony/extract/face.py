"""Face tracks from mediapipe FaceMesh: one face per person, per analysed frame.

The first layout is the split screen: one recording, person A on the left, person B on
the right. Each person's part of every frame goes through its own FaceMesh instance
(tracking state belongs to one video stream) and becomes one row of features; frames
and landmarks are never kept, so memory stays flat however long the recording is.

This module does the pixel work (FaceMesh, the face crop); the geometry is defined in
:mod:`synchrony.extract.head` (head pose), :mod:`synchrony.extract.expression`
(expression features) and :mod:`synchrony.extract.gaze` (gaze, looking, trust), whose
docstrings define those columns and their sign conventions, and computed frame by frame
by the one-pass kernel of :mod:`synchrony.extract.geometry`.

Feature definitions of this module (in :func:`face_features_from_landmarks`; landmark
indices of the 468/478-point FaceMesh topology; distances are 3-D when FaceMesh's depth
``z`` is given, scaled to pixels like ``x``, which :func:`extract_face_split` always does):

``face_size_px``
    Inter-ocular distance between the outer eye corners 33 and 263, in pixels. In 3-D
    it barely changes when the head turns, as infants' heads often do (on the reference
    clip: coefficient of variation 2.0 % in 3-D against 2.4 % in 2-D, and no longer
    correlated with yaw).
``head_x``, ``head_y``
    Face centre = mean of 28 rigid landmarks that expressions and the jaw hardly move:
    the eye corners (33, 263, 133, 362), the nose ridge (168, 6, 197, 195, 5, 4, 1) and
    the forehead/temple arc of the face oval (10 and the pairs 109/338, 67/297,
    103/332, 54/284, 21/251, 162/389, 127/356, 234/454). Averaging many points damps
    landmark jitter: frame-to-frame speed from this centre agrees with the speed found
    in the mirrored video better than a 5-point centre's does (r 0.96 against 0.92 over
    the whole reference clip). Given relative to the centre of the person's region and
    divided by ``face_size_px``, so that moving the camera closer does not change the
    scale. ``x`` grows to the image right, ``y`` downwards.
``head_motion``
    Distance the face centre moved since the previous analysed frame, divided by the
    mean face size of both frames and by their true time difference (PTS): face sizes
    per second (:func:`synchrony.extract.head.head_motion`). NaN when either frame has
    no face.
``mouth_open``
    Inner-lip gap, distance between landmarks 13 and 14, divided by ``face_size_px``.

Every landmark set above is made of midline points and left/right mirror pairs, so a
mirrored face gives ``-head_x`` and the same ``head_y``, ``face_size_px``,
``head_motion`` and ``mouth_open`` (up to FaceMesh's own noise: its network is not
exactly mirror-symmetric).

Pixel features of the face crop: a square of side 1.9 face sizes centred 0.45 face sizes
below the face centre (it spans brow to chin and cheek to cheek; clipped at the region's
edges), cut from the person's part, turned grey (ITU-R 601 luma, 0-255) and resampled by
area averaging to 64 x 64 pixels, so the face's size in the picture does not change the
values:

``face_motion``
    Motion energy of the face region: mean absolute grey-level difference between two
    consecutive analysed frames, both cut with the *earlier* frame's square (so the
    difference sees the face move inside it, as frame differencing in a fixed region
    of interest does, while the region follows the face and never takes in the
    partner), divided by the true time between the frames: grey levels per second.
    NaN when either frame has no face.
``sharpness``
    ``var(Laplacian) / var(grey)`` of the crop (:func:`sharpness`): high-frequency share
    of the face's contrast, independent of its brightness and contrast, and of the face's
    size in the picture. 0.17-0.28 (5th-95th percentile) on the sharp reference clip; see
    :mod:`synchrony.extract.gaze` for the threshold below which gaze is not trusted.

Quality: ``face_detected`` (bool) says whether FaceMesh found the face;
``gaze_trusted`` (bool, :func:`synchrony.extract.gaze.gaze_trusted`) whether its gaze
can be believed. FaceMesh's legacy solution reports neither a detection score nor
per-landmark visibility or presence (its landmarks carry ``x``, ``y``, ``z`` only), so
there is no landmark-confidence column.

Looking at the partner, in the split-screen layout (each half a face-to-face view from a
camera at the partner): the line of sight within 15 deg of the direction from the face to
the camera (:func:`synchrony.extract.gaze.looking_at`); 1.0 or 0.0, NaN without a face.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import queue
import sys
import threading
import time
import warnings
from array import array

import numpy as np
import pandas as pd

from synchrony.config import FACE_BACKENDS
from synchrony.errors import MediaError, NoFaceError, ParameterError
from synchrony.extract.expression import _LIPS_INNER
from synchrony.extract.facecount import face_counters
from synchrony.extract.gaze import EYE_RADIUS_PER_WIDTH, gaze_trusted, looking_at
from synchrony.extract.geometry import CENTRE_LANDMARKS as _CENTRE
from synchrony.extract.geometry import EYE_OUTER as _EYE_OUTER
from synchrony.extract.geometry import face_geometry
from synchrony.extract.head import head_motion

__all__ = ["FACE_BACKENDS", "FACE_COLUMNS", "FACE_EXTRACTOR_VERSION", "backend_columns",
           "extract_face_split", "face_features_from_landmarks", "sharpness"]

logger = logging.getLogger("synchrony")

FACE_COLUMNS = (
    "face_detected", "gaze_trusted",  # quality (bool)
    "head_x", "head_y", "face_size_px", "head_motion",
    "head_yaw_deg", "head_pitch_deg", "head_roll_deg",
    "smile", "mouth_open", "brow_raise", "eye_open_left", "eye_open_right", "eye_open",
    "face_motion",
    "gaze_yaw_deg", "gaze_pitch_deg", "looking_at_partner",
    "sharpness",
)
# Changes whenever a column's definition does: stage caches can key on it.
FACE_EXTRACTOR_VERSION = "2"


def face_features_from_landmarks(landmarks_px, *, region_size_px):
    """Geometric face features of one face in one frame.

    Parameters
    ----------
    landmarks_px : array_like, shape (468 or 478, 2 or 3)
        FaceMesh landmarks in pixels of the person's region: columns ``x``, ``y`` and
        optionally ``z`` (FaceMesh depth multiplied by the region width, as for ``x``).
    region_size_px : tuple of float
        ``(width, height)`` of the person's region in pixels; ``head_x`` and ``head_y``
        are measured from its centre.

    Returns
    -------
    dict
        ``centre_x_px``, ``centre_y_px`` (face centre in region pixels),
        ``face_size_px`` (pixels), ``head_x``, ``head_y`` and ``mouth_open`` (face sizes);
        see the module docstring for the landmark sets.
    """
    func = "face_features_from_landmarks"
    lm = np.asarray(landmarks_px, dtype=float)
    if lm.ndim != 2 or lm.shape[0] not in (468, 478) or lm.shape[1] not in (2, 3):
        raise ParameterError.expected(
            "landmarks_px", func, "an array of shape (468 or 478, 2 or 3)", lm.shape)
    width, height = (float(v) for v in region_size_px)
    if not (width > 0 and height > 0):
        raise ParameterError.expected(
            "region_size_px", func, "a (width, height) pair of positive sizes",
            region_size_px)
    size = float(np.linalg.norm(lm[_EYE_OUTER[0]] - lm[_EYE_OUTER[1]]))
    cx, cy = lm[list(_CENTRE), :2].mean(axis=0)
    mouth = float(np.linalg.norm(lm[_LIPS_INNER[0]] - lm[_LIPS_INNER[1]]))
    if not size > 0:  # degenerate mesh: no scale to normalise by
        size = float("nan")
    return {
        "centre_x_px": float(cx),
        "centre_y_px": float(cy),
        "face_size_px": size,
        "head_x": (cx - width / 2) / size,
        "head_y": (cy - height / 2) / size,
        "mouth_open": mouth / size,
    }


@contextlib.contextmanager
def _native_stderr_silenced():
    """Send file descriptor 2 to the null device for a short block, then restore it.

    TF-Lite and absl in mediapipe's C++ print banners ("Created TensorFlow Lite XNNPACK
    delegate", "Feedback manager ...") straight to fd 2 when a graph first runs; neither
    GLOG_minloglevel nor Python logging reaches them. Only the construction and warm-up
    of the FaceMesh graphs run inside this block, so little else can be lost.
    """
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (AttributeError, OSError, ValueError):  # no usable fd 2 (pythonw, services)
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _face_mesh(min_detection_confidence, max_num_faces=1):
    import mediapipe as mp

    mesh = mp.solutions.face_mesh.FaceMesh(
        static_image_mode=False, max_num_faces=max_num_faces, refine_landmarks=True,
        min_detection_confidence=min_detection_confidence)
    # The models load on the first run; a blank image finds no face, so tracking state
    # is unchanged and the first real frame still starts with a detection.
    mesh.process(np.zeros((64, 64, 3), np.uint8))
    return mesh


@contextlib.contextmanager
def mediapipe_meshes(n_meshes, *, max_num_faces=1, min_detection_confidence=0.5):
    """``n_meshes`` FaceMesh graphs started quietly, closed afterwards.

    While they run, OpenCV's own thread pool is off (:func:`_cv_single_threaded`) and
    protobuf's deprecation noise is silenced; the caller's settings are restored
    afterwards.
    """
    with _cv_single_threaded(), quiet_models(
            lambda: _face_mesh(min_detection_confidence, max_num_faces), n_meshes) as meshes:
        yield meshes


@contextlib.contextmanager
def quiet_models(build, n):
    """``n`` mediapipe models from ``build()``, built with the native banners silenced
    (:func:`_native_stderr_silenced`) and used with protobuf's deprecation noise
    filtered, closed afterwards."""
    models = []
    try:
        with _native_stderr_silenced():
            for _ in range(n):
                models.append(build())
        with warnings.catch_warnings():
            # emitted while mediapipe converts its results
            warnings.filterwarnings("ignore", message=".*GetPrototype", category=UserWarning)
            yield models
    finally:
        for model in models:
            model.close()


@contextlib.contextmanager
def _cv_single_threaded():
    """OpenCV's own thread pool off for a block, the caller's setting restored after:
    it only costs on crops this small, and the extractors' threads keep the cores busy."""
    import cv2

    cv_threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    try:
        yield
    finally:
        cv2.setNumThreads(cv_threads)


def backend_columns(backend):
    """The columns ``backend`` adds to :data:`FACE_COLUMNS` (none for ``"facemesh"``;
    the ``bs_`` and ``expr_`` columns of :mod:`synchrony.extract.landmarker` for
    ``"landmarker"``)."""
    if backend == "landmarker":
        from synchrony.extract.landmarker import LANDMARKER_FEATURES

        return LANDMARKER_FEATURES
    return ()


def n_scores(backend):
    """How many raw per-frame values ``backend`` adds to ``_FIELDS`` (its scores)."""
    if backend == "landmarker":
        from synchrony.extract.landmarker import BLENDSHAPE_NAMES

        return len(BLENDSHAPE_NAMES)
    return 0


@contextlib.contextmanager
def face_finders(n, *, backend="facemesh", max_num_faces=1, min_detection_confidence=0.5):
    """``n`` face finders of ``backend``, one per video stream, closed afterwards.

    A finder is ``find(image, time_s) -> list of (landmarks_px, scores)``: each face
    found in the C-contiguous RGB ``image`` (the frame's time ``time_s`` on the video's
    clock, seconds), as (478, 3) landmarks in pixels of ``image`` (``z`` scaled like
    ``x``) and a tuple of the backend's raw per-frame scores (empty for FaceMesh, the
    52 blendshape scores for the Landmarker). Each finder tracks the face between the
    frames of its own stream, so give each stream its own, and its frames in order.
    """
    if backend == "landmarker":
        from synchrony.extract.landmarker import face_landmarkers

        with _cv_single_threaded(), face_landmarkers(
                n, max_num_faces=max_num_faces,
                min_detection_confidence=min_detection_confidence) as landmarkers:
            yield [_landmarker_finder(landmarker) for landmarker in landmarkers]
    else:
        with mediapipe_meshes(n, max_num_faces=max_num_faces,
                              min_detection_confidence=min_detection_confidence) as meshes:
            yield [_mesh_finder(mesh) for mesh in meshes]


def _mesh_finder(mesh):
    def find(image, time_s):
        height, width = image.shape[:2]
        return [(_landmarks_px_from_bytes(raw, width, height), ())
                for raw in _find_faces(mesh, image)]
    return find


def _landmarker_finder(landmarker):
    from synchrony.extract.landmarker import detect_faces, timestamp_ms

    previous = None

    def find(image, time_s):
        nonlocal previous
        previous = timestamp_ms(time_s, previous_ms=previous)
        return [(lm, tuple(scores)) for lm, scores, _ in detect_faces(landmarker, image, previous)]
    return find


def progress_bar(path, rate_hz, enabled, *, position=0):
    """A tqdm bar over the frames of ``path`` (inert when not ``enabled``)."""
    from tqdm.auto import tqdm

    return tqdm(total=_expected_frames(path, rate_hz) if enabled else None,
                desc=f"faces {os.path.basename(path)}", unit="frame", disable=not enabled,
                position=position)


_CROP_PX = 64  # side of the resampled face crop
_CROP_SIDE = 1.9  # face sizes: brow to chin, cheek to cheek
_CROP_DOWN = 0.45  # face sizes from the face centre (nose bridge) to the crop's centre

# Per-frame values one analysis produces, in this order.
_FIELDS = ("centre_x_px", "centre_y_px", "face_size_px", "head_x", "head_y",
           "head_yaw_deg", "head_pitch_deg", "head_roll_deg",
           "smile", "mouth_open", "brow_raise", "eye_open_left", "eye_open_right", "eye_open",
           "crop_difference", "gaze_yaw_deg", "gaze_pitch_deg",
           "camera_yaw_deg", "camera_pitch_deg", "sharpness")

# Serialized NormalizedLandmark with x, y and z set: tag, length, then three fixed32
# fields. Reading the bytes is ~10x faster than 478 x 3 attribute reads in Python.
_LANDMARK_BYTES = np.dtype([("tag", "u1"), ("len", "u1"), ("tx", "u1"), ("x", "<f4"),
                            ("ty", "u1"), ("y", "<f4"), ("tz", "u1"), ("z", "<f4")])
_LANDMARK_TAGS = (0x0A, 15, 0x0D, 0x15, 0x1D)


def _landmarks_px_from_bytes(raw, width, height):
    """A serialized ``NormalizedLandmarkList`` -> (n, 3) pixels, ``z`` scaled like ``x``."""
    if len(raw) % _LANDMARK_BYTES.itemsize == 0:
        rec = np.frombuffer(raw, dtype=_LANDMARK_BYTES)
        if all((rec[k] == v).all() for k, v in zip(("tag", "len", "tx", "ty", "tz"),
                                                   _LANDMARK_TAGS)):
            out = np.empty((len(rec), 3))
            out[:, 0], out[:, 1], out[:, 2] = rec["x"], rec["y"], rec["z"]  # to float64 first
            out *= (width, height, width)
            return out
    # a field equal to 0.0 is left out of the bytes, or visibility/presence are set
    from mediapipe.framework.formats import landmark_pb2

    landmark_list = landmark_pb2.NormalizedLandmarkList.FromString(raw)
    return np.array([(p.x * width, p.y * height, p.z * width)
                     for p in landmark_list.landmark])


def _find_faces(mesh, image):
    """FaceMesh on one C-contiguous RGB image -> the serialized ``NormalizedLandmarkList``
    of each face found (an empty list if none).

    The same graph call as ``mesh.process(image)``, timestamp step included, without what
    ``process`` adds around it: a copy of the pixels, a namedtuple class built on every
    call, and every landmark parsed into Python objects only to be serialized
    again. That is ~0.5 ms of the ~6 ms a call costs here. It uses
    internals of mediapipe's ``SolutionBase``, unchanged across the 0.10.x line pinned in
    pyproject; without them it falls back to ``process``.
    """
    # Read-only, mediapipe's packet refers to these pixels instead of copying them; they
    # stay alive as long as it does, and nothing here writes to them.
    image = image.view()
    image.flags.writeable = False
    try:
        graph, outputs = mesh._graph, mesh._graph_outputs
        (stream, kind), = mesh._input_stream_type_info.items()
        from mediapipe.python import packet_creator
        from mediapipe.python._framework_bindings import _packet_getter, image_frame
    except (AttributeError, ImportError, ValueError):
        found = mesh.process(image).multi_face_landmarks or []
        return [landmarks.SerializeToString() for landmarks in found]
    outputs.clear()
    mesh._simulated_timestamp += 33333  # what process() steps by (30 fps)
    packet = getattr(packet_creator, "create_" + kind.value)(
        image, image_format=image_frame.ImageFormat.SRGB)
    graph.add_packet_to_input_stream(stream=stream,
                                     packet=packet.at(mesh._simulated_timestamp))
    graph.wait_until_idle()
    found = outputs.get("multi_face_landmarks")  # an empty packet when no face is found
    if found is None or found.is_empty():
        return []
    return _packet_getter._get_serialized_proto_list(found)


def sharpness(grey):
    """Sharpness of a grey image: ``var(Laplacian(grey)) / var(grey)``.

    The Laplacian's variance measures the energy of the finest details (blur removes
    them first); dividing by the image's own variance makes it independent of
    brightness and contrast. On a crop resampled to a fixed size relative to the face
    it does not depend on the face's size in the picture either.

    Parameters
    ----------
    grey : array_like, shape (h, w)
        Grey levels (any scale).

    Returns
    -------
    float
        Dimensionless, >= 0; NaN for a uniform image.
    """
    import cv2

    grey = np.asarray(grey, dtype=np.float32)
    spread = float(cv2.meanStdDev(grey)[1][0, 0]) ** 2
    if not spread > 0:
        return math.nan
    return float(cv2.meanStdDev(cv2.Laplacian(grey, cv2.CV_32F))[1][0, 0]) ** 2 / spread


def _crop_box(cx, cy, size, width, height):
    """The face crop's square (x0, y0, x1, y1), clipped to the region; None if empty."""
    half = _CROP_SIDE * size / 2
    cy = cy + _CROP_DOWN * size
    x0, x1 = max(int(round(cx - half)), 0), min(int(round(cx + half)), width)
    y0, y1 = max(int(round(cy - half)), 0), min(int(round(cy + half)), height)
    return (x0, y0, x1, y1) if x1 - x0 >= 2 and y1 - y0 >= 2 else None


def _resample(grey):
    """A grey patch -> the fixed-size float crop, by area averaging.

    Area averaging, unlike bilinear sampling, neither aliases nor blurs by an amount
    that depends on the patch's size, so the crop's detail (and so its motion energy and
    sharpness) scales with the face. For speed, a whole-number reduction comes first
    (OpenCV's fast path; it trims the patch by under one output pixel), and patches of
    512 px and more are halved with a Gaussian pyramid before that, its slight blur
    then below 1/4 crop pixel.
    """
    import cv2

    while min(grey.shape) >= 8 * _CROP_PX:
        grey = cv2.pyrDown(grey)
    k = min(grey.shape) // _CROP_PX
    if k >= 2:
        h, w = grey.shape[0] // k, grey.shape[1] // k
        grey = cv2.resize(grey[:h * k, :w * k], (w, h), interpolation=cv2.INTER_AREA)
    return cv2.resize(grey, (_CROP_PX, _CROP_PX), interpolation=cv2.INTER_AREA).astype(np.float32)


def _face_crops(rgb, box, previous_box):
    """Grey crops of ``box`` and of ``previous_box`` (None if not given) in one frame.

    Converts the union of both squares to grey once: they overlap almost entirely.
    """
    import cv2

    boxes = [box] if previous_box is None else [box, previous_box]
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
    grey = cv2.cvtColor(rgb[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY)  # OpenCV reads row strides
    crops = [_resample(grey[b[1] - y0:b[3] - y0, b[0] - x0:b[2] - x0]) for b in boxes]
    return crops[0], (crops[1] if previous_box is not None else None)


class _Person:
    """One person's face model and what one frame passes to the next (one crop)."""

    def __init__(self, find, n_extra=0, count=None):
        self.find = find  # (image, time_s) -> list of (landmarks_px, extra values)
        self.count = count  # a synchrony.extract.facecount.FaceCounter, or None
        self.no_face = (math.nan,) * (len(_FIELDS) + n_extra)
        self.box = None  # the previous frame's crop square, None if it had no face
        self.crop = None
        self.buffers = []  # C-contiguous copies of the region, reused frame after frame

    def contiguous(self, part):
        """``part`` as C-contiguous pixels (mediapipe needs them), copied into one of two
        buffers kept from frame to frame when it is a view into a larger frame.

        A fresh megabyte-sized array per frame costs more than the copy: the allocator
        hands it new pages from the kernel each time, each page a fault. Nothing reads a
        frame's pixels after its :meth:`analyse` returns (the models are done with them,
        and the face crop kept for the next frame is a copy); the two buffers alternate
        all the same, so a model that still holds the last frame's packet never sees
        its pixels change under it.
        """
        if part.flags.c_contiguous:
            return part
        if not self.buffers or self.buffers[0].shape != part.shape:
            self.buffers = [np.empty_like(part) for _ in range(2)]
        self.buffers.reverse()
        np.copyto(self.buffers[0], part)
        return self.buffers[0]

    def analyse(self, part, time_s):
        """One region of one frame -> the values of ``_FIELDS`` and the backend's extra
        features (NaN without a face)."""
        part = self.contiguous(part)
        if self.count is not None:
            self.count(part, time_s)
        found = self.find(part, time_s)
        if not found:
            return self.missing()
        lm, extra = found[0]
        return self.measure(lm, part) + extra

    def missing(self):
        """The values of a frame where this person's face was not found."""
        self.box = self.crop = None
        return self.no_face

    def measure(self, lm, image):
        """Landmarks (pixels of ``image``, ``z`` scaled like ``x``) -> ``_FIELDS``.

        ``image`` is the RGB picture the landmarks are in (the person's region); its
        size is the camera model's (see :mod:`synchrony.extract.head`).
        """
        height, width = image.shape[:2]
        values = face_geometry(lm, width, height, EYE_RADIUS_PER_WIDTH)
        cx, cy, size = values[:3]
        difference = sharp = math.nan
        box = crop = None
        if np.isfinite(size):
            box = _crop_box(cx, cy, size, width, height)
        if box is not None:
            crop, then_box_now = _face_crops(image, box, self.box)
            if then_box_now is not None:
                difference = float(np.abs(then_box_now - self.crop).mean())
            sharp = sharpness(crop)
        self.box, self.crop = box, crop
        return values[:14] + (difference,) + values[14:] + (sharp,)


def _track(time_s, v, scores=None):
    """Per-frame values of ``_FIELDS`` (and a backend's raw scores, shape (n_frames,
    n_scores), if it has any) -> one person's table of ``FACE_COLUMNS`` (and the
    backend's columns)."""
    found = np.isfinite(v["face_size_px"])
    with np.errstate(invalid="ignore", divide="ignore"):
        dt = np.diff(time_s, prepend=np.nan)
        face_motion = np.where(dt > 0, v["crop_difference"] / dt, np.nan)
    columns = {
        "face_detected": found,
        "gaze_trusted": gaze_trusted(v["face_size_px"], v["head_yaw_deg"],
                                     v["head_pitch_deg"], v["eye_open"], v["sharpness"]),
        "head_motion": head_motion(time_s, v["centre_x_px"], v["centre_y_px"],
                                   v["face_size_px"]),
        "face_motion": face_motion,
        "looking_at_partner": looking_at(v["gaze_yaw_deg"], v["gaze_pitch_deg"],
                                         v["camera_yaw_deg"], v["camera_pitch_deg"]),
    }
    names = FACE_COLUMNS
    if scores is not None and scores.shape[1]:
        from synchrony.extract.landmarker import blendshape_features

        extra = blendshape_features(scores.reshape(-1, scores.shape[1]))
        columns.update(extra)
        names = FACE_COLUMNS + tuple(extra)
    return pd.DataFrame({c: columns[c] if c in columns else v[c] for c in names},
                        index=pd.Index(time_s, name="time_s"))


def _track_from_rows(rows, n_extra):
    """Flat per-frame rows ``(time_s, *_FIELDS, *scores)`` -> one person's track."""
    table = np.frombuffer(rows, dtype=float).reshape(-1, 1 + len(_FIELDS) + n_extra)
    fields = dict(zip(_FIELDS, table[:, 1:1 + len(_FIELDS)].T))
    return _track(table[:, 0], fields, table[:, 1 + len(_FIELDS):])


@contextlib.contextmanager
def read_ahead(frames, *, depth=2):
    """Run the iterator ``frames`` in a thread of its own, up to ``depth`` items ahead.

    Decoding the next frame then overlaps the FaceMesh calls on this one instead of
    waiting for them. Items come out in order; an exception ``frames`` raises comes out
    where its item would have. On leaving the block the thread stops and ``frames`` is
    closed there (a generator must be closed by the thread that runs it).

    Parameters
    ----------
    frames : iterator
        Typically :func:`synchrony.media.iter_frames`; only this thread may use it.
    depth : int, keyword-only
        Items held ready at most (each a decoded frame: memory stays flat).

    Yields
    ------
    iterator
        The items of ``frames``, in order.

    Examples
    --------
    >>> with read_ahead(iter(range(3))) as items:
    ...     list(items)
    [0, 1, 2]
    """
    items = queue.Queue(depth)
    stop = threading.Event()

    def put(item):
        while not stop.is_set():
            try:
                items.put(item, timeout=0.05)
                return True
            except queue.Full:
                pass
        return False

    def produce():
        try:
            for item in frames:
                if not put((True, item)):
                    return
            put((False, None))
        except BaseException as err:  # handed to the consumer, raised there
            put((False, err))
        finally:
            close = getattr(frames, "close", None)  # generators have it, plain iterators not
            if close is not None:
                close()

    def consume():
        while True:
            ok, item = items.get()
            if ok:
                yield item
            elif item is None:
                return
            else:
                raise item

    worker = threading.Thread(target=produce, name="synchrony-read-ahead", daemon=True)
    worker.start()
    try:
        yield consume()
    finally:
        stop.set()
        worker.join()


@contextlib.contextmanager
def _lane(person, rows, *, depth=4):
    """Analyse one person's parts of the frames in a thread of its own, in order.

    Yields ``submit(time_s, part)``, which queues a part (blocking while ``depth`` are
    waiting, so memory stays flat) and appends ``time_s`` and the part's ``_FIELDS`` to
    ``rows`` when its turn comes. Leaving the block waits for the queue to empty; an
    exception in the thread is raised by the next ``submit`` or on leaving.
    """
    jobs = queue.Queue(depth)
    failed = []

    def work():
        while (job := jobs.get()) is not None:
            if not failed:  # after a failure, only drain
                try:
                    rows.extend((job[0], *person.analyse(job[1], job[0])))
                except BaseException as err:
                    failed.append(err)

    def submit(time_s, part):
        if failed:
            raise failed[0]
        jobs.put((time_s, part))

    worker = threading.Thread(target=work, name="synchrony-face-lane", daemon=True)
    worker.start()
    try:
        yield submit
    finally:
        jobs.put(None)
        worker.join()
    if failed:
        raise failed[0]


def _expected_frames(path, rate_hz):
    """Frame count for the progress bar, from the header (None when unknown)."""
    from synchrony.media import probe

    info = probe(path)
    n_frames = info.video.n_frames if info.video else None
    if rate_hz and info.duration_s:
        by_rate = math.ceil(info.duration_s * rate_hz)
        n_frames = min(n_frames, by_rate) if n_frames else by_rate
    return n_frames


def _regions(path, shape, split, regions_px):
    """Index expressions of the two persons' parts of a frame of ``shape``."""
    height, width = shape[:2]
    if regions_px is None:
        cut = min(max(round(split * width), 1), width - 1)
        return (np.s_[:, :cut], np.s_[:, cut:])
    for x, y, w, h in regions_px:
        if x < 0 or y < 0 or x + w > width or y + h > height:
            raise MediaError(path, f"region {(x, y, w, h)} lies outside the {width}x{height} frame")
    return tuple(np.s_[y:y + h, x:x + w] for x, y, w, h in regions_px)


def check_backend(backend, func):
    """Raise ParameterError unless ``backend`` is one of :data:`FACE_BACKENDS`."""
    if backend not in FACE_BACKENDS:
        raise ParameterError.expected("backend", func, f"one of {FACE_BACKENDS}", backend)


def _check_options(func, persons, split, rate_hz, min_detection_confidence,
                   backend="facemesh"):
    if (not isinstance(persons, (tuple, list)) or len(persons) != 2
            or not all(isinstance(p, str) and p for p in persons) or persons[0] == persons[1]):
        raise ParameterError.expected(
            "persons", func, "two different non-empty labels (left, right)", persons)
    if not (isinstance(split, (int, float)) and 0 < split < 1):
        raise ParameterError.expected("split", func, "a fraction of the width in (0, 1)", split)
    if rate_hz is not None and not (isinstance(rate_hz, (int, float)) and rate_hz > 0):
        raise ParameterError.expected("rate_hz", func, "None or a positive rate in Hz", rate_hz)
    check_backend(backend, func)
    if not (isinstance(min_detection_confidence, (int, float))
            and 0 <= min_detection_confidence <= 1):
        raise ParameterError.expected(
            "min_detection_confidence", func, "a probability in [0, 1]",
            min_detection_confidence)


def extract_face_split(path, *, persons=("A", "B"), split=0.5, regions_px=None, rate_hz=None,
                       backend="facemesh", min_detection_confidence=0.5, progress=False):
    """Face tracks of two people filmed side by side in one split-screen recording.

    Parameters
    ----------
    path : str or os.PathLike
        The recording.
    persons : tuple of str, default ("A", "B")
        Labels of the person on the left and the person on the right.
    split : float, default 0.5
        Where the two parts meet, as a fraction of the frame width: columns
        ``x < round(split * width)`` belong to ``persons[0]``, the rest to ``persons[1]``.
    regions_px : pair of (x, y, width, height), optional
        The two persons' parts as rectangles in pixels of the upright frame, instead of
        ``split``; they must lie inside the frame.
    rate_hz : float or None, default None
        Analyse frames at about this rate (Hz) instead of every frame; passed to
        :func:`synchrony.media.iter_frames`. Speeds are still divided by the true time
        between the analysed frames.
    backend : {"facemesh", "landmarker"}, default "facemesh"
        The face model (:data:`FACE_BACKENDS`). Both give the columns below from the
        same landmark topology; ``"landmarker"`` adds each person's blendshape scores
        ``bs_<name>`` and the composites ``expr_smile``, ``expr_distress``,
        ``expr_eye_closure`` and ``expr_brow_raise`` (0-1,
        :mod:`synchrony.extract.landmarker`), at about twice the model's cost.
    min_detection_confidence : float, default 0.5
        The face detector's threshold, in [0, 1].
    progress : bool, default False
        Show a tqdm progress bar (frames analysed).

    Returns
    -------
    dict of str to pandas.DataFrame
        One frame per person, indexed by ``time_s`` (the frame's presentation time on the
        session clock, seconds), one row per analysed frame, with the columns of
        :data:`FACE_COLUMNS`: the quality flags ``face_detected`` and ``gaze_trusted``
        (bool); ``head_x``, ``head_y`` (face sizes), ``face_size_px``, ``head_motion``
        (face sizes per second), ``face_motion`` (grey levels per second),
        ``mouth_open`` and ``sharpness`` (this module's docstring); ``head_yaw_deg``,
        ``head_pitch_deg``, ``head_roll_deg`` (:mod:`synchrony.extract.head`);
        ``smile``, ``mouth_open``, ``brow_raise``, ``eye_open_left``,
        ``eye_open_right``, ``eye_open`` (face sizes, :mod:`synchrony.extract.expression`);
        ``gaze_yaw_deg``, ``gaze_pitch_deg`` and ``looking_at_partner`` (1.0 or 0.0,
        :mod:`synchrony.extract.gaze`); with ``backend="landmarker"`` also the columns
        of :func:`backend_columns`. Floats are NaN where no face was found.

    Warns
    -----
    On the "synchrony" logger, when a person's part shows more than one face in at least
    10 % of the frames counted every 5 s (:mod:`synchrony.extract.facecount`): that
    person's track may follow another face.

    Raises
    ------
    NoFaceError
        If one person's part holds no face in any analysed frame.
    MediaError
        If the recording yields no video frames.
    ParameterError
        If an option is out of its domain.
    """
    func = "extract_face_split"
    _check_options(func, persons, split, rate_hz, min_detection_confidence, backend)
    from synchrony.media import iter_frames

    path = os.fspath(path)
    # Decoded in a thread of its own while the two face lanes keep the cores busy: FFmpeg's
    # frame threads would only add their hand-overs (measured: ~17 % less decoding CPU).
    frames = iter_frames(path, rate_hz=rate_hz, decoder_threads=1)  # opens and checks the file
    # a few dozen floats per person per frame (8 bytes each), never frames or landmarks
    rows = {label: array("d") for label in persons}
    extra = n_scores(backend)
    regions = None
    started = time.perf_counter()
    try:
        with face_finders(2, backend=backend,
                          min_detection_confidence=min_detection_confidence) as finders, \
                face_counters(2, min_detection_confidence=min_detection_confidence) as counters, \
                progress_bar(path, rate_hz, progress) as bar, read_ahead(frames) as decoded:
            left, right = (_Person(find, extra, count) for find, count in zip(finders, counters))
            # mediapipe releases the GIL while its graph runs, so the right person's model
            # works in a thread of its own, a few frames behind this one at most and never
            # waiting for it frame by frame; the next frames decode in a third. Each model
            # still sees its frames in order, so results are the same as sequential.
            with _lane(right, rows[persons[1]]) as analyse_right:
                for time_s, rgb in decoded:
                    if regions is None:
                        regions = _regions(path, rgb.shape, split, regions_px)
                    analyse_right(time_s, rgb[regions[1]])
                    rows[persons[0]].extend((time_s, *left.analyse(rgb[regions[0]], time_s)))
                    bar.update()
    finally:
        frames.close()  # when read_ahead never started (the models failed to load)
    if regions is None:
        raise MediaError(path, "no video frames to analyse")

    tracks = {}
    for label, side in zip(persons, ("left", "right")):
        tracks[label] = _track_from_rows(rows.pop(label), extra)
        found = tracks[label]["face_detected"]
        if not found.any():
            raise NoFaceError(path, f"no face found in the {side} half (person {label})")
        counters[persons.index(label)].warn(path, f"the {side} half (person {label})")
        logger.debug("%s: person %s (%s) has a face in %d of %d frames",
                     path, label, side, found.sum(), found.size)
    elapsed = time.perf_counter() - started
    logger.info("%s: %s on %d frames in %.1f s", path, backend, len(found), elapsed)
    return tracks
