"""Decoding recordings: the only module that opens a video or audio file.

Everything downstream gets frames and samples stamped on one **session clock**: time 0 is
the earliest start time of the container's audio and video streams, so a frame and an
audio sample with the same ``time_s`` are simultaneous as far as the container says,
whichever stream started first. Times come from each frame's presentation timestamp
(PTS), never from ``index / fps``: phone recordings are variable-frame-rate, and frame
counting would drift from the audio.

Some writers keep an AAC encoder's priming samples (one codec frame, up to ~64 ms)
before the audio's nominal start; they decode to near silence and carry their own
timestamps, so the first sample can be early while the sound itself is on time.

Rotation. Phones store the picture as the sensor saw it and declare a display matrix.
PyAV 18 does not expose a stream's side data, but FFmpeg copies the matrix onto every
decoded frame, where ``VideoFrame.rotation`` reads it (counter-clockwise degrees). Older
files or demuxers may instead carry a ``rotate`` metadata tag (clockwise degrees); both are
read. Mirroring in the matrix is not applied.
"""

from __future__ import annotations

import heapq
import logging
import math
import os
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass

import av
import numpy as np
from av.video.reformatter import VideoReformatter

from .errors import InputFileError, MediaError, NoAudioError, ParameterError

log = logging.getLogger("synchrony")

# Tolerance when comparing a frame time with a grid slot: far below any frame interval,
# far above float rounding of pts * time_base.
_EPS_S = 1e-6
# Decoders that, told skip_frame="NONREF", drop a frame only if no other frame refers to it
# and decide it per packet (the setting travels with each packet into FFmpeg's frame
# threads): FFmpeg's H.264 decoder (nal_ref_idc == 0). Others decode every frame.
_SKIPPING_CODECS = frozenset({"h264"})
# Packets read ahead of the decoder, so that the times of all frames up to a packet's are
# known when it is decoded: far more than the reordering H.264 allows (16 frames).
_LOOKAHEAD_PACKETS = 48
# Types a file's first top-level box may have in MP4, MOV, M4A and 3GP files (QuickTime
# files may begin with padding or the media data); anything else is not checked here.
_ISO_BMFF_FIRST = frozenset({b"ftyp", b"styp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot"})
# Top-level boxes walked at most before the index (files have a handful before it).
_MAX_TOP_BOXES = 10_000


@dataclass(frozen=True)
class VideoStreamInfo:
    """What the container declares about its video stream.

    ``width`` and ``height`` are in pixels as stored; ``rotation_deg`` (0, 90, 180 or
    270) is the counter-clockwise rotation that makes the stored picture upright, i.e.
    ``np.rot90(frame, rotation_deg // 90)`` (a legacy ``rotate=90`` tag gives 270).
    ``declared_fps`` is the nominal rate in frames per second (FFmpeg's guess from the
    header: a label, wrong for variable-rate files); ``average_fps`` is frames over
    duration. ``n_frames`` is the header's count (None when absent), or a true count
    with ``probe(..., count_frames=True)``. ``start_time_s`` is on the session clock.
    """

    width: int
    height: int
    rotation_deg: int
    declared_fps: float | None
    average_fps: float | None
    n_frames: int | None
    start_time_s: float | None
    codec: str

    @property
    def upright_width(self) -> int:
        """Width in pixels of frames as :func:`iter_frames` yields them."""
        return self.height if self.rotation_deg % 180 else self.width

    @property
    def upright_height(self) -> int:
        """Height in pixels of frames as :func:`iter_frames` yields them."""
        return self.width if self.rotation_deg % 180 else self.height


@dataclass(frozen=True)
class AudioStreamInfo:
    """What the container declares about its audio stream (times in s, session clock)."""

    sample_rate_hz: int
    n_channels: int
    start_time_s: float | None
    duration_s: float | None
    codec: str


@dataclass(frozen=True)
class MediaInfo:
    """Result of :func:`probe`.

    ``duration_s`` is the container's duration in seconds (None when unknown);
    ``origin_s`` is the container time in seconds that is time 0 of the session clock.
    """

    path: str
    duration_s: float | None
    format_name: str
    origin_s: float
    video: VideoStreamInfo | None
    audio: AudioStreamInfo | None


