"""Head pose: sign conventions on hand-made geometry, known answers on a real face.

Video tests put the reference clip on the left of a split screen and a transformed copy
on the right; both halves go through ``extract_face_split``. The mirrored copy uses the
whole clip (19.7 s, 472 frames: pitch varies too little in shorter stretches for a
correlation to mean much), the turned copy its last 10 s.

FaceMesh is not mirror-equivariant: on exactly mirrored frames its landmarks give a yaw
that differs from the negated original by a median 1.6 deg (more when the head is
turned: the difference grows with yaw) and a pitch that differs by a median 1.1 deg,
correlated with yaw (r = -0.6), so pitch over the clip agrees with r = 0.955 only. The
thresholds leave room for that; a lost sign, a swapped axis or a wrong unit fails them
by far (yaw spans -25 to +7 deg, roll -25 to +25 deg over the clip).
"""

from __future__ import annotations

import numpy as np
import pytest
from _facegen import (
    LAST_10_S,
    mirror_landmarks,
    mirrored,
    project,
    rotated,
    split_tracks,
    synthetic_head_cm,
)

from synchrony.errors import ParameterError
from synchrony.extract.head import (
    RIGID_LANDMARKS,
    canonical_face_cm,
    frontalise,
    head_motion,
    head_pose,
    pose_angles,
    rotation_matrix,
)

REGION = (640, 360)
ROLL_DEG = 15.0


def _pose(lm, region=REGION):
    p = head_pose(lm, region_size_px=region)
    return np.array([p["yaw_deg"], p["pitch_deg"], p["roll_deg"]])


# --- conventions, by hand -----------------------------------------------------------------

def test_rotation_conventions_by_hand():
    # the face points along R @ (0, 0, -1); camera x right, y down, z away from the camera
    np.testing.assert_allclose(-rotation_matrix(30, 0, 0)[:, 2], [0.5, 0, -np.sqrt(3) / 2],
                               atol=1e-12)  # yaw > 0: towards the image's right
    np.testing.assert_allclose(-rotation_matrix(0, 30, 0)[:, 2], [0, -0.5, -np.sqrt(3) / 2],
                               atol=1e-12)  # pitch > 0: up (y grows downwards)
    # roll > 0: the eye line (head x axis) turns clockwise on screen, its right end down
    np.testing.assert_allclose(rotation_matrix(0, 0, 30)[:, 0], [np.sqrt(3) / 2, 0.5, 0],
                               atol=1e-12)


@pytest.mark.parametrize("angles", [(0, 0, 0), (20, -15, 30), (-40, 25, -170), (75, 5, 60)])
def test_pose_angles_invert_rotation_matrix(angles):
    np.testing.assert_allclose(pose_angles(rotation_matrix(*angles)), angles, atol=1e-9)


def test_canonical_face_is_mirror_symmetric_and_in_the_head_frame():
    model = dict(zip(RIGID_LANDMARKS, canonical_face_cm()))
    for right, left in [(33, 263), (133, 362), (109, 338), (234, 454)]:
        np.testing.assert_allclose(model[left], model[right] * [-1, 1, 1])
    assert model[33][0] < 0 < model[263][0]  # subject's right eye on the image's left
    assert model[10][1] < model[1][1]  # forehead above the nose tip (y towards the chin)
    assert model[1][2] < model[234][2]  # nose tip nearer the camera than the face's side


# --- head_pose on exact projections ---------------------------------------------------------

@pytest.mark.parametrize("pose", [(0, 0, 0), (25, -10, 5), (-35, 20, -30), (10, 30, 170)])
@pytest.mark.parametrize("position_cm", [(0, 0, 50), (12, -6, 70)])
def test_head_pose_recovers_the_pose_of_a_projected_canonical_face(pose, position_cm):
    lm = project(synthetic_head_cm(), yaw_deg=pose[0], pitch_deg=pose[1], roll_deg=pose[2],
                 position_cm=position_cm)
    np.testing.assert_allclose(_pose(lm), pose, atol=1e-3)
    translation = head_pose(lm, region_size_px=REGION)["translation_cm"]
    origin_cm = canonical_face_cm().mean(axis=0)  # the model's origin is not the centroid
    assert np.linalg.norm(translation - position_cm) < np.linalg.norm(origin_cm) + 1e-6


def test_turning_the_picture_about_the_principal_point_adds_to_roll_only():
    lm = project(synthetic_head_cm(), yaw_deg=15, pitch_deg=-8, roll_deg=4, position_cm=(6, 3, 60))
    a = np.radians(ROLL_DEG)  # clockwise on screen: x right, y down
    centre = np.array(REGION) / 2
    turned = lm.copy()
    turned[:, :2] = (lm[:, :2] - centre) @ np.array([[np.cos(a), np.sin(a)],
                                                     [-np.sin(a), np.cos(a)]]) + centre
    before, after = _pose(lm), _pose(turned)
    np.testing.assert_allclose(after - before, [0, 0, ROLL_DEG], atol=1e-3)


