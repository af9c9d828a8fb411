"""Check the sample session's known answer independently of the synchrony package.

    python sample_media/check_sample.py [dyad_split.mp4]

Decodes the video with PyAV, runs mediapipe FaceMesh (one tracker per half) and measures
head motion (nose tip, landmark 1, in inter-ocular distances (landmarks 33-263) per second).
Checks, against dyad_split.truth.json:
  1. a face is found in >= 99 % of frames of both halves;
  2. outside the mismatch span, the cross-correlation of A's and B's head speed peaks at
     +delay_frames (B follows A) with r > 0.8, on raw frame differences and on positions
     smoothed over 5 frames (FaceMesh jitter, which differs between an image and its mirror
     image, caps the raw r near 0.8);
  3. inside the mismatch span, 5 s windows (lags within +-2 s, both windows inside the span)
     have a peak |r| at chance level: median no higher than the 90th percentile of the same
     statistic on pseudo-pairs (A against B 8-12 s away, outside the span), every window
     below the outside median, and every window < 0.5 on raw motion. (Smoothed motion has a
     chance level of ~0.5 for this statistic, so "< 0.5" is asked of raw motion only.)
Also checks the audio: 10 ms RMS envelopes of left (A) and right (B) correlate best at
+delay_s outside the span, and weakly inside it. Exits 1 if a check fails.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import av
import numpy as np

HERE = Path(__file__).resolve().parent
SMOOTH = 5  # frames (~0.2 s) of position smoothing for the pass/fail checks


def head_tracks(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Per half: (n_frames, 3) array of nose x, nose y (px) and inter-ocular distance (px)."""
    import mediapipe as mp

    meshes = [mp.solutions.face_mesh.FaceMesh(static_image_mode=False, max_num_faces=1,
                                              refine_landmarks=True) for _ in range(2)]
    out = [[], []]
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            img = f.to_ndarray(format="rgb24")
            half = img.shape[1] // 2
            for i, sub in enumerate((img[:, :half], img[:, half:])):
                res = meshes[i].process(np.ascontiguousarray(sub))
                if not res.multi_face_landmarks:
                    out[i].append([np.nan] * 3)
                    continue
                lm = res.multi_face_landmarks[0].landmark
                h, w = sub.shape[:2]
                xy = lambda j: np.array([lm[j].x * w, lm[j].y * h])  # noqa: E731
                out[i].append([*xy(1), np.linalg.norm(xy(33) - xy(263))])
    return np.array(out[0]), np.array(out[1])


