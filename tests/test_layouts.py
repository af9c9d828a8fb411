"""Face tracks for every layout through face_tracks(session): shared-frame identities,
two-files offsets, split regions."""

import numpy as np
import pandas as pd
import pytest

from _layoutgen import BLANK, write_shared_frame_video, write_two_files_pair
from synchrony.extract.face import FACE_COLUMNS
from synchrony.extract.layouts import face_tracks
from synchrony.session import Session

N = 144  # frames of the shared-frame video: 6 s


@pytest.fixture(scope="module")
def clip(reference_dir):
    return reference_dir / "media" / "WolfgangLanger_Pexels.mp4"


@pytest.fixture(scope="module")
def shared(clip, tmp_path_factory):
    path = tmp_path_factory.mktemp("shared") / "table.mp4"
    info = write_shared_frame_video(clip, path, n_frames=N)
    session = Session(layout="shared-frame", videos=str(path), persons=("infant", "mother"))
    return info, face_tracks(session)


def test_shared_frame_identities_never_swap(shared):
    info, tracks = shared
    infant, mother = tracks["infant"], tracks["mother"]
    assert list(infant.columns) == list(FACE_COLUMNS)
    # every analysed frame keeps its row for both persons
    np.testing.assert_allclose(infant.index, info["times_s"])
    np.testing.assert_allclose(mother.index, info["times_s"])
    t = infant.index.to_numpy()
    blank = (t >= info["blank_s"][0]) & (t < info["blank_s"][1])
    # the left face (the infant, leftmost when first seen) is absent while blanked
    assert not infant["face_detected"][blank].any()
    assert infant["face_detected"][~blank].mean() > 0.95
    assert mother["face_detected"].mean() > 0.95
    # and nobody's face ever moves to the other side: x centre in face sizes from the
    # frame centre is negative for the left person, positive for the right one
    assert (infant["head_x"].dropna() < 0).all()
    assert (mother["head_x"].dropna() > 0).all()


def test_shared_frame_looking_at_partner_is_defined_only_with_both_faces(shared):
    info, tracks = shared
    infant, mother = tracks["infant"], tracks["mother"]
    t = infant.index.to_numpy()
    blank = (t >= info["blank_s"][0]) & (t < info["blank_s"][1])
    assert mother["looking_at_partner"][blank].isna().all()
    assert mother["looking_at_partner"][~blank & mother["face_detected"].to_numpy()
                                        & infant["face_detected"].to_numpy()].notna().all()


def test_two_files_tracks_are_on_the_session_clock(clip, tmp_path):
    path_a, path_b = write_two_files_pair(clip, tmp_path, duration_s=10.0)
    session = Session(layout="two-files", videos=(str(path_a), str(path_b)),
                      persons=("A", "B"), offsets_s=(0.0, 2.0))
    tracks = face_tracks(session)
    a, b = tracks["A"], tracks["B"]
    assert a.index[0] == pytest.approx(0.0, abs=0.05)
    assert b.index[0] == pytest.approx(2.0, abs=0.05)  # B's first frame at session 2 s
    # B films A's face mirrored from A's time 2 s on, so on the session clock B's head
    # yaw is A's negated at lag 0 (a wrong offset would move the best lag)
    from synchrony.signals import build_signals

    sig = build_signals(tracks, rate_hz=10)
    ya, yb = sig["A", "head_yaw_deg"].to_numpy(), -sig["B", "head_yaw_deg"].to_numpy()

    def r_at(shift):
        x, y = ya[max(0, -shift):len(ya) - max(0, shift)], yb[max(0, shift):len(yb) - max(0, -shift)]
        ok = np.isfinite(x) & np.isfinite(y)
        return np.corrcoef(x[ok], y[ok])[0, 1]

    # yaw is smooth, so its correlation peak is broad: +/- 0.2 s, where ignoring the
    # 2 s offset would put it 20 samples away (outside the range searched)
    shifts = range(-10, 11)
    rs = [r_at(k) for k in shifts]
    assert abs(list(shifts)[int(np.argmax(rs))]) <= 2 and r_at(0) > 0.9


def test_split_regions_px_equal_the_split_fraction(tmp_path):
    from synchrony.extract.face import extract_face_split
    from test_pipeline import _sample_without_audio

    video = _sample_without_audio(tmp_path / "s.mp4", 48)
    by_split = extract_face_split(video)
    by_region = extract_face_split(video, regions_px=((0, 0, 640, 360), (640, 0, 640, 360)))
    for p in ("A", "B"):
        pd.testing.assert_frame_equal(by_split[p], by_region[p])
    with pytest.raises(Exception, match="outside the 1280x360 frame"):
        extract_face_split(video, regions_px=((0, 0, 640, 360), (700, 0, 640, 360)))


def test_two_files_session_end_to_end_with_estimated_offset(clip, tmp_path, monkeypatch):
    """analyze() on a two-files Session with offsets_s=None: the 2.0 s offset is estimated
    from the shared audio, both persons land on one clock, and a re-run reuses the
    extracted tracks (the stage cache) instead of decoding again."""
    import json

    import synchrony.extract.layouts as layouts
    from synchrony.config import AnalysisConfig
    from synchrony.pipeline import analyze

    path_a, path_b = write_two_files_pair(clip, tmp_path, duration_s=10.0)
    session = Session(layout="two-files", videos=(str(path_a), str(path_b)), offsets_s=None)
    config = AnalysisConfig(window_s=2.0, step_s=0.5, max_lag_s=0.5, n_surrogates=20,
                            pairs=(("head_pitch_deg", "head_pitch_deg"),))
    out = tmp_path / "out"
    result = analyze(session, config=config, out_dir=out)
    estimate = result.summary["session"]["offset_estimate"]
    assert estimate["offset_s"] == pytest.approx(2.0, abs=1 / 23.976)
    assert estimate["reliable"]
    assert result.summary["session"]["offsets_s"][1] == pytest.approx(2.0, abs=1 / 23.976)
    first_b = result.signals["B", "face_detected"].dropna()
    assert first_b.index[0] == pytest.approx(2.0, abs=0.1)

    def no_decoding(*args, **kwargs):
        raise AssertionError("extraction ran again although nothing changed")

    monkeypatch.setattr(layouts, "face_tracks", no_decoding)
    again = analyze(session, config=AnalysisConfig(window_s=3.0, step_s=0.5, max_lag_s=0.5,
                                                   n_surrogates=20), out_dir=out)
    pd.testing.assert_frame_equal(again.signals[result.signals.columns], result.signals)
    assert json.loads((out / "summary.json").read_text())["config"]["window_s"] == 3.0
