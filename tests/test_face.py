"""Face extraction: known answers from a real face, mirrored and delayed on a split screen.

The test video puts the reference clip on the left and, on the right, the same clip
mirrored and delayed by DELAY frames (black before it starts). So person B's track must
be person A's shifted by DELAY frames, with head_x negated and everything else equal.
The stretch used (9-17 s of the clip) has both head movement and mouth movement; in the
first seconds the mouth stays closed and a finger covers it, so mouth_open carries only
landmark noise there.

FaceMesh is not exactly mirror-equivariant: even on exactly mirrored frames (no
re-encoding) frame-to-frame head_motion and mouth_open agree only with r = 0.96 on this
stretch (0.91 and 0.68 on the first 6 s); here, re-encoded, r = 0.961 and 0.954. The
thresholds below leave room for that and for other CPUs and encoders, and are still far
above what a wrong shift, sign, scale or clock would give.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from _facegen import TIME_BASE, clip_frames, write_split_video

from synchrony.errors import NoFaceError, ParameterError
from synchrony.extract.face import (
    FACE_COLUMNS,
    _landmarks_px_from_bytes,
    _track,
    extract_face_split,
    face_features_from_landmarks,
    sharpness,
)

QUALITY = ["face_detected", "gaze_trusted"]
FLOATS = [c for c in FACE_COLUMNS if c not in QUALITY]

DELAY = 6  # frames; even, so the alternating VFR time steps of both halves line up
FIRST, STOP = 216, 408  # frames 9.0-17.0 s of the 23.976 fps reference clip


@pytest.fixture(scope="module")
def clip(reference_dir):
    return reference_dir / "media" / "WolfgangLanger_Pexels.mp4"


@pytest.fixture(scope="module")
def split_video(clip, tmp_path_factory):
    left = clip_frames(clip, FIRST, STOP)
    black = np.zeros_like(left[0])
    right = [black] * DELAY + [np.ascontiguousarray(f[:, ::-1]) for f in left[:-DELAY]]
    path = tmp_path_factory.mktemp("face") / "split.mp4"
    return path, write_split_video(path, left, right)


@pytest.fixture(scope="module")
def tracks(split_video):
    path, _ = split_video
    return extract_face_split(path, persons=("parent", "infant"))


def _r(a, b):
    ok = np.isfinite(a) & np.isfinite(b)
    assert ok.sum() > 100
    return np.corrcoef(a[ok], b[ok])[0, 1]


def test_one_row_per_frame_at_the_written_times(tracks, split_video):
    _, times_s = split_video
    assert list(tracks) == ["parent", "infant"]
    for track in tracks.values():
        assert isinstance(track, pd.DataFrame)
        assert tuple(track.columns) == FACE_COLUMNS
        assert track.index.name == "time_s"
        np.testing.assert_array_equal(track.index.to_numpy(), times_s)
        assert all(track[c].dtype == bool for c in QUALITY)
        assert all(track[c].dtype == np.float64 for c in FLOATS)
    # the steps really alternate, so a nominal-fps clock would be caught
    assert set(np.round(np.diff(times_s) / float(TIME_BASE))) == {900, 1100}


def test_faces_found_and_missing_frames_kept_as_nan(tracks):
    parent, infant = tracks["parent"], tracks["infant"]
    assert parent["face_detected"].mean() >= 0.95
    assert infant["face_detected"].mean() >= 0.95
    # black frames before the delayed copy starts: rows kept, features NaN
    assert not infant[QUALITY].iloc[:DELAY].any().any()
    assert infant[FLOATS].iloc[:DELAY].isna().all().all()
    assert infant["face_detected"].iloc[DELAY]
    for motion in ("head_motion", "face_motion"):
        assert np.isnan(infant[motion].iloc[DELAY])  # previous frame had no face
        assert np.isfinite(infant[motion].iloc[DELAY + 1])
    # everything else is measured from the first frame with a face
    assert infant.drop(columns=["head_motion", "face_motion"]).iloc[DELAY].notna().all()


def test_mirrored_delayed_copy_gives_mirrored_delayed_features(tracks):
    a = tracks["parent"].iloc[:-DELAY]
    b = tracks["infant"].iloc[DELAY:]
    ax, bx = a["head_x"].to_numpy(), b["head_x"].to_numpy()
    assert np.median(ax) > 0.3  # off-centre, so a lost sign cannot pass
    assert _r(ax, -bx) > 0.98
    assert np.nanmedian(np.abs(ax + bx)) < 0.03  # face sizes
    assert _r(a["head_y"].to_numpy(), b["head_y"].to_numpy()) > 0.98
    assert np.nanmedian(np.abs(a["head_y"].to_numpy() - b["head_y"].to_numpy())) < 0.02
    size_ratio = b["face_size_px"].to_numpy() / a["face_size_px"].to_numpy()
    assert abs(np.nanmedian(size_ratio) - 1) < 0.02
    for feature in ("head_motion", "mouth_open", "face_motion"):
        fa, fb = a[feature].to_numpy(), b[feature].to_numpy()
        assert _r(fa, fb) > 0.93, feature
        assert np.nanmedian(np.abs(fa - fb)) < 0.1 * np.nanpercentile(fa, 95), feature


def test_rate_hz_thins_by_true_time(split_video, tracks):
    path, times_s = split_video
    thin = extract_face_split(path, rate_hz=6.0)["A"]
    t = thin.index.to_numpy()
    assert np.isin(t, times_s).all()
    assert np.all(np.diff(t) >= 1 / 6.0 - 0.05)
    assert abs(len(t) - 6.0 * (times_s[-1] - times_s[0])) <= 2
    # speeds are per second of true time, so thinning keeps them of the same order
    for motion in ("head_motion", "face_motion"):
        ratio = thin[motion].median() / tracks["parent"][motion].median()
        assert 0.3 < ratio < 1.5, motion


def test_no_face_in_one_half_is_a_one_line_error(clip, tmp_path, capfd):
    left = clip_frames(clip, FIRST, FIRST + 12)
    path = tmp_path / "half_black.mp4"
    write_split_video(path, left, [np.zeros_like(f) for f in left])
    with pytest.raises(NoFaceError) as err:
        extract_face_split(path, persons=("mother", "infant"))
    message = str(err.value)
    assert "\n" not in message
    assert str(path) in message
    assert "right half" in message and "infant" in message
    # mediapipe's native start-up chatter is kept off the terminal
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize("options", [
    {"persons": ("A", "A")}, {"persons": "AB"}, {"persons": ("A", "B", "C")}, {"persons": None},
    {"split": 0.0}, {"split": 1.5}, {"rate_hz": 0}, {"min_detection_confidence": 2},
])
def test_bad_options_are_rejected_before_any_work(options, tmp_path):
    with pytest.raises(ParameterError):
        extract_face_split(tmp_path / "missing.mp4", **options)


def test_importing_the_module_does_not_load_mediapipe():
    code = "import sys, synchrony.extract.face; assert 'mediapipe' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# --- the pure-geometry kernel ---------------------------------------------------------

MIRROR_PAIRS = [(33, 263), (133, 362), (109, 338), (67, 297), (103, 332), (54, 284),
                (21, 251), (162, 389), (127, 356), (234, 454)]


def _face(n=478):
    """A hand-made face: eye corners 60 px apart, centre (130, 190), lips 12 px apart."""
    lm = np.tile([130.0, 190.0], (n, 1))
    lm[33], lm[263] = (100, 190), (160, 190)
    lm[13], lm[14] = (130, 230), (130, 242)
    return lm


def test_kernel_hand_derived_values():
    f = face_features_from_landmarks(_face(), region_size_px=(200, 300))
    assert f["face_size_px"] == pytest.approx(60)
    assert (f["centre_x_px"], f["centre_y_px"]) == pytest.approx((130, 190))
    assert f["head_x"] == pytest.approx(30 / 60)  # centre 30 px right of the region's
    assert f["head_y"] == pytest.approx(40 / 60)  # and 40 px below it
    assert f["mouth_open"] == pytest.approx(12 / 60)
    assert face_features_from_landmarks(_face(468), region_size_px=(200, 300)) == f


def test_kernel_uses_depth_for_face_size():
    lm = np.column_stack([_face(), np.zeros(478)])
    lm[263, 2] = 80  # eye corners 60 px apart across, 80 px in depth: 100 px
    f = face_features_from_landmarks(lm, region_size_px=(200, 300))
    assert f["face_size_px"] == pytest.approx(100)
    assert f["head_x"] == pytest.approx(30 / 100)


def test_kernel_is_scale_free_and_mirror_symmetric():
    rng = np.random.default_rng(0)
    lm = rng.uniform([40, 60], [160, 240], size=(478, 2))
    size = (200, 300)
    f = face_features_from_landmarks(lm, region_size_px=size)
    g = face_features_from_landmarks(2 * lm, region_size_px=(400, 600))
    assert g["face_size_px"] == pytest.approx(2 * f["face_size_px"])
    for k in ("head_x", "head_y", "mouth_open"):
        assert g[k] == pytest.approx(f[k])
    # a mirrored image: x -> width - x, and each left landmark becomes its right twin
    mirrored = lm.copy()
    mirrored[:, 0] = size[0] - mirrored[:, 0]
    for i, j in MIRROR_PAIRS:
        mirrored[[i, j]] = mirrored[[j, i]]
    m = face_features_from_landmarks(mirrored, region_size_px=size)
    assert m["head_x"] == pytest.approx(-f["head_x"])
    for k in ("head_y", "face_size_px", "mouth_open"):
        assert m[k] == pytest.approx(f[k])


@pytest.mark.parametrize("shape", [(478,), (100, 2), (478, 4)])
def test_kernel_rejects_bad_shapes(shape):
    with pytest.raises(ParameterError):
        face_features_from_landmarks(np.zeros(shape), region_size_px=(10, 10))


def test_face_motion_is_per_second_of_true_time():
    t = np.array([0.0, 0.05, 0.15, 0.20])
    nan = np.full(4, np.nan)
    values = {k: nan for k in ("centre_x_px", "centre_y_px", "head_x", "head_y",
                               "head_yaw_deg", "head_pitch_deg", "head_roll_deg", "smile",
                               "mouth_open", "brow_raise", "eye_open_left", "eye_open_right",
                               "eye_open", "gaze_yaw_deg", "gaze_pitch_deg",
                               "camera_yaw_deg", "camera_pitch_deg", "sharpness")}
    values["face_size_px"] = np.array([100.0, 100.0, 100.0, np.nan])
    values["crop_difference"] = np.array([np.nan, 2.0, 4.0, np.nan])  # grey levels
    track = _track(t, values)
    assert tuple(track.columns) == FACE_COLUMNS
    np.testing.assert_allclose(track["face_motion"], [np.nan, 40.0, 40.0, np.nan])
    assert track["face_detected"].tolist() == [True, True, True, False]
    assert not track["gaze_trusted"].any()  # nothing known about the eyes
    assert track["looking_at_partner"].isna().all()


def test_sharpness_is_free_of_brightness_and_contrast_and_falls_with_blur():
    import cv2

    rng = np.random.default_rng(1)
    image = cv2.GaussianBlur(rng.uniform(0, 255, (64, 64)).astype(np.float32), (0, 0), 1.0)
    s = sharpness(image)
    assert sharpness(0.5 * image + 40) == pytest.approx(s, rel=1e-4)
    assert sharpness(cv2.GaussianBlur(image, (0, 0), 1.5)) < 0.5 * s
    assert np.isnan(sharpness(np.full((64, 64), 7.0)))


def test_landmarks_read_from_the_serialized_message_equal_the_field_by_field_read():
    from mediapipe.framework.formats import landmark_pb2

    rng = np.random.default_rng(2)
    values = rng.uniform(-0.2, 1.2, (478, 3)).astype(np.float32)
    message = landmark_pb2.NormalizedLandmarkList()
    for x, y, z in values:
        message.landmark.add(x=x, y=y, z=z)
    expected = values.astype(float) * [640, 360, 640]
    np.testing.assert_array_equal(_landmarks_px_from_bytes(message.SerializeToString(), 640, 360), expected)
    # a coordinate of exactly 0.0 is left out of the bytes: the slow path takes over
    message.landmark[5].z = 0.0
    expected[5, 2] = 0.0
    np.testing.assert_array_equal(_landmarks_px_from_bytes(message.SerializeToString(), 640, 360), expected)


def test_opencv_thread_setting_is_restored(split_video):
    import cv2

    path, _ = split_video
    before = cv2.getNumThreads()
    extract_face_split(path, rate_hz=2.0)
    assert cv2.getNumThreads() == before


# --- decoding ahead in a thread of its own ----------------------------------------------


def test_read_ahead_keeps_order_and_raises_where_the_error_was():
    from synchrony.extract.face import read_ahead

    def numbers():
        yield from range(5)
        raise ValueError("damaged at 5")

    seen = []
    with pytest.raises(ValueError, match="damaged at 5"):
        with read_ahead(numbers(), depth=2) as items:
            for x in items:
                seen.append(x)
    assert seen == [0, 1, 2, 3, 4]
    with read_ahead(iter([1, 2, 3])) as items:  # a plain iterator: nothing to close
        assert list(items) == [1, 2, 3]


def test_read_ahead_closes_the_source_and_stops_when_left_early():
    import threading

    from synchrony.extract.face import read_ahead

    produced, closed = [], []

    def numbers():
        try:
            for x in range(1000):
                produced.append(x)
                yield x
        finally:
            closed.append(threading.current_thread().name)

    with read_ahead(numbers(), depth=2) as items:
        first = [next(items) for _ in range(3)]
    assert first == [0, 1, 2]
    # closed in the thread that ran it, having run at most depth + 2 items past those used
    assert closed == ["synchrony-read-ahead"]
    assert len(produced) <= 3 + 2 + 2
    assert not any(t.name == "synchrony-read-ahead" for t in threading.enumerate())


# --- the lean FaceMesh call -------------------------------------------------------------


def test_find_faces_gives_the_landmarks_process_gives(clip):
    from synchrony.extract.face import _find_faces, mediapipe_meshes

    frames = clip_frames(clip, FIRST, FIRST + 6)
    frames.append(np.zeros_like(frames[0]))  # no face: nothing found either way
    with mediapipe_meshes(2) as (by_process, lean):
        for frame in frames:
            want = by_process.process(frame).multi_face_landmarks or []
            got = _find_faces(lean, frame)  # same frames in the same order: same tracking
            assert len(want) == (1 if frame.any() else 0)
            assert len(got) == len(want)
            for raw, message in zip(got, want):
                np.testing.assert_array_equal(_landmarks_px_from_bytes(raw, 640, 360),
                                              _landmarks_px_from_bytes(message.SerializeToString(), 640, 360))


def test_find_faces_falls_back_to_process_without_mediapipe_internals():
    from types import SimpleNamespace

    from mediapipe.framework.formats import landmark_pb2

    from synchrony.extract.face import _find_faces

    message = landmark_pb2.NormalizedLandmarkList()
    message.landmark.add(x=0.25, y=0.5, z=-0.125)
    seen = []

    def process(image):
        seen.append(image.flags.writeable)
        return SimpleNamespace(multi_face_landmarks=[message])

    image = np.zeros((4, 4, 3), np.uint8)
    assert _find_faces(SimpleNamespace(process=process), image) == [message.SerializeToString()]
    assert seen == [False]  # handed over read-only, so mediapipe shares rather than copies
    assert image.flags.writeable  # the caller's array is left as it was
