"""Speaker attribution of a mixed (mono) track on a real split-screen video (issue 4).

Acceptance: "A mixed-track split-screen test where only one face's mouth moves during
each voiced stretch: attribution right for >= 90% of voiced time."

The video is 1280x360, 24 s, made from the real clip reference/media/
WolfgangLanger_Pexels.mp4 (one woman's face, 640x360, 23.976 fps): person A is the clip
in the left half, person B the clip mirrored in the right half. The session is cut into
3 s stretches; in even stretches A's half plays the clip and B's half shows one frozen
frame, in odd stretches the reverse. The mono AAC track holds voice-like sounds
(harmonic tones with a syllable envelope, A lower than B) inside every stretch, 0.3 s
clear of its edges, so the voice of stretch k belongs to whoever plays in it.

Which parts of the clip are used, and why (measured with FaceMesh's ``mouth_open``):

* Playing parts come from clip time 5.6-10.6 s, where the mouth moves (|d mouth_open/dt|
  mostly 0.1-0.9 face sizes/s). Before that a hand covers the mouth; after 10.6 s the
  woman holds a broad smile and her mouth barely moves (often < 0.06 face sizes/s).
* Frozen frames are clip 11.0 s (A) and 16.5 s mirrored (B): clear faces on which
  FaceMesh is steady. On a still frame with a hand near the mouth (clip 3-10 s),
  FaceMesh's mouth opening wanders frame to frame by up to ~1 face size/s although
  the picture does not change, i.e. that "frozen" mouth moves as much as a talking one,
  which is not the situation the acceptance point describes.

The session is ``Session.from_video`` (split layout, the video's mono audio); face and
voice tracks come from ``face_tracks`` and ``voice_tracks_for(session, faces=...)``, the
calls ``analyze`` makes, and the accuracy is the share of the mixed track's
voice-active frames (10 ms each) given to the right person. ``analyze`` itself is run on
the same video for its summary, turns and attribution.
"""

import json

import numpy as np
import pytest

from _audiogen import harmonic, place, syllables
from _facegen import clip_frames
from _layoutgen import FPS, _write_video
from synchrony.config import AnalysisConfig
from synchrony.extract.layouts import face_tracks, voice_tracks_for
from synchrony.pipeline import analyze
from synchrony.session import Session

SR = 48000
STRETCH_S = 3.0
N_STRETCHES = 8  # 24 s: A plays in stretches 0, 2, 4, 6; B in 1, 3, 5, 7
PERSONS = ("A", "B")
# Clip time (s) each playing stretch starts from, per person, in playing order.
PLAY_FROM_S = {"A": (5.6, 7.6, 6.6, 7.1), "B": (7.6, 5.6, 7.1, 6.6)}
FROZEN_AT_S = {"A": 11.0, "B": 16.5}
F0_HZ = {"A": 190.0, "B": 260.0}
# Voiced parts of each stretch (s from its start): 0.3 s clear of both edges.
BURSTS_S = ((0.3, 1.35), (1.65, 2.7))


