"""The annotated video: a session's recording with what was measured drawn on every frame.

It shows the people recorded, so it is written only when asked for
(``analyze(..., annotated_video=True)``, ``synchrony analyze --annotated-video``).

Every frame of the source is decoded (:func:`synchrony.media.iter_frames`, upright) and
gets, in each person's colour:

* the FaceMesh landmarks (each a dot, with the contours of face, brows, eyes, lips and
  irises through them), found again in that person's region of this very frame, so they
  sit on the face drawn;
* a gaze arrow from the midpoint of the eyes: the line of sight of the analysed row of
  :attr:`Result.signals` at or before the frame's session time (``gaze_yaw_deg``,
  ``gaze_pitch_deg``, :mod:`synchrony.extract.gaze` conventions) projected on the image,
  ``(dx, dy) = (sin yaw cos pitch, -sin pitch)`` times twice the eye-corner distance: a
  gaze straight at the camera is a dot, a gaze 30 deg aside an arrow one eye distance
  long. No arrow where the gaze is missing or not trusted (``gaze_trusted`` below 0.5);

and, in a panel below the picture, the running synchrony of one pair: the peak r of the
window whose centre is nearest the frame's session time (none outside every window) as a
bar from the middle (r = 0) towards +1 (right) or -1 (left), green, or red while the time
lies in a mismatch span of that pair.

Timing is the source's: the same frames with the same presentation timestamps (PTS) in
the same time base and the same frame durations, so frame count and duration are equal and
variable-frame-rate recordings stay variable. Session time = the frame's time + the video's
offset (:attr:`Result.media`). The audio packets are copied unchanged (no re-encoding).
"""

from __future__ import annotations

import io
import logging
import math
import os
import re
import time
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path

import numpy as np

from synchrony.errors import MediaError, ParameterError

__all__ = ["annotated_video_names", "write_annotated_video"]

log = logging.getLogger("synchrony")

# RGB. The persons' colours differ in hue and in brightness, and neither is red or green,
# the bar's two states.
PERSON_COLOURS = ((40, 200, 255), (255, 170, 40))
UNKNOWN_COLOUR = (200, 200, 200)
SYNC_COLOUR = (40, 190, 90)
MISMATCH_COLOUR = (230, 30, 30)
_PANEL_BG = (24, 24, 24)
# No B-frames: MP4 stores each frame's duration as the step to the next frame in decode
# order, so only with decode order = presentation order do variable frame durations (and
# the last one, hence the stream's duration) come out as the source's.
_ENCODER_OPTIONS = {"crf": "23", "preset": "veryfast", "bf": "0"}
_GAZE_LENGTH = 2.0  # arrow length at 90 deg, in eye-corner distances
_MIN_TRUST = 0.5  # share of the analysed bin's frames whose gaze was trusted


def annotated_video_names(layout, persons):
    """File names :func:`synchrony.pipeline.write_result` gives the annotated videos:
    ``annotated.mp4`` for a one-video layout, ``annotated_<person>.mp4`` per video of a
    two-files session (characters other than letters, digits, ``._-`` become ``_``).

    >>> annotated_video_names("two-files", ("infant", "mother 2"))
    ['annotated_infant.mp4', 'annotated_mother_2.mp4']
    """
    if layout == "two-files":
        return [f"annotated_{re.sub(r'[^A-Za-z0-9._-]+', '_', p)}.mp4" for p in persons]
    return ["annotated.mp4"]