@dataclass(frozen=True, eq=False)
class AudioTrack:
    """Decoded audio.

    ``samples`` is float32, shape (n_channels, n_samples), nominally -1..1 (lossy codecs
    may overshoot slightly; nothing is clipped). ``sr_hz`` is the sample rate in Hz,
    ``start_s`` the time in seconds of the first sample on the session clock.
    """

    samples: np.ndarray
    sr_hz: int
    start_s: float
    path: str

    @property
    def n_channels(self) -> int:
        return self.samples.shape[0]

    @property
    def duration_s(self) -> float:
        """Length of the track in seconds."""
        return self.samples.shape[1] / self.sr_hz

    @property
    def times_s(self) -> np.ndarray:
        """Session-clock time in seconds of every sample."""
        return self.start_s + np.arange(self.samples.shape[1]) / self.sr_hz


def probe(path: os.PathLike | str, *, count_frames: bool = False) -> MediaInfo:
    """Read a recording's header (and its first video frame, for the rotation).

    Parameters
    ----------
    path : path-like
        The recording.
    count_frames : bool, keyword-only
        Count video frames by demuxing the whole file instead of trusting the header
        (which some containers leave at 0, e.g. Matroska, or get wrong).

    Returns
    -------
    MediaInfo
        ``video`` or ``audio`` is None when the file has no such stream.

    Raises
    ------
    synchrony.MediaError
        The file is not a readable recording, or is an MP4/MOV cut inside its index
        (``"<file>: truncated: ..."``; every function here that opens a file checks it).
    """
    with _open(path) as container:
        p = container.name
        origin_s = _origin_s(container)
        video = audio = None
        vs = container.streams.best("video")
        if vs is not None:
            n_frames = _count_packets(container, vs, p) if count_frames else vs.frames or None
            if count_frames:
                container.seek(0)
            video = VideoStreamInfo(
                width=vs.width,
                height=vs.height,
                rotation_deg=_probe_rotation(container, vs),
                declared_fps=_to_float(vs.guessed_rate or vs.base_rate),
                average_fps=_to_float(vs.average_rate),
                n_frames=n_frames,
                start_time_s=_stream_start_s(vs, origin_s),
                codec=vs.codec_context.name,
            )
        aus = container.streams.best("audio")
        if aus is not None:
            audio = AudioStreamInfo(
                sample_rate_hz=aus.codec_context.sample_rate,
                n_channels=aus.codec_context.channels,
                start_time_s=_stream_start_s(aus, origin_s),
                duration_s=float(aus.duration * aus.time_base) if aus.duration else None,
                codec=aus.codec_context.name,
            )
        duration_s = container.duration / av.time_base if container.duration else None
        return MediaInfo(p, duration_s, container.format.name, origin_s, video, audio)


def count_frames(path: os.PathLike | str) -> int:
    """Count video frames by demuxing every packet (no decoding: fast, exact for the
    usual codecs, which put one frame in each packet)."""
    with _open(path) as container:
        return _count_packets(container, _video_stream(container), container.name)


def iter_frames(
    path: os.PathLike | str,
    *,
    rate_hz: float | None = None,
    start_s: float | None = None,
    end_s: float | None = None,
    decoder_threads: int | None = None,
) -> Iterator[tuple[float, np.ndarray]]:
    """Stream the video's frames, upright, with their true times.

    Parameters
    ----------
    path : path-like
        The recording. It is opened (and checked) when this function is called.
    rate_hz : float, optional, keyword-only
        Subsample to at most this rate in Hz, by time: a frame is kept when its time
        reaches the next slot of the grid ``start_s + k / rate_hz``, so variable-rate
        input is thinned by true time and no frame is ever repeated. Default: every frame.
    start_s, end_s : float, optional, keyword-only
        Keep frames with ``start_s <= time_s < end_s`` (session clock, seconds).
    decoder_threads : int, optional, keyword-only
        Threads the video decoder may use. Default: FFmpeg's choice (frame and slice
        threads, about one per core). ``1`` decodes in the calling thread only, which
        costs less CPU in all (FFmpeg's frame threads hand every frame between threads)
        and suits a caller whose other threads already keep the cores busy, such as the
        face extractors. The frames and their pixels are the same either way.

    Yields
    ------
    time_s : float
        The frame's presentation time in seconds on the session clock.
    rgb : numpy.ndarray
        uint8 array of shape (height, width, 3), rotated upright.

    Notes
    -----
    Memory does not grow with the recording's length. A decoding error after some frames
    (a truncated file) ends the iteration with a warning on the "synchrony" logger.

    When ``rate_hz``, ``start_s`` or ``end_s`` leaves frames out of an H.264 stream, the
    decoder is told to skip each frame the grid will not take and no other frame refers
    to (FFmpeg's ``skip_frame="NONREF"``, set packet by packet from the packets' times,
    read ahead of the decoder). Every frame the grid takes is still decoded, so the
    frames yielded, their times and their pixels are exactly those of a full decode.
    """
    func = "iter_frames"
    if rate_hz is not None and not (_finite(rate_hz) and rate_hz > 0):
        raise ParameterError.expected("rate_hz", func, "a positive number of hertz or None",
                                      rate_hz)
    if start_s is not None and not (_finite(start_s) and start_s >= 0):
        raise ParameterError.expected("start_s", func, "a time >= 0 in seconds or None", start_s)
    if end_s is not None and not (_finite(end_s) and end_s > (start_s or 0)):
        raise ParameterError.expected("end_s", func, "a time in seconds after start_s, or None",
                                      end_s)
    if decoder_threads is not None and not (
            isinstance(decoder_threads, int) and not isinstance(decoder_threads, bool)
            and decoder_threads >= 1):
        raise ParameterError.expected("decoder_threads", func, "a whole number >= 1 or None",
                                      decoder_threads)
    container = _open(path)
    try:
        stream = _video_stream(container)
    except BaseException:
        container.close()
        raise
    return _frames(container, stream, rate_hz, start_s or 0.0, end_s, decoder_threads)