def speaker_at(time_s):
    """Who speaks (whose half plays) at each session time."""
    k = np.minimum(np.asarray(time_s) // STRETCH_S, N_STRETCHES - 1).astype(int)
    return np.where(k % 2 == 0, "A", "B")


def build_video(clip, path):
    """Write the split-screen video with its mono voice track; return the voiced spans."""
    n = int(round(N_STRETCHES * STRETCH_S * FPS))
    t = np.arange(n) / FPS
    stretch = np.minimum(t // STRETCH_S, N_STRETCHES - 1).astype(int)
    frame_of = {}
    for i, person in enumerate(PERSONS):
        index = np.full(n, int(round(FROZEN_AT_S[person] * FPS)))
        plays = stretch % 2 == i
        start = np.asarray(PLAY_FROM_S[person])[stretch[plays] // 2]
        index[plays] = np.round((start + t[plays] - stretch[plays] * STRETCH_S) * FPS).astype(int)
        frame_of[person] = index
    frames = clip_frames(clip, 0, int(max(f.max() for f in frame_of.values())) + 1)
    pictures = [np.ascontiguousarray(np.hstack([frames[a], frames[b][:, ::-1]]))
                for a, b in zip(frame_of["A"], frame_of["B"])]

    rng = np.random.default_rng(4)
    pieces, spans = [], []
    for k in range(N_STRETCHES):
        person = PERSONS[k % 2]
        for on, off in BURSTS_S:
            d = off - on
            f0 = F0_HZ[person] * rng.uniform(0.92, 1.08)
            voice = harmonic(np.full(int(round(d * SR)), f0), SR) * syllables(
                d, rng.uniform(3.5, 5.0), SR, depth_db=10)
            pieces.append((k * STRETCH_S + on, voice))
            spans.append((person, k * STRETCH_S + on, k * STRETCH_S + off))
    duration_s = n / FPS
    audio = place(pieces, duration_s, SR) + rng.normal(0, 3e-4, int(round(duration_s * SR)))
    _write_video(path, pictures, audio=audio[None].astype(np.float32), sr_hz=SR)
    return spans


@pytest.fixture(scope="module")
def video(reference_dir, tmp_path_factory):
    path = tmp_path_factory.mktemp("attribution") / "split_mixed.mp4"
    spans = build_video(reference_dir / "media" / "WolfgangLanger_Pexels.mp4", path)
    return path, spans


@pytest.fixture(scope="module")
def tracks(video):
    """Face and voice tracks as ``analyze`` computes them (same calls, same order)."""
    path, spans = video
    session = Session.from_video(path, persons=PERSONS)
    faces = face_tracks(session)
    return spans, faces, voice_tracks_for(session, faces=faces)


def test_split_video_with_one_mixed_track_gives_attributed_voices(tracks):
    spans, faces, voices = tracks
    assert set(voices) == {"mixed", *PERSONS}
    assert all(faces[p]["face_detected"].mean() > 0.95 for p in PERSONS)
    # the voice was found: nearly all planted voice is voice-active, little else is
    mixed = voices["mixed"]
    t = mixed.index.to_numpy()
    planted = np.zeros(t.size, bool)
    for _, on, off in spans:
        planted |= (t >= on + 0.03) & (t < off - 0.03)
    active = mixed["voice_active"].to_numpy()
    assert active[planted].mean() > 0.95
    assert active[~planted].sum() < 0.1 * active.sum()
    # attributed voice is a part of the mixed track's, never two persons at once
    a, b = (voices[p]["voice_active"].to_numpy() for p in PERSONS)
    assert not (a & b).any() and not ((a | b) & ~active).any()


def test_mouth_movement_attributes_at_least_90_percent_of_voiced_time(tracks):
    _, _, voices = tracks
    mixed = voices["mixed"]
    active = mixed["voice_active"].to_numpy()
    truth = speaker_at(mixed.index.to_numpy())
    given = np.full(active.size, None, dtype=object)
    for p in PERSONS:
        given[voices[p]["voice_active"].to_numpy()] = p
    accuracy = float((given[active] == truth[active]).mean())  # unattributed = wrong
    print(f"attribution right for {accuracy:.1%} of {active.sum() / 100:.2f} s voiced")
    assert accuracy >= 0.90
    for p in PERSONS:  # both persons are given voice, each in their own stretches
        mine = voices[p]["voice_active"].to_numpy()
        assert mine[truth == p].sum() >= 0.9 * (active & (truth == p)).sum()
        confidence = voices[p]["attribution_confidence"][mine]
        assert confidence.between(0, 1).all() and confidence.median() > 0.5
        assert voices[p]["f0_hz"][mine].median() == pytest.approx(F0_HZ[p], rel=0.1)


def attribution_share(signals):
    """Share of the mixed track's voiced time given to the person whose half plays, on
    the pipeline's clock (each bin holds the share of its voice frames that are active,
    or attributed to a person); unattributed voiced time counts as wrong."""
    voiced = signals["mixed", "voice_active"].to_numpy()
    truth = speaker_at(signals.index.to_numpy())
    right = np.where(truth == "A", signals["A", "voice_active"], signals["B", "voice_active"])
    return float(np.nansum(right) / np.nansum(voiced))


def test_analyze_reports_the_mixed_track_and_its_attribution(video, tmp_path):
    path, _ = video
    out = tmp_path / "out"
    result = analyze(Session.from_video(path, persons=PERSONS),
                     config=AnalysisConfig(n_surrogates=20), out_dir=out)
    facts = result.summary["session"]
    assert facts["layout"] == "split"
    assert facts["audio"] == "mixed (speaker attributed by mouth movement)"
    assert json.loads((out / "summary.json").read_text())["session"]["audio"] == facts["audio"]
    assert attribution_share(result.signals) >= 0.90
    # one turn per stretch, taken by whoever plays in it
    assert list(result.turns["person"]) == [PERSONS[k % 2] for k in range(N_STRETCHES)]