def write_annotated_video(result, out_path, *, session=None, video=None, pair=None,
                          progress: bool = False) -> Path:
    """Write one of a session's videos with landmarks, gaze and synchrony drawn on it.

    Parameters
    ----------
    result : synchrony.pipeline.Result
        From :func:`synchrony.pipeline.analyze` (its ``media`` names the videos and
        their offsets on the session clock).
    out_path : path-like
        The MP4 file to write (H.264, yuv420p), atomically: a temporary file beside it is
        renamed into place only when complete.
    session : synchrony.session.Session, optional
        The session analysed, for where each person is in the picture (``split``,
        ``regions_px``). Default: the layout recorded in ``result.summary`` with a split
        at the middle.
    video : int or path-like, optional
        Which of the result's videos (index or path); default the first. In a two-files
        session, video ``i`` shows ``persons[i]``.
    pair : str, optional
        The feature pair whose synchrony the bar shows (a key of ``result.xcorr_wide``,
        e.g. ``"head_motion~head_motion"``); default the first.
    progress : bool, default False
        Show a progress bar (frames).

    Returns
    -------
    pathlib.Path
        ``out_path``. Frames: the source's, upright, padded to even width with black,
        with a panel of ``panel_px`` rows (about a tenth of the height, making it even)
        below: shape ``(height + panel_px, width + width % 2, 3)``. PTS, time base and
        frame durations are the source's; the audio stream, if any, is copied.

    Raises
    ------
    synchrony.errors.ParameterError
        ``result`` has no video, or ``video``/``pair`` is not one of the result's.
    synchrony.errors.MediaError
        The video cannot be decoded, or its frames' timestamps do not increase.

    Notes
    -----
    Memory does not grow with the recording's length: frames stream from the decoder
    through FaceMesh and the drawing into the encoder. Positive lags in the pair's
    windows mean the second person follows the first (as in
    :func:`synchrony.windowed_xcorr`); the bar shows the peak r over all lags.

    Examples
    --------
    >>> from synchrony.pipeline import analyze                      # doctest: +SKIP
    >>> result = analyze("sample_media/dyad_split.mp4")              # doctest: +SKIP
    >>> write_annotated_video(result, "annotated.mp4")               # doctest: +SKIP
    PosixPath('annotated.mp4')
    """
    func = "write_annotated_video"
    videos = _videos(result, func)
    index = _video_index(videos, video, func)
    path, offset_s = videos[index]
    pairs = list(getattr(result, "xcorr_wide", {}) or {})
    if pair is None:
        if not pairs:
            raise ParameterError.expected("result", func, "a Result with at least one analysed pair",
                                          "no pairs")
        pair = pairs[0]
    elif pair not in pairs:
        raise ParameterError.expected("pair", func, f"one of the result's pairs {pairs}", pair)
    persons = tuple(result.summary["config"]["persons"])
    layout = session.layout if session is not None else result.summary.get("session", {}).get("layout", "split")
    split = session.split if session is not None else 0.5
    regions_px = session.regions_px if session is not None else None
    shown = (persons[index],) if layout == "two-files" else persons
    timeline = _Timeline(result, pair, persons)
    out_path = Path(out_path)
    started = time.perf_counter()
    n = _annotate(os.fspath(path), out_path, offset_s=float(offset_s), layout=layout, split=split,
                  regions_px=regions_px, shown=shown, persons=persons, pair=pair, timeline=timeline,
                  progress=progress)
    log.info("%s: annotated %d frames in %.1f s", out_path, n, time.perf_counter() - started)
    return out_path


def _videos(result, func):
    from synchrony.pipeline import _AUDIO_SUFFIXES

    media = getattr(result, "media", None) or ()
    videos = [(p, o) for p, o in media if Path(p).suffix.lower() not in _AUDIO_SUFFIXES]
    if not videos:
        raise ParameterError.expected("result", func, "a Result of analyze() on a session with video",
                                      "no video in result.media")
    return videos


def _video_index(videos, video, func):
    if video is None:
        return 0
    if isinstance(video, (int, np.integer)) and not isinstance(video, bool):
        if 0 <= video < len(videos):
            return int(video)
    elif isinstance(video, (str, os.PathLike)):
        for i, (p, _) in enumerate(videos):
            if os.path.abspath(p) == os.path.abspath(video):
                return i
    raise ParameterError.expected("video", func, f"an index below {len(videos)} or one of the "
                                  f"result's videos {[os.fspath(p) for p, _ in videos]}", video)