def read_audio(
    path: os.PathLike | str, *, sr_hz: int | None = None, mono: bool = False
) -> AudioTrack:
    """Decode a recording's whole audio track.

    Parameters
    ----------
    path : path-like
        The recording (video or audio file).
    sr_hz : int, optional, keyword-only
        Resample to this rate in Hz (FFmpeg's swresample). Default: the file's rate.
    mono : bool, keyword-only
        Average the channels into one. Default: keep every channel, in file order.

    Returns
    -------
    AudioTrack
        Samples as float32 (n_channels, n_samples); ``start_s`` on the session clock.

    Raises
    ------
    NoAudioError
        The file has no audio stream.
    """
    if sr_hz is not None and not (_finite(sr_hz) and float(sr_hz).is_integer() and sr_hz > 0):
        raise ParameterError.expected("sr_hz", "read_audio", "a positive whole number of "
                                      "hertz or None", sr_hz)
    with _open(path) as container:
        p = container.name
        stream = container.streams.best("audio")
        if stream is None:
            raise NoAudioError(p, "no audio track")
        origin_s = _origin_s(container)
        out_sr = int(sr_hz or stream.codec_context.sample_rate)
        # fltp gives one contiguous float32 row per channel: exactly our layout.
        resampler = av.AudioResampler(format="fltp", rate=out_sr)
        chunks: list[np.ndarray] = []
        start_s = next_s = None
        for frame in _decode(container, stream, p, "audio", origin_s, 0.25):
            t = _frame_time_s(frame, origin_s)
            if start_s is None:
                start_s = next_s = t if t is not None else _stream_start_s(stream, origin_s) or 0.0
            elif t is not None and abs(t - next_s) > 0.1:
                # Samples are stacked back to back, so a timestamp jump shifts everything
                # after it: say so rather than misalign silently.
                log.warning("%s: audio timestamps jump by %+.3f s at %.3f s; samples after it "
                            "are treated as contiguous", p, t - next_s, next_s)
                next_s = t
            next_s += frame.samples / frame.sample_rate
            chunks.extend(out.to_ndarray() for out in resampler.resample(frame))
        if start_s is None:
            raise MediaError(p, "audio track has no decodable samples")
        chunks.extend(out.to_ndarray() for out in resampler.resample(None))
    samples = np.concatenate(chunks, axis=1).astype(np.float32, copy=False)
    if mono:
        samples = samples.mean(axis=0, keepdims=True, dtype=np.float32)
    return AudioTrack(samples=samples, sr_hz=out_sr, start_s=float(start_s), path=p)


# ---------------------------------------------------------------------------- helpers


