"""Face tracks of a Session, for each recording layout.

``split``: :func:`synchrony.extract.face.extract_face_split`. ``two-files``: one video
per person, each analysed on its own (both at once, in two threads) and put on the
session clock by its offset. ``shared-frame``: both people in one picture; FaceMesh
looks for two faces and :func:`synchrony.extract.tracking.assign_identities` decides
whose each is, by position continuity, never by the detector's order.

Every analysed frame keeps a row for each person, with NaN and ``face_detected=False``
where that person's face was not found.
"""

from __future__ import annotations

import logging
import os
from array import array
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from synchrony.errors import MediaError, NoFaceError
from synchrony.extract.facecount import face_counters
from synchrony.extract.face import (
    _FIELDS,
    _Person,
    _track,
    _track_from_rows,
    check_backend,
    extract_face_split,
    face_finders,
    n_scores,
    progress_bar,
)

__all__ = ["face_tracks", "extract_face_single", "extract_face_shared"]

log = logging.getLogger("synchrony")


def face_tracks(session, *, offsets_s=None, rate_hz=None, backend="facemesh",
                progress=False) -> dict:
    """Each person's face track for a :class:`synchrony.session.Session`.

    Parameters
    ----------
    session : synchrony.session.Session
    offsets_s : sequence of float, optional
        Session time of each video's time 0, in seconds; default ``session.offsets_s``
        (for two-files sessions whose offsets were estimated, pass the estimate).
    rate_hz : float, optional
        Analyse frames at about this rate instead of every frame.
    backend : {"facemesh", "landmarker"}, default "facemesh"
        The face model (:func:`synchrony.extract.face.extract_face_split`).
    progress : bool
        Show progress bars.

    Returns
    -------
    dict of str to pandas.DataFrame
        Person label -> track indexed by ``time_s`` on the session clock, with the
        columns of :data:`synchrony.extract.face.FACE_COLUMNS` (and with the
        ``"landmarker"`` backend those of
        :func:`synchrony.extract.face.backend_columns`).
    """
    check_backend(backend, "face_tracks")
    offsets = list(offsets_s if offsets_s is not None else session.offsets_s or ())
    offsets += [0.0] * (len(session.videos) - len(offsets))
    if session.layout == "split":
        tracks = extract_face_split(session.videos[0], persons=session.persons, split=session.split,
                                    regions_px=session.regions_px, rate_hz=rate_hz, backend=backend,
                                    progress=progress)
        return _shifted(tracks, offsets[0])
    if session.layout == "two-files":
        # The models start here, in one thread: their quiet start-up redirects the
        # process's stderr and warning filters, which threads must not do at once.
        with face_finders(2, backend=backend) as finders, face_counters(2) as counters, \
                ThreadPoolExecutor(2) as pool:
            futures = [pool.submit(_single_track, video, find, person=person, rate_hz=rate_hz,
                                   n_extra=n_scores(backend), count=count, progress=progress,
                                   position=i)
                       for i, (video, person, find, count)
                       in enumerate(zip(session.videos, session.persons, finders, counters))]
            tracks = [f.result() for f in futures]
        return {p: _shifted({p: t}, off)[p] for p, t, off in zip(session.persons, tracks, offsets)}
    if session.layout == "shared-frame":
        tracks = extract_face_shared(session.videos[0], persons=session.persons, rate_hz=rate_hz,
                                     backend=backend, progress=progress)
        return _shifted(tracks, offsets[0])
    raise MediaError(session.videos[0], f"layout {session.layout!r} has no face extraction")


def extract_face_single(path, *, person="A", rate_hz=None, backend="facemesh",
                        min_detection_confidence=0.5, progress=False, position=0) -> pd.DataFrame:
    """One person's face track from a video that films only that person.

    The whole frame is the person's region (camera model, ``head_x``/``head_y`` and the
    looking-at-camera rule as in the split layout). Raises NoFaceError naming the file
    when no analysed frame has a face; warns as the split layout does when the video
    shows several faces. ``backend`` as in
    :func:`synchrony.extract.face.extract_face_split`.
    """
    check_backend(backend, "extract_face_single")
    with face_finders(1, backend=backend,
                      min_detection_confidence=min_detection_confidence) as (find,), \
            face_counters(1, min_detection_confidence=min_detection_confidence) as (count,):
        return _single_track(path, find, person=person, rate_hz=rate_hz, n_extra=n_scores(backend),
                             count=count, progress=progress, position=position)


