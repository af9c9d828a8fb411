"""Shared test set-up: no network for this process or any it starts; reference data."""

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REFERENCE = REPO.parent / "shared" / "reference"
NETGUARD = Path(__file__).resolve().parent / "netguard"

# Every test, and every Python process a test starts (the CLI tests), runs with socket
# connections and name lookups refused: see netguard/sitecustomize.py.
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(NETGUARD), os.environ.get("PYTHONPATH")]))
sys.path.insert(0, str(NETGUARD))
import _synchrony_netguard  # noqa: E402,F401  (installs the guard in this process)


@pytest.fixture(scope="session")
def reference_dir():
    if not REFERENCE.is_dir():
        pytest.skip(f"reference data not found at {REFERENCE} (it sits beside the repo in CI)")
    return REFERENCE
