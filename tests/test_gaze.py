"""Gaze: the eyeball model and its composition with head pose on a synthetic face,
looking/trust/mutual-gaze rules by hand, known answers on a real face.

FaceMesh's iris landmarks are less mirror-symmetric than its face: on the reference clip
the horizontal eye-in-head angle of the mirrored copy differs from the negated original by
a median 1.6-3.4 deg where the eyes are open, 4.5-17 deg where they are nearly shut (which
is what ``gaze_trusted`` is for). The video tests therefore look at trusted frames.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _facegen import (
    LAST_10_S,
    delayed,
    mirror_landmarks,
    mirrored,
    project,
    split_tracks,
    synthetic_head_cm,
)

from synchrony.errors import ParameterError
from synchrony.extract.gaze import (
    CONE_DEG,
    angle_between_deg,
    direction_to_camera,
    direction_to_point,
    gaze_angles,
    gaze_trusted,
    looking_at,
    mutual_gaze,
)
from synchrony.extract.head import head_pose

REGION = (640, 360)


def _gaze(lm, pose=None):
    """Eye and gaze angles; head pose from solvePnP unless given as (yaw, pitch, roll)."""
    if pose is None:
        pose = head_pose(lm, region_size_px=REGION)
    else:
        pose = dict(zip(("yaw_deg", "pitch_deg", "roll_deg"), pose))
    g = gaze_angles(lm, pose)
    return np.array([g["eye_yaw_deg"], g["eye_pitch_deg"], g["gaze_yaw_deg"], g["gaze_pitch_deg"]])


@pytest.mark.parametrize("eyes", [(0, 0), (20, 0), (0, -15), (-25, 10)])
def test_eye_angles_of_a_frontal_face_follow_the_eyeball_model(eyes):
    # weak perspective, as FaceMesh's own mesh; head pose given, not estimated
    lm = project(synthetic_head_cm(eye_yaw_deg=eyes[0], eye_pitch_deg=eyes[1]), weak=True)
    np.testing.assert_allclose(_gaze(lm, (0, 0, 0)), [*eyes, *eyes], atol=1e-6)


def test_iris_to_the_image_right_and_below_means_looking_right_and_down():
    lm = project(synthetic_head_cm(), weak=True)
    base = _gaze(lm)
    lm[[468, 473], 0] += 0.5  # both irises half a pixel to the image's right
    lm[[468, 473], 1] += 0.5  # and down
    moved = _gaze(lm)
    assert moved[0] > base[0] and moved[1] < base[1]


def test_gaze_composes_eye_and_head_rotations():
    head = synthetic_head_cm(eye_yaw_deg=15, eye_pitch_deg=0)
    # yaw about the same axis: the angles add
    lm = project(head, yaw_deg=20, weak=True)
    g = gaze_angles(lm, {"yaw_deg": 20.0, "pitch_deg": 0.0, "roll_deg": 0.0})
    assert g["eye_yaw_deg"] == pytest.approx(15)
    assert g["gaze_yaw_deg"] == pytest.approx(35)
    assert g["gaze_pitch_deg"] == pytest.approx(0, abs=1e-9)
    # head tilted 90 deg clockwise: eyes turned up in the head look to the image's right
    lm = project(synthetic_head_cm(eye_pitch_deg=20), roll_deg=90, weak=True)
    g = gaze_angles(lm, {"yaw_deg": 0.0, "pitch_deg": 0.0, "roll_deg": 90.0})
    assert g["eye_pitch_deg"] == pytest.approx(20)
    assert g["gaze_yaw_deg"] == pytest.approx(20)
    assert g["gaze_pitch_deg"] == pytest.approx(0, abs=1e-9)


def test_unknown_head_pose_leaves_the_eye_angles():
    lm = project(synthetic_head_cm(eye_yaw_deg=10), weak=True)
    g = gaze_angles(lm, {"yaw_deg": np.nan, "pitch_deg": np.nan, "roll_deg": np.nan})
    assert g["eye_yaw_deg"] == pytest.approx(10)
    assert np.isnan(g["gaze_yaw_deg"]) and np.isnan(g["gaze_pitch_deg"])


def test_mirrored_landmarks_negate_gaze_yaw_and_keep_pitch():
    lm = project(synthetic_head_cm(eye_yaw_deg=12, eye_pitch_deg=-7), yaw_deg=18, pitch_deg=6,
                 roll_deg=-10, position_cm=(5, 2, 300))
    e_yaw, e_pitch, g_yaw, g_pitch = _gaze(lm)
    np.testing.assert_allclose(_gaze(mirror_landmarks(lm, REGION[0])),
                               [-e_yaw, e_pitch, -g_yaw, g_pitch], atol=1e-6)


def test_gaze_angles_needs_the_iris():
    with pytest.raises(ParameterError):
        gaze_angles(np.zeros((468, 3)), {"yaw_deg": 0, "pitch_deg": 0, "roll_deg": 0})
    with pytest.raises(ParameterError):
        gaze_angles(np.zeros((478, 2)), {"yaw_deg": 0, "pitch_deg": 0, "roll_deg": 0})


def test_direction_to_camera_by_hand():
    lm = np.zeros((478, 3))
    lm[:, :2] = (320, 180)  # eyes at the principal point
    assert direction_to_camera(lm, region_size_px=REGION) == pytest.approx((0, 0), abs=1e-9)
    # eyes right of and above the centre by f * tan(10 deg): the camera is to their left, below
    offset = 640 * np.tan(np.radians(10))
    lm[:, :2] = (320 + offset, 180)
    assert direction_to_camera(lm, region_size_px=REGION) == pytest.approx((-10, 0))
    lm[:, :2] = (320, 180 - offset)
    assert direction_to_camera(lm, region_size_px=REGION) == pytest.approx((0, -10))


def test_direction_to_point_by_hand():
    # two faces side by side at the same depth: straight across, in profile
    right = direction_to_point((200, 180), (440, 180), region_size_px=REGION)
    left = direction_to_point((440, 180), (200, 180), region_size_px=REGION)
    assert right == pytest.approx((90, 0)) and left == pytest.approx((-90, 0))
    # the target at twice the depth, behind the source on the same ray: straight away
    yaw, pitch = direction_to_point((320, 180), (320, 180), region_size_px=REGION, depth_ratio=2)
    assert abs(abs(yaw) - 180) < 1e-9 and pitch == pytest.approx(0)


def test_angle_between_and_looking_at():
    assert angle_between_deg(0, 0, 30, 0) == pytest.approx(30)
    assert angle_between_deg(0, 0, 0, -40) == pytest.approx(40)
    assert angle_between_deg(90, 0, -90, 0) == pytest.approx(180)
    looking = looking_at([0, 5, 20, np.nan], [0, 5, 0, 0], -5, 0)  # 5, 11.2, 25 deg off
    np.testing.assert_array_equal(looking, [1.0, 1.0, 0.0, np.nan])  # cone 15 deg
    assert CONE_DEG == 15
    np.testing.assert_array_equal(looking_at([20], [0], 0, 0, cone_deg=25), [1.0])
    with pytest.raises(ParameterError):
        looking_at([0], [0], 0, 0, cone_deg=0)


def test_gaze_trusted_checks_each_condition():
    good = dict(face_size_px=120, head_yaw_deg=10, head_pitch_deg=-5, eye_open=0.08,
                sharpness=0.3)
    assert gaze_trusted(**good)
    for key, bad in [("face_size_px", 50), ("head_yaw_deg", -45), ("head_pitch_deg", 35),
                     ("eye_open", 0.03), ("sharpness", 0.05), ("face_size_px", np.nan)]:
        assert not gaze_trusted(**{**good, key: bad}), key
    assert gaze_trusted(**{**good, "face_size_px": 50}, min_face_px=40)
    flags = gaze_trusted([120, 30], [0, 0], [0, 0], [0.1, 0.1], [0.3, 0.3])
    assert flags.dtype == bool and flags.tolist() == [True, False]


def test_mutual_gaze_is_both_looking():
    t = pd.Index([0.0, 0.1, 0.2, 0.3, 0.4], name="time_s")
    a = pd.Series([1.0, 1.0, 0.0, np.nan, 1.0], index=t)
    b = pd.Series([1.0, 0.0, 0.0, 1.0, True], index=t)
    m = mutual_gaze(a, b)
    assert m.name == "mutual_gaze" and m.index.equals(t)
    np.testing.assert_array_equal(m.to_numpy(), [1.0, 0.0, 0.0, np.nan, 1.0])
    with pytest.raises(ParameterError):
        mutual_gaze(a, b.iloc[1:])
    with pytest.raises(ParameterError):
        mutual_gaze(a.to_numpy(), b)


# --- known answers on the real clip ---------------------------------------------------------

@pytest.fixture(scope="module")
def clip(reference_dir):
    return reference_dir / "media" / "WolfgangLanger_Pexels.mp4"


def test_mirrored_copy_mirrors_gaze(clip, tmp_path_factory):
    tracks, _ = split_tracks("mirror", clip, tmp_path_factory, mirrored)
    a, b = tracks["A"], tracks["B"]
    trusted = a["gaze_trusted"] & b["gaze_trusted"]
    # the clip's first 6 s are closed or crying eyes, the rest mostly open
    assert 0.4 < trusted.mean() < 0.9
    assert (a["gaze_trusted"] == b["gaze_trusted"]).mean() > 0.95
    ya, yb = a["gaze_yaw_deg"][trusted], b["gaze_yaw_deg"][trusted]
    assert ya.max() - ya.min() > 30  # the eyes move: a lost sign would show
    assert np.corrcoef(ya, -yb)[0, 1] > 0.95
    assert np.median(np.abs(ya + yb)) < 4
    pa, pb = a["gaze_pitch_deg"][trusted], b["gaze_pitch_deg"][trusted]
    assert np.median(np.abs(pa - pb)) < 4
    # where her eyes are open she mostly looks above the lens (gaze pitch +10 to +20 deg,
    # as the picture shows), so this agreement is mostly about "not looking"
    looking_a, looking_b = a["looking_at_partner"][trusted], b["looking_at_partner"][trusted]
    assert (looking_a == looking_b).mean() > 0.9


def test_delayed_copy_delays_gaze(clip, tmp_path_factory):
    delay = 8
    tracks, _ = split_tracks("delay8", clip, tmp_path_factory, lambda f: delayed(f, delay),
                             LAST_10_S)
    a, b = tracks["A"].iloc[:-delay], tracks["B"].iloc[delay:]
    for feature in ("gaze_yaw_deg", "gaze_pitch_deg"):
        x, y = a[feature].to_numpy(), b[feature].to_numpy()
        assert np.corrcoef(x, y)[0, 1] > 0.95, feature
    assert (a["looking_at_partner"].to_numpy() == b["looking_at_partner"].to_numpy()).mean() > 0.9
    assert (a["gaze_trusted"].to_numpy() == b["gaze_trusted"].to_numpy()).mean() > 0.95


def _corr(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    ok = np.isfinite(a) & np.isfinite(b)
    assert ok.sum() > 400
    return np.corrcoef(a[ok], b[ok])[0, 1]


def test_mirrored_copy_swaps_the_eyes(clip, tmp_path_factory):
    # here rather than in test_expression: eye opening gates gaze, and this file already
    # builds the mirrored copy
    tracks, _ = split_tracks("mirror", clip, tmp_path_factory, mirrored)
    a, b = tracks["A"], tracks["B"]
    assert _corr(a["eye_open_left"], b["eye_open_right"]) > 0.95
    assert _corr(a["eye_open_right"], b["eye_open_left"]) > 0.95
    for feature in ("smile", "mouth_open", "brow_raise", "eye_open"):
        assert _corr(a[feature], b[feature]) > 0.9, feature
        assert np.median(np.abs(a[feature] - b[feature])) / a[feature].median() < 0.1, feature