class _Timeline:
    """What the drawings show at a session time: the pair's window r, mismatch, gaze."""

    def __init__(self, result, pair, persons):
        windows = result.windows[result.windows["pair"] == pair]
        start = windows["window_start_s"].to_numpy(dtype=float)
        end = windows["window_end_s"].to_numpy(dtype=float)
        order = np.argsort((start + end) / 2, kind="stable")
        self.centre = ((start + end) / 2)[order]
        self.half = ((end - start) / 2)[order]
        self.peak_r = windows["peak_r"].to_numpy(dtype=float)[order]
        spans = result.mismatch[result.mismatch["features"] == pair] if len(result.mismatch) else result.mismatch
        self.span_start = spans["start_s"].to_numpy(dtype=float) if len(spans) else np.empty(0)
        self.span_end = spans["end_s"].to_numpy(dtype=float) if len(spans) else np.empty(0)
        signals = result.signals
        self.times = np.asarray(signals.index, dtype=float)
        steps = np.diff(self.times)
        self.step = float(np.median(steps)) if steps.size else math.inf
        self.columns = {}
        for p in persons:
            self.columns[p] = {f: signals[p, f].to_numpy(dtype=float)
                               for f in ("gaze_yaw_deg", "gaze_pitch_deg", "gaze_trusted", "head_x",
                                         "head_y", "face_size_px") if (p, f) in signals}

    def sync(self, t):
        """``(peak_r, in_mismatch)`` at session time ``t`` (r NaN outside every window)."""
        mismatch = bool(((self.span_start <= t) & (t < self.span_end)).any())
        if not self.centre.size:
            return math.nan, mismatch
        i = int(np.searchsorted(self.centre, t))
        i = min((j for j in (i - 1, i) if 0 <= j < self.centre.size), key=lambda j: abs(self.centre[j] - t))
        r = self.peak_r[i] if abs(t - self.centre[i]) <= self.half[i] + 1e-9 else math.nan
        return float(r), mismatch

    def _row(self, t):
        """Index of the analysed row at or before ``t`` (None if none within one step)."""
        i = int(np.searchsorted(self.times, t + 1e-9, side="right")) - 1
        if i < 0 or t - self.times[i] > self.step + 1e-9:
            return None
        return i

    def gaze(self, person, t):
        """``(yaw_deg, pitch_deg)`` of ``person`` at ``t``, or None (missing, untrusted)."""
        cols, i = self.columns[person], self._row(t)
        if i is None or "gaze_yaw_deg" not in cols or "gaze_pitch_deg" not in cols:
            return None
        yaw, pitch = cols["gaze_yaw_deg"][i], cols["gaze_pitch_deg"][i]
        trusted = cols.get("gaze_trusted", np.zeros(i + 1))[i]
        if not (np.isfinite(yaw) and np.isfinite(pitch) and trusted >= _MIN_TRUST):
            return None
        return float(yaw), float(pitch)

    def centre_px(self, person, t, width, height):
        """Where ``person``'s face centre was at ``t`` in a frame of the whole picture."""
        cols, i = self.columns[person], self._row(t)
        if i is None or not {"head_x", "head_y", "face_size_px"} <= set(cols):
            return None
        x, y, size = cols["head_x"][i], cols["head_y"][i], cols["face_size_px"][i]
        if not np.isfinite([x, y, size]).all():
            return None
        return x * size + width / 2, y * size + height / 2


def _annotate(path, out_path, *, offset_s, layout, split, regions_px, shown, persons, pair, timeline,
              progress):
    """Decode, draw and encode every frame of ``path``; returns the number of frames."""
    import cv2
    from tqdm.auto import tqdm

    from synchrony.extract.face import _regions, mediapipe_meshes, read_ahead
    from synchrony.formats import atomic_path
    from synchrony.media import iter_frames, probe

    info = probe(path)
    frames = iter_frames(path)  # every frame, upright, with its PTS time
    shared = layout == "shared-frame"
    n_meshes = 1 if shared else len(shown)
    segments = _mesh_segments()
    n = 0
    try:
        with atomic_path(out_path) as tmp, \
                mediapipe_meshes(n_meshes, max_num_faces=2 if shared else 1) as meshes, \
                ThreadPoolExecutor(1) as worker, read_ahead(frames) as decoded, \
                tqdm(total=info.video.n_frames if info.video else None, desc=f"annotating {Path(path).name}",
                     unit="frame", disable=not progress) as bar:
            with _Encoder(path, tmp) as encoder:
                regions = None
                for t, rgb in decoded:
                    if regions is None:
                        height, width = rgb.shape[:2]
                        if layout == "split":
                            regions = [_origin(r) for r in _regions(path, rgb.shape, split, regions_px)]
                        else:
                            regions = [(np.s_[:, :], (0, 0))] * n_meshes
                        canvas = _Canvas(width, height)
                    elif rgb.shape[:2] != (height, width):  # a mid-stream size change
                        rgb = cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
                    session_t = t + offset_s
                    found = _faces(meshes, regions, rgb, worker, shared=shared)
                    picture = canvas.picture(rgb)  # drawn on a copy: FaceMesh saw these pixels
                    if shared:
                        owners = _owners(found, persons, timeline, session_t, width, height)
                    else:
                        owners = list(shown)
                    for lm, owner in zip(found, owners):
                        if lm is None:
                            continue
                        colour = PERSON_COLOURS[persons.index(owner)] if owner else UNKNOWN_COLOUR
                        _draw_mesh(picture, lm, segments, colour)
                        gaze = timeline.gaze(owner, session_t) if owner else None
                        if gaze is not None:
                            _draw_gaze(picture, lm, *gaze, colour)
                    r, mismatch = timeline.sync(session_t)
                    encoder.add(canvas.with_panel(pair, r, mismatch), t)
                    n += 1
                    bar.update()
    finally:
        frames.close()
    return n