def _single_track(path, find, *, person, rate_hz, n_extra, count, progress, position):
    from synchrony.media import iter_frames

    path = os.fspath(path)
    frames = iter_frames(path, rate_hz=rate_hz)
    rows = array("d")
    try:
        with progress_bar(path, rate_hz, progress, position=position) as bar:
            analyser = _Person(find, n_extra, count)
            for time_s, rgb in frames:
                rows.extend((time_s, *analyser.analyse(rgb, time_s)))
                bar.update()
    finally:
        frames.close()
    if not rows:
        raise MediaError(path, "no video frames to analyse")
    track = _track_from_rows(rows, n_extra)
    if not track["face_detected"].any():
        raise NoFaceError(path, f"no face found (person {person})")
    count.warn(path, f"the video of person {person}")
    return track


def extract_face_shared(path, *, persons=("A", "B"), rate_hz=None, backend="facemesh",
                        min_detection_confidence=0.5, progress=False) -> dict:
    """Both persons' face tracks from one picture that shows them both.

    FaceMesh tracks up to two faces. Identities come from
    :func:`synchrony.extract.tracking.assign_identities` over the whole recording
    (``persons[0]`` is the leftmost face when both are first seen); a person whose face
    is missing keeps their row with NaN. ``looking_at_partner`` here means the line of
    sight within the cone around the direction from the person's face to the other
    person's face (:func:`synchrony.extract.gaze.direction_to_point`, the smaller-looking
    face placed further away); NaN when either face is missing.

    Face motion needs the same face in consecutive frames before identities are known:
    each face continues the previous frame's face nearest to it (within one face size).
    ``backend`` as in :func:`synchrony.extract.face.extract_face_split`.
    """
    check_backend(backend, "extract_face_shared")
    from synchrony.extract.tracking import assign_identities
    from synchrony.media import iter_frames

    path = os.fspath(path)
    frames = iter_frames(path, rate_hz=rate_hz)
    times, faces = [], []  # per frame: a few numbers per face, never pixels
    region = None
    try:
        with face_finders(1, backend=backend, max_num_faces=2,
                          min_detection_confidence=min_detection_confidence) as (find,), \
                progress_bar(path, rate_hz, progress) as bar:
            previous = []  # (analyser, centre x, centre y, size) of the last frame's faces
            for time_s, rgb in frames:
                region = rgb.shape[1], rgb.shape[0]
                rgb = np.ascontiguousarray(rgb)
                current = []
                for lm, scores in find(rgb, time_s):
                    analyser = _continuing(previous, lm, current) or _Person(None)
                    # a float array (160 bytes), not a tuple of Python floats (~700)
                    current.append((analyser, np.array(analyser.measure(lm, rgb) + scores)))
                previous = [(a, v[0], v[1], v[2]) for a, v in current]
                times.append(time_s)
                faces.append([v for _, v in current])
                bar.update()
    finally:
        frames.close()
    if not times:
        raise MediaError(path, "no video frames to analyse")

    detections = [[v[:3] for v in frame] for frame in faces]
    assignments = assign_identities(detections, times_s=times, persons=persons)
    no_face = np.full(len(_FIELDS) + n_scores(backend), np.nan)
    per_person = {p: [] for p in persons}
    for frame, assignment in zip(faces, assignments):
        for p in persons:
            i = assignment.index[p]
            per_person[p].append(frame[i] if i is not None else no_face)
    t = np.asarray(times)
    table = {p: np.array(rows, dtype=float).reshape(len(t), -1) for p, rows in per_person.items()}
    values = {p: dict(zip(_FIELDS, table[p][:, :len(_FIELDS)].T)) for p in persons}
    _aim_at_partner(values, persons, region)
    tracks = {p: _track(t, values[p], table[p][:, len(_FIELDS):]) for p in persons}
    ignored = sum(a.n_ignored for a in assignments)
    if ignored:
        log.info("%s: %d detected faces were given to nobody (extra or implausible)", path, ignored)
    for side, p in zip(("first", "second"), persons):
        if not tracks[p]["face_detected"].any():
            raise NoFaceError(path, f"found no {side} face for person {p} (two faces expected)")
    return tracks


