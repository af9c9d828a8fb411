"""Started in every Python process the tests launch (this folder leads PYTHONPATH)."""

import _synchrony_netguard  # noqa: F401  (refuses network access in this process)