def _origin(region):
    """A region's index expression and its top-left corner ``(x, y)`` in the frame."""
    rows, cols = region
    return region, (cols.start or 0, rows.start or 0)


def _faces(meshes, regions, rgb, worker, *, shared):
    """FaceMesh landmarks (frame pixels, x and y): per mesh's region the face or None;
    in a shared frame, every face found (up to two)."""
    from synchrony.extract.face import _find_faces, _landmarks_px_from_bytes

    def run(mesh, region):
        index, (x0, y0) = region
        part = np.ascontiguousarray(rgb[index])  # mediapipe needs C-contiguous pixels
        height, width = part.shape[:2]
        found = _find_faces(mesh, part)
        return [_landmarks_px_from_bytes(raw, width, height)[:, :2] + (x0, y0) for raw in found]

    # Like the extraction: the second mesh runs in a thread while this one runs the first.
    later = [worker.submit(run, m, r) for m, r in zip(meshes[1:], regions[1:])]
    per_mesh = [run(meshes[0], regions[0])] + [f.result() for f in later]
    if shared:
        return per_mesh[0]
    return [faces[0] if faces else None for faces in per_mesh]


def _owners(found, persons, timeline, t, width, height):
    """Whose each face of a shared frame is: the assignment of faces to the persons'
    analysed face centres at ``t`` with the least total distance (None: nobody's)."""
    centres = [timeline.centre_px(p, t, width, height) for p in persons]
    faces = [lm[[33, 263, 133, 362]].mean(axis=0) for lm in found]

    def cost(assignment):
        return sum(math.hypot(*(faces[i] - centres[j])) for i, j in assignment)

    options = [[]]
    for i in range(len(faces)):
        options = [o + [(i, j)] for o in options for j in range(len(persons))
                   if centres[j] is not None and all(j != k for _, k in o)] + options
    best = min(options, key=lambda o: (-len(o), cost(o)))
    owners = [None] * len(faces)
    for i, j in best:
        owners[i] = persons[j]
    return owners


def _mesh_segments():
    """The FaceMesh contours (face oval, brows, eyes, lips) and iris outlines as (n, 2)
    landmark index pairs: the whole triangle mesh would hide the expression it measures."""
    from mediapipe.python.solutions.face_mesh_connections import FACEMESH_CONTOURS, FACEMESH_IRISES

    return np.array(sorted(FACEMESH_CONTOURS | FACEMESH_IRISES), dtype=np.intp)


_SHIFT = 2  # OpenCV sub-pixel bits: coordinates in quarter pixels


def _draw_mesh(img, lm, segments, colour):
    """Every landmark as a 2x2-pixel dot, and the contours through them."""
    import cv2

    height, width = img.shape[:2]
    x, y = np.floor(lm).astype(np.intp).T
    inside = (x >= 0) & (x < width - 1) & (y >= 0) & (y < height - 1)
    x, y = x[inside], y[inside]
    for dy in (0, 1):
        for dx in (0, 1):
            img[y + dy, x + dx] = colour
    lines = np.round(lm[segments] * (1 << _SHIFT)).astype(np.int32)  # (n, 2 ends, xy)
    cv2.polylines(img, list(lines), False, colour, 1, cv2.LINE_AA, _SHIFT)


