"""The annotated video: the source's frames and timestamps, landmarks on the faces, the
synchrony bar of the window nearest each frame (red exactly in mismatch spans), gaze
arrows as documented, and the audio packets copied unchanged."""

import json
import subprocess
import sys
from fractions import Fraction

import av
import numpy as np
import pandas as pd
import pytest

from conftest import REPO
from _mediagen import make_video

SAMPLE = REPO / "sample_media" / "dyad_split.mp4"
TRUTH = json.loads((REPO / "sample_media" / "dyad_split.truth.json").read_text())
PAIR = "head_motion~head_motion"


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "synchrony.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=900)


def _times(path, stream="video"):
    """Presentation time of every decoded frame (exact: pts x time base), and the stream."""
    with av.open(str(path)) as container:
        s = getattr(container.streams, stream)[0]
        times = [Fraction(f.pts) * f.time_base for f in container.decode(s)]
        return times, (s.width, s.height), Fraction(s.duration) * s.time_base


def _frames(path, indices):
    """RGB arrays of the frames with these indices."""
    want, got = set(indices), {}
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i in want:
                got[i] = frame.to_ndarray(format="rgb24")
            if len(got) == len(want):
                break
    return [got[i] for i in indices]


def _packets(path):
    with av.open(str(path)) as container:
        if not container.streams.audio:
            return None
        return [(p.pts, p.dts, p.duration, bytes(p)) for p in container.demux(audio=0) if p.size]


def _red(rgb):
    rgb = rgb.astype(int)
    return (rgb[..., 0] > 150) & (rgb[..., 1] < 90) & (rgb[..., 2] < 90)


def _green(rgb):
    rgb = rgb.astype(int)
    return (rgb[..., 1] > 120) & (rgb[..., 0] < 120) & (rgb[..., 2] < 150)


def _track(width, height):
    from synchrony.report.video import _Canvas

    canvas = _Canvas(width, height)
    return canvas, canvas.track


# --- the sample session through the CLI ---------------------------------------------------

@pytest.fixture(scope="module")
def sample_out(tmp_path_factory):
    """``synchrony analyze`` on the sample session without, then with --annotated-video
    (the second run reuses the first's cached face tracks)."""
    out = tmp_path_factory.mktemp("annotated") / "out"
    common = ("analyze", SAMPLE, "--out", out, "--video-rate-hz", 10, "--pairs", PAIR)
    plain = run_cli(*common)
    assert plain.returncode == 0, plain.stderr
    without = sorted(p.name for p in out.rglob("*.mp4"))
    annotated = run_cli(*common, "--annotated-video")
    assert annotated.returncode == 0, annotated.stderr
    return out, without, annotated.stdout


@pytest.mark.slow
def test_cli_writes_annotated_video_only_when_asked(sample_out):
    out, without, stdout = sample_out
    assert without == []
    assert sorted(p.name for p in out.rglob("*.mp4")) == ["annotated.mp4"]
    assert "annotated.mp4" in stdout
    assert not list(out.glob(".*tmp"))  # written atomically: no temporary file left


FACE_FRAMES = [100, 400, 700, 1000, 1300]
OUTSIDE_S = 15.0  # well outside the planted mismatch span


@pytest.fixture(scope="module")
def decoded(sample_out):
    """Both videos decoded once: every frame's time, the stream's duration and size, and
    the frames the tests look at (face frames, one inside the detected span, one outside)."""
    out, _, _ = sample_out
    spans = pd.read_csv(out / "mismatch.csv").query("features == @PAIR")
    planted = TRUTH["mismatch_spans_s"][0]
    # the detected span overlapping the planted one (B plays unrelated content 32.99-46.00 s)
    span = spans[(spans["start_s"] < planted[1]) & (spans["end_s"] > planted[0])].iloc[0]
    assert not ((spans["start_s"] <= OUTSIDE_S + 5) & (spans["end_s"] > OUTSIDE_S - 5)).any()
    inside_s = (span["start_s"] + span["end_s"]) / 2
    videos = {}
    for name, path in (("source", SAMPLE), ("annotated", out / "annotated.mp4")):
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            times, frames = [], {}
            for frame in container.decode(stream):
                times.append(Fraction(frame.pts) * frame.time_base)
                if len(times) - 1 in FACE_FRAMES or (times[-1] >= inside_s and "inside" not in frames) \
                        or (times[-1] >= OUTSIDE_S and "outside" not in frames):
                    rgb = frame.to_ndarray(format="rgb24")
                    for key, t in (("inside", inside_s), ("outside", OUTSIDE_S)):
                        if times[-1] >= t and key not in frames:
                            frames[key] = rgb
                    frames[len(times) - 1] = rgb
            videos[name] = dict(times=times, frames=frames, size=(stream.width, stream.height),
                                duration=Fraction(stream.duration) * stream.time_base,
                                codec=stream.codec_context.name, pix_fmt=stream.format.name)
    return videos, span


