"""Project-level promises: citation metadata, a fast side-effect-free import."""

import subprocess
import sys
from pathlib import Path

from conftest import REPO


def test_citation_cff_is_valid():
    exe = Path(sys.executable).with_name("cffconvert")
    out = subprocess.run([exe, "--validate", "-i", str(REPO / "CITATION.cff")],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "valid" in out.stdout


def test_import_is_light():
    """`import synchrony` loads no video/audio/ML stack (they load inside extractors)."""
    code = (
        "import sys, synchrony; heavy = {'mediapipe', 'cv2', 'librosa', 'parselmouth', 'av', "
        "'matplotlib', 'tqdm'}; print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
