"""The two face backends (issue 9): FaceMesh and the Tasks Face Landmarker, through the
face path of every layout and through ``analyze``.

Known answers: the right half of a split screen is the left half mirrored and delayed by
``DELAY`` frames, so the right person's blendshape series must be the left person's
shifted by the delay; both backends share the landmark topology, so the features they
share have the same names and agree; switching the backend adds the blendshape columns
and the expression pairs and takes nothing away.
"""

import json

import numpy as np
import pandas as pd
import pytest

from _facegen import clip_frames, delayed, mirrored, write_split_video
from _layoutgen import BLANK, write_shared_frame_video
from synchrony.config import PAIR_SETS, AnalysisConfig
from synchrony.errors import ConfigError, ParameterError
from synchrony.extract.face import FACE_COLUMNS, backend_columns, extract_face_split
from synchrony.extract.landmarker import BLENDSHAPE_COLUMNS, LANDMARKER_FEATURES

DELAY = 6  # frames; even, so the copy keeps the clip's alternating frame durations
SAMPLE = "sample_media/dyad_split.mp4"


@pytest.fixture(scope="module")
def mirrored_split(reference_dir, tmp_path_factory):
    """single_face.mp4 (72 frames of a woman talking and smiling) | mirrored, delayed."""
    left = clip_frames(reference_dir / "media" / "single_face.mp4", 0, 10 ** 6)
    path = tmp_path_factory.mktemp("backends") / "mirror.mp4"
    write_split_video(path, left, delayed(mirrored(left), DELAY))
    return path


@pytest.fixture(scope="module")
def tracks(mirrored_split):
    return {backend: extract_face_split(mirrored_split, backend=backend)
            for backend in ("facemesh", "landmarker")}


def _shifted_r(a, b, k):
    """r between a[i] and b[i + k] over the frames where both are finite."""
    x, y = a[:len(a) - k], b[k:]
    ok = np.isfinite(x) & np.isfinite(y)
    return float(np.corrcoef(x[ok], y[ok])[0, 1])


def test_mirrored_delayed_copy_gives_the_same_blendshapes_shifted_by_the_delay(tracks):
    a, b = tracks["landmarker"]["A"], tracks["landmarker"]["B"]
    assert not b["face_detected"].iloc[:DELAY].any()  # black before the copy starts
    assert b["face_detected"].iloc[DELAY:].all() and a["face_detected"].all()
    for column in ("expr_smile", "bs_jawOpen"):
        r = _shifted_r(a[column].to_numpy(), b[column].to_numpy(), DELAY)
        assert r > 0.9, (column, r)  # measured: expr_smile 1.00, bs_jawOpen 0.98
    # and the delay is the shift at which they agree best
    fit = [_shifted_r(a["expr_smile"].to_numpy(), b["expr_smile"].to_numpy(), k)
           + _shifted_r(a["bs_jawOpen"].to_numpy(), b["bs_jawOpen"].to_numpy(), k)
           for k in range(0, 2 * DELAY + 1)]
    assert int(np.argmax(fit)) == DELAY
    # the smile is a real one: from about none to a full smile within the clip
    assert a["expr_smile"].min() < 0.2 and a["expr_smile"].max() > 0.8


def test_blendshape_columns_are_scores_and_composites_their_means(tracks):
    track = tracks["landmarker"]["A"]
    scores = track[list(BLENDSHAPE_COLUMNS)].to_numpy()
    assert np.nanmin(scores) >= 0 and np.nanmax(scores) <= 1
    np.testing.assert_allclose(
        track["expr_smile"], track[["bs_mouthSmileLeft", "bs_mouthSmileRight"]].mean(axis=1))
    np.testing.assert_allclose(
        track["expr_distress"],
        track[["bs_browInnerUp", "bs_mouthFrownLeft", "bs_mouthFrownRight"]].mean(axis=1))


