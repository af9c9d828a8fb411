"""Faces counted now and then in a person's region, to say when it holds several.

The face models follow one face per person's region. When a region shows two (a sibling
on the parent's lap, a second adult, a face on a poster), the person's track is whichever
face the model follows, and it may move to the other face for good when the first one
leaves for a moment. So every :data:`CHECK_EVERY_S` seconds of video each region also goes
through mediapipe's BlazeFace full-range detector (its model is inside the mediapipe
wheel), which counts the faces there; a region with more than one face in at least
:data:`WARN_SHARE` of those counts gets a warning naming the file, the region and the
share. A count costs about 7 ms of CPU on a 640x720 region (the short-range model, 3 ms,
misses small faces further back), so one per 5 s adds about 1.5 % to the face path of a
split-screen session at 10 Hz; a second face that stays for minutes, the case that
misleads a track, is counted many times over.
"""

from __future__ import annotations

import contextlib
import logging

logger = logging.getLogger("synchrony")

#: Seconds of video between two counts in one region.
CHECK_EVERY_S = 5.0
#: Share of the counts with several faces from which a region gets a warning.
WARN_SHARE = 0.1


class FaceCounter:
    """Counts the faces of one region's frames, one frame per :data:`CHECK_EVERY_S` seconds.

    Call it with every analysed frame of the region, in order; it counts a frame when
    the last count is at least :data:`CHECK_EVERY_S` seconds older.
    """

    def __init__(self, detector):
        self.detector = detector
        self.next_s = None
        self.checked = 0
        self.several = 0

    def __call__(self, image, time_s):
        if self.next_s is not None and time_s < self.next_s:
            return
        self.next_s = time_s + CHECK_EVERY_S
        found = self.detector.process(image).detections or []
        self.checked += 1
        self.several += len(found) > 1

    def warn(self, path, where):
        """Log a warning if ``where`` (e.g. "the left half (person A)") held several faces
        in at least :data:`WARN_SHARE` of the counts; return whether it did."""
        if not self.checked or self.several / self.checked < WARN_SHARE:
            return False
        logger.warning(
            "%s: more than one face in %s in %d of %d checked frames (one per %g s): the "
            "person's track follows one of them and may move between them; give the "
            "person's region (regions_px) to leave the others out",
            path, where, self.several, self.checked, CHECK_EVERY_S)
        return True


@contextlib.contextmanager
def face_counters(n, *, min_detection_confidence=0.5):
    """``n`` :class:`FaceCounter` objects, one per region, their detectors closed after.

    Examples
    --------
    >>> import numpy as np
    >>> with face_counters(1) as (count,):
    ...     count(np.zeros((90, 160, 3), np.uint8), 0.0)
    >>> count.checked, count.several
    (1, 0)
    """
    import mediapipe as mp

    from synchrony.extract.face import quiet_models

    def build():
        detector = mp.solutions.face_detection.FaceDetection(
            model_selection=1, min_detection_confidence=min_detection_confidence)
        detector.process(_blank())  # TF-Lite's banner prints on the first run
        return detector

    with quiet_models(build, n) as detectors:
        yield [FaceCounter(detector) for detector in detectors]


def _blank():
    import numpy as np

    return np.zeros((64, 64, 3), np.uint8)
