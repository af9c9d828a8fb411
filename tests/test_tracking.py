"""Face identities in a shared frame: synthetic detection sequences with known identities,
then mediapipe FaceMesh on a real video where the left face vanishes for one second."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from _layoutgen import BLANK, write_shared_frame_video

from synchrony.errors import ParameterError
from synchrony.extract.tracking import Assignment, Face, assign_identities

FPS = 24000 / 1001
N = 192
TIMES = np.arange(N) / FPS
SIZE = 80.0  # face size in pixels (inter-ocular distance)


def _paths(n=N, seed=0):
    """Smooth, non-crossing head paths of persons 0 (left) and 1 (right), in pixels."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / FPS
    phase = rng.uniform(0, 2 * np.pi, 4)
    left = np.c_[200 + 40 * np.sin(1.3 * t + phase[0]), 200 + 25 * np.sin(0.9 * t + phase[1])]
    right = np.c_[760 + 40 * np.sin(1.1 * t + phase[2]), 190 + 25 * np.sin(1.7 * t + phase[3])]
    return left, right


def _frames(left, right, *, missing=(), seed=0, shuffle=False, extra=None):
    """Detections per frame and, for checking, the true person of every detection.

    ``missing`` is a list of (person, first_frame, n_frames) absences; ``extra`` maps a
    frame to a spurious (x, y, size) face added to it.
    """
    rng = np.random.default_rng(seed)
    frames, truth = [], []
    for i in range(len(left)):
        faces, who = [], []
        for p, path in enumerate((left, right)):
            if any(p == q and a <= i < a + n for q, a, n in missing):
                continue
            jitter = rng.normal(0, 1.0, 3)
            faces.append(Face(path[i, 0] + jitter[0], path[i, 1] + jitter[1], SIZE + jitter[2]))
            who.append(p)
        if extra and i in extra:
            faces.append(Face(*extra[i]))
            who.append(None)
        order = rng.permutation(len(faces)) if shuffle else np.arange(len(faces))
        frames.append([faces[k] for k in order])
        truth.append([who[k] for k in order])
    return frames, truth


def _who(assignments, truth, persons=("A", "B")):
    """Per frame and person: the true person of the face given (None: no face)."""
    return [[None if a.index[label] is None else truth_i[a.index[label]] for label in persons]
            for a, truth_i in zip(assignments, truth)]


def test_identity_kept_while_one_face_is_missing_for_a_second():
    left, right = _paths()
    frames, truth = _frames(left, right, missing=[(0, 80, 24)])
    out = assign_identities(frames, times_s=TIMES)
    who = _who(out, truth)
    for i, (a, b) in enumerate(who):
        assert b == 1, i
        assert a == (None if 80 <= i < 104 else 0), i
    assert all(isinstance(x, Assignment) and x.n_ignored == 0 for x in out)


def test_identity_kept_while_the_right_face_is_missing_and_the_left_moves_towards_it():
    left, right = _paths()
    left = left.copy()
    left[60:110, 0] += np.linspace(0, 250, 50)  # drifts right while B is away, not past B
    left[110:, 0] += 250
    frames, truth = _frames(left, right, missing=[(1, 70, 30)])
    who = _who(assign_identities(frames, times_s=TIMES), truth)
    assert all(a == 0 for a, _ in who)
    assert all(b == (None if 70 <= i < 100 else 1) for i, (_, b) in enumerate(who))


def test_detector_order_does_not_matter():
    left, right = _paths(seed=3)
    plain, truth = _frames(left, right, missing=[(0, 50, 24), (1, 120, 10)], seed=5)
    shuffled, truth_s = _frames(left, right, missing=[(0, 50, 24), (1, 120, 10)], seed=5,
                                shuffle=True)
    who = _who(assign_identities(plain, times_s=TIMES), truth)
    assert _who(assign_identities(shuffled, times_s=TIMES), truth_s) == who
    assert all(a in (0, None) and b in (1, None) for a, b in who)
    # and the same input twice gives the same output
    assert assign_identities(shuffled, times_s=TIMES) == assign_identities(shuffled, times_s=TIMES)


def test_third_spurious_face_is_ignored_and_counted():
    left, right = _paths(seed=1)
    rng = np.random.default_rng(2)
    extra = {i: (rng.uniform(420, 540), rng.uniform(60, 300), rng.uniform(40, 120))
             for i in range(1, N, 3)}  # not at the start frame: see the next test
    frames, truth = _frames(left, right, extra=extra, shuffle=True, seed=4)
    out = assign_identities(frames, times_s=TIMES)
    assert _who(out, truth) == [[0, 1]] * N
    assert [a.n_ignored for a in out] == [int(i in extra) for i in range(N)]
    assert [a.n_faces for a in out] == [2 + int(i in extra) for i in range(N)]