def _frames(container, stream, rate_hz, start_s, end_s, decoder_threads=None):
    p = container.name
    with container:
        origin_s = _origin_s(container)
        stream.thread_type = "AUTO"
        if decoder_threads is not None:
            stream.codec_context.thread_count = decoder_threads
        if start_s > 0:
            # Jump to the keyframe before start_s instead of decoding everything before it.
            target = math.floor((start_s + origin_s) / stream.time_base)
            try:
                container.seek(target, stream=stream, backward=True)
            except av.FFmpegError as err:  # unseekable: decode from the start instead
                log.debug("%s: seek failed (%s); decoding from the start", p, _reason(err))
        tol_s = max(0.25, 3 / (_to_float(stream.average_rate) or 30.0))
        packets = container.demux(stream)
        if (rate_hz or start_s > 0 or end_s is not None) and \
                stream.codec_context.name in _SKIPPING_CODECS:
            decoded = _decode_skipping(stream, packets, _grid(rate_hz, start_s, end_s),
                                       origin_s, p)
        else:
            decoded = (frame for packet in packets for frame in packet.decode())
        keep = _grid(rate_hz, start_s, end_s)
        to_rgb = _rgb_converter(p)
        k_rot, n = None, 0
        for frame in _decode(container, stream, p, "video", origin_s, tol_s, decoded):
            n += 1
            t = _frame_time_s(frame, origin_s)
            if t is None:
                raise MediaError(p, "video frames carry no timestamps")
            if end_s is not None and t >= end_s - _EPS_S:
                return
            if not keep(t):
                continue
            if k_rot is None:
                k_rot = _rotation_ccw_deg(stream, frame) // 90
            rgb = to_rgb(frame)
            if k_rot:
                rgb = np.ascontiguousarray(np.rot90(rgb, k_rot))
            yield t, rgb
        if n == 0 and start_s == 0:
            raise MediaError(p, "video stream has no frames")


def _rgb_converter(path):
    """A function: decoded video frame -> its pixels as an RGB24 array (h, w, 3).

    Through a filter graph (``buffer``, ``scale``, ``format=rgb24``, one thread) made for
    the stream's frame size, pixel format and colour tags, rebuilt if they change. The
    graph writes into a pool of frames that FFmpeg reuses once their arrays are gone,
    where PyAV's ``VideoReformatter`` allocates a fresh frame per call; at 1280x720 that
    is ~700 new pages a frame, each a page fault, and twice the time of the conversion.
    Both run the same swscale conversion (bilinear flags, the frame's colour tags), so
    the pixels are equal; tests compare them on 8-bit YUV, RGB and grey streams. Frames
    with deeper components (10-bit video), whose dithering the two paths do differently,
    and any stream the graph cannot be built for, go through ``VideoReformatter``.
    """
    # One reformatter for the whole stream: a fresh one per frame (what
    # frame.to_ndarray(format=...) makes) sets up swscale and its threads every time,
    # ~5x the cost of the conversion itself.
    reformatter = VideoReformatter()
    made = {}  # frame properties -> its graph, or None for the reformatter

    def convert(frame):
        key = (frame.width, frame.height, frame.format.name,
               getattr(frame, "colorspace", None), getattr(frame, "color_range", None))
        if key not in made:
            made.clear()  # frames out of an older graph stay valid: its pool outlives it
            made[key] = _rgb_graph(frame, path)
        graph = made[key]
        if graph is None:
            return reformatter.reformat(frame, format="rgb24", threads=1).to_ndarray()
        graph.push(frame)
        return graph.pull().to_ndarray()

    return convert


def _rgb_graph(frame, path):
    """The filter graph of :func:`_rgb_converter` for frames like ``frame``, or None."""
    try:
        if any(c.bits != 8 for c in frame.format.components):
            return None
        graph = av.filter.Graph()
        graph.threads = 1
        source = graph.add(
            "buffer", video_size=f"{frame.width}x{frame.height}",
            pix_fmt=str(int(frame.format)), time_base=str(frame.time_base or "1/1000"),
            pixel_aspect="1/1", colorspace=str(int(frame.colorspace)),
            range=str(int(frame.color_range)))
        nodes = [source, graph.add("scale", "flags=bilinear"), graph.add("format", "rgb24"),
                 graph.add("buffersink")]
        for a, b in zip(nodes, nodes[1:]):
            a.link_to(b)
        graph.configure()
    except (av.FFmpegError, ValueError, TypeError, AttributeError) as err:  # older PyAV too
        log.debug("%s: no filter graph for %s frames (%s); converting with swscale directly",
                  path, frame.format.name, _reason(err))
        return None
    return graph