@pytest.mark.slow
def test_same_frames_and_timestamps_as_the_source(decoded):
    videos, _ = decoded
    source, annotated = videos["source"], videos["annotated"]
    assert len(annotated["times"]) == len(source["times"]) == TRUTH["n_frames"]
    assert annotated["times"] == source["times"]  # every frame's presentation time, exactly
    assert annotated["duration"] == source["duration"] == Fraction(TRUTH["n_frames"] * 1001, 24000)
    assert (annotated["codec"], annotated["pix_fmt"]) == ("h264", "yuv420p")
    (width, height), (out_width, out_height) = source["size"], annotated["size"]
    assert out_width == width and out_height == height + _track(width, height)[0].panel
    assert out_height % 2 == 0


@pytest.mark.slow
def test_landmarks_are_drawn_on_the_faces(sample_out, decoded):
    """In a box of +-0.75 face sizes about each analysed face centre the annotated frame
    differs from the source far more than re-encoding changes the background (the frame's
    top outer corners), and ~10 % of its pixels change by over 40 levels (dots, contours)."""
    out, _, _ = sample_out
    videos, _ = decoded
    signals = pd.read_csv(out / "signals.csv").set_index("time_s")
    face_mad, face_share, noise_mad, noise_share = [], [], [], []

    def compare(src, ann, box, mad, share):
        d = np.abs(ann[:360][box].astype(int) - src[box])
        mad.append(d.mean())
        share.append((d.max(axis=2) > 40).mean())

    for i in FACE_FRAMES:
        src, ann = videos["source"]["frames"][i], videos["annotated"]["frames"][i]
        t = float(videos["source"]["times"][i])
        row = signals.iloc[signals.index.get_indexer([t], method="nearest")[0]]
        for person, x0 in (("A", 0), ("B", 640)):
            size = row[f"{person}.face_size_px"]
            cx, cy = x0 + 320 + row[f"{person}.head_x"] * size, 180 + row[f"{person}.head_y"] * size
            half = 0.75 * size
            box = np.s_[max(int(cy - half), 0):int(cy + half), max(int(cx - half), 0):int(cx + half)]
            compare(src, ann, box, face_mad, face_share)
        for corner in (np.s_[0:150, 0:150], np.s_[0:150, 1130:1280]):
            compare(src, ann, corner, noise_mad, noise_share)
    print(f"face box MAD {np.round(face_mad, 1)}, share > 40 levels {np.round(face_share, 3)}; "
          f"background MAD {np.round(noise_mad, 2)}, share {np.round(noise_share, 4)}")
    assert min(face_mad) > 5 * max(noise_mad)
    assert min(face_share) > 0.04 and max(noise_share) < 0.001


@pytest.mark.slow
def test_bar_is_red_inside_a_mismatch_span_only(decoded):
    videos, span = decoded
    _, (x0, y0, x1, y1) = _track(1280, 360)
    inside, outside = (videos["annotated"]["frames"][k][360:][y0:y1, x0:x1] for k in ("inside", "outside"))
    print(f"span {span['start_s']}-{span['end_s']} s; red pixels inside {_red(inside).sum()}, "
          f"outside {_red(outside).sum()}; green inside {_green(inside).sum()}, outside {_green(outside).sum()}")
    assert _red(inside).sum() > 100 and _green(inside).sum() == 0
    assert _red(outside).sum() == 0 and _green(outside).sum() > 100


@pytest.mark.slow
def test_audio_packets_are_copied_unchanged(sample_out):
    out, _, _ = sample_out
    source = _packets(SAMPLE)
    assert source is not None and len(source) > 2000
    assert _packets(out / "annotated.mp4") == source


# --- planted answers on small synthetic recordings -----------------------------------------

def _result(video, *, windows, spans, signals=None, layout="split", media=None):
    """A Result holding only what the annotated video reads."""
    from synchrony.pipeline import Result

    win = pd.DataFrame(windows, columns=["window_start_s", "window_end_s", "peak_r"]).assign(pair="x~x")
    mismatch = pd.DataFrame(spans, columns=["start_s", "end_s"]).assign(features="x~x")
    if signals is None:
        index = pd.Index(np.round(np.arange(31) / 10, 9), name="time_s")
        signals = pd.DataFrame({("A", "x"): 0.0, ("B", "x"): 0.0}, index=index)
    return Result(signals=signals, xcorr=pd.DataFrame(), windows=win, mismatch=mismatch,
                  summary={"config": {"persons": ["A", "B"]}, "session": {"layout": layout}},
                  xcorr_wide={"x~x": pd.DataFrame()}, media=media or ((str(video), 0.0),))