def _draw_gaze(img, lm, yaw_deg, pitch_deg, colour):
    import cv2

    eyes = lm[[33, 133, 362, 263]].mean(axis=0)
    size = float(np.hypot(*(lm[33] - lm[263])))
    yaw, pitch = math.radians(yaw_deg), math.radians(pitch_deg)
    direction = np.array([math.sin(yaw) * math.cos(pitch), -math.sin(pitch)])
    tip = eyes + _GAZE_LENGTH * size * direction
    thickness = max(2, round(size / 40))
    start, end = (tuple(int(v) for v in np.round(p * (1 << _SHIFT))) for p in (eyes, tip))
    cv2.circle(img, start, thickness * 2 << _SHIFT, colour, -1, cv2.LINE_AA, _SHIFT)
    if np.hypot(*(tip - eyes)) >= 2 * thickness:
        cv2.arrowedLine(img, start, end, colour, thickness, cv2.LINE_AA, _SHIFT, tipLength=0.25)


class _Canvas:
    """The output picture: the frame (padded to even width) over the synchrony panel."""

    def __init__(self, width, height):
        self.width, self.height = width, height
        self.out_width = width + width % 2
        panel = max(32, round(height / 10))
        self.panel = panel + (height + panel) % 2  # x264's yuv420p needs even sizes
        self.out = np.zeros((height + self.panel, self.out_width, 3), np.uint8)
        # The bar's track (x0, y0, x1, y1) in panel pixels: r = -1 at x0, 0 in the middle,
        # +1 at x1.
        self.track = (int(self.out_width * 0.40), int(self.panel * 0.25),
                      int(self.out_width * 0.80), int(self.panel * 0.75))

    def picture(self, rgb):
        """Copy a frame in; returns the view of it to draw on."""
        view = self.out[:self.height, :self.width]
        view[:] = rgb
        return view

    def with_panel(self, pair, r, mismatch):
        """The whole output picture, with the panel drawn for peak r ``r`` (NaN: none)."""
        import cv2

        out = self.out
        panel = out[self.height:]
        panel[:] = _PANEL_BG
        h = panel.shape[0]
        scale = h / 64
        colour = MISMATCH_COLOUR if mismatch else SYNC_COLOUR
        font = cv2.FONT_HERSHEY_SIMPLEX
        base = int(h * 0.65)
        cv2.putText(panel, f"{pair} peak r", (int(h * 0.3), base), font, scale, (230, 230, 230), 1,
                    cv2.LINE_AA)
        x0, y0, x1, y1 = self.track
        mid = (x0 + x1) // 2
        cv2.rectangle(panel, (x0, y0), (x1, y1), (90, 90, 90), 1)
        if np.isfinite(r):
            end = int(round(mid + np.clip(r, -1, 1) * (x1 - x0) / 2))
            if end != mid:
                cv2.rectangle(panel, (min(mid, end), y0 + 1), (max(mid, end), y1 - 1), colour, -1)
            text = f"{r:+.2f}"
        else:
            text = "n/a"
        cv2.line(panel, (mid, y0 - 2), (mid, y1 + 2), (230, 230, 230), 1)
        cv2.putText(panel, text, (x1 + int(h * 0.3), base), font, scale, colour if np.isfinite(r) else
                    (150, 150, 150), 1, cv2.LINE_AA)
        if mismatch:
            cv2.putText(panel, "mismatch", (x1 + int(h * 1.8), base), font, scale, MISMATCH_COLOUR, 1,
                        cv2.LINE_AA)
        return out


