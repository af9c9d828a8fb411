"""Audio-only sessions (--layout audio): voice signals, turns and turn-taking, no video."""

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from scipy.io import wavfile

from _audiogen import harmonic, place, syllables

SR = 16000


def _dialogue(path, *, seed=3):
    """A speaks 0.8-1.6 s stretches; B answers each 0.6 s after A stops."""
    rng = np.random.default_rng(seed)
    a_pieces, b_pieces, answers = [], [], []
    t = 1.0
    while t < 55:
        dur_a, dur_b = rng.uniform(0.8, 1.6), rng.uniform(0.8, 1.4)
        f0 = rng.uniform(180, 320)
        dur_a, dur_b = round(dur_a, 2), round(dur_b, 2)  # whole samples at 16 kHz
        a_pieces.append((t, harmonic(np.full(round(dur_a * SR), f0)) * syllables(dur_a)))
        b_start = t + dur_a + 0.6
        b_pieces.append((b_start, harmonic(np.full(round(dur_b * SR), 1.1 * f0)) * syllables(dur_b)))
        answers.append(b_start)
        t = b_start + dur_b + rng.uniform(1.0, 2.0)
    a = place(a_pieces, 60.0) + 1e-3 * rng.standard_normal(60 * SR).astype(np.float32)
    b = place(b_pieces, 60.0) + 1e-3 * rng.standard_normal(60 * SR).astype(np.float32)
    wavfile.write(path, SR, np.stack([a, b], axis=1))
    return answers


def test_audio_only_session_via_cli(tmp_path):
    wav = tmp_path / "call.wav"
    answers = _dialogue(wav)
    out = tmp_path / "out"
    run = subprocess.run([sys.executable, "-m", "synchrony.cli", "analyze", str(wav), "--layout", "audio",
                          "--persons", "parent,infant", "--out", str(out)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    signals = pd.read_csv(out / "signals.csv")
    assert {"parent.intensity_db", "infant.f0_hz", "infant.voice_active"} <= set(signals.columns)
    assert not any(c.endswith("face_detected") for c in signals.columns)
    taking = pd.read_csv(out / "turn_taking.csv")
    switches = taking[(taking["from_person"] == "parent") & (taking["to_person"] == "infant")]
    assert len(switches) == len(answers)
    # the planted response latency, within 100 ms
    assert np.median(switches["gap_s"]) == pytest.approx(0.6, abs=0.1)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["session"]["layout"] == "audio"
    assert summary["session"]["audio"] == "per-person channels"
    assert "intensity_db~intensity_db" in summary["pairs"] and summary["entrainment"]
    assert (out / "voice.TextGrid").exists()