def test_start_picks_the_two_largest_faces_leftmost_first_then_tracks_backwards():
    # Frames 0-9: only the right person is seen; frame 10 has both plus a small face.
    frames = [[(760.0, 190.0, 80.0)]] * 10 + [[(760, 190, 80), (480, 100, 20), (200, 200, 75)]]
    out = assign_identities(frames, times_s=np.arange(11) / FPS, persons=("infant", "mother"))
    assert out[10].index == {"infant": 2, "mother": 0}
    assert out[10].n_ignored == 1
    assert all(a.index == {"infant": None, "mother": 0} for a in out[:10])


def test_hints_set_who_is_who():
    frames = [[(200.0, 200.0, 80.0), (760.0, 190.0, 80.0)]] * 5
    hints = {"infant": (800, 200), "mother": (150, 150)}
    out = assign_identities(frames, times_s=np.arange(5) / FPS, persons=("infant", "mother"),
                            hints=hints)
    assert all(a.index == {"infant": 1, "mother": 0} for a in out)
    # a lone face at the start goes to the nearer hint
    out = assign_identities([[(780.0, 190.0, 80.0)]], times_s=[0.0],
                            persons=("infant", "mother"), hints=hints)
    assert out[0].index == {"infant": 0, "mother": None}


def _start_then(frames_after, times_after):
    """Both persons seen at t = 0 (A at x=200, B at x=760), then the given frames."""
    start = [(200.0, 200.0, SIZE), (760.0, 200.0, SIZE)]
    return assign_identities([start, *frames_after], times_s=[0.0, *times_after])[1:]


def test_reappearing_face_nearer_the_other_persons_place_with_the_other_visible():
    # A was lost for 1 s; B is still at 760. A comes back at x=500: nearer to B's last
    # position (260 px) than to A's (300 px), but B's own face explains B, so the joint
    # match gives the new face to A (within A's gate, 1 + 3 * 1.0 face sizes = 320 px).
    a_missing = [[(760.0, 200.0, SIZE)]] * 23
    times = list(np.arange(1, 24) / 24)
    out = _start_then(a_missing + [[(760.0, 200.0, SIZE), (500.0, 200.0, SIZE)]], times + [1.0])
    assert all(a.index == {"A": None, "B": 0} for a in out[:23])
    assert out[23].index == {"A": 1, "B": 0}


def test_lone_reappearing_face_goes_to_the_nearer_last_position_never_the_farther():
    # Both lost for 1 s. A lone face at x=520 is nearer to B's last position: by the
    # documented rule it is B's (position is the only evidence) ...
    out = _start_then([[], [(520.0, 200.0, SIZE)]], [0.5, 1.0])
    assert out[1].index == {"A": None, "B": 0}
    # ... unless it lies outside B's gate (B was seen 40 ms before, at 760: the gate is
    # 1.12 face sizes, 90 px): then nobody gets it, and never A, though A's gate (missing
    # for 3 s: 10 face sizes) would allow it.
    out = _start_then([[(760.0, 200.0, SIZE)], [(760.0, 200.0, SIZE)], [(560.0, 200.0, SIZE)]],
                      [0.5, 2.96, 3.0])
    assert out[2].index == {"A": None, "B": None}
    assert out[2].n_ignored == 1
    # A lone face right next to A's last position goes to A after any absence.
    out = _start_then([[], [(230.0, 205.0, SIZE)]], [5.0, 10.0])
    assert out[1].index == {"A": 0, "B": None}


def test_faces_within_the_gate_only():
    # One frame later (1/24 s) a face 3 face sizes away from A is not A's.
    out = _start_then([[(200.0 + 3 * SIZE, 200.0, SIZE), (760.0, 200.0, SIZE)]], [1 / 24])
    assert out[0].index == {"A": None, "B": 1}


