"""The Face Landmarker backend: shipped model and its sha256 check, blendshape signals,
composite expressions on real faces, head pose against solvePnP, mirroring."""

import shutil

import numpy as np
import pytest

from synchrony.errors import ModelError, ParameterError
from synchrony.extract import landmarker as lmk
from synchrony.extract.head import head_pose, rotation_matrix

NAMES = lmk.BLENDSHAPE_NAMES
CLIP = "media/WolfgangLanger_Pexels.mp4"  # one expressive face, 640x360, 472 frames


# --- the model file --------------------------------------------------------------------

def test_shipped_model_matches_its_sha256(tmp_path):
    import hashlib

    path = lmk.model_path()
    assert path.name == "face_landmarker.task" and path.parent.name == "models"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == lmk.MODEL_SHA256
    assert path.stat().st_size == 3_758_596  # as in synchrony/models/README.md
    readme = (path.parent / "README.md").read_text()
    assert lmk.MODEL_SHA256 in readme and "3,758,596" in readme
    licence = (path.parent / "LICENSE-face_landmarker.txt").read_text()
    assert "Apache License" in licence and "Google LLC" in licence
    assert "http://www.apache.org/licenses/LICENSE-2.0" in licence


def test_altered_model_is_refused_naming_the_file(tmp_path):
    copy = tmp_path / "face_landmarker.task"
    shutil.copyfile(lmk.model_path(), copy)
    assert lmk.verify_model(copy) == copy
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one byte flipped: same size
    copy.write_bytes(bytes(data))
    # verified before, but the file changed since: checked again
    with pytest.raises(ModelError) as err:
        lmk.verify_model(copy)
    message = str(err.value)
    assert message.startswith(f"{copy}: sha256 mismatch: expected {lmk.MODEL_SHA256}, got ")
    assert message.endswith("(the file is altered or corrupt)") and "\n" not in message
    assert err.value.path == str(copy)


def test_missing_model_is_refused(tmp_path):
    missing = tmp_path / "face_landmarker.task"
    with pytest.raises(ModelError, match=r"face_landmarker\.task: missing") as err:
        lmk.verify_model(missing)
    assert err.value.path == str(missing)


def test_landmarkers_are_not_built_from_an_altered_model(tmp_path, monkeypatch):
    copy = tmp_path / "face_landmarker.task"
    copy.write_bytes(lmk.model_path().read_bytes()[:-1])  # truncated
    monkeypatch.setattr(lmk, "_MODEL_FILE", copy)
    with pytest.raises(ModelError, match="sha256 mismatch"):
        with lmk.face_landmarkers(1):
            pass


# --- pure functions ----------------------------------------------------------------------

def test_blendshape_names_and_columns():
    assert len(NAMES) == 52 and len(set(NAMES)) == 52 and NAMES[0] == "_neutral"
    assert len(lmk.BLENDSHAPE_COLUMNS) == 51 and "bs__neutral" not in lmk.BLENDSHAPE_COLUMNS
    assert lmk.BLENDSHAPE_COLUMNS[0] == "bs_browDownLeft"
    assert lmk.LANDMARKER_FEATURES[-4:] == ("expr_smile", "expr_distress", "expr_eye_closure",
                                            "expr_brow_raise")
    from synchrony.extract.face import FACE_COLUMNS

    assert not set(lmk.LANDMARKER_FEATURES) & set(FACE_COLUMNS)  # no clash with geometry


def test_composites_by_hand():
    s = np.zeros(52)
    s[NAMES.index("mouthSmileLeft")], s[NAMES.index("mouthSmileRight")] = 0.9, 0.5
    s[NAMES.index("browInnerUp")] = 0.6
    s[NAMES.index("mouthFrownLeft")], s[NAMES.index("mouthFrownRight")] = 0.3, 0.0
    s[NAMES.index("eyeBlinkLeft")], s[NAMES.index("eyeBlinkRight")] = 1.0, 0.8
    s[NAMES.index("browOuterUpLeft")], s[NAMES.index("browOuterUpRight")] = 0.15, 0.45
    s[NAMES.index("jawOpen")] = 0.25
    f = lmk.blendshape_features(s)
    assert list(f) == list(lmk.LANDMARKER_FEATURES)
    assert f["expr_smile"] == pytest.approx(0.7)  # (0.9 + 0.5) / 2
    assert f["expr_distress"] == pytest.approx(0.3)  # (0.6 + 0.3 + 0) / 3
    assert f["expr_eye_closure"] == pytest.approx(0.9)  # (1.0 + 0.8) / 2
    assert f["expr_brow_raise"] == pytest.approx(0.4)  # (0.6 + 0.15 + 0.45) / 3
    assert f["bs_jawOpen"] == 0.25 and f["bs_mouthSmileLeft"] == 0.9

    # frames x scores: the same per row; NaN (no face) stays NaN
    frames = np.vstack([s, np.ones(52), np.full(52, np.nan)])
    g = lmk.blendshape_features(frames)
    assert g["expr_smile"][0] == pytest.approx(0.7) and g["expr_smile"][1] == 1.0
    assert all(np.isnan(v[2]) for v in g.values()) and g["bs_jawOpen"].shape == (3,)

    with pytest.raises(ParameterError, match="'scores' parameter of blendshape_features"):
        lmk.blendshape_features(np.zeros(51))
    with pytest.raises(ParameterError, match="finite or NaN"):
        lmk.blendshape_features(np.full(52, np.inf))