def test_both_backends_share_the_names_and_agree_on_the_shared_features(tracks):
    mesh, lmk = tracks["facemesh"], tracks["landmarker"]
    assert backend_columns("facemesh") == ()
    assert backend_columns("landmarker") == LANDMARKER_FEATURES
    for person in ("A", "B"):
        assert list(mesh[person].columns) == list(FACE_COLUMNS)
        assert list(lmk[person].columns) == list(FACE_COLUMNS) + list(LANDMARKER_FEATURES)
        pd.testing.assert_index_equal(mesh[person].index, lmk[person].index)
        shared = list(FACE_COLUMNS)
        assert (mesh[person][shared].dtypes == lmk[person][shared].dtypes).all()
        pd.testing.assert_series_equal(mesh[person]["face_detected"], lmk[person]["face_detected"])
    # the same face geometry from two landmark models: what moves in this clip (the
    # mouth, the nod) moves alike (measured r 0.96-1.00); the head hardly turns or rolls
    # (SD under 1 deg), so there the poses agree in level
    a_mesh, a_lmk = mesh["A"], lmk["A"]
    for column in ("head_y", "head_pitch_deg", "smile", "mouth_open", "eye_open", "face_motion"):
        both = a_mesh[column].notna() & a_lmk[column].notna()  # face_motion: none at frame 0
        r = np.corrcoef(a_mesh[column][both], a_lmk[column][both])[0, 1]
        assert r > 0.9, (column, r)
    for column in ("head_yaw_deg", "head_roll_deg"):
        assert abs(a_mesh[column].mean() - a_lmk[column].mean()) < 1.5  # measured 0.7, 0.2


def test_the_landmarker_follows_two_faces_in_a_shared_frame(reference_dir, tmp_path):
    from synchrony.extract.layouts import extract_face_shared

    path = tmp_path / "shared.mp4"
    info = write_shared_frame_video(reference_dir / "media" / "WolfgangLanger_Pexels.mp4", path,
                                    n_frames=BLANK[0] + BLANK[1] + 24)
    found = extract_face_shared(path, persons=("infant", "mother"), backend="landmarker")
    infant, mother = found["infant"], found["mother"]
    assert list(infant.columns) == list(FACE_COLUMNS) + list(LANDMARKER_FEATURES)
    t = infant.index.to_numpy()
    blank = (t >= info["blank_s"][0]) & (t < info["blank_s"][1])
    assert not infant["face_detected"][blank].any()
    assert infant["bs_jawOpen"][blank].isna().all()  # no face, no scores
    assert infant["face_detected"][~blank].mean() > 0.95
    assert mother["face_detected"].mean() > 0.95
    assert mother["expr_smile"].notna().mean() > 0.95


def test_backend_is_validated_once_at_the_boundary():
    with pytest.raises(ParameterError, match="The 'backend' parameter of extract_face_split must be one of"):
        extract_face_split(SAMPLE, backend="openface")
    with pytest.raises(ConfigError, match="'face_backend' parameter of AnalysisConfig"):
        AnalysisConfig(face_backend="openface")


def test_switching_the_backend_in_analyze_adds_blendshapes_and_expression_pairs_only(tmp_path):
    from synchrony.pipeline import analyze

    outputs = {}
    for backend in ("facemesh", "landmarker"):
        config = AnalysisConfig(video_rate_hz=5.0, n_surrogates=19, face_backend=backend)
        out = tmp_path / backend
        analyze(SAMPLE, config=config, out_dir=out)
        outputs[backend] = out
    files = {b: {p.name for p in out.iterdir() if not p.name.startswith(".")} for b, out in outputs.items()}
    expression = {f"{a}~{b}" for a, b in PAIR_SETS["expression"]}
    # every file of the FaceMesh run is there; new files are only the expression pairs' figures
    assert files["facemesh"] <= files["landmarker"]
    figures = {f"{kind}_{a}_vs_{b}.png" for a, b in PAIR_SETS["expression"]
               for kind in ("heatmap", "lag", "signals", "surrogates")}
    assert files["landmarker"] - files["facemesh"] == figures

    def columns(backend):
        return set(pd.read_csv(outputs[backend] / "signals.csv", nrows=1).columns)

    added = columns("landmarker") - columns("facemesh")
    assert columns("facemesh") <= columns("landmarker")
    assert added == {f"{p}.{c}" for p in ("A", "B") for c in LANDMARKER_FEATURES}

    def pairs(backend):
        return set(json.loads((outputs[backend] / "summary.json").read_text())["pairs"])

    assert pairs("landmarker") - pairs("facemesh") == expression
    assert pairs("facemesh") <= pairs("landmarker")
    settings = json.loads((outputs["landmarker"] / "summary.json").read_text())["config"]
    assert settings["face_backend"] == "landmarker"
