"""Face tracks from mediapipe FaceMesh: one face per person, per analysed frame.

The first layout is the split screen: one recording, person A on the left, person B on
the right. Each person's part of every frame goes through its own FaceMesh instance
(tracking state belongs to one video stream) and becomes one row of small geometric
features; frames are never kept, so memory stays flat however long the recording is.

Feature definitions (all in :func:`face_features_from_landmarks`; landmark indices of
the 468/478-point FaceMesh topology; distances are 3-D when FaceMesh's depth ``z`` is
given, scaled to pixels like ``x``, which :func:`extract_face_split` always does):

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
    per second. NaN when either frame has no face.
``mouth_open``
    Inner-lip gap, distance between landmarks 13 and 14, divided by ``face_size_px``.

Every landmark set above is made of midline points and left/right mirror pairs, so a
mirrored face gives ``-head_x`` and the same ``head_y``, ``face_size_px``,
``head_motion`` and ``mouth_open`` (up to FaceMesh's own noise: its network is not
exactly mirror-symmetric).
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import sys
import time
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from synchrony.errors import MediaError, NoFaceError, ParameterError

__all__ = ["FACE_COLUMNS", "extract_face_split", "face_features_from_landmarks"]

logger = logging.getLogger("synchrony")

FACE_COLUMNS = ("face_detected", "head_x", "head_y", "face_size_px", "head_motion", "mouth_open")

_EYE_OUTER = (33, 263)
# Rigid points, which expressions and the jaw hardly move: eye corners, the nose ridge
# and the forehead/temple arc of the face oval. Pairs are mirror images of each other.
_CENTRE = (
    33, 263, 133, 362,  # outer and inner eye corners
    168, 6, 197, 195, 5, 4, 1,  # nose ridge, bridge to tip (midline)
    10, 109, 338, 67, 297, 103, 332, 54, 284, 21, 251, 162, 389, 127, 356, 234, 454,
)
_LIPS_INNER = (13, 14)


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


def _head_motion(time_s, cx, cy, size):
    """Face-centre speed in face sizes per second; NaN where a frame lacks a face."""
    speed = np.full(len(time_s), np.nan)
    if len(time_s) > 1:
        step_px = np.hypot(np.diff(cx), np.diff(cy))
        mean_size = (size[1:] + size[:-1]) / 2
        dt = np.diff(time_s)
        with np.errstate(invalid="ignore", divide="ignore"):
            speed[1:] = np.where(dt > 0, step_px / mean_size / dt, np.nan)
    return speed


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


def _face_mesh(min_detection_confidence):
    import mediapipe as mp

    mesh = mp.solutions.face_mesh.FaceMesh(
        static_image_mode=False, max_num_faces=1, refine_landmarks=True,
        min_detection_confidence=min_detection_confidence)
    # The models load on the first run; a blank image finds no face, so tracking state
    # is unchanged and the first real frame still starts with a detection.
    mesh.process(np.zeros((64, 64, 3), np.uint8))
    return mesh


_FIELDS = ("centre_x_px", "centre_y_px", "face_size_px", "head_x", "head_y", "mouth_open")


def _analyse(mesh, part):
    """One region of one frame -> the values of ``_FIELDS`` (NaN without a face)."""
    part = np.ascontiguousarray(part)  # mediapipe needs C-contiguous pixels
    height, width = part.shape[:2]
    result = mesh.process(part)
    if not result.multi_face_landmarks:
        return (np.nan,) * len(_FIELDS)
    lm = np.array([(p.x * width, p.y * height, p.z * width)
                   for p in result.multi_face_landmarks[0].landmark])
    features = face_features_from_landmarks(lm, region_size_px=(width, height))
    return tuple(features[k] for k in _FIELDS)


def _expected_frames(path, rate_hz):
    """Frame count for the progress bar, from the header (None when unknown)."""
    from synchrony.media import probe

    info = probe(path)
    n_frames = info.video.n_frames if info.video else None
    if rate_hz and info.duration_s:
        by_rate = math.ceil(info.duration_s * rate_hz)
        n_frames = min(n_frames, by_rate) if n_frames else by_rate
    return n_frames


def _check_options(func, persons, split, rate_hz, min_detection_confidence):
    if (not isinstance(persons, (tuple, list)) or len(persons) != 2
            or not all(isinstance(p, str) and p for p in persons) or persons[0] == persons[1]):
        raise ParameterError.expected(
            "persons", func, "two different non-empty labels (left, right)", persons)
    if not (isinstance(split, (int, float)) and 0 < split < 1):
        raise ParameterError.expected("split", func, "a fraction of the width in (0, 1)", split)
    if rate_hz is not None and not (isinstance(rate_hz, (int, float)) and rate_hz > 0):
        raise ParameterError.expected("rate_hz", func, "None or a positive rate in Hz", rate_hz)
    if not (isinstance(min_detection_confidence, (int, float))
            and 0 <= min_detection_confidence <= 1):
        raise ParameterError.expected(
            "min_detection_confidence", func, "a probability in [0, 1]",
            min_detection_confidence)


def extract_face_split(path, *, persons=("A", "B"), split=0.5, rate_hz=None,
                       min_detection_confidence=0.5, progress=False):
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
    rate_hz : float or None, default None
        Analyse frames at about this rate (Hz) instead of every frame; passed to
        :func:`synchrony.media.iter_frames`. Speeds are still divided by the true time
        between the analysed frames.
    min_detection_confidence : float, default 0.5
        FaceMesh's face-detection threshold, in [0, 1].
    progress : bool, default False
        Show a tqdm progress bar (frames analysed).

    Returns
    -------
    dict of str to pandas.DataFrame
        One frame per person, indexed by ``time_s`` (the frame's presentation time on the
        session clock, seconds), one row per analysed frame, with columns
        ``face_detected`` (bool) and the float features ``head_x``, ``head_y``,
        ``face_size_px``, ``head_motion`` (face sizes per second) and ``mouth_open``
        defined in this module's docstring; NaN where no face was found.

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
    _check_options(func, persons, split, rate_hz, min_detection_confidence)
    from tqdm.auto import tqdm

    from synchrony.media import iter_frames

    path = os.fspath(path)
    frames = iter_frames(path, rate_hz=rate_hz)  # opens and checks the file first
    rows = {label: [] for label in persons}  # a few floats per frame, never the frames
    regions = None
    meshes = []
    started = time.perf_counter()
    try:
        with _native_stderr_silenced():
            for _ in persons:
                meshes.append(_face_mesh(min_detection_confidence))
        # mediapipe releases the GIL while its graph runs, so the right person's mesh
        # works in a second thread while this one runs the left's (each mesh still sees
        # its frames in order, so results are the same as sequential).
        with warnings.catch_warnings(), ThreadPoolExecutor(1) as worker, tqdm(
                total=_expected_frames(path, rate_hz) if progress else None,
                desc=f"faces {os.path.basename(path)}", unit="frame",
                disable=not progress) as bar:
            # protobuf deprecation noise emitted while mediapipe converts its results
            warnings.filterwarnings("ignore", message=".*GetPrototype", category=UserWarning)
            for time_s, rgb in frames:
                if regions is None:
                    cut = min(max(round(split * rgb.shape[1]), 1), rgb.shape[1] - 1)
                    regions = (slice(0, cut), slice(cut, rgb.shape[1]))
                right = worker.submit(_analyse, meshes[1], rgb[:, regions[1]])
                rows[persons[0]].append((time_s, *_analyse(meshes[0], rgb[:, regions[0]])))
                rows[persons[1]].append((time_s, *right.result()))
                bar.update()
    finally:
        frames.close()
        for mesh in meshes:
            mesh.close()
    if regions is None:
        raise MediaError(path, "no video frames to analyse")

    tracks = {}
    for label, side in zip(persons, ("left", "right")):
        t, cx, cy, size, head_x, head_y, mouth = np.array(
            rows.pop(label), dtype=float).reshape(-1, 1 + len(_FIELDS)).T
        found = np.isfinite(size)
        if not found.any():
            raise NoFaceError(path, f"no face found in the {side} half (person {label})")
        tracks[label] = pd.DataFrame(
            {"face_detected": found, "head_x": head_x, "head_y": head_y,
             "face_size_px": size, "head_motion": _head_motion(t, cx, cy, size),
             "mouth_open": mouth},
            index=pd.Index(t, name="time_s"))
        logger.debug("%s: person %s (%s) has a face in %d of %d frames",
                     path, label, side, found.sum(), found.size)
    elapsed = time.perf_counter() - started
    logger.info("%s: face mesh on %d frames in %.1f s", path, len(t), elapsed)
    return tracks
