"""Project-level promises: citation metadata, a fast side-effect-free import, no network."""

import shutil
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


@pytest.mark.slow
def test_wheel_ships_the_face_landmarker_model(tmp_path):
    """A wheel built from the sources holds the model, unaltered, with its README and
    licence notice (package data in pyproject.toml)."""
    import hashlib
    import os
    import zipfile

    from synchrony.extract.landmarker import MODEL_SHA256

    # Build from a copy: an in-tree build would write build/ into the checkout.
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(REPO / name, src / name)
    shutil.copytree(REPO / "synchrony", src / "synchrony",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    # The build backend comes from the configured indexes; retrying the unreachable
    # ones would only cost time here (no network in tests).
    env = dict(os.environ, PIP_RETRIES="0", PIP_DISABLE_PIP_VERSION_CHECK="1")
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                          "-w", str(tmp_path / "dist"), str(src)],
                         capture_output=True, text=True, env=env)
    if out.returncode != 0 and "No matching distribution found for setuptools" in out.stderr:
        pytest.skip("no setuptools>=77 build backend reachable without network")
    assert out.returncode == 0, out.stdout + out.stderr
    wheel, = (tmp_path / "dist").glob("synchrony-*.whl")
    with zipfile.ZipFile(wheel) as whl:
        names = set(whl.namelist())
        model = whl.read("synchrony/models/face_landmarker.task")
    assert hashlib.sha256(model).hexdigest() == MODEL_SHA256
    assert {"synchrony/models/README.md",
            "synchrony/models/LICENSE-face_landmarker.txt"} <= names
