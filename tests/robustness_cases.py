"""The bad-input corpus (issue #8 item 1): each case, how its input is made, and the
documented outcome.

``CASES`` drives tests/test_robustness.py, and tests/robustness_table.py renders it as
the table in docs/robustness.md. Inputs are written into the test's ``tmp_path`` by the
case's ``make`` function (PyAV, numpy, plain text), so nothing but this list is kept.

Outcomes:

``error``
    Nothing is analysed. CLI: exit status 1 and exactly one ``error:`` line (the last on
    stderr, no traceback) holding every fragment of ``expect``. API: a
    ``SynchronyError`` subclass ``error_type`` whose one-line message holds them.
``degraded``
    The analysis runs (exit status 0) and says what is missing: a warning holding every
    fragment of ``expect``, and the quality flags in ``flags`` (asserted by ``check``).
``works``
    A legitimate input: the analysis runs; ``check`` asserts what it did.

Fragments may name inputs as ``{name}`` (the path ``make`` returned under that name).
A case already asserted elsewhere points there with ``covered_by`` and is not re-run;
``xfail`` records a library bug (the case is run and must fail until it is fixed).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.io import wavfile

from _audiogen import SR, harmonic, place, syllables
from _batchgen import rmea_excerpt, write_manifest
from _mediagen import make_video
from conftest import REFERENCE

# Short windows so that the small generated series can be analysed quickly.
XCORR_FAST = ("--window-s", "4", "--step-s", "2", "--max-lag-s", "1", "--n-surrogates", "9")


@dataclass(frozen=True)
class Case:
    id: str
    what: str
    outcome: str  # "error", "degraded" or "works"
    expect: tuple = ()  # message fragments
    make: Callable | None = None  # make(tmp_path) -> {name: path}; its docstring says how
    cli: tuple = ()  # `synchrony` arguments, "{name}" and "{out}" filled in
    api: Callable | None = None  # api(paths, tmp_path) -> result; its docstring is the call
    error_type: str = "SynchronyError"
    flags: str = ""  # quality flags of a degraded result, in words
    check: Callable | None = None  # check(out_dir or result, paths): the flags / what works
    covered_by: str | None = None  # "tests/test_x.py::test_y"
    xfail: str | None = None  # the bug, while it lasts
    needs_reference: bool = False

    @property
    def how(self) -> str:
        if self.make is None:
            return ""
        return " ".join((self.make.__doc__ or "").split())

    @property
    def call(self) -> str:
        if self.cli:
            return "synchrony " + " ".join(a if a != "{out}" else "OUT" for a in self.cli)
        if self.api is not None:
            return " ".join((self.api.__doc__ or "").split())
        return ""


# --------------------------------------------------------------------------- makers


def empty_file(tmp):
    """A 0-byte file named session.mp4."""
    path = tmp / "session.mp4"
    path.write_bytes(b"")
    return {"video": path}


def _mp4(tmp):
    """A 60-frame 64x48 mpeg4 .mp4 with AAC stereo audio, index (moov) last."""
    return make_video(tmp / "full.mp4", n_frames=60, with_audio=True)


def _cut(tmp, name, where):
    data = Path(_mp4(tmp)).read_bytes()
    moov = data.find(b"moov") - 4  # the box starts with its 4-byte size
    assert moov > 0
    path = tmp / name
    path.write_bytes(data[: where(len(data), moov)])
    return {"video": path}


def cut_in_header(tmp):
    """The .mp4 cut after its first 2% of bytes (the file-type box and the start of the media data)."""
    return _cut(tmp, "cut_header.mp4", lambda n, moov: int(0.02 * n))


def cut_before_index(tmp):
    """The .mp4 cut just before its index (moov box): all media data, no index."""
    return _cut(tmp, "cut_before_moov.mp4", lambda n, moov: moov)


def cut_index_start(tmp):
    """The .mp4 cut 200 bytes into its index (moov box)."""
    return _cut(tmp, "cut_moov_start.mp4", lambda n, moov: moov + 200)


def cut_index_end(tmp):
    """The .mp4 cut at 97% of its bytes: inside the index, in the audio track's entry (after the video track's)."""
    return _cut(tmp, "cut_moov_end.mp4", lambda n, moov: int(0.97 * n))


def index_last_64bit_media_box(tmp):
    """The .mp4 with its 8-byte free box and the media-data box header after it rewritten as one
    media-data box with a 64-bit size (size field 1, then the size in 8 bytes), as FFmpeg writes files
    over 4 GB; every other byte unchanged."""
    data = bytearray(Path(_mp4(tmp)).read_bytes())
    free = data.find(b"free") - 4
    assert free > 0 and data[free : free + 4] == (8).to_bytes(4, "big") and data[free + 12 : free + 16] == b"mdat"
    media = int.from_bytes(data[free + 8 : free + 12], "big")
    data[free : free + 16] = (1).to_bytes(4, "big") + b"mdat" + (media + 8).to_bytes(8, "big")
    path = tmp / "large_box.mp4"
    path.write_bytes(bytes(data))
    return {"video": path, "original": tmp / "full.mp4"}


def index_last_64bit_cut_in_index(tmp):
    """That 64-bit-size .mp4 cut 200 bytes into its index (moov box), which comes after the
    media data: found only by reading the 64-bit size."""
    data = Path(index_last_64bit_media_box(tmp)["video"]).read_bytes()
    path = tmp / "large_box_cut.mp4"
    path.write_bytes(data[: data.find(b"moov") - 4 + 200])
    return {"video": path}


def three_faces(tmp):
    """A 4 s, 1280x360 split-screen H.264 video made from the reference face clip: in the left half
    (person A) two copies of the face side by side at 60 % (the clip, and the clip mirrored and 150
    frames later), the first replaced by the wall behind it for 1 s (frames 36-59); in the right half
    (person B) one copy at 80 % (mirrored, 75 frames later)."""
    import cv2

    from _facegen import clip_frames
    from _layoutgen import _write_video

    frames = clip_frames(REFERENCE / "media" / "WolfgangLanger_Pexels.mp4", 0, 96 + 150)
    wall = frames[0][:, :230]  # the clip's left part: wall only
    background = np.ascontiguousarray(np.hstack([wall, wall[:, ::-1]] * 3)[:, :640])

    def face(frame, scale, mirror):  # the face part of the clip (x >= 230), scaled
        part = frame[:, 230:][:, ::-1] if mirror else frame[:, 230:]
        return cv2.resize(part, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)

    def put(canvas, patch, x):
        y = (canvas.shape[0] - patch.shape[0]) // 2
        canvas[y : y + patch.shape[0], x : x + patch.shape[1]] = patch

    pictures = []
    for i in range(96):
        left, right = background.copy(), background.copy()
        if not 36 <= i < 60:
            put(left, face(frames[i], 0.6, mirror=False), 20)
        second = face(frames[i + 150], 0.6, mirror=True)
        put(left, second, 620 - second.shape[1])
        put(right, face(frames[i + 75], 0.8, mirror=True), 100)
        pictures.append(np.hstack([left, right]))
    path = tmp / "three_faces.mp4"
    _write_video(path, pictures)
    return {"video": path}


def audio_only_wav(tmp):
    """A 3 s stereo 16 kHz WAV of noise (no video stream)."""
    rng = np.random.default_rng(0)
    path = tmp / "voice.wav"
    wavfile.write(path, SR, (0.1 * rng.standard_normal((3 * SR, 2))).astype(np.float32))
    return {"audio": path}


def silent_channel_wav(tmp):
    """A 30 s stereo 16 kHz WAV: left a voice-like harmonic sound (220 Hz, 4 syllables/s,
    1-29 s), right digital silence (every sample 0)."""
    voice = harmonic(np.full(28 * SR, 220.0)) * syllables(28.0)
    left = place([(1.0, voice)], 30.0)
    path = tmp / "call.wav"
    wavfile.write(path, SR, np.stack([left, np.zeros_like(left)], axis=1).astype(np.float32))
    return {"audio": path}


def _series_csv(path, empty=(), drop=()):
    rng = np.random.default_rng(1)
    t = np.arange(600) / 10
    x = np.sin(2 * np.pi * t / 7) + 0.3 * rng.standard_normal(600)
    y = np.cos(2 * np.pi * t / 5) + 0.3 * rng.standard_normal(600)
    table = pd.DataFrame({"time_s": t, "A.x": x, "B.x": np.roll(x, 3), "A.y": y, "B.y": np.roll(y, 2)})
    for col in empty:
        table[col] = np.nan
    table.drop(columns=list(drop)).to_csv(path, index=False, float_format="%.4f", na_rep="")
    return path


def csv_feature_of_one_person(tmp):
    """A 60 s, 10 Hz CSV with columns time_s, A.x, A.y, B.y: B has no column x."""
    return {"series": _series_csv(tmp / "one_sided.csv", drop=["B.x"])}


def csv_one_empty_column(tmp):
    """A 60 s, 10 Hz CSV with columns time_s, A.x, B.x, A.y, B.y; every cell of B.y empty."""
    return {"series": _series_csv(tmp / "empty_column.csv", empty=["B.y"])}


def csv_only_pair_empty(tmp):
    """A 60 s, 10 Hz CSV with columns time_s, A.x, B.x; every cell of B.x empty."""
    return {"series": _series_csv(tmp / "empty_pair.csv", empty=["B.x"], drop=["A.y", "B.y"])}


def study_with_missing_file(tmp):
    """A study folder with an rMEA excerpt (1,500 samples of reference dyad 200) and a CSV
    manifest: session ok -> d1.txt, session gone -> nothere.txt (no such file)."""
    folder = tmp / "study"
    folder.mkdir()
    rmea_excerpt(REFERENCE / "rmea" / "normal" / "200_01.txt", folder / "d1.txt", n_samples=1500)
    manifest = write_manifest(folder / "study.csv", [["ok", "d1.txt", "rmea"], ["gone", "nothere.txt", "rmea"]],
                              ["session_id", "video", "layout"])
    return {"manifest": manifest, "missing": folder / "nothere.txt"}


def study_with_outside_path(tmp):
    """A manifest in study/ whose one session's file is ../elsewhere/d2.txt (an rMEA
    excerpt outside the manifest's folder)."""
    (tmp / "study").mkdir()
    (tmp / "elsewhere").mkdir()
    outside = rmea_excerpt(REFERENCE / "rmea" / "normal" / "200_01.txt", tmp / "elsewhere" / "d2.txt",
                           n_samples=1500)
    manifest = write_manifest(tmp / "study" / "study.csv", [["out", "../elsewhere/d2.txt", "rmea"]],
                              ["session_id", "video", "layout"])
    return {"manifest": manifest, "outside": outside}