def _grid(rate_hz, start_s, end_s):
    """The thinning rule of :func:`iter_frames` as ``keep(time_s) -> bool``, to be called
    with frame times in increasing order: frames in ``[start_s, end_s)``, and with
    ``rate_hz`` only the first frame at or after each slot ``start_s + k / rate_hz``."""
    next_slot = start_s

    def keep(t):
        nonlocal next_slot
        if t < start_s - _EPS_S or (end_s is not None and t >= end_s - _EPS_S):
            return False
        if rate_hz:
            if t < next_slot - _EPS_S:
                return False
            # the grid slot after t: at most one frame per slot, none repeated
            next_slot = start_s + (math.floor((t - start_s + _EPS_S) * rate_hz) + 1) / rate_hz
        return True

    return keep


def _decode_skipping(stream, packets, keep, origin_s, path):
    """Decode ``packets`` in order, letting the decoder drop the frames ``keep`` will not take.

    Decode order differs from presentation order only within a few frames, so with
    ``_LOOKAHEAD_PACKETS`` packets read ahead the times of all frames up to the next
    packet's are known, and ``keep`` runs over them in presentation order, as over decoded
    frames. A packet whose frame it takes is decoded normally; any other with
    ``skip_frame="NONREF"``, which drops it unless a later frame refers to it. The frames
    yielded are thus a superset of those ``keep`` takes, so a second ``keep`` over them
    takes the same frames as over a full decode. A frame later than the lookahead (a
    stream reordered more than any H.264 encoder does) ends the skipping.
    """
    ctx = stream.codec_context
    time_base = stream.time_base
    pending = deque()  # packets read, not yet decoded, in decode order
    upcoming = []  # heap of the pts of packets read but not yet run through keep
    taken = set()  # pts that keep took whose packets are still pending
    planned = None  # largest pts run through keep
    skipping = True

    def decode(packet):
        nonlocal planned
        wanted = True
        if skipping and packet.pts is not None and packet.size:
            while upcoming and upcoming[0] <= packet.pts:
                planned = heapq.heappop(upcoming)
                if keep(float(planned * time_base) - origin_s):
                    taken.add(planned)
            wanted = packet.pts in taken
            taken.discard(packet.pts)
        mode = "DEFAULT" if wanted else "NONREF"
        if ctx.skip_frame != mode:
            ctx.skip_frame = mode
        return stream.decode(packet)

    try:
        for packet in packets:
            if skipping and packet.pts is not None and packet.size:
                if planned is not None and packet.pts <= planned:
                    log.debug("%s: a frame arrived over %d packets after a later one; "
                              "decoding every frame from here", path, _LOOKAHEAD_PACKETS)
                    skipping = False
                heapq.heappush(upcoming, packet.pts)
            pending.append(packet)
            if len(pending) > _LOOKAHEAD_PACKETS:
                yield from decode(pending.popleft())
    except av.FFmpegError:
        skipping = False  # what follows is unknown: decode what was read, then report
        while pending:
            yield from decode(pending.popleft())
        raise
    while pending:
        yield from decode(pending.popleft())


def _open(path):
    p = os.fspath(path)
    if not os.path.exists(p):
        raise InputFileError(p, "file not found")
    if os.path.isdir(p):
        raise InputFileError(p, "is a directory, not a recording")
    if os.path.getsize(p) == 0:
        raise MediaError(p, "not a readable media file (empty file)")
    _check_index_whole(p)
    try:
        return av.open(p, metadata_errors="ignore")
    except av.error.PermissionError as err:
        raise InputFileError(p, "permission denied") from err
    except av.FFmpegError as err:
        raise MediaError(p, f"not a readable media file ({_reason(err)})") from err


