"""Expression features from FaceMesh landmark geometry: pure geometry, no mediapipe.

Every feature is a length on the face divided by the face size (the 3-D distance
between the outer eye corners 33 and 263, ``face_size_px`` of
:mod:`synchrony.extract.face`), so moving the camera closer or further does not change
it. Lengths are 3-D: the landmarks are first turned into the head frame by
:func:`synchrony.extract.head.frontalise` (``x`` towards the subject's left, ``y``
towards the chin), so that turning or tilting the head does not shorten them the way it
shortens their image. "Left" and "right" are the **subject's** own sides, as in
FaceMesh's landmark names: the subject's right eye (landmarks 33, 133, 159, 145) is on
the image's left in an unmirrored picture. Mirroring the picture swaps them.

Definitions (FaceMesh indices; values for mediapipe's canonical neutral face in brackets):

``smile``
    Mouth-corner spread plus lift: half the 3-D distance between the mouth corners 61
    and 291, plus the mean height of the two corners above the middle of the inner lips
    (13, 14), measured along the face's vertical axis [0.27]. The lip-corner puller
    (AU 12) draws each corner up and out along the zygomatic muscle, about 45 deg from
    the horizontal, so spread and lift are weighted equally: up to a factor of sqrt(2) this
    is the corners' position along that line. Measuring the lift from the middle of the
    mouth rather than from the eyes keeps mouth opening out of it (the jaw lowers the
    mouth's middle and its corners alike). An absolute geometric index: compare it
    within a person (z-scored), not across faces.
``mouth_open``
    Inner-lip gap, the 3-D distance between landmarks 13 and 14 [0.06].
``brow_raise``
    Height of each eyebrow (mean of its ten contour points: 70, 63, 105, 66, 107, 46,
    53, 52, 65, 55 and their twins) above its eye's corner midpoint (33, 133 / 362, 263),
    along the face's vertical axis; mean of both sides [0.22]. The eye corners, unlike
    the lids, do not move when the eyes open wider.
``eye_open_right``, ``eye_open_left``
    Lid gap of the subject's right eye (upper lid 159, lower lid 145) and left eye
    (386, 374), 3-D distance [0.075].
``eye_open``
    Mean of the two.
"""

from __future__ import annotations

import numpy as np

from synchrony.extract.head import _check_landmarks, frontalise

__all__ = ["EXPRESSION_FEATURES", "expression_features"]

EXPRESSION_FEATURES = ("smile", "mouth_open", "brow_raise", "eye_open_left",
                       "eye_open_right", "eye_open")

_EYE_OUTER = (33, 263)
_MOUTH_CORNERS = (61, 291)
_LIPS_INNER = (13, 14)
_BROW_RIGHT = [70, 63, 105, 66, 107, 46, 53, 52, 65, 55]
_BROW_LEFT = [300, 293, 334, 296, 336, 276, 283, 282, 295, 285]
_EYE_CORNERS_RIGHT = [33, 133]
_EYE_CORNERS_LEFT = [362, 263]
_LIDS_RIGHT = (159, 145)
_LIDS_LEFT = (386, 374)


def expression_features(landmarks_px):
    """Geometric expression features of one face in one frame.

    Parameters
    ----------
    landmarks_px : array_like, shape (468 or 478, 3)
        FaceMesh landmarks in pixels of the person's region: ``x``, ``y`` and ``z``
        (FaceMesh depth multiplied by the region width, as for ``x``).

    Returns
    -------
    dict of str to float
        ``smile``, ``mouth_open``, ``brow_raise``, ``eye_open_left``,
        ``eye_open_right`` and ``eye_open``, in face sizes (module docstring). NaN for
        a degenerate mesh (zero face size).
    """
    lm = _check_landmarks(landmarks_px, "expression_features", dims=(3,))
    return _features_from_frontal(frontalise(lm))


def _features_from_frontal(face):
    """:func:`expression_features` of landmarks already in the head frame."""
    size = float(np.linalg.norm(face[_EYE_OUTER[0]] - face[_EYE_OUTER[1]]))
    if not size > 0:
        return dict.fromkeys(EXPRESSION_FEATURES, float("nan"))
    y = face[:, 1]  # towards the chin
    mouth_mid_y = (y[_LIPS_INNER[0]] + y[_LIPS_INNER[1]]) / 2
    half_spread = np.linalg.norm(face[_MOUTH_CORNERS[0]] - face[_MOUTH_CORNERS[1]]) / 2
    lift = mouth_mid_y - (y[_MOUTH_CORNERS[0]] + y[_MOUTH_CORNERS[1]]) / 2
    brow = (y[_EYE_CORNERS_RIGHT].mean() - y[_BROW_RIGHT].mean()
            + y[_EYE_CORNERS_LEFT].mean() - y[_BROW_LEFT].mean()) / 2
    eye_right = np.linalg.norm(face[_LIDS_RIGHT[0]] - face[_LIDS_RIGHT[1]])
    eye_left = np.linalg.norm(face[_LIDS_LEFT[0]] - face[_LIDS_LEFT[1]])
    return {
        "smile": float((half_spread + lift) / size),
        "mouth_open": float(np.linalg.norm(face[_LIPS_INNER[0]] - face[_LIPS_INNER[1]]) / size),
        "brow_raise": float(brow / size),
        "eye_open_left": float(eye_left / size),
        "eye_open_right": float(eye_right / size),
        "eye_open": float((eye_left + eye_right) / 2 / size),
    }