class _Encoder:
    """H.264 output with the source's time base, PTS and frame durations; audio copied.

    Each frame is encoded once the next one's PTS gives its duration; the last one takes
    the duration the source's header declares (else the one before it). Audio packets are
    muxed as the video reaches their time, so neither stream waits in memory for the other.
    """

    def __init__(self, source_path, out_path):
        self.source_path, self.out_path = source_path, out_path

    def __enter__(self):
        import av

        from synchrony.media import _open, _origin_s

        self.source = _open(self.source_path)
        self.out = None
        try:
            src = self.source.streams.best("video")
            self.origin_s = _origin_s(self.source)
            self.time_base = src.time_base
            self.rate = src.average_rate or src.guessed_rate or Fraction(30)
            self.end_pts = (src.start_time or 0) + src.duration if src.duration else None
            self.out = av.open(os.fspath(self.out_path), "w", format="mp4")
        except BaseException:
            self.close()
            raise
        self.video = None  # added at the first frame, when the picture size is known
        self.audio_in = self.source.streams.best("audio")
        self.audio = self.packets = self.next_packet = None
        self.pending = None  # (frame, pts) waiting for the next frame's pts
        self.durations = {}  # pts -> duration of the frames in the encoder
        self.last_duration = None
        return self

    def _start(self, height, width):
        self.video = self.out.add_stream("libx264", rate=self.rate)
        self.video.width, self.video.height, self.video.pix_fmt = width, height, "yuv420p"
        self.video.time_base = self.time_base
        self.video.codec_context.time_base = self.time_base
        self.video.options = dict(_ENCODER_OPTIONS)
        if self.audio_in is not None:
            if _mp4_takes(self.audio_in):
                self.audio = self.out.add_stream_from_template(self.audio_in)
                self.packets = (p for p in self.source.demux(self.audio_in) if p.size)
                self.next_packet = next(self.packets, None)
            else:
                log.warning("%s: its %s audio cannot be copied into MP4; the annotated video has "
                            "no sound", self.source_path, self.audio_in.codec_context.name)

    def add(self, picture, time_s):
        """Queue the composed RGB ``picture`` shown at file time ``time_s`` (seconds)."""
        import av
        import cv2

        pts = round((time_s + self.origin_s) / self.time_base)
        if abs(float(pts * self.time_base) - self.origin_s - time_s) > 1e-6:
            raise MediaError(self.source_path, f"frame time {time_s} s is off the time base {self.time_base}")
        if self.video is None:
            self._start(*picture.shape[:2])
        # OpenCV's BT.601 conversion: ~7x faster than swscale's here, same values
        # within a level (the decoder's RGB is BT.601 too).
        frame = av.VideoFrame.from_ndarray(cv2.cvtColor(picture, cv2.COLOR_RGB2YUV_I420), format="yuv420p")
        if self.pending is not None:
            before, before_pts = self.pending
            if pts <= before_pts:
                raise MediaError(self.source_path, f"video timestamps do not increase at {time_s:.3f} s; "
                                                   "the annotated video keeps every frame's time")
            self.last_duration = pts - before_pts
            self._encode(before, before_pts, self.last_duration)
        self.pending = (frame, pts)

    def _encode(self, frame, pts, duration):
        frame.pts, frame.time_base = pts, self.time_base
        if duration:
            # The encoder gives packets the nominal 1 / rate; the muxer stores the last
            # packet's duration as the last frame's.
            self.durations[pts] = duration
        self._mux(self.video.encode(frame))

    def _mux(self, packets):
        for packet in packets:
            duration = self.durations.pop(packet.pts, None)
            if duration is not None:
                packet.duration = duration
            if packet.dts is not None:
                self._mux_audio(packet.dts * packet.time_base)
            self.out.mux(packet)

    def _mux_audio(self, until_s):
        """Copy the audio packets up to ``until_s`` (container seconds; None: all)."""
        while self.next_packet is not None and (
                until_s is None or self.next_packet.dts is None
                or self.next_packet.dts * self.next_packet.time_base <= until_s):
            self.next_packet.stream = self.audio
            self.out.mux(self.next_packet)
            self.next_packet = next(self.packets, None)

    def __exit__(self, kind, value, tb):
        try:
            if kind is None and self.pending is not None:
                frame, pts = self.pending
                end = self.end_pts - pts if self.end_pts is not None else None
                self._encode(frame, pts, end if end and end > 0 else self.last_duration)
                self._mux(self.video.encode(None))
                self._mux_audio(None)
        finally:
            self.close()

    def close(self):
        for container in (self.out, self.source):
            if container is not None:
                container.close()


def _mp4_takes(stream) -> bool:
    """Whether the MP4 muxer accepts ``stream``'s packets as they are."""
    import av

    try:
        with av.open(io.BytesIO(), "w", format="mp4") as probe:
            probe.add_stream_from_template(stream)
            probe.start_encoding()
        return True
    except (av.FFmpegError, ValueError, NotImplementedError):
        return False
