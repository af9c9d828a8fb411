"""The tutorial notebooks in notebooks/ run from top to bottom, and are committed clean.

Each notebook is executed in a Jupyter kernel of the interpreter running the tests, with
the notebooks folder as working directory, as a researcher would run it; any cell that
raises (including the notebooks' own ``assert`` checks of known answers) fails the test
with that cell's source and traceback.

Network: the kernel inherits conftest.py's guard (PYTHONPATH -> netguard/sitecustomize.py),
so its Python-level socket connections and name lookups are refused like the rest of the
suite's. The kernel itself still starts: nbclient talks to it over ZeroMQ on loopback, and
those connections are made inside libzmq (C), not through Python's ``socket`` module; the
ports are chosen with ``bind``, which the guard leaves alone. So the guard needs no
exception for notebooks.
"""

import re
from pathlib import Path

import ipykernel  # noqa: F401  (the kernel the notebooks run in; from the dev extras)
import nbclient
import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient.exceptions import CellExecutionError

NOTEBOOKS_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
CELL_TIMEOUT_S = 300
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def test_there_are_notebooks():
    # Guards against the parametrized tests below silently collecting nothing.
    assert NOTEBOOKS, f"no notebooks found in {NOTEBOOKS_DIR}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [i for i, cell in enumerate(nb.cells) if cell.cell_type == "code"
             and (cell.outputs or cell.execution_count is not None)]
    assert not dirty, (f"{path.name}: code cells {dirty} have stored outputs or execution "
                       "counts; clear them before committing (Jupyter: Edit > Clear Outputs "
                       "of All Cells)")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs(path, tmp_path, monkeypatch):
    # Kernel state that is not the notebook's business goes to a scratch folder: no
    # user IPython profile or startup scripts, no connection files in the home folder.
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    # "python3" from ipykernel itself, i.e. this interpreter (sys.executable): with no
    # kernel folders to search, a python3 kernelspec installed elsewhere on the machine
    # (which may point at another Python) cannot be picked instead.
    km = KernelManager(kernel_name="python3", kernel_spec_manager=KernelSpecManager(kernel_dirs=[]))
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, km=km, timeout=CELL_TIMEOUT_S, startup_timeout=120,
        resources={"metadata": {"path": str(NOTEBOOKS_DIR)}},  # the kernel's working directory
    )
    try:
        client.execute()
    except CellExecutionError as exc:
        error = ANSI_ESCAPE.sub("", str(exc))  # IPython colours its tracebacks
    else:
        error = None
    if error is not None:  # failed outside the except block: no chained second copy
        pytest.fail(f"{path.name}: a cell raised\n{error}", pytrace=False)
    # A cell ending in a matplotlib Figure must show it as a picture, not only as the text
    # "<Figure size ...>" (which is what happens without the inline backend).
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            if data.get("text/plain", "").startswith("<Figure size"):
                assert "image/png" in data, f"{path.name}: code cell {i} shows a Figure as text only"
