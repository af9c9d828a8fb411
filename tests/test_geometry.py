"""The face path's geometry kernel against the public functions that define its values.

``synchrony.extract.geometry.face_geometry`` computes every geometric column of a face
in one pass; the reference below is the obvious composition of the public, validated
functions (one call per definition, all 478 landmarks frontalised), as the face path
made them before the kernel. They must agree to rounding, on real FaceMesh output and on
synthetic faces in poses and states the real clip does not show.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from _facegen import clip_frames, mirrored, project, rotated, synthetic_head_cm

from synchrony.extract.expression import EXPRESSION_FEATURES, expression_features
from synchrony.extract.face import face_features_from_landmarks
from synchrony.extract.gaze import EYE_RADIUS_PER_WIDTH, direction_to_camera, gaze_angles
from synchrony.extract.geometry import face_geometry
from synchrony.extract.head import head_pose


def public_geometry(lm, width, height):
    """The kernel's values, one public function per definition."""
    region = (width, height)
    basic = face_features_from_landmarks(lm, region_size_px=region)
    pose = head_pose(lm, region_size_px=region)
    expression = expression_features(lm)
    gaze = gaze_angles(lm, pose)
    camera = direction_to_camera(lm, region_size_px=region)
    return (basic["centre_x_px"], basic["centre_y_px"], basic["face_size_px"],
            basic["head_x"], basic["head_y"],
            pose["yaw_deg"], pose["pitch_deg"], pose["roll_deg"],
            *(expression[k] for k in EXPRESSION_FEATURES),
            gaze["gaze_yaw_deg"], gaze["gaze_pitch_deg"], *camera)


def assert_agree(lm, width, height):
    got = np.array(face_geometry(np.asarray(lm, dtype=float), float(width), float(height),
                                 EYE_RADIUS_PER_WIDTH))
    want = np.array(public_geometry(lm, width, height))
    assert got.shape == (18,)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    # angles in degrees, lengths in pixels or face sizes: 1e-9 of their scale is rounding
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9)
    return got


@pytest.fixture(scope="module")
def real_landmarks(reference_dir):
    """FaceMesh landmarks of real frames: the reference clip as it is, mirrored and
    turned by 25 degrees (other yaw and roll)."""
    from synchrony.extract.face import _find_faces, _landmarks_px_from_bytes, mediapipe_meshes

    clip = reference_dir / "media" / "WolfgangLanger_Pexels.mp4"
    frames = clip_frames(clip, 216, 408)[::8]
    h, w = frames[0].shape[:2]
    videos = [frames, mirrored(frames), rotated(frames, 25, (w / 2, h / 2))]
    found = []
    with mediapipe_meshes(len(videos)) as meshes:
        for mesh, video in zip(meshes, videos):
            for frame in video:
                for raw in _find_faces(mesh, frame):
                    found.append(_landmarks_px_from_bytes(raw, w, h))
    assert len(found) >= 60  # a face in nearly every frame
    return found, (w, h)


def test_agrees_with_the_public_functions_on_real_faces(real_landmarks):
    found, (w, h) = real_landmarks
    values = np.array([assert_agree(lm, w, h) for lm in found])
    assert np.isfinite(values).all()
    roll = values[:, 7]
    assert roll.max() - roll.min() > 20  # the turned copy is among them


@pytest.mark.parametrize("yaw, pitch, roll", [(0, 0, 0), (35, -10, 5), (-50, 25, -40),
                                              (10, 40, 170)])
@pytest.mark.parametrize("eye_yaw, eye_pitch", [(0, 0), (25, -15), (-80, 60)])
def test_agrees_on_synthetic_faces_in_many_poses(yaw, pitch, roll, eye_yaw, eye_pitch):
    head = synthetic_head_cm(eye_yaw_deg=eye_yaw, eye_pitch_deg=eye_pitch, corner_lift_cm=0.3)
    lm = project(head, yaw_deg=yaw, pitch_deg=pitch, roll_deg=roll, position_cm=(4, -3, 60),
                 region_size_px=(720, 405))
    got = assert_agree(lm, 720, 405)
    assert got[5] == pytest.approx(yaw, abs=1)  # the planted pose, as head_pose finds it
    assert got[6] == pytest.approx(pitch, abs=1)


def test_agrees_on_a_mirror_image_mesh():
    # depth negated: the rigid points fit the canonical face only by a reflection, which
    # frontalise turns into the nearest rotation (its determinant check)
    lm = project(synthetic_head_cm(eye_yaw_deg=10), yaw_deg=20, roll_deg=10)
    lm[:, 2] = -lm[:, 2]
    assert_agree(lm, 640, 360)


def test_gives_nan_where_the_public_functions_do():
    flat = np.full((478, 3), 100.0)  # every landmark at one point: no size, no pose
    got = assert_agree(flat, 640, 360)
    assert np.isnan(got[2:16]).all() and np.isfinite(got[[0, 1, 16, 17]]).all()

    lm = project(synthetic_head_cm(), yaw_deg=5)
    lm[[33, 133, 362, 263]] = lm[133]  # both eyes zero wide: no gaze, the rest stays
    got = assert_agree(lm, 640, 360)
    assert np.isnan(got[14:16]).all() and not math.isnan(got[5])