def motion(track: np.ndarray, fps: float, smooth: int = 1) -> dict[str, np.ndarray]:
    """Head velocity in inter-ocular distances per second; speed = its magnitude.

    ``smooth`` > 1: centred moving average of the position over that many frames first
    (FaceMesh landmarks jitter by a fraction of a pixel from frame to frame, and the jitter
    differs between an image and its mirror image, so raw frame differences are noisy).
    """
    pos = track[:, :2] / np.nanmedian(track[:, 2])
    if smooth > 1:
        k = np.ones(smooth) / smooth
        pad = np.pad(pos, ((smooth // 2, smooth // 2), (0, 0)), mode="edge")
        pos = np.stack([np.convolve(pad[:, j], k, mode="valid") for j in range(2)], axis=1)
    v = np.diff(pos, axis=0, prepend=pos[:1]) * fps
    return {"speed": np.hypot(v[:, 0], v[:, 1]), "vx": v[:, 0], "vy": v[:, 1]}


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok] - x[ok].mean(), y[ok] - y[ok].mean()
    return float(np.dot(x, y) / np.sqrt(np.dot(x, x) * np.dot(y, y)))


def lagged_r(a, b, lag, keep):
    """r between a[t] and b[t + lag] over t where keep[t] and keep[t + lag]."""
    n = len(a)
    t = np.arange(max(0, -lag), min(n, n - lag))
    t = t[keep[t] & keep[t + lag]]
    return pearson(a[t], b[t + lag])


def windowed_peaks(a, b, lo, hi, win, step, maxlag):
    """Per window [w, w+win) of A within [lo, hi): (peak |r|, its lag, r at each lag)."""
    rows = []
    for w in range(lo + maxlag, hi - win - maxlag + 1, step):
        rs = np.array([pearson(a[w:w + win], b[w + L:w + L + win])
                       for L in range(-maxlag, maxlag + 1)])
        i = int(np.nanargmax(np.abs(rs)))
        rows.append((abs(rs[i]), i - maxlag, rs))
    return rows


def pseudo_pair_peaks(a, b, keep, win, maxlag, fps):
    """Chance level of the windowed peak |r|: A's window against B's window 8-12 s away
    (so unrelated: B follows A by 0.5 s), every window and lag outside the mismatch span."""
    n = len(a)
    out = []
    for off in np.round(np.array([-12, -10, -8, 8, 10, 12]) * fps).astype(int):
        for w in range(1, n - win, int(round(fps))):
            lo, hi = w + off - maxlag, w + off + maxlag + win
            if lo < 1 or hi > n - 1 or not (keep[w:w + win].all() and keep[lo:hi].all()):
                continue
            out.append(max(abs(pearson(a[w:w + win], b[w + off + L:w + off + L + win]))
                           for L in range(-maxlag, maxlag + 1)))
    return np.array(out)


def audio_check(path: Path, truth: dict) -> dict:
    with av.open(str(path)) as c:
        a = np.concatenate([f.to_ndarray() for f in c.decode(audio=0)], axis=1)
    sr = truth["audio"]["sample_rate"]
    hop = sr // 100
    n = a.shape[1] // hop
    env = np.sqrt((a[:, :n * hop].reshape(2, n, hop).astype(np.float64) ** 2).mean(axis=2))
    s0, s1 = (np.array(truth["mismatch_spans_s"][0]) * 100).astype(int)
    outside = np.ones(n, bool)
    outside[s0:s1] = False
    inside = ~outside
    lags = np.arange(-200, 201)
    r_out = np.array([lagged_r(env[0], env[1], L, outside) for L in lags])
    r_in = np.array([lagged_r(env[0], env[1], L, inside) for L in lags])
    return {"outside_peak_lag_s": float(lags[np.argmax(r_out)] / 100), "outside_peak_r": float(r_out.max()),
            "inside_peak_abs_r": float(np.abs(r_in).max())}


def main(argv: list[str]) -> int:
    video = Path(argv[0]) if argv else HERE / "dyad_split.mp4"
    truth = json.loads(video.with_name(video.stem + ".truth.json").read_text())
    fps, d = truth["fps"], truth["delay_frames"]
    t0, t1 = truth["mismatch_spans_frames"][0]
    ta, tb = head_tracks(video)
    n = len(ta)
    ok = True

    det = [float(np.isfinite(t[:, 0]).mean()) for t in (ta, tb)]
    print(f"frames {n}; face found: A {det[0]:.2%}, B {det[1]:.2%}")
    ok &= min(det) >= 0.99

    outside = np.ones(n, bool)
    outside[t0:t1] = False
    outside[:3] = outside[-3:] = False            # differences at the very ends: edge effects
    maxlag = int(round(2 * fps))
    lags = np.arange(-maxlag, maxlag + 1)
    win, step = int(round(5 * fps)), int(round(0.5 * fps))
    for smooth in (1, SMOOTH):
        ma, mb = motion(ta, fps, smooth), motion(tb, fps, smooth)
        mb["vx"] = -mb["vx"]                      # B is mirrored: x -> -x
        print(f"-- head motion from {'raw' if smooth == 1 else f'{smooth}-frame smoothed'} "
              "nose position")
        for name in ("speed", "vx", "vy"):
            rs = np.array([lagged_r(ma[name], mb[name], L, outside) for L in lags])
            i = int(np.argmax(rs))
            print(f"outside span, {name:5s}: peak r = {rs[i]:.3f} at lag {lags[i]:+d} frames "
                  f"({lags[i] / fps:+.4f} s); r at 0 = {rs[lags == 0][0]:.3f}")
            if name == "speed":
                ok &= bool(lags[i] == d and rs[i] > 0.8)
        stats = {}
        for label, spans in (("inside", [(t0, t1)]), ("outside", [(1, t0), (t1, n - 1)])):
            rows = [r for lo, hi in spans
                    for r in windowed_peaks(ma["speed"], mb["speed"], lo, hi, win, step, maxlag)]
            peaks = np.array([r[0] for r in rows])
            at_d = np.array([r[2][maxlag + d] for r in rows])
            stats[label] = peaks
            print(f"{label:7s} span, 5 s windows x lags +-2 s (speed): {len(rows)} windows, peak "
                  f"|r| median {np.median(peaks):.3f}, max {peaks.max():.3f}; r at +{d} median "
                  f"{np.median(at_d):.3f}; peak at +{d} in {np.mean([r[1] == d for r in rows]):.0%}")
        chance = pseudo_pair_peaks(ma["speed"], mb["speed"], outside, win, maxlag, fps)
        print(f"chance    (A vs B 8-12 s away, both outside the span): {len(chance)} windows, peak "
              f"|r| median {np.median(chance):.3f}, 90th pct {np.percentile(chance, 90):.3f}")
        inside, out = stats["inside"], stats["outside"]
        ok &= bool(np.median(inside) <= np.percentile(chance, 90) and inside.max() < np.median(out))
        if smooth == 1:
            ok &= bool(inside.max() < 0.5)

    au = audio_check(video, truth)
    print(f"audio envelopes: outside peak r = {au['outside_peak_r']:.3f} at "
          f"{au['outside_peak_lag_s']:+.2f} s; inside peak |r| = {au['inside_peak_abs_r']:.3f}")
    ok &= abs(au["outside_peak_lag_s"] - truth["delay_s"]) <= 0.01 and au["inside_peak_abs_r"] < 0.5

    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