# --------------------------------------------------------------------------- calls


def probe(paths, tmp):
    """synchrony.media.probe(path)"""
    from synchrony.media import probe as _probe

    return _probe(paths["video"])


def split_faces(paths, tmp):
    """synchrony.extract.face.extract_face_split(path) (the face stage of `synchrony analyze`, split layout)"""
    import logging

    from synchrony.extract.face import extract_face_split

    class Warnings(logging.Handler):
        def __init__(self):
            super().__init__(logging.WARNING)
            self.messages = []

        def emit(self, record):
            self.messages.append(record.getMessage())

    handler = Warnings()
    logger = logging.getLogger("synchrony")
    logger.addHandler(handler)
    try:
        return extract_face_split(paths["video"]), handler.messages
    finally:
        logger.removeHandler(handler)


def batch(paths, tmp):
    """synchrony.run_batch(manifest, out_dir=OUT) (series sessions; one worker thread)"""
    from synchrony.batch import run_batch
    from synchrony.config import AnalysisConfig

    config = AnalysisConfig(window_s=1.5, step_s=0.5, max_lag_s=0.5, n_surrogates=9)
    with ThreadPoolExecutor(1) as pool:
        return run_batch(paths["manifest"], out_dir=tmp / "out", config=config, executor=pool,
                         pseudo_dyads=False)