def test_timestamps_are_whole_ms_and_strictly_increasing():
    assert lmk.timestamp_ms(0.0) == 0
    assert lmk.timestamp_ms(1001 / 24000) == 42  # 41.7 ms
    assert lmk.timestamp_ms(-0.5) == -500  # session clocks may start before 0
    assert lmk.timestamp_ms(0.0424, previous_ms=42) == 43  # rounds to 42: bumped
    assert lmk.timestamp_ms(0.0834, previous_ms=42) == 83
    with pytest.raises(ParameterError, match="'time_s' parameter of timestamp_ms"):
        lmk.timestamp_ms(float("nan"))


def test_pose_from_matrix_inverts_head_conventions():
    flip = np.diag([1.0, -1.0, -1.0])
    for yaw, pitch, roll in [(0, 0, 0), (30, -15, 10), (-40, 25, -20), (5, 60, 170)]:
        m = np.eye(4)
        m[:3, :3] = 1.3 * (flip @ rotation_matrix(yaw, pitch, roll) @ flip)  # with a scale
        m[:3, 3] = (2.0, -1.0, -60.0)
        assert lmk.pose_from_matrix(m) == pytest.approx((yaw, pitch, roll), abs=1e-9)
    assert np.isnan(lmk.pose_from_matrix(np.full((4, 4), np.nan))).all()
    with pytest.raises(ParameterError, match="'matrix' parameter of pose_from_matrix"):
        lmk.pose_from_matrix(np.eye(2))


# --- real faces --------------------------------------------------------------------------

def _stills():
    import matplotlib.cbook as cbook
    import matplotlib.image as mpimg

    skimage_data = pytest.importorskip("skimage.data")
    with cbook.get_sample_data("grace_hopper.jpg") as fh:
        hopper = mpimg.imread(fh, format="jpg")
    return np.ascontiguousarray(skimage_data.astronaut()), np.ascontiguousarray(hopper)


def test_smile_composite_on_a_smiling_and_a_neutral_face():
    astronaut, hopper = _stills()  # Eileen Collins smiles; Grace Hopper does not
    with lmk.face_landmarkers(2) as (a, b):
        found = [lmk.detect(a, astronaut, 0), lmk.detect(b, hopper, 0)]
    smile = []
    for (landmarks, scores, matrix), image in zip(found, (astronaut, hopper)):
        assert landmarks.shape == (478, 3) and scores.shape == (52,) and matrix.shape == (4, 4)
        assert np.all((scores >= 0) & (scores <= 1))
        # pixels of the image, on the face
        assert 0 < landmarks[:, 0].min() and landmarks[:, 0].max() < image.shape[1]
        assert 0 < landmarks[:, 1].min() and landmarks[:, 1].max() < image.shape[0]
        smile.append(lmk.blendshape_features(scores)["expr_smile"])
    # measured: 0.902 and 0.006
    assert smile[0] > 0.7 and smile[1] < 0.1 and smile[0] > 10 * smile[1]


def test_left_and_right_are_the_subjects_own():
    """Covering the subject's right eye (the image's left) closes eyeBlinkRight."""
    astronaut, _ = _stills()
    with lmk.face_landmarkers(2) as (a, b):
        landmarks, before, _ = lmk.detect(a, astronaut, 0)
        # subject's right eye contour in the FaceMesh topology (33 outer corner, 133 inner)
        eye = landmarks[[33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145,
                         144, 163, 7], :2].astype(int)
        (x0, y0), (x1, y1) = eye.min(axis=0) - 3, eye.max(axis=0) + 3
        winking = astronaut.copy()
        # skin from just below the eye pasted over it
        winking[y0:y1, x0:x1] = astronaut[y1 + 5:y1 + 5 + (y1 - y0), x0:x1]
        after = lmk.detect(b, winking, 0)[1]
    left, right = NAMES.index("eyeBlinkLeft"), NAMES.index("eyeBlinkRight")
    assert landmarks[33, 0] < landmarks[263, 0]  # that eye is on the image's left
    # measured: eyeBlinkRight 0.03 -> 0.38, eyeBlinkLeft 0.04 -> 0.09
    assert after[right] - before[right] > 0.2
    assert after[right] - before[right] > 3 * (after[left] - before[left])


def test_detect_checks_its_input():
    with lmk.face_landmarkers(1) as (a,):
        blank = np.zeros((64, 64, 3), np.uint8)
        assert lmk.detect(a, blank, 0) is None  # no face
        with pytest.raises(ParameterError, match="'timestamp_ms' parameter of detect"):
            lmk.detect(a, blank, 0)  # not later than the previous one
        with pytest.raises(ParameterError, match="'rgb' parameter of detect"):
            lmk.detect(a, blank.astype(float), 1)
        with pytest.raises(ParameterError, match="'timestamp_ms' parameter of detect"):
            lmk.detect(a, blank, 1.5)