def _check_index_whole(path):
    """Raise if an MP4/MOV file (ISO-BMFF) was cut inside its index, the ``moov`` box.

    FFmpeg reads such a file without complaint and drops what the lost part of the index
    described (a whole stream, or every stream). The file is a sequence of top-level
    boxes, each starting with its size (4 bytes, big-endian; 1 = a 64-bit size follows
    the type; 0 = to the end of the file) and type (4 bytes); a ``moov`` that declares
    more bytes than the file has left was cut. A cut in the media data (``mdat``) is
    left to the decoder, which yields what the file holds and then warns.
    """
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as fh:
            start = 0
            for _ in range(_MAX_TOP_BOXES):
                fh.seek(start)
                header = fh.read(16)
                if len(header) < 8:
                    return
                declared, kind = int.from_bytes(header[:4], "big"), header[4:8]
                if start == 0 and kind not in _ISO_BMFF_FIRST:
                    return  # not an ISO-BMFF file: FFmpeg judges it
                if declared == 1 and len(header) == 16:
                    declared = int.from_bytes(header[8:16], "big")
                if declared == 0 or declared < 8:
                    return  # runs to the end of the file, or not a box structure after all
                if kind == b"moov":  # a file has one index: nothing after it to check
                    if start + declared > size:
                        raise MediaError(path, f"truncated: the file ends {size - start} bytes into "
                                               f"its index (moov box), which declares {declared} bytes")
                    return
                start += declared
                if start >= size:
                    return
    except OSError:
        return  # unreadable here: av.open reports it


def _video_stream(container):
    stream = container.streams.best("video")
    if stream is None:
        raise MediaError(container.name, "no video stream")
    return stream


def _decode(container, stream, path, what, origin_s, tol_s, frames=None):
    """Decode frames (or take them from the iterator ``frames``). A truncated recording
    yields what it holds, then a warning: either the decoder fails on the damaged tail, or
    the data just stops short of the duration the header declares (which is then the only
    sign)."""
    n, end_s = 0, None
    it = container.decode(stream) if frames is None else iter(frames)
    while True:
        try:
            frame = next(it)
        except StopIteration:
            break
        except av.FFmpegError as err:
            if n == 0:
                raise MediaError(path, f"no decodable {what} ({_reason(err)})") from err
            log.warning("%s: %s decoding failed after %d frames, at %s s (%s); the file may "
                        "be truncated or damaged", path, what, n, end_s, _reason(err))
            return
        n += 1
        if frame.time is not None:  # end of this frame (audio) or its start (video)
            rate = getattr(frame, "sample_rate", 0)
            end_s = round(frame.time - origin_s + (frame.samples / rate if rate else 0), 3)
        yield frame
    declared_s = _declared_end_s(container, stream, origin_s)
    if declared_s is not None and end_s is not None and end_s < declared_s - tol_s:
        log.warning("%s: %s ends at %.3f s but the header declares %.3f s; the file may be "
                    "truncated", path, what, end_s, declared_s)


def _count_packets(container, stream, path):
    n = 0
    try:
        for packet in container.demux(stream):
            n += packet.size > 0  # the demuxer ends with one empty flush packet
    except av.FFmpegError as err:
        log.warning("%s: demuxing stopped after %d packets (%s)", path, n, _reason(err))
    return n


def _origin_s(container) -> float:
    starts = [s.start_time * s.time_base for s in container.streams
              if s.type in ("video", "audio") and s.start_time is not None]
    if starts:
        return float(min(starts))
    return container.start_time / av.time_base if container.start_time is not None else 0.0


def _stream_start_s(stream, origin_s):
    if stream.start_time is None:
        return None
    return float(stream.start_time * stream.time_base) - origin_s


def _declared_end_s(container, stream, origin_s):
    if stream.duration:
        return float(((stream.start_time or 0) + stream.duration) * stream.time_base) - origin_s
    if container.duration:
        return ((container.start_time or 0) + container.duration) / av.time_base - origin_s
    return None


def _frame_time_s(frame, origin_s):
    pts = frame.pts if frame.pts is not None else frame.dts
    return None if pts is None else float(pts * frame.time_base) - origin_s


def _rotation_ccw_deg(stream, frame=None) -> int:
    """Counter-clockwise rotation in degrees (0/90/180/270) that makes ``frame`` upright."""
    ccw = frame.rotation if frame is not None else 0  # display matrix; 0 when absent
    if not ccw:
        try:  # legacy tag: clockwise degrees
            ccw = -float(stream.metadata.get("rotate", 0))
        except ValueError:
            ccw = 0
    return int(round(ccw / 90)) % 4 * 90


def _probe_rotation(container, stream) -> int:
    try:
        for frame in container.decode(stream):
            return _rotation_ccw_deg(stream, frame)
    except av.FFmpegError:
        pass
    return _rotation_ccw_deg(stream)


def _reason(err) -> str:
    text = getattr(err, "strerror", None) or str(err) or type(err).__name__
    return " ".join(str(text).split())


def _to_float(x):
    return float(x) if x else None


def _finite(x) -> bool:
    try:
        return math.isfinite(x)
    except TypeError:
        return False