def test_mirrored_landmarks_negate_yaw_and_roll_and_keep_pitch():
    lm = project(synthetic_head_cm(), yaw_deg=22, pitch_deg=-12, roll_deg=9,
                 position_cm=(8, -4, 55))
    yaw, pitch, roll = _pose(lm)
    np.testing.assert_allclose(_pose(mirror_landmarks(lm, REGION[0])), [-yaw, pitch, -roll],
                               atol=1e-3)


def test_head_pose_of_a_degenerate_or_missing_face_is_nan():
    for lm in (np.full((478, 3), np.nan), np.zeros((478, 3))):
        assert np.isnan(_pose(lm)).all()


@pytest.mark.parametrize("shape", [(478,), (100, 2), (478, 4)])
def test_head_pose_rejects_bad_shapes(shape):
    with pytest.raises(ParameterError):
        head_pose(np.zeros(shape), region_size_px=REGION)


@pytest.mark.parametrize("region", [(0, 10), (10,), "ab", None])
def test_head_pose_rejects_bad_regions(region):
    with pytest.raises(ParameterError):
        head_pose(np.zeros((478, 3)), region_size_px=region)


def test_frontalise_undoes_the_head_rotation():
    head = synthetic_head_cm()
    lm = project(head, yaw_deg=-30, pitch_deg=15, roll_deg=20, weak=True)
    face = frontalise(lm)
    # weak perspective: head-frame cm times f / depth, about the rigid centroid
    rigid = list(RIGID_LANDMARKS)
    expected = (head - head[rigid].mean(axis=0)) * REGION[0] / 50
    np.testing.assert_allclose(face, expected, atol=1e-6)


def test_head_motion_uses_true_time_steps_and_gaps():
    t = np.array([0.0, 0.05, 0.15, 0.20, 0.25])
    cx = np.array([0.0, 3.0, 3.0, np.nan, 6.0])
    cy = np.array([0.0, 4.0, 4.0, np.nan, 8.0])
    size = np.array([10.0, 10.0, 10.0, np.nan, 10.0])
    # 5 px in 0.05 s at 10 px per face: 10 face sizes per second; then still; then gaps
    np.testing.assert_allclose(head_motion(t, cx, cy, size), [np.nan, 10.0, 0.0, np.nan, np.nan])


# --- known answers on the real clip ---------------------------------------------------------

@pytest.fixture(scope="module")
def clip(reference_dir):
    return reference_dir / "media" / "WolfgangLanger_Pexels.mp4"


@pytest.fixture(scope="module")
def mirror(clip, tmp_path_factory):
    tracks, _ = split_tracks("mirror", clip, tmp_path_factory, mirrored)
    return tracks["A"], tracks["B"]


def _r(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    ok = np.isfinite(a) & np.isfinite(b)
    assert ok.sum() > 400
    return np.corrcoef(a[ok], b[ok])[0, 1]


def test_mirrored_copy_negates_yaw_and_roll_and_keeps_pitch(mirror):
    a, b = mirror
    assert a["face_detected"].all() and b["face_detected"].all()
    yaw_a, yaw_b = a["head_yaw_deg"], b["head_yaw_deg"]
    assert yaw_a.quantile(0.05) < -15  # turned well away from frontal, so a sign shows
    assert _r(yaw_a, -yaw_b) > 0.95
    assert np.median(np.abs(yaw_a + yaw_b)) < 2.5
    roll_a, roll_b = a["head_roll_deg"], b["head_roll_deg"]
    assert _r(roll_a, -roll_b) > 0.99
    assert np.median(np.abs(roll_a + roll_b)) < 1.0
    pitch_a, pitch_b = a["head_pitch_deg"], b["head_pitch_deg"]
    assert _r(pitch_a, pitch_b) > 0.9
    assert np.median(np.abs(pitch_a - pitch_b)) < 2.0


def test_frame_turned_by_a_known_angle_changes_roll_by_it(mirror, clip, tmp_path_factory):
    a, _ = mirror
    # turn about the face's median centre, so the face stays in the picture
    centre = (np.median(a["head_x"] * a["face_size_px"]) + REGION[0] / 2,
              np.median(a["head_y"] * a["face_size_px"]) + REGION[1] / 2)
    tracks, _ = split_tracks("roll15", clip, tmp_path_factory,
                             lambda frames: rotated(frames, ROLL_DEG, centre), LAST_10_S)
    change = (tracks["B"]["head_roll_deg"] - tracks["A"]["head_roll_deg"]).dropna()
    assert len(change) > 200
    assert abs(change.median() - ROLL_DEG) < 3
    assert (np.abs(change - ROLL_DEG) < 3).mean() > 0.95