@pytest.fixture(scope="module")
def clip(reference_dir):
    """The reference clip and its mirror image through two Landmarkers, every frame."""
    from synchrony.media import iter_frames

    out = {"plain": [], "mirrored": []}
    with lmk.face_landmarkers(2) as (plain, mirrored):
        previous = None
        for time_s, rgb in iter_frames(reference_dir / CLIP):
            previous = lmk.timestamp_ms(time_s, previous_ms=previous)
            out["plain"].append(lmk.detect(plain, rgb, previous))
            out["mirrored"].append(lmk.detect(mirrored, np.ascontiguousarray(rgb[:, ::-1]),
                                              previous))
            out["size"] = rgb.shape[1::-1]
    assert all(r is not None for r in out["plain"] + out["mirrored"])  # a face in every frame
    return out


def test_matrix_pose_agrees_with_solvepnp(clip):
    """Head pose from the transformation matrix against head.py's solvePnP on the same
    frames' landmarks: two camera models, one head."""
    matrix = np.array([lmk.pose_from_matrix(r[2]) for r in clip["plain"]])
    pnp = np.array([[p["yaw_deg"], p["pitch_deg"], p["roll_deg"]]
                    for p in (head_pose(r[0], region_size_px=clip["size"]) for r in clip["plain"])])
    r = [np.corrcoef(matrix[:, i], pnp[:, i])[0, 1] for i in range(3)]
    mad = np.abs(matrix - pnp).mean(axis=0)
    # measured: r 0.990, 0.93, 0.994; mean |difference| 3.7, 3.4, 1.7 deg, while yaw spans
    # -16..8, pitch -11..14 and roll -25..22 deg
    assert r[0] > 0.97 and r[1] > 0.85 and r[2] > 0.98
    assert mad[0] < 6 and mad[1] < 6 and mad[2] < 3
    assert np.ptp(matrix[:, 0]) > 15 and np.ptp(matrix[:, 2]) > 30  # the pose does vary


def test_mirrored_clip_gives_mirrored_pose_and_the_same_expressions(clip):
    pose = np.array([lmk.pose_from_matrix(r[2]) for r in clip["plain"]])
    pose_m = np.array([lmk.pose_from_matrix(r[2]) for r in clip["mirrored"]])
    # yaw and roll change sign, pitch does not (measured: mean |yaw + yaw'| 0.6 deg,
    # |roll + roll'| 0.5 deg, |pitch - pitch'| 1.1 deg)
    assert np.abs(pose[:, 0] + pose_m[:, 0]).mean() < 1.5
    assert np.abs(pose[:, 2] + pose_m[:, 2]).mean() < 1.5
    assert np.abs(pose[:, 1] - pose_m[:, 1]).mean() < 2.5

    f = lmk.blendshape_features(np.array([r[1] for r in clip["plain"]]))
    f_m = lmk.blendshape_features(np.array([r[1] for r in clip["mirrored"]]))
    r = {k: np.corrcoef(f[k], f_m[k])[0, 1] for k in lmk.EXPRESSION_COMPOSITES}
    r["bs_jawOpen"] = np.corrcoef(f["bs_jawOpen"], f_m["bs_jawOpen"])[0, 1]
    # The blendshape network is not mirror-symmetric: its landmarks are (geometric smile
    # of mirrored frames: r 0.986), its scores less so. Measured r: smile 0.926,
    # eye closure 0.988, distress 0.928, brow raise 0.937; jawOpen 0.77, whose range
    # here is only 0-0.12 (the mouth hardly opens in this clip).
    assert r["expr_smile"] > 0.9 and r["expr_eye_closure"] > 0.97
    assert r["expr_distress"] > 0.85 and r["expr_brow_raise"] > 0.85
    assert r["bs_jawOpen"] > 0.6
    assert np.ptp(f["expr_smile"]) > 0.9  # from no smile to a full one
    # a mirror image swaps the model's Left and Right
    assert (np.corrcoef(f["bs_eyeSquintLeft"], f_m["bs_eyeSquintRight"])[0, 1]
            > np.corrcoef(f["bs_eyeSquintLeft"], f_m["bs_eyeSquintLeft"])[0, 1])


def test_fast_path_matches_the_public_api(reference_dir):
    """detect() reads mediapipe's output packets itself; detect_for_video, the public way,
    must give the very same values."""
    from synchrony.extract.face import _landmarks_px_from_bytes
    from synchrony.media import iter_frames

    frames = list(iter_frames(reference_dir / CLIP, end_s=1.0))
    with lmk.face_landmarkers(2) as (fast, public):
        for i, (_, rgb) in enumerate(frames):
            mine = lmk.detect(fast, rgb, i)
            (raw, scores, matrix), = lmk._run_public(public, np.ascontiguousarray(rgb), i)
            np.testing.assert_array_equal(
                mine[0], _landmarks_px_from_bytes(raw, rgb.shape[1], rgb.shape[0]))
            np.testing.assert_array_equal(mine[1], scores)
            np.testing.assert_array_equal(mine[2], matrix)