def test_mappings_invalid_faces_and_empty_input():
    frames = [[{"centre_x_px": 760, "centre_y_px": 190, "face_size_px": 80},
               {"centre_x_px": 200, "centre_y_px": 200, "face_size_px": 80}],
              [(np.nan, 200, 80), (205, 200, 80), (765, 190, 0.0), (765, 190, 80)],
              np.array([[210.0, 200, 80], [770, 190, 80]])]
    out = assign_identities(frames, times_s=[0.0, 0.04, 0.08])
    assert [a.index for a in out] == [{"A": 1, "B": 0}, {"A": 1, "B": 3}, {"A": 0, "B": 1}]
    assert [a.n_ignored for a in out] == [0, 2, 0]
    assert assign_identities([[(200, 200, 80)], []], times_s=[0, 1]) == [
        Assignment({"A": None, "B": None}, 1, 1), Assignment({"A": None, "B": None}, 0, 0)]
    assert assign_identities([], times_s=[]) == []


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [({"persons": ("A", "A")}, "persons"),
     ({"times_s": [0.0]}, "times_s"),
     ({"times_s": [1.0, 0.0]}, "times_s"),
     ({"detections": [[(1, 2)], []]}, "detections"),
     ({"detections": "faces"}, "detections"),
     ({"hints": {"A": (1, 2)}}, "hints"),
     ({"gate_faces": -1}, "gate_faces"),
     ({"speed_faces_per_s": float("nan")}, "speed_faces_per_s")],
)
def test_bad_arguments_name_the_parameter(kwargs, name):
    args = {"detections": [[(1, 2, 3)], []], "times_s": [0.0, 0.1], **kwargs}
    pattern = f"^The '{name}' parameter of assign_identities"
    with pytest.raises(ParameterError, match=pattern) as err:
        assign_identities(args.pop("detections"), **args)
    assert "\n" not in str(err.value)


# ------------------------------------------------------------------ real video, FaceMesh


@pytest.fixture(scope="module")
def shared_video(reference_dir, tmp_path_factory):
    clip = reference_dir / "media" / "WolfgangLanger_Pexels.mp4"
    path = tmp_path_factory.mktemp("layout") / "shared.mp4"
    return path, write_shared_frame_video(clip, path, n_frames=N)


@pytest.fixture(scope="module")
def mesh_faces(shared_video):
    """FaceMesh (up to two faces) on every frame: per frame a list of Face."""
    import mediapipe as mp

    from synchrony.media import iter_frames

    path, _ = shared_video
    times, detections = [], []
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*GetPrototype", category=UserWarning)
        with mp.solutions.face_mesh.FaceMesh(static_image_mode=False, max_num_faces=2,
                                             refine_landmarks=True) as mesh:
            for time_s, rgb in iter_frames(path):
                height, width = rgb.shape[:2]
                result = mesh.process(rgb)
                faces = []
                for landmarks in result.multi_face_landmarks or []:
                    xy = np.array([(p.x * width, p.y * height) for p in landmarks.landmark])
                    faces.append(Face(*xy.mean(axis=0), float(np.linalg.norm(xy[33] - xy[263]))))
                times.append(time_s)
                detections.append(faces)
    return np.array(times), detections


def test_real_video_identity_survives_a_vanished_face(shared_video, mesh_faces):
    _, info = shared_video
    times, detections = mesh_faces
    assert len(times) == N
    # Never trust the detector's order: reverse every frame's list, same identities.
    out = assign_identities(detections, times_s=times, persons=("infant", "mother"))
    flipped = assign_identities([d[::-1] for d in detections], times_s=times,
                                persons=("infant", "mother"))

    def x_of(assignments, dets, label):
        return np.array([np.nan if a.index[label] is None else d[a.index[label]].centre_x_px
                         for a, d in zip(assignments, dets)])

    middle = info["width"] / 2
    infant, mother = x_of(out, detections, "infant"), x_of(out, detections, "mother")
    np.testing.assert_array_equal(infant, x_of(flipped, [d[::-1] for d in detections], "infant"))
    np.testing.assert_array_equal(mother, x_of(flipped, [d[::-1] for d in detections], "mother"))

    blank = (times >= info["blank_s"][0]) & (times < info["blank_s"][1])
    before, after = times < info["blank_s"][0], times >= info["blank_s"][1]
    assert blank.sum() == BLANK[1]
    # No frame ever gives a face on the right half to the left person, or vice versa.
    assert not (infant >= middle).any()
    assert not (mother < middle).any()
    # During the blank second the left person has no face; the right keeps its own.
    assert np.isnan(infant[blank]).all()
    assert np.isfinite(mother[blank]).all()
    assert (mother[blank] > info["right_x"][0]).all()
    # Both are found around it (FaceMesh may need a frame or two to pick the face up).
    assert np.isfinite(infant[before]).mean() > 0.95
    assert np.isfinite(infant[after]).mean() > 0.9
    assert np.isfinite(infant[after][-48:]).all()
    assert np.isfinite(mother).mean() > 0.95
    assert sum(a.n_ignored for a in out) <= 2
