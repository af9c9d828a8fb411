"""Expression features: hand-derived values on a synthetic face, known answers on a real one.

Video tests put the reference clip's last 10 s (eyes open, smiles, speech) on the left of a
split screen and a transformed copy on the right: shrunk to 80 % (same frame size, black
around), or delayed by DELAY frames.

Scale: the features are lengths divided by the face size, so the 80 % copy must give the
same values. They are compared by the median absolute difference over the clip divided by
the feature's median, not frame by frame relative to each value: a closed mouth's or eye's
gap is a few hundredths of a face size of landmark noise, whose relative error means
nothing. Measured: smile 0.8 %, mouth_open 2.1 %, brow_raise 0.8 %, eye opening 2-3 %
(over the whole clip, with its closed and crying eyes: 1.2, 3.9, 0.8 and 2-3 %).
"""

from __future__ import annotations

import numpy as np
import pytest
from _facegen import (
    LAST_10_S,
    delayed,
    face_size_cm,
    mirror_landmarks,
    project,
    scaled,
    split_tracks,
    synthetic_head_cm,
)

from synchrony.errors import ParameterError
from synchrony.extract.expression import EXPRESSION_FEATURES, expression_features

DELAY = 8  # frames; even, so the alternating VFR time steps of both halves line up


def _features(**face):
    return expression_features(project(synthetic_head_cm(**face), weak=True))


def test_hand_derived_values_on_a_frontal_face():
    size = face_size_cm()  # 8.89 cm between the outer eye corners
    f = _features(lid_gap_cm=0.8, brow_height_cm=2.2, mouth_gap_cm=1.2, mouth_width_cm=5.0,
                  corner_lift_cm=0.3)
    assert f["eye_open_left"] == pytest.approx(0.8 / size)
    assert f["eye_open_right"] == pytest.approx(0.8 / size)
    assert f["eye_open"] == pytest.approx(0.8 / size)
    assert f["brow_raise"] == pytest.approx(2.2 / size)
    assert f["mouth_open"] == pytest.approx(1.2 / size)
    # half the corner spread plus the corners' height above the inner lips' middle
    assert f["smile"] == pytest.approx((2.5 + 0.3) / size)
    assert tuple(f) == EXPRESSION_FEATURES


def test_smile_grows_with_spread_and_lift_but_not_with_mouth_opening():
    base = _features()["smile"]
    assert _features(mouth_width_cm=5.6)["smile"] == pytest.approx(base + 0.3 / face_size_cm())
    assert _features(corner_lift_cm=0.4)["smile"] == pytest.approx(base + 0.4 / face_size_cm())
    assert _features(mouth_gap_cm=2.0)["smile"] == pytest.approx(base)


def test_one_eye_at_a_time():
    head = synthetic_head_cm(lid_gap_cm=0.8)
    head[386] = head[374]  # subject's left eye shut: upper lid on the lower one
    f = expression_features(project(head, weak=True))
    assert f["eye_open_left"] == pytest.approx(0)
    assert f["eye_open_right"] == pytest.approx(0.8 / face_size_cm())
    assert f["eye_open"] == pytest.approx(0.4 / face_size_cm())


@pytest.mark.parametrize("pose", [(30, 0, 0), (0, -20, 0), (0, 0, 40), (-25, 15, -20)])
def test_head_pose_and_distance_do_not_change_the_features(pose):
    head = synthetic_head_cm(lid_gap_cm=0.9, corner_lift_cm=0.2, mouth_gap_cm=1.0)
    frontal = expression_features(project(head, weak=True))
    for depth in (40.0, 90.0):
        turned = expression_features(project(head, yaw_deg=pose[0], pitch_deg=pose[1],
                                             roll_deg=pose[2], position_cm=(0, 0, depth),
                                             weak=True))
        assert turned == pytest.approx(frontal, rel=1e-9)


def test_mirroring_swaps_left_and_right_eyes():
    head = synthetic_head_cm()
    head[386] += (0, 0.15, 0)  # subject's left eye narrower
    lm = project(head, yaw_deg=10, weak=True)
    f = expression_features(lm)
    m = expression_features(mirror_landmarks(lm, 640))
    assert f["eye_open_left"] < f["eye_open_right"]
    assert m["eye_open_left"] == pytest.approx(f["eye_open_right"])
    assert m["eye_open_right"] == pytest.approx(f["eye_open_left"])
    for k in ("smile", "mouth_open", "brow_raise", "eye_open"):
        assert m[k] == pytest.approx(f[k])


def test_degenerate_mesh_gives_nan():
    assert all(np.isnan(v) for v in expression_features(np.zeros((478, 3))).values())


@pytest.mark.parametrize("shape", [(478, 2), (478,), (500, 3)])
def test_rejects_landmarks_without_depth_or_of_a_bad_shape(shape):
    with pytest.raises(ParameterError):
        expression_features(np.zeros(shape))


# --- known answers on the real clip ---------------------------------------------------------

@pytest.fixture(scope="module")
def clip(reference_dir):
    return reference_dir / "media" / "WolfgangLanger_Pexels.mp4"


def _r(a, b):
    a, b = np.asarray(a, float), np.asarray(b, float)
    ok = np.isfinite(a) & np.isfinite(b)
    assert ok.sum() > 200
    return np.corrcoef(a[ok], b[ok])[0, 1]


def test_copy_scaled_to_80_percent_gives_the_same_features(clip, tmp_path_factory):
    tracks, _ = split_tracks("scale80", clip, tmp_path_factory, lambda f: scaled(f, 0.8),
                             LAST_10_S)
    a, b = tracks["A"], tracks["B"]
    assert b["face_size_px"].median() / a["face_size_px"].median() == pytest.approx(0.8, abs=0.01)
    for feature in EXPRESSION_FEATURES:
        x, y = a[feature], b[feature]
        assert np.median(np.abs(y - x)) / np.median(np.abs(x)) < 0.05, feature
        assert abs(y.median() / x.median() - 1) < 0.05, feature
        assert _r(x, y) > 0.97, feature
    # the motion energy of the resampled crop loses a little detail in the smaller face
    assert _r(a["face_motion"], b["face_motion"]) > 0.99
    assert abs(b["face_motion"].median() / a["face_motion"].median() - 1) < 0.1


def test_copy_delayed_by_n_frames_gives_the_series_shifted_by_n(clip, tmp_path_factory):
    tracks, _ = split_tracks("delay8", clip, tmp_path_factory, lambda f: delayed(f, DELAY),
                             LAST_10_S)
    a, b = tracks["A"], tracks["B"]
    assert not b["face_detected"].iloc[:DELAY].any()
    for feature in ("head_yaw_deg", "head_pitch_deg", "smile", "mouth_open", "eye_open",
                    "gaze_yaw_deg", "face_motion"):
        x, y = a[feature].to_numpy(), b[feature].to_numpy()
        assert _r(x[:-DELAY], y[DELAY:]) > 0.95, feature
        # and no other shift fits as well: the copy is N frames late, not about N
        misfit = [np.nanmedian(np.abs(x[:len(x) - lag] - y[lag:])) for lag in range(2 * DELAY + 1)]
        assert int(np.argmin(misfit)) == DELAY, feature
