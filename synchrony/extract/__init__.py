"""Extractors: recordings in, per-person raw tracks out.

Each extractor imports its heavy dependencies (mediapipe, cv2, parselmouth) inside its
functions so that ``import synchrony`` stays fast.
"""