# --------------------------------------------------------------------------- checks


def _signals(out):
    return pd.read_csv(out / "signals.csv")


def _pairs(out):
    return set(json.loads((out / "summary.json").read_text())["pairs"])


def check_64bit_box(info, paths):
    """probe reads the whole index: 60 video frames and the audio track, as in the original; all 60
    frames decode and the audio is sample for sample the original's."""
    from synchrony.media import iter_frames, read_audio

    assert info.video.n_frames == 60 and info.audio is not None and info.audio.n_channels == 2
    assert sum(1 for _ in iter_frames(paths["video"])) == 60
    np.testing.assert_array_equal(read_audio(paths["video"]).samples, read_audio(paths["original"]).samples)


def check_three_faces(found, paths):
    """Person B's face is found in every frame, person A's in all but at most the frame where A's
    first face vanishes (another face of the left half is taken at once); the warnings are returned."""
    tracks, warnings = found
    assert tracks["B"]["face_detected"].all()
    assert len(tracks["A"]) == 96 and tracks["A"]["face_detected"].sum() >= 95
    return "\n".join(warnings)


def check_empty_column(out, paths):
    """B.y is NaN throughout signals.csv; the pair y~y is skipped, x~x is analysed."""
    signals = _signals(out)
    assert signals["B.y"].isna().all() and signals["B.x"].notna().all()
    assert _pairs(out) == {"x~x"}


