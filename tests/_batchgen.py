"""Small study folders for the batch tests, and a way to make a worker die on purpose.

Recordings are cut from real data: rMEA dyads (reference/rmea, 25 Hz motion energy)
shortened to their first minutes, and the first seconds of the bundled sample session
(split screen, B follows A by 0.5 s) with or without its audio track.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

from conftest import REPO

SAMPLE = REPO / "sample_media" / "dyad_split.mp4"


def rmea_excerpt(source, path, *, n_samples: int) -> Path:
    """The header and first ``n_samples`` rows of an rMEA text file."""
    with open(source, encoding="utf-8") as fh:
        lines = [next(fh) for _ in range(n_samples + 1)]
    Path(path).write_text("".join(lines), encoding="utf-8")
    return Path(path)


def sample_clip(path, *, gops: int, audio: bool) -> Path:
    """The sample session's first ``gops`` groups of pictures (96 frames, 4.004 s each)
    cut without re-encoding, with the audio under them or with no audio track."""
    import av

    with av.open(str(SAMPLE)) as source, av.open(str(path), "w") as out:
        video_in = source.streams.video[0]
        video = out.add_stream_from_template(video_in)
        audio_in = source.streams.audio[0] if audio else None
        sound = out.add_stream_from_template(audio_in) if audio else None
        keyframes, end_s = 0, None
        for packet in source.demux(video_in):
            if packet.is_keyframe:
                keyframes += 1
            if keyframes > gops or packet.dts is None:
                break
            # x264's GOPs are closed: the packets before the next keyframe are whole pictures
            packet.stream = video
            out.mux(packet)
        end_s = gops * 96 * 1001 / 24000
        if audio:
            source.seek(0)
            for packet in source.demux(audio_in):
                if packet.dts is None or packet.pts * audio_in.time_base >= end_s:
                    break
                packet.stream = sound
                out.mux(packet)
    return Path(path)


def install_faults():
    """Loky initializer: reading an rMEA file named ``crash*`` kills the worker (as an
    out-of-memory kill or a segfault would); one named ``boom*`` raises a plain bug."""
    import synchrony.readers as readers

    real = readers.read_rmea

    def read_rmea(path, **kwargs):
        name = os.path.basename(os.fspath(path))
        if name.startswith("crash"):
            os.kill(os.getpid(), signal.SIGKILL)
        if name.startswith("boom"):
            raise RuntimeError("planted bug")
        return real(path, **kwargs)

    readers.read_rmea = read_rmea


def write_manifest(path, rows, columns) -> Path:
    """A CSV manifest: ``rows`` are lists of cells in ``columns`` order."""
    lines = [",".join(columns)] + [",".join("" if c is None else str(c) for c in row) for row in rows]
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Path(path)