# Window (start, end, peak r): centres 0.5, 1.0 and 1.5 s; a mismatch span 1.2-1.7 s.
WINDOWS = [(0.0, 1.0, 0.8), (0.5, 1.5, 0.4), (1.0, 2.0, -0.4)]
SPAN = (1.2, 1.7)
# Variable frame rate: frames 40 and 60 ms long in turn.
PTS_S = np.round(np.concatenate([[0.0], np.cumsum(np.tile([0.04, 0.06], 20))[:-1]]), 4)


def _check_bars(out, size, session_s):
    """In every frame the bar of the window whose centre is nearest the session time:
    from the middle of the track to r x half its width, red exactly in the span."""
    _, (x0, y0, x1, y1) = _track(*size)
    mid = (x0 + x1) // 2
    centres = np.array([(s + e) / 2 for s, e, _ in WINDOWS])
    for t, frame in zip(session_s, _frames(out, range(len(session_s)))):
        r = WINDOWS[int(np.argmin(np.abs(centres - t)))][2]
        row = frame[size[1]:][(y0 + y1) // 2, x0:x1]
        red, green = _red(row), _green(row)
        in_span = SPAN[0] <= t < SPAN[1]
        coloured = np.flatnonzero(red if in_span else green) + x0
        assert not (green if in_span else red).any(), t
        expected = mid + r * (x1 - x0) / 2
        lo, hi = min(mid, expected), max(mid, expected)
        # the bar's ends, within the chroma subsampling's blur of two pixels
        assert abs(coloured.min() - lo) <= 2 and abs(coloured.max() - hi) <= 2, (t, r, coloured)


@pytest.mark.parametrize("audio", [True, False])
def test_variable_frame_rate_odd_size_and_the_bar(tmp_path, audio):
    """Variable frame times, odd picture size, PCM audio (or none): timestamps, duration
    and audio packets kept exactly, the picture padded to even size, the bar right in
    every frame; the same input gives the same bytes."""
    from synchrony.report.video import write_annotated_video

    video = make_video(tmp_path / "vfr.mov", n_frames=len(PTS_S), pts_s=list(PTS_S), size=(321, 181),
                       with_audio=audio, audio_sr_hz=16000)
    result = _result(video, windows=WINDOWS, spans=[SPAN])
    out = write_annotated_video(result, tmp_path / "a.mp4")
    source, _, source_s = _times(video)
    annotated, size, annotated_s = _times(out)
    assert annotated == source and [float(t) for t in annotated] == list(PTS_S)
    assert annotated_s == source_s
    canvas, _ = _track(321, 181)
    assert size == (322, 181 + canvas.panel) and size[1] % 2 == 0
    assert _packets(out) == _packets(video) and (_packets(out) is not None) == audio
    _check_bars(out, (321, 181), PTS_S)
    again = write_annotated_video(result, tmp_path / "b.mp4")
    assert again.read_bytes() == out.read_bytes()


def test_two_files_video_is_on_the_session_clock(tmp_path):
    """Two-files: the second video starts 1.0 s into the session, so its frame at file
    time t shows the synchrony at session time t + 1.0."""
    from synchrony.report.video import annotated_video_names, write_annotated_video

    first = make_video(tmp_path / "infant.mp4", n_frames=4, size=(64, 48))
    file_s = PTS_S[PTS_S < 1.0]
    second = make_video(tmp_path / "mother.mp4", n_frames=len(file_s), pts_s=list(file_s), size=(160, 120))
    result = _result(None, windows=WINDOWS, spans=[SPAN], layout="two-files",
                     media=((first, 0.0), (second, 1.0)))
    out = write_annotated_video(result, tmp_path / "b.mp4", video=1)
    assert _times(out)[0] == _times(second)[0]
    _check_bars(out, (160, 120), file_s + 1.0)
    assert annotated_video_names("two-files", ("infant", "mother 2")) == ["annotated_infant.mp4",
                                                                         "annotated_mother_2.mp4"]
    assert annotated_video_names("split", ("A", "B")) == ["annotated.mp4"]


def test_rotated_source_is_written_upright(tmp_path):
    """A display rotation of 90 deg: frames come out upright (height and width swapped),
    with no rotation flag, at the same times."""
    from synchrony.report.video import write_annotated_video

    video = make_video(tmp_path / "rot.mp4", n_frames=12, size=(96, 64), rotation_deg=90)
    out = write_annotated_video(_result(video, windows=WINDOWS, spans=[]), tmp_path / "a.mp4")
    annotated, (width, height), _ = _times(out)
    assert annotated == _times(video)[0]
    assert width == 64 and height == 96 + _track(64, 96)[0].panel
    with av.open(str(out)) as c:
        assert next(c.decode(video=0)).rotation == 0


def test_gaze_arrow_follows_the_documented_projection():
    """Eyes' midpoint (100, 100), eye corners 40 px apart: yaw 30 deg points the arrow
    2 x 40 x sin 30 = 40 px to the right; pitch 30 deg (up) 40 px up; (0, 0) is a dot."""
    from synchrony.report.video import _draw_gaze

    lm = np.full((478, 2), 100.0)
    lm[[33, 133, 362, 263], 0] = 80, 90, 110, 120
    for yaw, pitch, (dx, dy) in ((30, 0, (40, 0)), (0, 30, (0, -40)), (-30, 0, (-40, 0))):
        img = np.zeros((200, 200, 3), np.uint8)
        _draw_gaze(img, lm, yaw, pitch, (255, 255, 255))
        ys, xs = np.nonzero(img[..., 0] > 128)
        far = np.argmax(np.hypot(xs - 100, ys - 100))
        assert abs(xs[far] - (100 + dx)) <= 2 and abs(ys[far] - (100 + dy)) <= 2, (yaw, pitch)
    img = np.zeros((200, 200, 3), np.uint8)
    _draw_gaze(img, lm, 0, 0, (255, 255, 255))
    ys, xs = np.nonzero(img[..., 0] > 128)
    assert np.hypot(xs - 100, ys - 100).max() <= 5  # the dot only


def test_gaze_and_faces_read_from_the_analysed_rows(tmp_path):
    """The row at or before the time counts; missing or untrusted gaze draws no arrow;
    shared-frame faces go to the person whose analysed face centre is nearest."""
    from synchrony.report.video import _owners, _Timeline

    index = pd.Index([0.0, 0.1, 0.2, 0.3], name="time_s")
    signals = pd.DataFrame({
        ("A", "gaze_yaw_deg"): [10.0, 20.0, np.nan, 40.0],
        ("A", "gaze_pitch_deg"): [1.0, 2.0, 3.0, 4.0],
        ("A", "gaze_trusted"): [1.0, 1.0, 1.0, 0.0],
        ("A", "head_x"): 1.0, ("A", "head_y"): 0.0, ("A", "face_size_px"): 50.0,
        ("B", "head_x"): -1.0, ("B", "head_y"): 0.0, ("B", "face_size_px"): 50.0,
    }, index=index)
    result = _result(tmp_path / "none.mp4", windows=WINDOWS, spans=[SPAN], signals=signals)
    timeline = _Timeline(result, "x~x", ("A", "B"))
    assert timeline.gaze("A", 0.05) == (10.0, 1.0)
    assert timeline.gaze("A", 0.1) == (20.0, 2.0) and timeline.gaze("A", 0.19) == (20.0, 2.0)
    assert timeline.gaze("A", 0.25) is None  # NaN yaw
    assert timeline.gaze("A", 0.3) is None  # not trusted
    assert timeline.gaze("A", 0.6) is None  # past the last row by more than a step
    assert timeline.gaze("B", 0.1) is None  # no gaze columns
    assert timeline.sync(1.2) == (0.4, True) and timeline.sync(1.3) == (-0.4, True)
    assert timeline.sync(0.2) == (0.8, False)
    assert np.isnan(timeline.sync(2.5)[0])  # outside every window
    # frame 400 x 100: A's centre at x = 200 + 50 = 250, B's at 150
    left, right = np.full((478, 2), [140.0, 50.0]), np.full((478, 2), [260.0, 50.0])
    assert _owners([right, left], ("A", "B"), timeline, 0.1, 400, 100) == ["A", "B"]
    assert _owners([left], ("A", "B"), timeline, 0.1, 400, 100) == ["B"]


def test_bad_arguments(tmp_path):
    from synchrony.errors import ParameterError
    from synchrony.report.video import write_annotated_video

    video = make_video(tmp_path / "v.mp4", n_frames=3)
    result = _result(video, windows=WINDOWS, spans=[])
    with pytest.raises(ParameterError, match="The 'pair' parameter of write_annotated_video must be"):
        write_annotated_video(result, tmp_path / "a.mp4", pair="smile~smile")
    with pytest.raises(ParameterError, match="The 'video' parameter"):
        write_annotated_video(result, tmp_path / "a.mp4", video=1)
    result.media = ()
    with pytest.raises(ParameterError, match="The 'result' parameter .* with video"):
        write_annotated_video(result, tmp_path / "a.mp4")
    assert not list(tmp_path.glob("a.mp4*")) and not list(tmp_path.glob(".a.mp4*"))