def check_missing_file_batch(result, paths):
    """sessions.csv: gone failed with that one-line reason, ok done (the batch goes on)."""
    sessions = result.sessions.set_index("session_id")
    assert sessions.loc["ok", "status"] == "done"
    assert sessions.loc["gone", "status"] == "failed"
    assert sessions.loc["gone", "reason"] == f"{paths['missing']}: file not found"
    return sessions.loc["gone", "reason"]


def check_outside_path(result, paths):
    """The session is done; provenance.json records the file outside the folder (its path and SHA-256)."""
    sessions = result.sessions.set_index("session_id")
    assert sessions.loc["out", "status"] == "done"
    provenance = json.loads((result.out_dir / sessions.loc["out", "folder"] / "provenance.json").read_text())
    (entry,) = provenance["inputs"]
    assert Path(entry["path"]).resolve() == paths["outside"].resolve()
    assert entry["sha256"] == hashlib.sha256(paths["outside"].read_bytes()).hexdigest()


# --------------------------------------------------------------------------- cases

CASES = [
    # --- files that are not recordings
    Case("missing_file", "recording path that does not exist", "error", ("nowhere.mp4", "not found"),
         covered_by="tests/test_pipeline.py::test_missing_file"),
    Case("empty_file", "empty file named .mp4", "error",
         ("{video}", "not a readable media file (empty file)"),
         make=empty_file, cli=("analyze", "{video}", "--out", "{out}")),
    Case("text_as_mp4", "text file named .mp4", "error", ("notes.mp4", "not a readable media file"),
         covered_by="tests/test_pipeline.py::test_text_file_renamed_mp4"),
    # --- truncated recordings
    Case("mp4_cut_in_header", "mp4 truncated in its first bytes", "error",
         ("{video}", "not a readable media file"),
         make=cut_in_header, cli=("analyze", "{video}", "--out", "{out}")),
    Case("mp4_cut_mid_data", "mp4 truncated halfway (index last, so no index)", "error",
         ("cut.mp4",), covered_by="tests/test_media.py::test_truncated_file_without_index_is_an_error"),
    Case("mp4_cut_before_index", "mp4 truncated just before its index (moov)", "error",
         ("{video}", "not a readable media file"),
         make=cut_before_index, cli=("analyze", "{video}", "--out", "{out}")),
    Case("mp4_cut_in_index_start", "mp4 truncated at the start of its index", "error",
         ("{video}", "truncated", "into its index (moov box)"),
         make=cut_index_start, cli=("analyze", "{video}", "--out", "{out}")),
    Case("mp4_cut_in_index_end", "mp4 truncated near the end of its index (FFmpeg alone would drop the audio track "
         "silently)", "error", ("{video}", "truncated", "into its index (moov box)"),
         make=cut_index_end, api=probe, error_type="MediaError"),
    Case("mp4_64bit_media_box", "mp4 whose media-data box has a 64-bit size (files over 4 GB)", "works",
         flags="read in full (the truncation check reads 64-bit box sizes)",
         make=index_last_64bit_media_box, api=probe, check=check_64bit_box),
    Case("mp4_64bit_cut_in_index", "mp4 with a 64-bit media-data box, truncated at the start of its index", "error",
         ("{video}", "truncated", "into its index (moov box)"), make=index_last_64bit_cut_in_index, api=probe,
         error_type="MediaError"),
    Case("mp4_cut_index_first", "mp4/mov with its index first (streaming writers), truncated halfway",
         "degraded", ("truncated",), flags="frames and audio up to the cut",
         covered_by="tests/test_media.py::test_truncated_file_yields_what_it_holds_then_warns"),
    # --- missing streams
    Case("video_without_audio", "video without an audio track", "degraded", ("silent.mp4", "no audio"),
         flags="summary session.audio = none; no voice pairs",
         covered_by="tests/test_pipeline.py::test_video_without_audio_gives_video_only_results"),
    Case("audio_as_video", "audio file (no video) given as a video session", "error",
         ("{audio}", "no video stream"), make=audio_only_wav, cli=("analyze", "{audio}", "--out", "{out}")),
    Case("audio_layout", "audio file with a channel per person, --layout audio", "works",
         covered_by="tests/test_audio_layout.py::test_audio_only_session_via_cli"),
    Case("silent_audio_channel", "one person's audio channel is digital silence (audio-only session)", "error",
         ("call.wav", "no feature pair could be analysed",
          "intensity_db~intensity_db: column 'B.intensity_db' is constant"),
         make=silent_channel_wav, cli=("analyze", "{audio}", "--layout", "audio", "--out", "{out}")),
    Case("mono_for_two", "mono audio where one channel per person is expected", "degraded",
         ("synthetic.wav", "mixed"), flags="voice reported for the dyad as 'mixed'",
         covered_by="tests/test_voice.py::test_mono_track_is_mixed_and_logs"),
    # --- faces
    Case("no_face", "video with no face", "error", ("empty_room.mp4", "no face"),
         covered_by="tests/test_pipeline.py::test_video_with_no_face"),
    Case("one_face_of_two", "split layout, right half empty (one face where two are expected)", "error",
         ("half_black.mp4", "right half", "infant"), error_type="NoFaceError",
         covered_by="tests/test_face.py::test_no_face_in_one_half_is_a_one_line_error"),
    Case("three_faces", "split layout with three faces: two in person A's half (the one A's track "
         "follows leaves for 1 s), one in B's", "degraded", ("{video}", "left half", "more than one face"),
         flags="person A's track is whichever face of the left half FaceMesh follows; the warning says "
               "the half held several",
         make=three_faces, api=split_faces, check=check_three_faces, needs_reference=True),
    # --- clocks and orientation
    Case("rotation_90", "video with a 90-degree rotation flag", "works",
         covered_by="tests/test_media.py::test_rotated_recordings_come_out_upright"),
    Case("variable_frame_rate", "variable-frame-rate video", "works",
         covered_by="tests/test_media.py::test_frame_times_are_the_planted_pts_of_a_variable_rate_file"),
    Case("audio_starts_later", "audio stream starting 0.5 s after the video", "works",
         covered_by="tests/test_media.py::test_audio_and_video_share_one_clock"),
    # --- series tables
    Case("csv_missing_column", "CSV without a column asked for", "error", ("col.csv", "missing column 'A.y'"),
         covered_by="tests/test_readers.py::test_bad_inputs"),
    Case("csv_feature_of_one_person", "CSV where only one person has the feature asked for (B.x missing)", "error",
         ("one_sided.csv", "no feature pair could be analysed", "x~x: B.x missing"), make=csv_feature_of_one_person,
         cli=("xcorr", "{series}", "--pairs", "x~x", *XCORR_FAST, "--out", "{out}")),
    Case("csv_non_numeric", "CSV with a non-numeric cell", "error",
         ("cell.txt", "non-numeric value 'x7' in column 'th' at data row 2"),
         covered_by="tests/test_readers.py::test_bad_inputs"),
    Case("csv_time_backwards", "CSV whose time column goes backwards", "error",
         ("back.csv", "goes backwards at data row 3"), covered_by="tests/test_readers.py::test_bad_inputs"),
    Case("csv_duplicate_time", "CSV with a repeated timestamp", "error",
         ("dup.csv", "repeats a time at data row 3"), covered_by="tests/test_readers.py::test_bad_inputs"),
    Case("csv_empty_column", "CSV with one all-NaN column among others", "degraded",
         ("{series}", "column 'B.y' has no values"), flags="B.y NaN throughout; pair y~y skipped",
         make=csv_one_empty_column, cli=("xcorr", "{series}", *XCORR_FAST, "--out", "{out}"),
         check=check_empty_column),
    Case("csv_empty_only_pair", "CSV whose only pair has an all-NaN column", "error",
         ("empty_pair.csv", "no feature pair could be analysed", "x~x: column 'B.x' has no values"),
         make=csv_only_pair_empty, cli=("xcorr", "{series}", *XCORR_FAST, "--out", "{out}")),
    # --- batch manifests
    Case("manifest_missing_file", "manifest row naming a file that does not exist", "degraded",
         ("{missing}", "file not found"), flags="that session failed in sessions.csv; the others done",
         make=study_with_missing_file, api=batch, check=check_missing_file_batch, needs_reference=True),
    Case("manifest_duplicate_id", "manifest with a session_id twice", "error",
         ("study.csv", "row 2: session_id 's1' appears twice"), error_type="InputFileError",
         covered_by="tests/test_batch.py::test_bad_manifest_rows_are_one_line_errors_naming_file_and_row"),
    Case("manifest_outside_path", "manifest path leading outside its folder (../elsewhere/d2.txt)", "works",
         flags="resolved against the manifest's folder; provenance.json records its path and SHA-256",
         make=study_with_outside_path, api=batch, check=check_outside_path, needs_reference=True),
]
