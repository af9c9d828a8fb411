"""Faces counted now and then per region (synchrony.extract.facecount).

The real-video case (two faces in one half of a split screen) is the corpus case
``three_faces`` in tests/robustness_cases.py; here the counting rule and the warning's
threshold, with a stand-in detector whose answers are planted, and the real detector on
real pictures with one face and with several.
"""

import logging
from types import SimpleNamespace

import numpy as np
import pytest

from synchrony.extract.facecount import CHECK_EVERY_S, WARN_SHARE, FaceCounter, face_counters


class Planted:
    """A detector that finds the planted number of faces, call after call."""

    def __init__(self, counts):
        self.counts = list(counts)
        self.calls = 0

    def process(self, image):
        n = self.counts[self.calls]
        self.calls += 1
        return SimpleNamespace(detections=[object()] * n or None)


def test_one_count_per_check_interval_of_video_time():
    counter = FaceCounter(Planted([1, 2, 1]))
    image = np.zeros((8, 8, 3), np.uint8)
    assert CHECK_EVERY_S == 5.0
    for t in (0.0, 2.0, 4.99, 5.0, 7.5, 11.5, 14.5):  # variable steps, as in phone videos
        counter(image, t)
    assert counter.detector.calls == 3  # at 0.0, 5.0 and 11.5
    assert (counter.checked, counter.several) == (3, 1)


@pytest.mark.parametrize("several, warned", [(0, False), (1, True), (3, True)])
def test_warning_from_a_tenth_of_the_counts(several, warned, caplog):
    counter = FaceCounter(Planted([2] * several + [1] * (10 - several)))
    for k in range(10):
        counter(np.zeros((8, 8, 3), np.uint8), k * CHECK_EVERY_S)
    assert WARN_SHARE == 0.1
    with caplog.at_level(logging.WARNING, logger="synchrony"):
        assert counter.warn("clip.mp4", "the left half (person A)") is warned
    if warned:
        (message,) = caplog.messages
        assert message.startswith("clip.mp4: more than one face in the left half (person A) "
                                  f"in {several} of 10 checked frames")
    else:
        assert not caplog.messages


def test_the_real_detector_counts_the_faces_of_real_pictures(reference_dir):
    import cv2

    group = cv2.cvtColor(cv2.imread(str(reference_dir / "media" / "multi_face.jpg")),
                         cv2.COLOR_BGR2RGB)
    from synchrony.media import iter_frames

    _, one = next(iter_frames(reference_dir / "media" / "WolfgangLanger_Pexels.mp4"))
    with face_counters(2) as (in_group, alone):
        in_group(np.ascontiguousarray(group), 0.0)
        alone(one, 0.0)
    assert (in_group.checked, in_group.several) == (1, 1)
    assert (alone.checked, alone.several) == (1, 0)
