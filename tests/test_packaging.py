"""Project-level promises: citation metadata, a fast side-effect-free import, no network."""

import subprocess
import sys
from pathlib import Path

import pytest

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


def test_network_is_blocked_in_tests_and_their_subprocesses():
    import socket

    with pytest.raises(ConnectionRefusedError, match="network access attempted"):
        socket.create_connection(("127.0.0.1", 9))
    code = "import socket; socket.socket().connect(('10.0.0.1', 80))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode != 0 and "network access attempted" in out.stderr