def _continuing(previous, lm, taken):
    """The analyser of the previous frame's face nearest this one (within a face size)."""
    centre = lm[:, :2].mean(axis=0)
    size = float(np.linalg.norm(lm[33, :2] - lm[263, :2]))
    used = {id(a) for a, *_ in taken}
    best, best_d = None, np.inf
    for analyser, cx, cy, s in previous:
        d = float(np.hypot(centre[0] - cx, centre[1] - cy))
        if id(analyser) not in used and d < max(s, size) and d < best_d:
            best, best_d = analyser, d
    return best


def _aim_at_partner(values, persons, region):
    """Replace each person's looking target (the camera) by the partner's face."""
    from synchrony.extract.gaze import direction_to_point

    for me, other in (persons, persons[::-1]):
        mine, theirs = values[me], values[other]
        yaw = np.full(len(mine["centre_x_px"]), np.nan)
        pitch = yaw.copy()
        both = np.isfinite(mine["face_size_px"]) & np.isfinite(theirs["face_size_px"])
        for k in np.flatnonzero(both):
            yaw[k], pitch[k] = direction_to_point(
                (mine["centre_x_px"][k], mine["centre_y_px"][k]),
                (theirs["centre_x_px"][k], theirs["centre_y_px"][k]), region_size_px=region,
                depth_ratio=mine["face_size_px"][k] / theirs["face_size_px"][k])
        mine["camera_yaw_deg"], mine["camera_pitch_deg"] = yaw, pitch


def _shifted(tracks, offset_s):
    if not offset_s:
        return tracks
    return {p: t.set_axis(pd.Index(np.asarray(t.index) + offset_s, name="time_s")) for p, t in tracks.items()}


def voice_tracks_for(session, *, offsets_s=None, faces=None) -> dict:
    """Each person's voice track (intensity, pitch, activity) for a Session.

    Sources: ``session.audio`` if given (at session time 0), else the videos' own audio
    (at their offsets). Two sources: one per person (each mixed to mono). One source
    with two or more channels: one channel per person. One mono source: a mixed track,
    kept as person ``"mixed"`` (its intensity), and each voiced stretch attributed to the
    person whose mouth moves during it
    (:func:`synchrony.extract.voice.attribute_speaker`, needs ``faces``), which gives
    each person ``voice_active``, ``f0_hz`` and ``f0_st`` for their stretches and an
    ``attribution_confidence``. A source without audio is skipped with a warning.
    """
    from synchrony.errors import NoAudioError
    from synchrony.extract.pitch import semitones_re_median
    from synchrony.extract.voice import attribute_speaker, speaker_activity, voice_tracks
    from synchrony.media import read_audio

    sources = session.audio or session.videos
    offsets = [0.0] * len(sources) if session.audio else list(offsets_s or session.offsets_s or ())
    offsets += [0.0] * (len(sources) - len(offsets))
    tracks = {}
    for i, (path, offset) in enumerate(zip(sources, offsets)):
        try:
            audio = read_audio(path, mono=len(sources) > 1)
        except NoAudioError as exc:
            log.warning("%s; analysing without its voice", exc)
            continue
        persons = (session.persons[i],) if len(sources) > 1 else session.persons
        found = voice_tracks(audio, persons=persons)
        if len(sources) > 1:
            found = {session.persons[i]: found["mixed"]}
        tracks.update(_shifted(found, offset))
    if set(tracks) == {"mixed"} and faces:
        mixed = tracks["mixed"]
        mouth = {p: faces[p]["mouth_open"] for p in session.persons}
        who = attribute_speaker(mixed["voice_active"], mouth)
        activity = speaker_activity(who, session.persons)
        for p in session.persons:
            active = activity[p].reindex(mixed.index, fill_value=False).astype(bool)
            f0 = mixed["f0_hz"].where(active)
            tracks[p] = pd.DataFrame({"voice_active": active, "f0_hz": f0, "f0_st": semitones_re_median(f0),
                                      "attribution_confidence": who["confidence"].reindex(mixed.index).where(active)},
                                     index=mixed.index)
        tracks["mixed"] = mixed[["intensity_db", "voice_active"]]
    return tracks
